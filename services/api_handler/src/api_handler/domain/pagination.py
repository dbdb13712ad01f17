"""Opaque ``next_token`` for listing an account's trades.

A token carries the position after the last trade of a page (DynamoDB's
``LastEvaluatedKey`` on the by-account index: account, execution time, trade id) as
unpadded base64url of a compact JSON object::

    {"v":1,"a":"<account_id>","e":"<executed_at>","t":"<trade_id>"}

It is not signed (a client could forge a position in its own listing, which reveals nothing),
but it is strictly validated: :func:`decode_page_token` accepts exactly the tokens
:func:`encode_page_token` produces, for the account being listed, and raises
:class:`InvalidPageTokenError` for anything else; it never raises another exception.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from api_handler.domain.errors import InvalidPageTokenError
from api_handler.domain.identifiers import is_account_id, is_trade_id, is_utc_timestamp

TOKEN_VERSION = 1
# A real token is at most ~350 characters (64-char account, 128-char trade id).
MAX_TOKEN_LENGTH = 512
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Where the next page of an account's trades starts (exclusive)."""

    account_id: str
    executed_at: str
    trade_id: str

    def __post_init__(self) -> None:
        if not (
            is_account_id(self.account_id)
            and is_utc_timestamp(self.executed_at)
            and is_trade_id(self.trade_id)
        ):
            raise ValueError("malformed page cursor")


def encode_page_token(cursor: PageCursor) -> str:
    """The URL-safe token for ``cursor``."""
    document = {
        "v": TOKEN_VERSION,
        "a": cursor.account_id,
        "e": cursor.executed_at,
        "t": cursor.trade_id,
    }
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_page_token(token: str, *, account_id: str) -> PageCursor:
    """The cursor in ``token``, which must have been issued for ``account_id``."""
    if len(token) > MAX_TOKEN_LENGTH or _TOKEN_ALPHABET.fullmatch(token) is None:
        raise InvalidPageTokenError("next_token is malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        document: Any = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError included
        raise InvalidPageTokenError("next_token is malformed") from None
    cursor = _cursor_from(document)
    # Only the exact bytes encode_page_token writes are accepted: no alternative encodings,
    # extra whitespace, reordered or duplicated keys.
    if encode_page_token(cursor) != token:
        raise InvalidPageTokenError("next_token is malformed")
    if cursor.account_id != account_id:
        raise InvalidPageTokenError("next_token was not issued for this account")
    return cursor


def _cursor_from(document: Any) -> PageCursor:
    if not isinstance(document, dict) or set(document) != {"v", "a", "e", "t"}:
        raise InvalidPageTokenError("next_token is malformed")
    version, account, executed_at, trade_id = (document[k] for k in ("v", "a", "e", "t"))
    if type(version) is not int or version != TOKEN_VERSION:
        raise InvalidPageTokenError("next_token is malformed")
    if not all(isinstance(value, str) for value in (account, executed_at, trade_id)):
        raise InvalidPageTokenError("next_token is malformed")
    try:
        return PageCursor(account_id=account, executed_at=executed_at, trade_id=trade_id)
    except ValueError:
        raise InvalidPageTokenError("next_token is malformed") from None
