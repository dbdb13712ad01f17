"""Who may call what: the two kinds of caller, bearer tokens and the claims of a session.

* **Service routes** are called by the trusted login backend, signed with SigV4. API Gateway
  checks the signature (route ``authorization_type = "AWS_IAM"``) and passes the signer in
  ``requestContext.authorizer.iam``.
* **User routes** are called with ``Authorization: Bearer <session_id>``. API Gateway runs the
  Lambda authorizer (``api_handler.authorizer``), which looks the session up and passes
  :class:`SessionClaims` in ``requestContext.authorizer.lambda``.

The handler reads both again (:func:`is_iam_context`, :func:`claims_from_context`) instead of
trusting that the gateway ran the right check: a route wired without its authorizer, or with
the wrong one, then serves nothing (401) rather than somebody else's data.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api_handler.domain.identifiers import is_account_id, is_session_id
from api_handler.domain.sessions import Session

BEARER_SCHEME = "bearer"
# Longest credential worth parsing: "Bearer " + 43 characters, with room for extra spaces.
_MAX_AUTHORIZATION_LENGTH = 128


class Access(enum.Enum):
    """Who may call a route."""

    PUBLIC = "public"  # anyone (the health check)
    SERVICE = "service"  # SigV4-signed AWS principals (the login backend)
    USER = "user"  # holders of a valid session (Bearer token)


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What the authorizer vouches for: a session, its account and its end.

    ``expires_at`` travels with the claims because API Gateway caches an authorizer's answer
    for a while: the handler refuses claims whose session ended in the meantime.
    """

    session_id: str
    account_id: str
    expires_at: int

    @classmethod
    def of(cls, session: Session) -> SessionClaims:
        return cls(
            session_id=session.session_id,
            account_id=session.account_id,
            expires_at=session.expires_at,
        )

    def to_context(self) -> dict[str, Any]:
        """The authorizer's ``context`` (becomes ``requestContext.authorizer.lambda``)."""
        return {
            "account_id": self.account_id,
            "session_id": self.session_id,
            "expires_at": self.expires_at,
        }

    def is_expired(self, now: datetime) -> bool:
        """Whether the session has ended at ``now`` (valid while ``now < expires_at``)."""
        return now.timestamp() >= self.expires_at


def bearer_token(authorization: str | None) -> str | None:
    """The session id in an ``Authorization: Bearer <session_id>`` header value, or ``None``.

    The scheme is case-insensitive (RFC 9110, 11.1); the token must have the exact shape of an
    issued session id, so nothing malformed ever reaches the sessions table.
    """
    if not authorization or len(authorization) > _MAX_AUTHORIZATION_LENGTH:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != BEARER_SCHEME or not is_session_id(token):
        return None
    return token


def _epoch_seconds(value: object) -> int | None:
    """An integer ``expires_at`` (a JSON number, or its decimal text: gateways may stringify)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def claims_from_context(context: object) -> SessionClaims | None:
    """The claims in a ``requestContext.authorizer.lambda`` block, or ``None`` unless it has
    exactly the shape the authorizer writes (well-formed ids, integer expiry)."""
    if not isinstance(context, Mapping):
        return None
    account_id = context.get("account_id")
    session_id = context.get("session_id")
    expires_at = _epoch_seconds(context.get("expires_at"))
    if not (isinstance(account_id, str) and is_account_id(account_id)):
        return None
    if not (isinstance(session_id, str) and is_session_id(session_id)) or expires_at is None:
        return None
    return SessionClaims(session_id=session_id, account_id=account_id, expires_at=expires_at)


def is_iam_context(context: object) -> bool:
    """Whether a ``requestContext.authorizer.iam`` block names a SigV4 signer (API Gateway
    writes it only after verifying the signature)."""
    if not isinstance(context, Mapping):
        return False
    return any(
        isinstance(context.get(key), str) and context.get(key)
        for key in ("accessKey", "userArn", "callerId")
    )
