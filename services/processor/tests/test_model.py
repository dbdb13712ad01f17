"""The trade record's validation rules, canonical form and record_hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from processor.domain.model import Side, TradeValidationError, format_utc, parse_trade

VALID_TRADE: dict[str, Any] = {
    "trade_id": "T-000001",
    "account_id": "ACC-1",
    "symbol": "AAPL",
    "side": "BUY",
    "quantity": "100",
    "price": "189.25",
    "currency": "USD",
    "executed_at": "2026-01-02T09:30:00Z",
}


def rejected(**overrides: Any) -> str:
    """The rejection reason for VALID_TRADE with the overrides (fails if it is accepted)."""
    with pytest.raises(TradeValidationError) as caught:
        parse_trade({**VALID_TRADE, **overrides})
    return caught.value.reason


def test_a_valid_csv_record_becomes_a_trade_with_exact_types() -> None:
    trade = parse_trade(VALID_TRADE)

    assert trade.trade_id == "T-000001"
    assert trade.account_id == "ACC-1"
    assert trade.symbol == "AAPL"
    assert trade.side is Side.BUY
    assert trade.quantity == 100
    assert trade.price == Decimal("189.25")
    assert trade.currency == "USD"
    assert trade.executed_at == datetime(2026, 1, 2, 9, 30, tzinfo=UTC)


def test_a_valid_json_record_with_json_numbers_is_accepted() -> None:
    trade = parse_trade({**VALID_TRADE, "quantity": 7, "price": Decimal("0.1")})

    assert trade.quantity == 7
    assert trade.price == Decimal("0.1")


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("0.1", "0.1"),
        ("0.10", "0.1"),
        ("100.000000000000000001", "100.000000000000000001"),
        ("12345678901234567890.123456789012345678", "12345678901234567890.123456789012345678"),
        ("3", "3"),
    ],
)
def test_price_stays_an_exact_decimal(text: str, exact: str) -> None:
    trade = parse_trade({**VALID_TRADE, "price": text})

    assert isinstance(trade.price, Decimal)
    assert trade.price == Decimal(exact)
    assert trade.price_text == exact


def test_price_text_is_plain_and_without_trailing_zeros() -> None:
    assert parse_trade({**VALID_TRADE, "price": "100.50"}).price_text == "100.5"
    assert parse_trade({**VALID_TRADE, "price": Decimal("1E+2")}).price_text == "100"
    assert parse_trade({**VALID_TRADE, "price": "0.1"}).price_text == "0.1"


@pytest.mark.parametrize("field", ["trade_id", "account_id"])
@pytest.mark.parametrize("value", ["", "a b", "x" * 65, "tr@de", "é", 12345, None])
def test_identifiers_must_be_1_to_64_letters_digits_dash_underscore(field: str, value: Any) -> None:
    reason = rejected(**{field: value})

    assert reason.startswith(f"{field}: must be a string of 1-64 letters, digits, '-' or '_'")


def test_identifiers_of_64_characters_are_accepted() -> None:
    assert parse_trade({**VALID_TRADE, "trade_id": "A" * 64}).trade_id == "A" * 64


@pytest.mark.parametrize("value", ["aapl", "", "ABCDEFGHIJKLM", "BRK B", "BRK-B", 7])
def test_bad_symbol_is_rejected(value: Any) -> None:
    assert rejected(symbol=value).startswith("symbol: must be 1-12 characters of uppercase")


def test_symbol_may_contain_dots_and_digits() -> None:
    assert parse_trade({**VALID_TRADE, "symbol": "BRK.B"}).symbol == "BRK.B"
    assert parse_trade({**VALID_TRADE, "symbol": "0700.HK"}).symbol == "0700.HK"


@pytest.mark.parametrize("value", ["buy", "Sell", "HOLD", "", None, 1])
def test_side_must_be_buy_or_sell(value: Any) -> None:
    assert rejected(side=value).startswith("side: must be BUY or SELL")


def test_side_sell_is_accepted() -> None:
    assert parse_trade({**VALID_TRADE, "side": "SELL"}).side is Side.SELL


@pytest.mark.parametrize("value", ["0", 0, "-5", -5, "-0"])
def test_quantity_must_be_positive(value: Any) -> None:
    assert rejected(quantity=value).startswith("quantity: must be greater than 0")


@pytest.mark.parametrize(
    "value",
    ["1.5", "1.0", "1e3", " 5", "5 ", "+5", "", "ten", Decimal("1.0"), Decimal("2.5"), True],
)
def test_quantity_must_be_a_whole_number(value: Any) -> None:
    assert rejected(quantity=value).startswith("quantity: must be a whole number")


def test_quantity_is_limited_to_18_digits() -> None:
    assert parse_trade({**VALID_TRADE, "quantity": "9" * 18}).quantity == 10**18 - 1
    assert rejected(quantity="1" + "0" * 18).startswith("quantity: must have at most 18 digits")
    assert rejected(quantity=10**18).startswith("quantity: must have at most 18 digits")


@pytest.mark.parametrize("value", ["0", "0.000", "-1", "-0.01", 0, -3, Decimal("-2.5")])
def test_price_must_be_positive(value: Any) -> None:
    assert rejected(price=value).startswith("price: must be greater than 0")


@pytest.mark.parametrize("value", ["1e5", "1,5", "abc", "", ".5", "5.", " 1.5", True, None, 1.5])
def test_price_must_be_decimal_text_or_a_json_number(value: Any) -> None:
    assert rejected(price=value).startswith("price: must be a decimal number")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_price_must_be_finite(value: Decimal) -> None:
    assert rejected(price=value).startswith("price: must be a finite decimal number")


def test_price_precision_and_magnitude_are_bounded() -> None:
    assert rejected(price="0." + "0" * 18 + "1").startswith("price: must have at most 18 decimal")
    assert rejected(price="1" + "0" * 20).startswith("price: must be less than 10^20")
    assert parse_trade({**VALID_TRADE, "price": "0." + "0" * 17 + "1"}).price == Decimal("1e-18")


@pytest.mark.parametrize("value", ["usd", "US", "USDT", "U1D", "", None, 840])
def test_currency_must_be_three_uppercase_letters(value: Any) -> None:
    assert rejected(currency=value).startswith("currency: must be an ISO 4217 code")


@pytest.mark.parametrize(
    "value", ["2026-01-02T09:30:00", "2026-01-02 09:30:00.123456", "2026-01-02T09:30"]
)
def test_naive_timestamps_are_rejected(value: str) -> None:
    assert rejected(executed_at=value).startswith("executed_at: must include a timezone")


@pytest.mark.parametrize(
    "value",
    ["2026-01-02", "02/01/2026 09:30Z", "yesterday", "", 1767346200, None, "2026-1-2T9:30Z"],
)
def test_non_iso_timestamps_are_rejected(value: Any) -> None:
    assert rejected(executed_at=value).startswith("executed_at: must be an ISO-8601 timestamp")


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30T10:00:00Z",
        "2026-01-02T24:00:00Z",
        "2026-01-02T10:00:00+25:00",
        "0001-01-01T00:00+01:00",
    ],
)
def test_impossible_timestamps_are_rejected(value: str) -> None:
    assert rejected(executed_at=value).startswith("executed_at: is not a valid date and time")


def test_sub_microsecond_precision_is_rejected_not_truncated() -> None:
    assert rejected(executed_at="2026-01-02T10:00:00.1234567Z").startswith(
        "executed_at: must not be more precise than microseconds"
    )
    trade = parse_trade({**VALID_TRADE, "executed_at": "2026-01-02T10:00:00.123456000Z"})
    assert trade.executed_at.microsecond == 123456


@pytest.mark.parametrize(
    ("value", "utc_text"),
    [
        ("2026-01-02T09:30:00Z", "2026-01-02T09:30:00.000000Z"),
        ("2026-01-02T17:30:00+08:00", "2026-01-02T09:30:00.000000Z"),
        ("2026-01-02T01:00:00.5-05:00", "2026-01-02T06:00:00.500000Z"),
        ("2026-01-01T23:30:00-0130", "2026-01-02T01:00:00.000000Z"),
        ("2026-01-02 09:30:00.000001+00", "2026-01-02T09:30:00.000001Z"),
        ("2026-03-01T00:15:00+05:45", "2026-02-28T18:30:00.000000Z"),
    ],
)
def test_timestamps_are_converted_to_fixed_width_utc(value: str, utc_text: str) -> None:
    assert parse_trade({**VALID_TRADE, "executed_at": value}).executed_at_text == utc_text


def test_fixed_width_utc_text_sorts_like_time() -> None:
    moments = [
        datetime(999, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 2, 9, 30, 0, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 9, 30, 0, 40, tzinfo=UTC),
        datetime(2026, 10, 1, tzinfo=UTC),
    ]
    texts = [format_utc(moment) for moment in moments]

    assert sorted(texts) == texts
    assert {len(text) for text in texts} == {27}


def test_missing_and_unexpected_fields_are_named() -> None:
    fields: dict[str, Any] = {**VALID_TRADE, "venue": "XNAS"}
    del fields["price"]

    with pytest.raises(TradeValidationError) as caught:
        parse_trade(fields)

    assert caught.value.reason == "price: is required; 'venue': unexpected field"


def test_every_bad_field_is_reported() -> None:
    reason = rejected(side="HOLD", quantity="0", currency="usd")

    assert [part.split(":")[0] for part in reason.split("; ")] == ["side", "quantity", "currency"]


def test_long_bad_values_are_shortened_in_the_reason() -> None:
    reason = rejected(symbol="X" * 10_000)

    assert len(reason) < 200
    assert reason.endswith("...)")


def test_record_hash_ignores_representation_differences() -> None:
    base = parse_trade(VALID_TRADE)
    same = parse_trade(
        {
            **VALID_TRADE,
            "price": "189.250",
            "quantity": 100,
            "executed_at": "2026-01-02T17:30:00+08:00",
        }
    )

    assert same.record_hash == base.record_hash
    assert len(base.record_hash) == 64


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("account_id", "ACC-2"),
        ("symbol", "MSFT"),
        ("side", "SELL"),
        ("quantity", "101"),
        ("price", "189.26"),
        ("currency", "EUR"),
        ("executed_at", "2026-01-02T09:30:00.000001Z"),
    ],
)
def test_record_hash_changes_with_any_trade_field(field: str, value: str) -> None:
    assert (
        parse_trade({**VALID_TRADE, field: value}).record_hash
        != parse_trade(VALID_TRADE).record_hash
    )


def test_record_hash_is_sha256_of_the_canonical_fields() -> None:
    trade = parse_trade(VALID_TRADE)
    canonical = {
        "account_id": "ACC-1",
        "currency": "USD",
        "executed_at": "2026-01-02T09:30:00.000000Z",
        "price": "189.25",
        "quantity": "100",
        "side": "BUY",
        "symbol": "AAPL",
        "trade_id": "T-000001",
    }
    expected = hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()

    assert trade.canonical_fields() == canonical
    assert trade.record_hash == expected
