"""Formats of the identifiers and timestamps that appear in paths, bodies and tokens.

Every check is a full match against an ASCII-only pattern, so ``"abc\\n"`` or non-ASCII
digits never pass.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

ACCOUNT_ID_RULE = "1-64 characters: letters, digits, '-' or '_'"
SESSION_ID_RULE = "43 characters: letters, digits, '-' or '_'"
TRADE_ID_RULE = "1-128 characters: letters, digits, '-', '_', '.' or ':'"

# The formats as anchored JSON Schema (ECMA-262) patterns, published in the OpenAPI document;
# the checks below full-match the same expressions.
ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# secrets.token_urlsafe(32): 32 random bytes as unpadded base64url, always 43 characters.
SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{43}$"
TRADE_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
# The trades table's executed_at (and our created_at): YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC.
UTC_TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$"


def _full_match(pattern: str) -> re.Pattern[str]:
    """The pattern without its anchors, for ``fullmatch`` (``$`` would accept a final newline)."""
    return re.compile(pattern.removeprefix("^").removesuffix("$"))


_ACCOUNT_ID = _full_match(ACCOUNT_ID_PATTERN)
_SESSION_ID = _full_match(SESSION_ID_PATTERN)
_TRADE_ID = _full_match(TRADE_ID_PATTERN)
_UTC_TIMESTAMP = _full_match(UTC_TIMESTAMP_PATTERN)
_UTC_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def is_account_id(value: str) -> bool:
    """Whether ``value`` is a well-formed account id."""
    return _ACCOUNT_ID.fullmatch(value) is not None


def is_session_id(value: str) -> bool:
    """Whether ``value`` has the shape of a session id this service issues."""
    return _SESSION_ID.fullmatch(value) is not None


def is_trade_id(value: str) -> bool:
    """Whether ``value`` is a well-formed trade id."""
    return _TRADE_ID.fullmatch(value) is not None


def is_utc_timestamp(value: str) -> bool:
    """Whether ``value`` is a real instant written as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    if _UTC_TIMESTAMP.fullmatch(value) is None:
        return False
    try:
        datetime.strptime(value, _UTC_TIMESTAMP_FORMAT)  # the Z is matched literally
    except ValueError:
        return False
    return True


def format_utc_timestamp(moment: datetime) -> str:
    """``moment`` (timezone-aware) as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(UTC).strftime(_UTC_TIMESTAMP_FORMAT)


def parse_utc_timestamp(value: str) -> datetime:
    """Inverse of :func:`format_utc_timestamp`; raises ``ValueError`` on any other shape."""
    if not is_utc_timestamp(value):
        raise ValueError("not a YYYY-MM-DDTHH:MM:SS.ffffffZ timestamp")
    return datetime.strptime(value, _UTC_TIMESTAMP_FORMAT).replace(tzinfo=UTC)
