"""In-memory adapters: the ports' behaviour without AWS, for unit tests and local runs.

They follow the DynamoDB adapters' contracts, including the by-account ordering (newest
first, ties broken by trade id, descending) and exclusive cursors.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from api_handler.domain.pagination import PageCursor
from api_handler.domain.sessions import Session, SessionKey, StoredSession, session_key
from api_handler.domain.trades import Trade, TradePage


class InMemorySessionRepository:
    """Sessions in a dict keyed by :func:`session_key`, like the table: no clear id is kept."""

    def __init__(self, sessions: Iterable[Session] = ()) -> None:
        self.sessions: dict[SessionKey, StoredSession] = {}
        for session in sessions:
            self.add(session)

    def add(self, session: Session) -> None:
        """Store a new session; an existing key is an error, as in DynamoDB."""
        stored = session.stored()
        if stored.key in self.sessions:
            raise KeyError("session key already exists")
        self.sessions[stored.key] = stored

    def get(self, session_id: str) -> Session | None:
        """The stored session, expired or not."""
        stored = self.sessions.get(session_key(session_id))
        return None if stored is None else stored.with_id(session_id)

    def remove_unexpired(self, session_id: str, *, now: datetime) -> bool:
        """Delete the session if present and unexpired at ``now``."""
        key = session_key(session_id)
        stored = self.sessions.get(key)
        if stored is None or now.timestamp() >= stored.expires_at:
            return False
        del self.sessions[key]
        return True


class InMemoryTradeReader:
    """Trades in a dict, listed like the by-account index lists them."""

    def __init__(self, trades: Iterable[Trade] = ()) -> None:
        self.trades: dict[str, Trade] = {t.trade_id: t for t in trades}

    def add(self, trade: Trade) -> None:
        """Record (or replace) a trade."""
        self.trades[trade.trade_id] = trade

    def get(self, trade_id: str) -> Trade | None:
        """The trade, or ``None``."""
        return self.trades.get(trade_id)

    def list_for_account(
        self, account_id: str, *, limit: int, after: PageCursor | None
    ) -> TradePage:
        """Up to ``limit`` trades newest first, after ``after`` (exclusive)."""
        ordered = sorted(
            (t for t in self.trades.values() if t.account_id == account_id),
            key=lambda t: (t.executed_at, t.trade_id),
            reverse=True,
        )
        if after is not None:
            position = (after.executed_at, after.trade_id)
            ordered = [t for t in ordered if (t.executed_at, t.trade_id) < position]
        items = tuple(ordered[:limit])
        next_cursor = None
        if len(ordered) > limit:
            last = items[-1]
            next_cursor = PageCursor(
                account_id=account_id, executed_at=last.executed_at, trade_id=last.trade_id
            )
        return TradePage(items=items, next_cursor=next_cursor)
