"""No line, whatever its bytes, can fail an invocation: every line ends counted exactly once.

Examples first (each once crashed the handler on every retry), then a generative property
through the real handler with the moto adapters.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processor import handler
from processor.domain.model import FIELDS, TradeValidationError, parse_trade
from processor.domain.parsing import (
    MAX_LINE_BYTES,
    FileFormat,
    FileType,
    RejectedLine,
    iter_lines,
    parse_file,
)

VALID = {
    "trade_id": "T-1",
    "account_id": "ACC-1",
    "symbol": "AAPL",
    "side": "BUY",
    "quantity": 1,
    "price": "1.5",
    "currency": "USD",
    "executed_at": "2026-01-02T09:30:00Z",
}
JSONL = FileType(FileFormat.JSON_LINES, gzip=False)
BUCKET = "trading-data-test"


def only_result(line: str) -> Any:
    (result,) = parse_file(io.BytesIO(line.encode("utf-8", "surrogatepass") + b"\n"), JSONL)
    return result


@pytest.mark.parametrize(
    "line",
    [
        '{"price": 1e99999999999999999999}',
        json.dumps(VALID).replace('"1.5"', "1e99999999999999999999"),
        json.dumps(VALID).replace('"quantity": 1', '"quantity": 1e-99999999999999999999'),
        json.dumps({**VALID, "venue": 0}).replace('"venue": 0', '"venue": 1E+99999999999999999999'),
    ],
)
def test_a_number_beyond_decimal_range_rejects_its_line(line: str) -> None:
    result = only_result(line)

    assert isinstance(result, RejectedLine)
    assert result.reason == "invalid JSON: number out of range"


def test_a_value_nested_990_levels_deep_rejects_its_line() -> None:
    deep = "[" * 990 + "]" * 990

    result = only_result(json.dumps({**VALID, "side": "@"}).replace('"@"', deep))

    assert isinstance(result, RejectedLine)  # by the JSON decoder or by the validator
    assert result.reason


def test_a_value_too_deep_to_print_is_still_named_in_the_reason() -> None:
    value: list[Any] = []
    for _ in range(sys.getrecursionlimit()):
        value = [value]

    with pytest.raises(TradeValidationError) as caught:
        parse_trade({**VALID, "side": value})

    assert caught.value.reason.startswith("side: must be BUY or SELL (got [[[")


def test_the_line_ending_does_not_count_towards_the_length_limit() -> None:
    content = b"x" * MAX_LINE_BYTES

    crlf = list(iter_lines(io.BytesIO(content + b"\r\n" + content + b"x\r\n")))
    lf = list(iter_lines(io.BytesIO(content + b"\n")))

    assert [(line.number, line.too_long, len(line.data)) for line in crlf] == [
        (1, False, MAX_LINE_BYTES),
        (2, True, MAX_LINE_BYTES),
    ]
    assert [(line.too_long, len(line.data)) for line in lf] == [(False, MAX_LINE_BYTES)]


# -- the handler over moto, arbitrary lines --------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.decimals(allow_nan=False, allow_infinity=False).map(str),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)
# Numbers at and past every limit: digits, exponents, Decimal's exponent range, int digits.
edge_numbers = st.sampled_from(
    [
        "1e99999999999999999999",
        "-1E+999999999999999999",
        "1e-999999999999999999",
        "9" * 18,
        "9" * 19,
        "9" * 4301,
        "0." + "0" * 17 + "1",
        "0." + "0" * 18 + "1",
        "1" + "0" * 20,
        "1e20",
        "-0",
        "0.0e0",
    ]
)
deep = st.integers(min_value=1, max_value=5000).map(lambda n: "[" * n + "]" * n)
trade_with_odd_field = st.tuples(
    st.sampled_from([*FIELDS, "venue"]), edge_numbers | deep | json_values.map(json.dumps)
).map(lambda pair: json.dumps({**VALID, pair[0]: "@@"}).replace('"@@"', pair[1]))
arbitrary_line = (
    st.binary(max_size=300).map(lambda b: b.replace(b"\n", b""))
    | json_values.map(lambda v: json.dumps(v).encode())
    | trade_with_odd_field.map(str.encode)
    | deep.map(str.encode)
)


@pytest.fixture
def invoke_on(
    upload: Callable[[str, bytes], str | None],
    s3_event: Callable[..., dict[str, Any]],
    lambda_context: Any,
) -> Callable[[str, bytes], dict[str, Any]]:
    def run(key: str, data: bytes) -> dict[str, Any]:
        version_id = upload(key, data)
        result = handler.lambda_handler(s3_event(BUCKET, key, version_id), lambda_context)
        (summary,) = result["files"]
        return dict(summary)

    return run


@pytest.mark.moto
@pytest.mark.usefixtures("fresh_handler", "table", "bucket")
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(arbitrary_line, min_size=1, max_size=12), csv=st.booleans())
def test_any_lines_are_each_counted_once_and_never_fail_the_handler(
    invoke_on: Callable[[str, bytes], dict[str, Any]], lines: list[bytes], csv: bool
) -> None:
    header = [",".join(FIELDS).encode()] if csv else []
    data = b"\n".join([*header, *lines]) + b"\n"

    summary = invoke_on("incoming/any.csv" if csv else "incoming/any.jsonl", data)

    counted = sum(
        summary[name] for name in ("accepted", "duplicates", "conflicts", "rejected", "blank_lines")
    )
    if summary["status"] == "file_error":
        assert not csv and all(not line.strip() for line in lines)
    else:
        assert summary["status"] == "processed"
        assert counted == len(lines)
