"""Service layer: one function per use case, working only through the ports."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from api_handler.domain.access import SessionClaims, bearer_token
from api_handler.domain.errors import (
    ForbiddenError,
    SessionNotFoundError,
    TradeNotFoundError,
    UnauthorizedError,
)
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


class Verdict(enum.Enum):
    """Why the authorizer allowed or denied a token (logged; never sent to the client)."""

    ALLOWED = "allowed"
    MALFORMED_HEADER = "malformed_header"
    UNKNOWN_SESSION = "unknown_session"
    EXPIRED_SESSION = "expired_session"


@dataclass(frozen=True, slots=True)
class Authorization:
    """The authorizer's decision: the session's claims when allowed, and why."""

    verdict: Verdict
    claims: SessionClaims | None = None


def authorize_bearer(
    sessions: SessionRepository, authorization: str | None, *, now: datetime
) -> Authorization:
    """Whether ``Authorization: Bearer <session_id>`` names an existing, unexpired session.

    A malformed header is denied without a table read; expiry is checked here because
    DynamoDB's TTL deletes expired items only eventually.
    """
    session_id = bearer_token(authorization)
    if session_id is None:
        return Authorization(Verdict.MALFORMED_HEADER)
    session = sessions.get(session_id)
    if session is None:
        return Authorization(Verdict.UNKNOWN_SESSION)
    if session.is_expired(now):
        return Authorization(Verdict.EXPIRED_SESSION)
    return Authorization(Verdict.ALLOWED, SessionClaims.of(session))


def current_session(
    sessions: SessionRepository, claims: SessionClaims, *, now: datetime
) -> Session:
    """The caller's own session, read again: the gateway may have cached the authorizer's
    answer after the session was revoked, and a revoked session is no credential (401)."""
    session = sessions.get(claims.session_id)
    if session is None or session.is_expired(now) or session.account_id != claims.account_id:
        raise UnauthorizedError("the session has ended")
    return session


def get_trade(trades: TradeReader, trade_id: str, *, claims: SessionClaims) -> Trade:
    """The trade ``trade_id`` if it belongs to the caller's account.

    Another account's trade is "not found", exactly like a missing one, so that a caller
    cannot learn which trade ids exist.
    """
    trade = trades.get(trade_id)
    if trade is None or trade.account_id != claims.account_id:
        raise TradeNotFoundError
    return trade


def list_account_trades(
    trades: TradeReader,
    account_id: str,
    *,
    claims: SessionClaims,
    limit: int,
    next_token: str | None,
) -> tuple[tuple[Trade, ...], str | None]:
    """A page of the caller's own account's trades, newest first, and the next page's token.

    Listing another account is refused (403) before any read: the account in the path is
    public knowledge of the caller, so refusing reveals nothing.
    """
    if account_id != claims.account_id:
        raise ForbiddenError("this session may only list the trades of its own account")
    after = None if next_token is None else decode_page_token(next_token, account_id=account_id)
    page = trades.list_for_account(account_id, limit=limit, after=after)
    token = None if page.next_cursor is None else encode_page_token(page.next_cursor)
    return page.items, token
