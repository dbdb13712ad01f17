"""Streaming parsers for trade batch files (CSV and JSON Lines, optionally gzip-compressed).

Files are read as a stream of bounded chunks and split into physical lines here (not with
``StreamingBody.iter_lines``, whose pending buffer grows without limit on a file without
newlines): memory stays flat whatever the size of the file, and one line never holds more
than ``MAX_LINE_BYTES``. One physical line is one record; line numbers are 1-based physical
line numbers of the (decompressed) file, so a CSV's first data line is line 2.

Rules (documented in the README):
* Lines end with ``\\n`` or ``\\r\\n``; a UTF-8 byte order mark at the start is ignored.
  The line length limit counts the content only, not the line break.
* Blank (whitespace-only) lines are counted as ``blank_lines`` and otherwise skipped.
* Each line is decoded as UTF-8 on its own: a line that is not valid UTF-8 is rejected,
  the rest of the file is still processed.
* CSV: the first non-blank line is the header; it must name each of the eight trade fields
  exactly once, in any order, and nothing else (otherwise the whole file is rejected). Each
  data line must have exactly as many fields as the header (otherwise the line is rejected).
  Quoted fields may not contain line breaks.
* JSON Lines: each line must be one JSON object with exactly the eight trade fields;
  duplicate keys, NaN and Infinity are rejected. Numbers are parsed as exact Decimals (a
  number beyond Decimal's exponent range rejects its line).
* Whatever its bytes, a line ends as a result (a trade, a rejection or a blank line): any
  unforeseen failure while handling one line rejects that line with the error's name.
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


# The per-line records below are plain (not frozen) slotted dataclasses: a frozen
# dataclass's __init__ costs several times more, and there are millions of lines.
@dataclass(slots=True)
class RawLine:
    """One physical line without its line break; ``data`` is cut at the length limit."""

    number: int
    data: bytes
    too_long: bool = False


@dataclass(slots=True)
class ParseState:
    """Where a parse stands, for checkpoints: the last line read and what was learned.

    ``line`` is the number of the last physical line read and ``end`` the offset just after
    its line break in the (decompressed) file, so a later invocation can resume exactly at
    the next line: ``iter_lines`` keeps them current while it reads. ``header`` is the CSV
    header once seen and ``seen_content`` whether any non-blank line was read; both are
    carried into a continuation, which never sees the start of the file.
    """

    line: int = 0
    end: int = 0
    header: tuple[str, ...] | None = None
    seen_content: bool = False


def iter_lines(  # noqa: C901 - one flat loop is the fast way through millions of lines
    stream: Readable,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    chunk_bytes: int = CHUNK_BYTES,
    state: ParseState | None = None,
) -> Iterator[RawLine]:
    """Split a binary stream into lines, reading ``chunk_bytes`` at a time.

    The limit counts the line's content only: the ``\\n`` or ``\\r\\n`` that ends it does not
    count. A longer line is yielded once, cut to the limit and marked ``too_long``; the rest
    of it is skipped without being kept in memory. With a ``state``, numbering continues
    after ``state.line`` and offsets after ``state.end`` (the stream starts there), and the
    state is updated before each line is yielded.
    """
    position = state.end if state is not None else 0
    number = state.line if state is not None else 0
    pending = bytearray()  # the kept bytes of a line split across chunks (<= limit + 1)
    pending_length = 0  # every byte of that line read so far, kept or not
    too_long = False
    keep = max_line_bytes + 1  # room for a '\r' right after a line of exactly the limit
    while chunk := stream.read(chunk_bytes):
        pieces = chunk.split(b"\n")
        tail = pieces.pop()
        for piece in pieces:
            number += 1
            if pending_length:
                length = pending_length + len(piece)
                if not too_long:
                    pending += piece
                data = bytes(pending)
                line_too_long = too_long
                pending.clear()
                pending_length = 0
                too_long = False
            else:
                length = len(piece)
                data = piece
                line_too_long = False
            position += length + 1
            if state is not None:
                state.line = number
                state.end = position
            yield _finish_line(number, data, line_too_long, max_line_bytes)
        if tail:
            pending_length += len(tail)
            if not too_long:
                pending += tail
                if len(pending) > keep:
                    too_long = True
                    del pending[max_line_bytes:]
    if pending_length:
        number += 1
        position += pending_length
        if state is not None:
            state.line = number
            state.end = position
        yield _finish_line(number, bytes(pending), too_long, max_line_bytes)


def _finish_line(number: int, data: bytes, too_long: bool, limit: int) -> RawLine:
    if not too_long:
        if data.endswith(b"\r"):
            data = data[:-1]
        if len(data) <= limit:
            return RawLine(number, data)
    return RawLine(number, data[:limit], too_long=True)


@dataclass(slots=True)
class ParsedTrade:
    line: int
    trade: Trade
    raw: str


@dataclass(slots=True)
class RejectedLine:
    line: int
    reason: str
    raw: str


@dataclass(slots=True)
class BlankLine:
    line: int


LineResult = ParsedTrade | RejectedLine | BlankLine


@dataclass(slots=True)
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
    """The fields of one CSV line; raises csv.Error on bad quoting.

    Without a quote, a carriage return or a NUL, the csv module's reader splits exactly at
    the commas, so that common case is a ``str.split`` (several times faster; a property
    test checks both agree).
    """
    if '"' not in text and "\r" not in text and "\x00" not in text:
        return text.split(",") if text else []
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


def unexpected_failure(exc: BaseException) -> str:
    """The rejection reason of a line whose handling failed in an unforeseen way."""
    try:
        detail = str(exc)[:200]
    except Exception:
        detail = ""
    return f"line could not be processed: {type(exc).__name__}" + (f": {detail}" if detail else "")


def parse_csv(lines: Iterable[RawLine], state: ParseState | None = None) -> Iterator[LineResult]:
    state = state if state is not None else ParseState()
    for raw in lines:
        line = _decode(raw)
        if line.problem is None and not line.text.strip():
            yield BlankLine(line.line)
        elif state.header is None:
            state.header = _csv_header(line)
        elif line.problem is not None:
            yield RejectedLine(line.line, line.problem, line.text)
        else:
            try:
                result = _csv_record(line, state.header)
            except Exception as exc:
                result = RejectedLine(line.line, unexpected_failure(exc), line.text)
            yield result
    if state.header is None:
        raise FileRejectedError("file is empty (no CSV header)")


class _DuplicateKeyError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(f"duplicate key {key!r:.40}")
            seen.add(key)
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


# One decoder for every line (json.loads with options builds a new one per call).
_JSON: Final = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_no_constants, object_pairs_hook=_unique_keys
)


def _json_record(line: _Text) -> ParsedTrade | RejectedLine:
    try:
        value = _JSON.decode(line.text)
    except _DuplicateKeyError as exc:
        return RejectedLine(line.line, f"invalid JSON object: {exc}", line.text)
    except (ValueError, RecursionError) as exc:
        return RejectedLine(line.line, f"invalid JSON: {str(exc)[:200]}", line.text)
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond Decimal's range
        return RejectedLine(line.line, "invalid JSON: number out of range", line.text)
    if not isinstance(value, dict):
        return RejectedLine(line.line, "line is not a JSON object", line.text)
    return _validated(line.line, value, line.text)


def parse_json_lines(
    lines: Iterable[RawLine], state: ParseState | None = None
) -> Iterator[LineResult]:
    state = state if state is not None else ParseState()
    for raw in lines:
        line = _decode(raw)
        if line.problem is None and not line.text.strip():
            yield BlankLine(line.line)
            continue
        state.seen_content = True
        if line.problem is not None:
            yield RejectedLine(line.line, line.problem, line.text)
        else:
            try:
                result = _json_record(line)
            except Exception as exc:
                result = RejectedLine(line.line, unexpected_failure(exc), line.text)
            yield result
    if not state.seen_content:
        raise FileRejectedError("file is empty")


def _skip(stream: Readable, count: int) -> None:
    """Read and discard ``count`` bytes (resuming inside a gzip file: see ``parse_file``)."""
    while count > 0:
        data = stream.read(min(count, CHUNK_BYTES))
        if not data:
            raise FileRejectedError("file ends before the checkpoint it is resumed from")
        count -= len(data)


def parse_file(
    stream: Readable, file_type: FileType, state: ParseState | None = None, *, skip: int = 0
) -> Iterator[LineResult]:
    """Parse a whole file lazily, one line at a time.

    Raises ``FileRejectedError`` (possibly after some lines were yielded) when the file as a
    whole is unusable: empty, bad CSV header, broken gzip data. Errors of the stream itself
    (``DependencyError`` from the adapter) pass through untouched.

    ``state`` is kept current (last line read, its end offset, the CSV header); passing the
    state of a checkpoint resumes after it. ``skip`` bytes of the (decompressed) stream are
    discarded first: a gzip stream cannot start in the middle, so resuming one re-reads and
    re-decompresses it from the start up to the checkpoint's offset.
    """
    # GzipFile only ever calls read() on its fileobj when reading forwards (typeshed also
    # asks for seek(), which S3 response bodies do not have), hence the cast.
    source: Readable = (
        gzip.GzipFile(fileobj=cast(Any, stream), mode="rb") if file_type.gzip else stream
    )
    state = state if state is not None else ParseState()
    lines = iter_lines(source, state=state)
    parser = parse_csv if file_type.format is FileFormat.CSV else parse_json_lines
    try:
        _skip(source, skip)
        yield from parser(lines, state)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise FileRejectedError(f"file is not valid gzip data: {exc}") from None
