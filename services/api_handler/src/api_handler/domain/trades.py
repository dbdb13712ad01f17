"""Trades as this API exposes them (read-only; another service writes them)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from api_handler.domain.pagination import PageCursor

DEFAULT_PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Trade:
    """The public view of a trade: internal bookkeeping attributes are not part of it."""

    trade_id: str
    account_id: str
    symbol: str
    side: str
    quantity: int
    price: Decimal
    currency: str
    executed_at: str

    @property
    def price_text(self) -> str:
        """The exact price as plain decimal text (never exponent notation, never a float)."""
        return format(self.price, "f")


@dataclass(frozen=True, slots=True)
class TradePage:
    """One page of an account's trades, newest first, and where the next page starts."""

    items: tuple[Trade, ...]
    next_cursor: PageCursor | None
