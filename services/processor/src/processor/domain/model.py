"""The trade record: validation rules, canonical form and record_hash.

A ``Trade`` is built from a mapping of field name to value, as read from a CSV row (every
value a ``str``) or a JSON object (``str``, ``int``, ``Decimal`` because JSON is parsed with
``parse_float=Decimal``, ``bool``, ``None``, lists, objects). Validation is strict: values are
never guessed or coerced beyond the documented forms, and every problem is reported as
``<field>: <problem>``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

FIELDS: Final = (
    "trade_id",
    "account_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "currency",
    "executed_at",
)

MAX_QUANTITY_DIGITS: Final = 18
MAX_PRICE_INTEGER_DIGITS: Final = 20
MAX_PRICE_FRACTION_DIGITS: Final = 18
MAX_TIMESTAMP_LENGTH: Final = 64
_SHOWN_VALUE_LIMIT: Final = 40

_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SYMBOL = re.compile(r"[A-Z0-9.]{1,12}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"[Tt ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]+))?)?"
    r"(?P<tz>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


def _show(value: object) -> str:
    """A short, safe rendering of a rejected value for an error message."""
    text = repr(value)
    if len(text) > _SHOWN_VALUE_LIMIT:
        text = text[: _SHOWN_VALUE_LIMIT - 3] + "..."
    return text


def _invalid(problem: str, value: object) -> PydanticCustomError:
    return PydanticCustomError("invalid_trade_field", f"{problem} (got {_show(value)})")


def _identifier(value: object) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise _invalid("must be a string of 1-64 letters, digits, '-' or '_'", value)
    return value


def _symbol(value: object) -> str:
    if not isinstance(value, str) or not _SYMBOL.fullmatch(value):
        raise _invalid("must be 1-12 characters of uppercase letters, digits or '.'", value)
    return value


def _side(value: object) -> Side:
    if value == "BUY":
        return Side.BUY
    if value == "SELL":
        return Side.SELL
    raise _invalid("must be BUY or SELL", value)


def _quantity(value: object) -> int:
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        significant = value.lstrip("-").lstrip("0")
        if len(significant) > MAX_QUANTITY_DIGITS:
            raise _invalid(f"must have at most {MAX_QUANTITY_DIGITS} digits", value)
        number = int(significant or "0") * (-1 if value.startswith("-") else 1)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
        if number >= 10**MAX_QUANTITY_DIGITS:
            raise _invalid(f"must have at most {MAX_QUANTITY_DIGITS} digits", value)
    else:
        raise _invalid("must be a whole number (digits only: no decimal point or exponent)", value)
    if number <= 0:
        raise _invalid("must be greater than 0", value)
    return number


def _price(value: object) -> Decimal:
    if isinstance(value, Decimal):
        number = value
    elif (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value)
    ):
        number = Decimal(value)
    else:
        raise _invalid("must be a decimal number such as 101.25", value)
    if not number.is_finite():
        raise _invalid("must be a finite decimal number", value)
    if number <= 0:
        raise _invalid("must be greater than 0", value)
    canonical = canonical_decimal(number)
    exponent = canonical.as_tuple().exponent
    if not isinstance(exponent, int) or -exponent > MAX_PRICE_FRACTION_DIGITS:
        raise _invalid(f"must have at most {MAX_PRICE_FRACTION_DIGITS} decimal places", value)
    if canonical.adjusted() >= MAX_PRICE_INTEGER_DIGITS:
        raise _invalid(f"must be less than 10^{MAX_PRICE_INTEGER_DIGITS}", value)
    return canonical


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise _invalid("must be an ISO 4217 code of 3 uppercase letters", value)
    return value


def _offset(tz: str) -> timezone:
    if tz in ("Z", "z"):
        return UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or "0")
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _microseconds(fraction: str | None, value: object) -> int:
    if not fraction:
        return 0
    if fraction[6:].strip("0"):
        raise _invalid("must not be more precise than microseconds", value)
    return int(fraction[:6].ljust(6, "0"))


def _executed_at(value: object) -> datetime:
    problem = "must be an ISO-8601 timestamp with a timezone, e.g. 2026-01-02T09:30:00Z"
    if not isinstance(value, str) or len(value) > MAX_TIMESTAMP_LENGTH:
        raise _invalid(problem, value)
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise _invalid(problem, value)
    if match["tz"] is None:
        raise _invalid("must include a timezone (Z or an offset such as +08:00)", value)
    microsecond = _microseconds(match["fraction"], value)
    try:
        local = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or "0"),
            microsecond,
            tzinfo=_offset(match["tz"]),
        )
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid("is not a valid date and time", value) from None


def canonical_decimal(number: Decimal) -> Decimal:
    """The same value without trailing zeros, computed exactly (no context rounding)."""
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):
        return number
    kept = list(digits)
    while len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    return Decimal((sign, tuple(kept), exponent))


def format_utc(moment: datetime) -> str:
    """Fixed-width UTC text ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: sorting the text sorts the times."""
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T"
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}Z"
    )


class Trade(BaseModel):
    """One validated trade. ``price`` is an exact ``Decimal``; ``executed_at`` is in UTC."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trade_id: Annotated[str, PlainValidator(_identifier)]
    account_id: Annotated[str, PlainValidator(_identifier)]
    symbol: Annotated[str, PlainValidator(_symbol)]
    side: Annotated[Side, PlainValidator(_side)]
    quantity: Annotated[int, PlainValidator(_quantity)]
    price: Annotated[Decimal, PlainValidator(_price)]
    currency: Annotated[str, PlainValidator(_currency)]
    executed_at: Annotated[datetime, PlainValidator(_executed_at)]

    @property
    def price_text(self) -> str:
        """The price as plain decimal text (no exponent, no trailing zeros)."""
        return format(self.price, "f")

    @property
    def executed_at_text(self) -> str:
        return format_utc(self.executed_at)

    def canonical_fields(self) -> dict[str, str]:
        """The trade's content in one canonical text form (the input of record_hash)."""
        return {
            "trade_id": self.trade_id,
            "account_id": self.account_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "quantity": str(self.quantity),
            "price": self.price_text,
            "currency": self.currency,
            "executed_at": self.executed_at_text,
        }

    @property
    def record_hash(self) -> str:
        """sha256 of the canonical trade fields; source metadata is deliberately excluded."""
        canonical = json.dumps(self.canonical_fields(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class TradeValidationError(ValueError):
    """A record that is not a valid trade; ``reason`` names every bad field and its problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _describe(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ())) or "record"
    kind = error.get("type")
    if kind == "missing":
        return f"{location}: is required"
    if kind == "extra_forbidden":
        return f"{_show(location)}: unexpected field"
    return f"{location}: {error.get('msg', 'is invalid')}"


def parse_trade(fields: Mapping[str, Any]) -> Trade:
    """Validate one record; raise ``TradeValidationError`` describing every problem."""
    try:
        return Trade.model_validate(dict(fields))
    except ValidationError as exc:
        reason = "; ".join(_describe(error) for error in exc.errors(include_url=False))
        raise TradeValidationError(reason) from None


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """What is stored for an accepted trade: the trade plus where and when it came in."""

    trade: Trade
    record_hash: str
    source_key: str
    source_line: int
    ingested_at: str
