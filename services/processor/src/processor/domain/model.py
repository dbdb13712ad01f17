"""The trade record: validation rules, canonical form and record_hash.

A ``Trade`` is built from a mapping of field name to value, as read from a CSV row (every
value a ``str``) or a JSON object (``str``, ``int``, ``Decimal`` because JSON is parsed with
``parse_float=Decimal``, ``bool``, ``None``, lists, objects). Validation is strict: values are
never guessed or coerced beyond the documented forms, and every problem is reported as
``<field>: <problem>``.

The rules are the plain functions below (``_identifier`` ... ``_executed_at``), used twice:

* the **fast path** (``parse_trade``) calls them directly when the record has exactly the
  eight fields -- the common case, tens of thousands of lines per second, no pydantic;
* when the fast path finds any problem, the record is validated again by a pydantic v2 model
  whose fields are the *same* functions (``PlainValidator``), and pydantic's errors become
  the rejection reason ("every bad field, in field order; missing and unexpected fields").

So a record is accepted exactly when the pydantic model accepts it (a property test compares
the two on generated records), and pydantic -- whose import and model build cost a few
hundred milliseconds -- is only loaded when the first bad record shows up, not at cold start.
"""

from __future__ import annotations

import functools
import hashlib
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from pydantic import BaseModel

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
_QUANTITY_LIMIT: Final = 10**MAX_QUANTITY_DIGITS

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
# Bounded rendering for values whose repr() cannot be built (a list nested hundreds of
# levels deep exceeds the recursion limit; an int past the digit limit refuses str()).
_SAFE_REPR = reprlib.Repr()
_SAFE_REPR.maxlevel = 3
_SAFE_REPR.maxstring = _SHOWN_VALUE_LIMIT
_SAFE_REPR.maxother = _SHOWN_VALUE_LIMIT


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class FieldError(ValueError):
    """One field's value breaks its rule; ``message`` is ``<problem> (got <value>)``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _show(value: object) -> str:
    """A short, safe rendering of a rejected value for an error message (never raises)."""
    try:
        text = repr(value)
    except Exception:
        try:
            text = _SAFE_REPR.repr(value)
        except Exception:
            text = f"<{type(value).__name__}>"
    if len(text) > _SHOWN_VALUE_LIMIT:
        text = text[: _SHOWN_VALUE_LIMIT - 3] + "..."
    return text


def _invalid(problem: str, value: object) -> FieldError:
    return FieldError(f"{problem} (got {_show(value)})")


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
        if number >= _QUANTITY_LIMIT:
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
    if -exponent > MAX_PRICE_FRACTION_DIGITS:  # type: ignore[operator]
        raise _invalid(f"must have at most {MAX_PRICE_FRACTION_DIGITS} decimal places", value)
    if canonical.adjusted() >= MAX_PRICE_INTEGER_DIGITS:
        raise _invalid(f"must be less than 10^{MAX_PRICE_INTEGER_DIGITS}", value)
    return canonical


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise _invalid("must be an ISO 4217 code of 3 uppercase letters", value)
    return value


@functools.lru_cache(maxsize=256)
def _offset(tz: str) -> timezone:
    """The offset of a timezone suffix (cached: a file uses a handful of them)."""
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
    year, month, day, hour, minute, second, fraction, tz = match.groups()
    if tz is None:
        raise _invalid("must include a timezone (Z or an offset such as +08:00)", value)
    microsecond = _microseconds(fraction, value)
    try:
        offset = _offset(tz)
        local = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or "0"),
            microsecond,
            tzinfo=offset,
        )
        return local if offset is UTC else local.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid("is not a valid date and time", value) from None


def canonical_decimal(number: Decimal) -> Decimal:
    """The same value without trailing zeros, computed exactly (no context rounding)."""
    sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int) or digits[-1] != 0 or len(digits) == 1:
        return number  # not finite, or nothing to strip (the common case)
    kept = list(digits)
    while len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    return Decimal((sign, tuple(kept), exponent))


def format_utc(moment: datetime) -> str:
    """Fixed-width UTC text ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: sorting the text sorts the times."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # %-formatting: measurably the fastest way to spell this, and it runs once per line.
    return "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" % (  # noqa: UP031
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
    )


# The canonical JSON of record_hash, written out: every value comes from a validated field
# whose characters need no JSON escaping (letters, digits, '-', '_', '.', ':'), so this is
# byte for byte json.dumps(canonical_fields(), sort_keys=True, separators=(",", ":")).
_CANONICAL_JSON: Final = (
    '{"account_id":"%s","currency":"%s","executed_at":"%s","price":"%s",'
    '"quantity":"%s","side":"%s","symbol":"%s","trade_id":"%s"}'
)


@dataclass(slots=True)
class Trade:
    """One validated trade. ``price`` is an exact ``Decimal``; ``executed_at`` is in UTC.

    The canonical texts and ``record_hash`` are computed once, when the trade is built:
    classification, the stored item and the quarantine all need them. Treat it as immutable
    (not ``frozen``: a frozen dataclass's ``__init__`` costs several times more, per line).
    """

    trade_id: str
    account_id: str
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    currency: str
    executed_at: datetime
    price_text: str = field(init=False, repr=False, compare=False)
    executed_at_text: str = field(init=False, repr=False, compare=False)
    record_hash: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        price_text = format(self.price, "f")
        executed_at_text = format_utc(self.executed_at)
        canonical = _CANONICAL_JSON % (
            self.account_id,
            self.currency,
            executed_at_text,
            price_text,
            self.quantity,
            self.side.value,
            self.symbol,
            self.trade_id,
        )
        self.price_text = price_text
        self.executed_at_text = executed_at_text
        self.record_hash = hashlib.sha256(canonical.encode("ascii")).hexdigest()

    def canonical_fields(self) -> dict[str, str]:
        """The trade's content in one canonical text form (the input of record_hash)."""
        return {
            "account_id": self.account_id,
            "currency": self.currency,
            "executed_at": self.executed_at_text,
            "price": self.price_text,
            "quantity": str(self.quantity),
            "side": self.side.value,
            "symbol": self.symbol,
            "trade_id": self.trade_id,
        }


class TradeValidationError(ValueError):
    """A record that is not a valid trade; ``reason`` names every bad field and its problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_RULES: Final[tuple[tuple[str, Callable[[object], Any]], ...]] = (
    ("trade_id", _identifier),
    ("account_id", _identifier),
    ("symbol", _symbol),
    ("side", _side),
    ("quantity", _quantity),
    ("price", _price),
    ("currency", _currency),
    ("executed_at", _executed_at),
)


def parse_trade(fields: Mapping[str, Any]) -> Trade:
    """Validate one record; raise ``TradeValidationError`` describing every problem.

    Fast path for a record with exactly the eight fields that passes every rule; anything
    else is validated by the pydantic model for its error report (see the module docstring).
    """
    if len(fields) == len(FIELDS):
        try:
            return Trade(
                _identifier(fields["trade_id"]),
                _identifier(fields["account_id"]),
                _symbol(fields["symbol"]),
                _side(fields["side"]),
                _quantity(fields["quantity"]),
                _price(fields["price"]),
                _currency(fields["currency"]),
                _executed_at(fields["executed_at"]),
            )
        except (KeyError, FieldError):
            pass
    return parse_trade_with_model(fields)


def parse_trade_with_model(fields: Mapping[str, Any]) -> Trade:
    """Validate one record with the pydantic model only (the reference for the fast path)."""
    from pydantic import ValidationError

    try:
        model = trade_model().model_validate(dict(fields))
    except ValidationError as exc:
        try:
            reason = "; ".join(_describe(error) for error in exc.errors(include_url=False))
        except Exception:
            reason = _reason_without_pydantic(fields)
        raise TradeValidationError(reason) from None
    except Exception:
        raise TradeValidationError(_reason_without_pydantic(fields)) from None
    return Trade(*(getattr(model, name) for name in FIELDS))


def _describe(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ())) or "record"
    kind = error.get("type")
    if kind == "missing":
        return f"{location}: is required"
    if kind == "extra_forbidden":
        return f"{_show(location)}: unexpected field"
    return f"{location}: {error.get('msg', 'is invalid')}"


def _reason_without_pydantic(fields: Mapping[str, Any]) -> str:
    """The same report as pydantic's, built by hand (used only if pydantic itself failed)."""
    problems = []
    for name, rule in _RULES:
        if name not in fields:
            problems.append(f"{name}: is required")
            continue
        try:
            rule(fields[name])
        except FieldError as exc:
            problems.append(f"{name}: {exc.message}")
        except Exception:
            problems.append(f"{name}: is invalid")
    problems.extend(f"{_show(name)}: unexpected field" for name in fields if name not in FIELDS)
    return "; ".join(problems) or "record: is invalid"


@functools.cache
def trade_model() -> type[BaseModel]:
    """The pydantic model of a trade, built on first use (it costs ~0.3 s at cold start)."""
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, PlainValidator
    from pydantic_core import PydanticCustomError

    def pydantic_rule(rule: Callable[[object], Any]) -> PlainValidator:
        def validate(value: object) -> Any:
            try:
                return rule(value)
            except FieldError as exc:
                raise PydanticCustomError("invalid_trade_field", exc.message) from None

        return PlainValidator(validate)

    class TradeModel(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")

        trade_id: Annotated[str, pydantic_rule(_identifier)]
        account_id: Annotated[str, pydantic_rule(_identifier)]
        symbol: Annotated[str, pydantic_rule(_symbol)]
        side: Annotated[Side, pydantic_rule(_side)]
        quantity: Annotated[int, pydantic_rule(_quantity)]
        price: Annotated[Decimal, pydantic_rule(_price)]
        currency: Annotated[str, pydantic_rule(_currency)]
        executed_at: Annotated[datetime, pydantic_rule(_executed_at)]

    return TradeModel


@dataclass(slots=True)
class TradeRecord:
    """What is stored for an accepted trade: the trade plus where and when it came in.

    Not ``frozen`` for the same reason as ``Trade`` (one is built per accepted line)."""

    trade: Trade
    record_hash: str
    source_key: str
    source_line: int
    ingested_at: str
