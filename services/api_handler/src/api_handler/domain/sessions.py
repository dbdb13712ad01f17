"""Session rules: lifetime bounds, expiry, creation, and the create-session request model."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, NewType

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from api_handler.domain.errors import InvalidBodyError, RequestValidationError
from api_handler.domain.identifiers import ACCOUNT_ID_PATTERN, ACCOUNT_ID_RULE, is_account_id

SESSION_TTL_MIN_SECONDS = 60
SESSION_TTL_MAX_SECONDS = 86_400
DEFAULT_SESSION_TTL_SECONDS = 3_600
# 32 random bytes = 256 bits, written as 43 URL-safe characters.
SESSION_ID_BYTES = 32


def new_session_id() -> str:
    """An unguessable session id from the operating system's CSPRNG."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


SessionKey = NewType("SessionKey", str)
"""What a session is stored and looked up under: :func:`session_key` of its id, never the id."""


def session_key(session_id: str) -> SessionKey:
    """The storage key of ``session_id``: its SHA-256 digest, 64 lower-case hex characters.

    The session id is a bearer credential, so it is never stored: whoever reads the table (a
    backup, a replica in another region, an export, a support query) must not be able to
    replay a session. Every write and every look-up goes through this function, and the id
    is handed to the client once, in the answer of ``POST /sessions``.

    Why a plain, unsalted SHA-256 and not an HMAC with a secret key or a slow password hash:
    the id is 256 bits from the operating system's CSPRNG (:func:`new_session_id`), so finding
    an id from its digest means searching a 2**256 space: a key would add no strength, only a
    secret to provision, rotate and share with every reader (the authorizer, other regions).
    Salting and stretching exist for low-entropy human passwords; they do not apply here, and
    a deterministic digest is what makes the digest usable as the table's key.
    """
    return SessionKey(hashlib.sha256(session_id.encode("utf-8")).hexdigest())


def is_valid_ttl(seconds: int) -> bool:
    """Whether ``seconds`` is an allowed session lifetime."""
    return SESSION_TTL_MIN_SECONDS <= seconds <= SESSION_TTL_MAX_SECONDS


@dataclass(frozen=True, slots=True)
class Session:
    """A login session of one account.

    ``expires_at`` (epoch seconds, also the table's TTL attribute) is the first second at
    which the session is no longer valid: it is valid while ``now < expires_at``. DynamoDB
    deletes expired items lazily (hours later), so every read checks :meth:`is_expired`.
    """

    session_id: str
    account_id: str
    created_at: datetime
    expires_at: int

    def is_expired(self, now: datetime) -> bool:
        """Whether the session is past its lifetime at ``now``."""
        return now.timestamp() >= self.expires_at

    def stored(self) -> StoredSession:
        """What storage keeps of this session: everything but the id, under its key."""
        return StoredSession(
            key=session_key(self.session_id),
            account_id=self.account_id,
            created_at=self.created_at,
            expires_at=self.expires_at,
        )


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A session as storage holds it: keyed by :func:`session_key`, without the clear id."""

    key: SessionKey
    account_id: str
    created_at: datetime
    expires_at: int

    def with_id(self, session_id: str) -> Session:
        """The session again, given the id it was looked up with (which hashes to ``key``)."""
        if session_key(session_id) != self.key:
            raise ValueError("the session id does not match the stored session's key")
        return Session(
            session_id=session_id,
            account_id=self.account_id,
            created_at=self.created_at,
            expires_at=self.expires_at,
        )


def start_session(account_id: str, ttl_seconds: int, *, now: datetime, session_id: str) -> Session:
    """A new session of ``account_id`` created at ``now`` that lasts at most ``ttl_seconds``."""
    if not is_valid_ttl(ttl_seconds):
        raise ValueError(f"ttl_seconds out of range: {ttl_seconds}")
    created_at = now.astimezone(UTC)
    return Session(
        session_id=session_id,
        account_id=account_id,
        created_at=created_at,
        expires_at=int(created_at.timestamp()) + ttl_seconds,
    )


TtlSeconds = Annotated[int, Field(ge=SESSION_TTL_MIN_SECONDS, le=SESSION_TTL_MAX_SECONDS)]


class CreateSessionRequest(BaseModel):
    """Body of ``POST /sessions``. Strict: no type coercion ("60" is not 60), no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    # The pattern is published in the JSON Schema; the check (and its message) is the validator.
    account_id: Annotated[str, Field(json_schema_extra={"pattern": ACCOUNT_ID_PATTERN})]
    ttl_seconds: TtlSeconds | None = None

    @field_validator("account_id")
    @classmethod
    def _account_id_format(cls, value: str) -> str:
        if not is_account_id(value):
            raise PydanticCustomError("account_id_format", f"must be {ACCOUNT_ID_RULE}")
        return value


def parse_create_session_request(payload: Any) -> CreateSessionRequest:
    """Validate a decoded JSON body; raise :class:`RequestValidationError` naming bad fields."""
    if not isinstance(payload, dict):
        raise InvalidBodyError("request body must be a JSON object")
    try:
        return CreateSessionRequest.model_validate(payload)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            field = ".".join(str(part) for part in error["loc"]) or "body"
            problems.append(f"{field}: {error['msg']}")
        raise RequestValidationError("; ".join(problems)) from None
