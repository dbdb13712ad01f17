"""Streaming line splitting, file type detection and the CSV / JSON Lines parsers."""

from __future__ import annotations

import gzip
import io
from decimal import Decimal

import pytest
from processor.domain.errors import FileRejectedError
from processor.domain.parsing import (
    BlankLine,
    FileFormat,
    FileType,
    LineResult,
    ParsedTrade,
    RawLine,
    RejectedLine,
    detect_file_type,
    iter_lines,
    parse_file,
)

HEADER = "trade_id,account_id,symbol,side,quantity,price,currency,executed_at"
ROW = "T-1,ACC-1,AAPL,BUY,100,189.25,USD,2026-01-02T09:30:00Z"
JSON_ROW = (
    '{"trade_id": "T-1", "account_id": "ACC-1", "symbol": "AAPL", "side": "BUY", '
    '"quantity": 100, "price": 189.25, "currency": "USD", "executed_at": "2026-01-02T09:30:00Z"}'
)
CSV = FileType(FileFormat.CSV, gzip=False)
JSONL = FileType(FileFormat.JSON_LINES, gzip=False)


class ChunkedStream:
    """A stream returning at most ``step`` bytes per read, counting reads (like a socket)."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step
        self.reads = 0

    def read(self, size: int, /) -> bytes:
        self.reads += 1
        return self._data.read(min(size, self._step))


def lines_of(data: bytes, max_line_bytes: int = 1024 * 1024) -> list[RawLine]:
    return list(iter_lines(io.BytesIO(data), max_line_bytes=max_line_bytes))


def parse(data: bytes, file_type: FileType = CSV) -> list[LineResult]:
    return list(parse_file(io.BytesIO(data), file_type))


# -- file types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("incoming/a.csv", FileType(FileFormat.CSV, gzip=False)),
        ("incoming/a.CSV", FileType(FileFormat.CSV, gzip=False)),
        ("incoming/a.jsonl", FileType(FileFormat.JSON_LINES, gzip=False)),
        ("incoming/a.ndjson", FileType(FileFormat.JSON_LINES, gzip=False)),
        ("incoming/a.csv.gz", FileType(FileFormat.CSV, gzip=True)),
        ("incoming/a.ndjson.GZ", FileType(FileFormat.JSON_LINES, gzip=True)),
    ],
)
def test_supported_extensions(key: str, expected: FileType) -> None:
    assert detect_file_type(key) == expected


@pytest.mark.parametrize(
    "key",
    ["incoming/a.json", "incoming/a.txt", "incoming/a.gz", "incoming/csv", "incoming/a.csv.zip"],
)
def test_unsupported_extensions(key: str) -> None:
    assert detect_file_type(key) is None


# -- line splitting ------------------------------------------------------------------------------


def test_lines_are_numbered_from_one_and_lose_lf_and_crlf() -> None:
    assert lines_of(b"a\r\nb\nc") == [RawLine(1, b"a"), RawLine(2, b"b"), RawLine(3, b"c")]


def test_a_trailing_newline_does_not_make_an_extra_line() -> None:
    assert lines_of(b"a\nb\n") == [RawLine(1, b"a"), RawLine(2, b"b")]


def test_empty_lines_are_kept_with_their_numbers() -> None:
    assert lines_of(b"a\n\n\r\nb\n") == [
        RawLine(1, b"a"),
        RawLine(2, b""),
        RawLine(3, b""),
        RawLine(4, b"b"),
    ]


def test_lines_spanning_chunk_boundaries_are_reassembled() -> None:
    data = b"first line\r\nsecond\nthird line here\n"
    stream = ChunkedStream(data, step=3)

    lines = list(iter_lines(stream, chunk_bytes=3))

    assert [line.data for line in lines] == [b"first line", b"second", b"third line here"]
    assert stream.reads > 10


def test_a_line_over_the_limit_is_cut_and_flagged_and_the_next_line_survives() -> None:
    data = b"x" * 50 + b"\nshort\n" + b"y" * 30

    lines = list(iter_lines(ChunkedStream(data, step=7), max_line_bytes=20, chunk_bytes=7))

    assert lines == [
        RawLine(1, b"x" * 20, too_long=True),
        RawLine(2, b"short"),
        RawLine(3, b"y" * 20, too_long=True),
    ]


def test_a_line_exactly_at_the_limit_is_whole() -> None:
    assert lines_of(b"x" * 20 + b"\n", max_line_bytes=20) == [RawLine(1, b"x" * 20)]


# -- CSV -----------------------------------------------------------------------------------------


def test_csv_rows_become_trades_numbered_by_physical_line() -> None:
    results = parse(f"{HEADER}\n{ROW}\n{ROW.replace('T-1', 'T-2')}\n".encode())

    assert [type(r) for r in results] == [ParsedTrade, ParsedTrade]
    first, second = results
    assert isinstance(first, ParsedTrade) and isinstance(second, ParsedTrade)
    assert (first.line, first.trade.trade_id, first.raw) == (2, "T-1", ROW)
    assert (second.line, second.trade.trade_id) == (3, "T-2")


def test_csv_columns_may_come_in_any_order_and_fields_may_be_quoted() -> None:
    header = "executed_at,price,quantity,side,symbol,account_id,trade_id,currency"
    row = '2026-01-02T09:30:00Z,"1234.5",10,SELL,"BRK.B",ACC-9,T-9,USD'

    (result,) = parse(f"{header}\r\n{row}\r\n".encode())

    assert isinstance(result, ParsedTrade)
    assert result.trade.symbol == "BRK.B"
    assert result.trade.price == Decimal("1234.5")


def test_csv_with_utf8_bom_and_header_spaces_is_read() -> None:
    header = " , ".join(HEADER.split(",")).replace(" , ", ", ")
    (result,) = parse(b"\xef\xbb\xbf" + f"{header}\n{ROW}\n".encode())

    assert isinstance(result, ParsedTrade)


def test_csv_wrong_field_count_rejects_only_that_line() -> None:
    results = parse(f"{HEADER}\n{ROW},extra\n{ROW.rsplit(',', 1)[0]}\n{ROW}\n".encode())

    assert results[0] == RejectedLine(
        2, "expected 8 fields as in the header, found 9", f"{ROW},extra"
    )
    assert isinstance(results[1], RejectedLine)
    assert results[1].reason == "expected 8 fields as in the header, found 7"
    assert isinstance(results[2], ParsedTrade)


def test_csv_invalid_values_are_rejected_with_field_names() -> None:
    bad = ROW.replace("BUY", "buy").replace(",100,", ",0,")

    (result,) = parse(f"{HEADER}\n{bad}\n".encode())

    assert isinstance(result, RejectedLine)
    assert result.line == 2
    assert result.reason.startswith("side: must be BUY or SELL (got 'buy'); quantity: must be")
    assert result.raw == bad


def test_csv_bad_quoting_is_rejected() -> None:
    (result,) = parse(f'{HEADER}\n"T-1"x,ACC-1,AAPL\n'.encode())

    assert isinstance(result, RejectedLine)
    assert result.reason.startswith("malformed CSV line")


def test_blank_lines_are_reported_as_blank() -> None:
    results = parse(f"{HEADER}\n\n{ROW}\n   \n".encode())

    assert results[0] == BlankLine(2)
    assert isinstance(results[1], ParsedTrade)
    assert results[2] == BlankLine(4)


def test_invalid_utf8_rejects_the_line_only() -> None:
    data = f"{HEADER}\n".encode() + b"T-1,ACC-1,\xff\xfe,BUY\n" + f"{ROW}\n".encode()

    results = parse(data)

    assert isinstance(results[0], RejectedLine)
    assert results[0].reason == "line is not valid UTF-8 (byte 0xff at offset 10)"
    assert results[0].raw == "T-1,ACC-1,\\xff\\xfe,BUY"
    assert isinstance(results[1], ParsedTrade)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "trade_id,account_id,symbol,side,quantity,price,currency",
            "missing column(s) executed_at",
        ),
        (HEADER + ",venue", "unexpected column(s) 'venue'"),
        (HEADER + ",price", "repeated column(s) price"),
        (
            "TRADE_ID,account_id,symbol,side,quantity,price,currency,executed_at",
            "missing column(s) trade_id",
        ),
    ],
)
def test_a_bad_csv_header_rejects_the_file(header: str, message: str) -> None:
    with pytest.raises(FileRejectedError) as caught:
        parse(f"{header}\n{ROW}\n".encode())

    assert caught.value.reason.startswith("bad CSV header (line 1): ")
    assert message in caught.value.reason
    assert caught.value.raw == header


@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n", b"\xef\xbb\xbf"])
def test_an_empty_csv_file_is_rejected(data: bytes) -> None:
    with pytest.raises(FileRejectedError, match="file is empty"):
        parse(data)


def test_a_csv_with_only_a_header_has_no_records() -> None:
    assert parse(f"{HEADER}\n".encode()) == []


# -- JSON Lines ----------------------------------------------------------------------------------


def test_json_lines_become_trades_with_exact_decimal_prices() -> None:
    (result,) = parse(f"{JSON_ROW}\n".encode(), JSONL)

    assert isinstance(result, ParsedTrade)
    assert result.line == 1
    assert result.trade.price == Decimal("189.25")
    assert isinstance(result.trade.price, Decimal)
    assert result.raw == JSON_ROW


def test_json_float_looking_price_keeps_its_exact_value() -> None:
    (result,) = parse(JSON_ROW.replace("189.25", "0.1").encode(), JSONL)

    assert isinstance(result, ParsedTrade)
    assert result.trade.price == Decimal("0.1")
    assert result.trade.price_text == "0.1"


@pytest.mark.parametrize(
    ("line", "reason_start"),
    [
        ("{not json", "invalid JSON: "),
        ("[1, 2]", "line is not a JSON object"),
        ('"text"', "line is not a JSON object"),
        (JSON_ROW.replace("189.25", "NaN"), "invalid JSON: NaN is not allowed"),
        (
            JSON_ROW.replace('"side": "BUY"', '"side": "BUY", "side": "SELL"'),
            "invalid JSON object: duplicate key 'side'",
        ),
        (JSON_ROW.replace("100", "1.0"), "quantity: must be a whole number"),
        (JSON_ROW.replace("100", "true"), "quantity: must be a whole number"),
        (JSON_ROW.replace('"USD"', "null"), "currency: must be an ISO 4217 code"),
        (JSON_ROW.replace("}", ', "venue": "XNAS"}'), "'venue': unexpected field"),
        ("[" * 100_000 + "]" * 100_000, "invalid JSON: "),
        ('{"quantity": ' + "9" * 5000 + "}", "invalid JSON: "),
    ],
)
def test_bad_json_lines_are_rejected_with_a_reason(line: str, reason_start: str) -> None:
    (result,) = parse(f"{line}\n".encode(), JSONL)

    assert isinstance(result, RejectedLine)
    assert result.reason.startswith(reason_start)
    assert result.line == 1


def test_an_overlong_line_is_rejected_and_reading_goes_on() -> None:
    data = b'{"trade_id": "' + b"x" * (2 * 1024 * 1024) + b'"}\n' + JSON_ROW.encode() + b"\n"

    results = parse(data, JSONL)

    assert isinstance(results[0], RejectedLine)
    assert results[0].reason == "line is longer than 1048576 bytes"
    assert isinstance(results[1], ParsedTrade)
    assert results[1].line == 2


def test_an_empty_json_lines_file_is_rejected() -> None:
    with pytest.raises(FileRejectedError, match="file is empty"):
        parse(b"\n \n", JSONL)


# -- gzip ----------------------------------------------------------------------------------------


def test_gzip_files_are_decompressed_while_streaming() -> None:
    data = gzip.compress(f"{HEADER}\n{ROW}\n".encode())

    (result,) = parse(data, FileType(FileFormat.CSV, gzip=True))

    assert isinstance(result, ParsedTrade)


def test_data_that_is_not_gzip_rejects_the_file() -> None:
    with pytest.raises(FileRejectedError, match="file is not valid gzip data"):
        parse(f"{HEADER}\n{ROW}\n".encode(), FileType(FileFormat.CSV, gzip=True))


def test_truncated_gzip_keeps_the_lines_before_the_damage() -> None:
    body = (
        f"{HEADER}\n" + "".join(f"{ROW.replace('T-1', f'T-{i}')}\n" for i in range(2000))
    ).encode()
    truncated = gzip.compress(body)[:-200]
    results: list[LineResult] = []

    with pytest.raises(FileRejectedError, match="file is not valid gzip data"):
        results.extend(parse_file(io.BytesIO(truncated), FileType(FileFormat.CSV, gzip=True)))

    assert len(results) > 100
    assert all(isinstance(result, ParsedTrade) for result in results)
