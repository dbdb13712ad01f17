"""The fast paths give exactly the results of the reference implementations.

* ``parse_trade`` (hand-written checks, pydantic only for error reports) against the pydantic
  model alone (``parse_trade_with_model``), on generated records;
* the CSV line splitter's ``str.split`` shortcut against the csv module.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processor.domain.model import (
    FIELDS,
    Trade,
    TradeValidationError,
    parse_trade,
    parse_trade_with_model,
)
from processor.domain.parsing import _csv_fields

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

near_valid_text = {
    "trade_id": st.from_regex(r"[A-Za-z0-9_-]{0,66}", fullmatch=True),
    "account_id": st.from_regex(r"[A-Za-z0-9_ -]{0,65}", fullmatch=True),
    "symbol": st.from_regex(r"[A-Za-z0-9.]{0,13}", fullmatch=True),
    "side": st.sampled_from(["BUY", "SELL", "buy", "HOLD", "", " BUY"]),
    "quantity": st.from_regex(r"-?0*[0-9]{0,20}", fullmatch=True),
    "price": st.from_regex(r"-?[0-9]{0,22}(\.[0-9]{0,20})?", fullmatch=True),
    "currency": st.from_regex(r"[A-Za-z]{2,4}", fullmatch=True),
    "executed_at": st.from_regex(
        r"[0-9]{4}-[01][0-9]-[0-3][0-9][T t][0-2][0-9]:[0-5][0-9](:[0-6][0-9]([.,][0-9]{0,9})?)?"
        r"(Z|z|[+-][0-2][0-9](:?[0-5][0-9])?)?",
        fullmatch=True,
    ),
}
json_like = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.lists(st.integers(), max_size=2)
)
field_values = {name: strategy | json_like for name, strategy in near_valid_text.items()}
records = st.fixed_dictionaries(
    {},
    optional={**field_values, "venue": json_like},
)
complete_records = st.fixed_dictionaries(field_values)


def outcome(parse: Any, fields: dict[str, Any]) -> tuple[str, Any]:
    try:
        trade: Trade = parse(fields)
    except TradeValidationError as exc:
        return "rejected", exc.reason
    return "accepted", (trade, trade.price_text, trade.executed_at_text, trade.record_hash)


@SETTINGS
@given(complete_records | records)
def test_the_fast_path_accepts_and_rejects_exactly_like_the_pydantic_model(
    fields: dict[str, Any],
) -> None:
    assert outcome(parse_trade, fields) == outcome(parse_trade_with_model, fields)


def test_the_pydantic_model_accepts_a_valid_record_like_the_fast_path() -> None:
    fields = dict(
        zip(
            FIELDS,
            ["T-1", "A", "AAPL", "BUY", "3", "1.50", "USD", "2026-01-02 09:30+08"],
            strict=True,
        )
    )

    assert outcome(parse_trade_with_model, fields) == outcome(parse_trade, fields)
    assert parse_trade(fields).price == Decimal("1.5")


@SETTINGS
@given(st.text(st.characters(exclude_characters="\n"), max_size=60))
def test_the_csv_split_shortcut_agrees_with_the_csv_module(text: str) -> None:
    try:
        expected: Any = next(iter(csv.reader([text], strict=True)), [])
    except csv.Error:
        expected = csv.Error
    try:
        actual: Any = _csv_fields(text)
    except csv.Error:
        actual = csv.Error

    assert actual == expected
