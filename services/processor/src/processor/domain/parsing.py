"""Streaming parsers for trade batch files (CSV and JSON Lines, optionally gzip-compressed).

Files are read as a stream of bounded chunks and split into physical lines here (not with
``StreamingBody.iter_lines``, whose pending buffer grows without limit on a file without
newlines): memory stays flat whatever the size of the file, and one line never holds more
than ``MAX_LINE_BYTES``. One physical line is one record; line numbers are 1-based physical
line numbers of the (decompressed) file, so a CSV's first data line is line 2.

Rules (documented in the README):
* Lines end with ``\\n`` or ``\\r\\n``; a UTF-8 byte order mark at the start is ignored.
* Blank (whitespace-only) lines are counted as ``blank_lines`` and otherwise skipped.
* Each line is decoded as UTF-8 on its own: a line that is not valid UTF-8 is rejected,
  the rest of the file is still processed.
* CSV: the first non-blank line is the header; it must name each of the eight trade fields
  exactly once, in any order, and nothing else (otherwise the whole file is rejected). Each
  data line must have exactly as many fields as the header (otherwise the line is rejected).
  Quoted fields may not contain line breaks.
* JSON Lines: each line must be one JSON object with exactly the eight trade fields;
  duplicate keys, NaN and Infinity are rejected. Numbers are parsed as exact Decimals.
"""

from __future__ import annotations

import csv
import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, cast

from processor.domain.errors import FileRejectedError
from processor.domain.model import FIELDS, Trade, TradeValidationError, parse_trade
from processor.domain.ports import Readable

MAX_LINE_BYTES: Final = 1024 * 1024
CHUNK_BYTES: Final = 64 * 1024
_BOM: Final = b"\xef\xbb\xbf"


class FileFormat(StrEnum):
    CSV = "csv"
    JSON_LINES = "jsonl"


@dataclass(frozen=True, slots=True)
class FileType:
    format: FileFormat
    gzip: bool


_EXTENSIONS: Final = {".csv": FileFormat.CSV, ".jsonl": FileFormat.JSON_LINES}
_EXTENSIONS_ALL: Final = {**_EXTENSIONS, ".ndjson": FileFormat.JSON_LINES}
SUPPORTED_EXTENSIONS: Final = ".csv, .jsonl, .ndjson (optionally followed by .gz)"


def detect_file_type(key: str) -> FileType | None:
    """The file type from the key's extension (case-insensitive), or None if unsupported."""
    name = key.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[: -len(".gz")]
    for extension, file_format in _EXTENSIONS_ALL.items():
        if name.endswith(extension) and len(name) > len(extension):
            return FileType(file_format, compressed)
    return None


@dataclass(frozen=True, slots=True)
class RawLine:
    """One physical line without its line break; ``data`` is cut at the length limit."""

    number: int
    data: bytes
    too_long: bool = False


def iter_lines(
    stream: Readable, *, max_line_bytes: int = MAX_LINE_BYTES, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[RawLine]:
    """Split a binary stream into lines, reading ``chunk_bytes`` at a time.

    A line longer than ``max_line_bytes`` is yielded once, cut to the limit and marked
    ``too_long``; the rest of it is skipped without being kept in memory.
    """
    buffer = bytearray()
    too_long = False
    number = 0
    while chunk := stream.read(chunk_bytes):
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            number += 1
            if not too_long:
                buffer += chunk[start:end]
                too_long = len(buffer) > max_line_bytes
            yield _finish_line(number, buffer, too_long, max_line_bytes)
            buffer.clear()
            too_long = False
            start = end + 1
        if not too_long:
            buffer += chunk[start:]
            if len(buffer) > max_line_bytes:
                too_long = True
                del buffer[max_line_bytes:]
    if buffer or too_long:
        yield _finish_line(number + 1, buffer, too_long, max_line_bytes)


def _finish_line(number: int, buffer: bytearray, too_long: bool, limit: int) -> RawLine:
    if too_long:
        return RawLine(number, bytes(buffer[:limit]), too_long=True)
    if buffer.endswith(b"\r"):
        return RawLine(number, bytes(buffer[:-1]))
    return RawLine(number, bytes(buffer))


@dataclass(frozen=True, slots=True)
class ParsedTrade:
    line: int
    trade: Trade
    raw: str


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line: int
    reason: str
    raw: str


@dataclass(frozen=True, slots=True)
class BlankLine:
    line: int


LineResult = ParsedTrade | RejectedLine | BlankLine


@dataclass(frozen=True, slots=True)
class _Text:
    line: int
    text: str
    problem: str | None


def _decode(raw: RawLine) -> _Text:
    data = raw.data[len(_BOM) :] if raw.number == 1 and raw.data.startswith(_BOM) else raw.data
    if raw.too_long:
        text = data.decode("utf-8", "backslashreplace")
        return _Text(raw.number, text, f"line is longer than {MAX_LINE_BYTES} bytes")
    try:
        return _Text(raw.number, data.decode("utf-8"), None)
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "backslashreplace")
        problem = f"line is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        return _Text(raw.number, text, problem)


def _validated(line: int, fields: dict[str, Any], raw: str) -> ParsedTrade | RejectedLine:
    try:
        return ParsedTrade(line, parse_trade(fields), raw)
    except TradeValidationError as exc:
        return RejectedLine(line, exc.reason, raw)


def _csv_fields(text: str) -> list[str]:
    """The fields of one CSV line; raises csv.Error on bad quoting."""
    rows = list(csv.reader([text], strict=True))
    return rows[0] if rows else []


def _csv_header(line: _Text) -> tuple[str, ...]:
    if line.problem is not None:
        raise FileRejectedError(f"CSV header (line {line.line}): {line.problem}", line.text)
    try:
        names = [name.strip() for name in _csv_fields(line.text)]
    except csv.Error as exc:
        reason = f"CSV header (line {line.line}) is malformed: {exc}"
        raise FileRejectedError(reason, line.text) from None
    problems = []
    duplicates = sorted({name for name in names if names.count(name) > 1})
    missing = [name for name in FIELDS if name not in names]
    unexpected = sorted({name for name in names if name not in FIELDS})
    if missing:
        problems.append("missing column(s) " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected column(s) " + ", ".join(repr(n)[:40] for n in unexpected))
    if duplicates:
        problems.append("repeated column(s) " + ", ".join(duplicates))
    if problems:
        detail = "; ".join(problems)
        raise FileRejectedError(f"bad CSV header (line {line.line}): {detail}", line.text)
    return tuple(names)


def _csv_record(line: _Text, header: tuple[str, ...]) -> ParsedTrade | RejectedLine:
    try:
        values = _csv_fields(line.text)
    except csv.Error as exc:
        return RejectedLine(line.line, f"malformed CSV line: {exc}", line.text)
    if len(values) != len(header):
        reason = f"expected {len(header)} fields as in the header, found {len(values)}"
        return RejectedLine(line.line, reason, line.text)
    return _validated(line.line, dict(zip(header, values, strict=True)), line.text)


def parse_csv(lines: Iterable[RawLine]) -> Iterator[LineResult]:
    header: tuple[str, ...] | None = None
    for raw in lines:
        line = _decode(raw)
        if line.problem is None and not line.text.strip():
            yield BlankLine(line.line)
        elif header is None:
            header = _csv_header(line)
        elif line.problem is not None:
            yield RejectedLine(line.line, line.problem, line.text)
        else:
            yield _csv_record(line, header)
    if header is None:
        raise FileRejectedError("file is empty (no CSV header)")


class _DuplicateKeyError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(f"duplicate key {key!r:.40}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _json_record(line: _Text) -> ParsedTrade | RejectedLine:
    try:
        value = json.loads(
            line.text,
            parse_float=Decimal,
            parse_constant=_no_constants,
            object_pairs_hook=_unique_keys,
        )
    except _DuplicateKeyError as exc:
        return RejectedLine(line.line, f"invalid JSON object: {exc}", line.text)
    except (ValueError, RecursionError) as exc:
        return RejectedLine(line.line, f"invalid JSON: {str(exc)[:200]}", line.text)
    if not isinstance(value, dict):
        return RejectedLine(line.line, "line is not a JSON object", line.text)
    return _validated(line.line, value, line.text)


def parse_json_lines(lines: Iterable[RawLine]) -> Iterator[LineResult]:
    seen_content = False
    for raw in lines:
        line = _decode(raw)
        if line.problem is None and not line.text.strip():
            yield BlankLine(line.line)
            continue
        seen_content = True
        if line.problem is not None:
            yield RejectedLine(line.line, line.problem, line.text)
        else:
            yield _json_record(line)
    if not seen_content:
        raise FileRejectedError("file is empty")


def parse_file(stream: Readable, file_type: FileType) -> Iterator[LineResult]:
    """Parse a whole file lazily, one line at a time.

    Raises ``FileRejectedError`` (possibly after some lines were yielded) when the file as a
    whole is unusable: empty, bad CSV header, broken gzip data. Errors of the stream itself
    (``DependencyError`` from the adapter) pass through untouched.
    """
    # GzipFile only ever calls read() on its fileobj when reading forwards (typeshed also
    # asks for seek(), which S3 response bodies do not have), hence the cast.
    source: Readable = (
        gzip.GzipFile(fileobj=cast(Any, stream), mode="rb") if file_type.gzip else stream
    )
    lines = iter_lines(source)
    parser = parse_csv if file_type.format is FileFormat.CSV else parse_json_lines
    try:
        yield from parser(lines)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise FileRejectedError(f"file is not valid gzip data: {exc}") from None
