"""The canary: a trade file of its own, unique to one run, and what the API must answer for it.

Nothing of it can be taken for real data: the account id and every trade id begin with the
run's id, ``verify-<UTC time>-<6 random hex digits>`` (e.g. ``verify-20261205T145700Z-0a1b2c``),
and the file is ``incoming/verify/<run id>.csv``. The cleanup removes only keys and items that
carry this id.

The values are written so that the processor's canonical form is known in advance: prices
without trailing zeros, timestamps in UTC to the second (the API answers them with six
fractional digits, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from processor.domain.model import FIELDS

from tooling.upload.deployment import INCOMING_PREFIX

__all__ = [
    "CANARY_FOLDER",
    "CSV_HEADER",
    "Canary",
    "CanaryTrade",
    "new_canary",
    "random_token",
]

#: Where the canary's file goes: under the processor's prefix, in a folder of its own.
CANARY_FOLDER: Final = f"{INCOMING_PREFIX}verify/"
#: The processor's CSV header: its eight fields, in its order.
CSV_HEADER: Final = ",".join(FIELDS)
#: (side, quantity, price) of the canary's trades, one second apart.
_TRADES: Final = (("BUY", 1, "100.25"), ("SELL", 2, "100.5"), ("BUY", 3, "100.75"))
_SYMBOL: Final = "VERIFY"
_CURRENCY: Final = "SGD"


def random_token() -> str:
    """Six random hex digits: two runs started in the same second still differ."""
    return secrets.token_hex(3)


@dataclass(frozen=True)
class CanaryTrade:
    """One trade of the canary file."""

    trade_id: str
    account_id: str
    side: str
    quantity: int
    price: str
    executed_at: datetime

    def csv_line(self) -> str:
        stamp = self.executed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"{self.trade_id},{self.account_id},{_SYMBOL},{self.side},{self.quantity},"
            f"{self.price},{_CURRENCY},{stamp}"
        )

    def api_body(self) -> dict[str, Any]:
        """What ``GET /trades/{trade_id}`` answers for it (``api_handler.schemas.TradeBody``)."""
        return {
            "trade_id": self.trade_id,
            "account_id": self.account_id,
            "symbol": _SYMBOL,
            "side": self.side,
            "quantity": self.quantity,
            "price": self.price,
            "currency": _CURRENCY,
            "executed_at": self.executed_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }


@dataclass(frozen=True)
class Canary:
    """One run's canary: its id (also its account id), object key and trades."""

    run_id: str
    trades: tuple[CanaryTrade, ...]

    @property
    def account_id(self) -> str:
        return self.run_id

    @property
    def key(self) -> str:
        return f"{CANARY_FOLDER}{self.run_id}.csv"

    @property
    def trade_ids(self) -> tuple[str, ...]:
        return tuple(trade.trade_id for trade in self.trades)

    def file_text(self) -> str:
        """The CSV file: the header, then one line per trade."""
        return "".join(f"{line}\n" for line in (CSV_HEADER, *(t.csv_line() for t in self.trades)))

    def listing(self) -> list[dict[str, Any]]:
        """``GET /accounts/{account_id}/trades``'s items: newest first."""
        newest_first = sorted(self.trades, key=lambda t: t.executed_at, reverse=True)
        return [trade.api_body() for trade in newest_first]


def new_canary(now: datetime | None = None, token: Callable[[], str] = random_token) -> Canary:
    """The canary of a run started at ``now`` (default: the current UTC time)."""
    started = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    run_id = f"verify-{started:%Y%m%dT%H%M%SZ}-{token()}"
    trades = tuple(
        CanaryTrade(
            trade_id=f"{run_id}-{number}",
            account_id=run_id,
            side=side,
            quantity=quantity,
            price=price,
            executed_at=started + timedelta(seconds=number - 1),
        )
        for number, (side, quantity, price) in enumerate(_TRADES, start=1)
    )
    return Canary(run_id=run_id, trades=trades)
