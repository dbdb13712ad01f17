"""Formats of ids and timestamps (full, ASCII-only matches)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta, timezone

import pytest
from api_handler.domain.identifiers import (
    format_utc_timestamp,
    is_account_id,
    is_session_id,
    is_trade_id,
    is_utc_timestamp,
    parse_utc_timestamp,
)


@pytest.mark.parametrize("value", ["a", "ACC-1", "acc_2", "0123", "x" * 64])
def test_account_ids_of_1_to_64_letters_digits_dashes_underscores_are_valid(value: str) -> None:
    assert is_account_id(value)


@pytest.mark.parametrize(
    "value", ["", "x" * 65, "acc 1", "acc.1", "acc/1", "acc-1\n", "acc\u0661", "äcc"]
)
def test_other_account_ids_are_invalid(value: str) -> None:
    assert not is_account_id(value)


def test_a_token_urlsafe_32_value_is_a_session_id() -> None:
    assert is_session_id(secrets.token_urlsafe(32))


@pytest.mark.parametrize("value", ["a" * 42, "a" * 44, "a" * 42 + "=", "a" * 42 + "+", ""])
def test_other_shapes_are_not_session_ids(value: str) -> None:
    assert not is_session_id(value)


@pytest.mark.parametrize("value", ["T-1", "2024:03:01.abc_Z", "x" * 128])
def test_trade_ids_of_1_to_128_safe_characters_are_valid(value: str) -> None:
    assert is_trade_id(value)


@pytest.mark.parametrize("value", ["", "x" * 129, "T 1", "T/1", "T%201", "T-1\n"])
def test_other_trade_ids_are_invalid(value: str) -> None:
    assert not is_trade_id(value)


def test_a_microsecond_utc_timestamp_with_z_is_valid() -> None:
    assert is_utc_timestamp("2024-03-01T09:30:00.000001Z")


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-01T09:30:00Z",
        "2024-03-01T09:30:00.000001+00:00",
        "2024-03-01 09:30:00.000001Z",
        "2024-02-30T09:30:00.000001Z",
        "2024-03-01T24:00:00.000000Z",
        "2024-03-01T09:30:00.000001Z\n",
    ],
)
def test_other_timestamp_shapes_or_impossible_dates_are_invalid(value: str) -> None:
    assert not is_utc_timestamp(value)


def test_format_writes_utc_with_microseconds_and_z_whatever_the_input_zone() -> None:
    singapore = timezone(timedelta(hours=8))
    moment = datetime(2024, 3, 1, 20, 0, 0, 5, tzinfo=singapore)
    assert format_utc_timestamp(moment) == "2024-03-01T12:00:00.000005Z"


def test_parse_inverts_format() -> None:
    moment = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert parse_utc_timestamp(format_utc_timestamp(moment)) == moment


def test_format_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_utc_timestamp(datetime(2024, 3, 1))


def test_parse_refuses_other_shapes() -> None:
    with pytest.raises(ValueError, match="timestamp"):
        parse_utc_timestamp("2024-03-01T12:00:00Z")
