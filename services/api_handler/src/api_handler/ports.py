"""Ports: what the service layer needs from storage, as structural types.

Adapters (``api_handler.adapters``) implement them with DynamoDB or in memory; the service
layer and the HTTP entrypoint only ever see these protocols.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from api_handler.domain.pagination import PageCursor
from api_handler.domain.sessions import Session
from api_handler.domain.trades import Trade, TradePage


class SessionRepository(Protocol):
    """Storage of sessions, keyed by the hash of the session id.

    The session id is a bearer credential: implementations store ``session.stored()`` (keyed
    by :func:`~api_handler.domain.sessions.session_key`, without the clear id) and look every
    id up by its key. Callers still pass the clear id, which never leaves the process.
    """

    def add(self, session: Session) -> None:
        """Store a new session (its key must not exist yet)."""
        ...

    def get(self, session_id: str) -> Session | None:
        """The stored session, expired or not, or ``None``."""
        ...

    def remove_unexpired(self, session_id: str, *, now: datetime) -> bool:
        """Delete the session if it exists and is unexpired at ``now``; whether it did."""
        ...


class TradeReader(Protocol):
    """Read access to the trades another service records."""

    def get(self, trade_id: str) -> Trade | None:
        """The trade, or ``None``."""
        ...

    def list_for_account(
        self, account_id: str, *, limit: int, after: PageCursor | None
    ) -> TradePage:
        """Up to ``limit`` of the account's trades, newest first, starting after ``after``.

        A page may hold fewer than ``limit`` trades and still have a next cursor.
        """
        ...
