"""Service layer: one function per use case, working only through the ports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from api_handler.domain.errors import SessionNotFoundError, TradeNotFoundError
from api_handler.domain.pagination import decode_page_token, encode_page_token
from api_handler.domain.sessions import CreateSessionRequest, Session, start_session
from api_handler.domain.trades import Trade
from api_handler.ports import SessionRepository, TradeReader


def create_session(
    sessions: SessionRepository,
    request: CreateSessionRequest,
    *,
    default_ttl_seconds: int,
    now: datetime,
    new_id: Callable[[], str],
) -> Session:
    """Start and store a session for the requested account."""
    ttl = request.ttl_seconds if request.ttl_seconds is not None else default_ttl_seconds
    session = start_session(request.account_id, ttl, now=now, session_id=new_id())
    sessions.add(session)
    return session


def get_session(sessions: SessionRepository, session_id: str, *, now: datetime) -> Session:
    """The unexpired session ``session_id``; an expired one is not found."""
    session = sessions.get(session_id)
    if session is None or session.is_expired(now):
        raise SessionNotFoundError
    return session


def end_session(sessions: SessionRepository, session_id: str, *, now: datetime) -> None:
    """Delete the unexpired session ``session_id``; not found if absent or expired."""
    if not sessions.remove_unexpired(session_id, now=now):
        raise SessionNotFoundError


def get_trade(trades: TradeReader, trade_id: str) -> Trade:
    """The trade ``trade_id``."""
    trade = trades.get(trade_id)
    if trade is None:
        raise TradeNotFoundError
    return trade


def list_account_trades(
    trades: TradeReader, account_id: str, *, limit: int, next_token: str | None
) -> tuple[tuple[Trade, ...], str | None]:
    """A page of the account's trades, newest first, and the token of the next page."""
    after = None if next_token is None else decode_page_token(next_token, account_id=account_id)
    page = trades.list_for_account(account_id, limit=limit, after=after)
    token = None if page.next_cursor is None else encode_page_token(page.next_cursor)
    return page.items, token
