"""The opaque next_token: round trip, URL safety, strict validation of what comes back."""

from __future__ import annotations

import base64
import json
import re

import pytest
from api_handler.domain.errors import InvalidPageTokenError
from api_handler.domain.pagination import PageCursor, decode_page_token, encode_page_token
from hypothesis import given, settings
from hypothesis import strategies as st

CURSOR = PageCursor(account_id="acc-1", executed_at="2024-03-01T09:30:00.000001Z", trade_id="T-9")


def _token_of(document: object) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode())
    return raw.rstrip(b"=").decode()


def test_a_token_decodes_to_the_cursor_it_was_made_from() -> None:
    token = encode_page_token(CURSOR)
    assert decode_page_token(token, account_id="acc-1") == CURSOR


def test_a_token_is_url_safe_without_padding() -> None:
    longest = PageCursor("a" * 64, "2024-03-01T09:30:00.000001Z", "t" * 128)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", encode_page_token(longest))


def test_a_token_is_refused_for_another_account() -> None:
    with pytest.raises(InvalidPageTokenError, match="not issued for this account"):
        decode_page_token(encode_page_token(CURSOR), account_id="acc-2")


def test_a_cursor_cannot_hold_malformed_values() -> None:
    with pytest.raises(ValueError, match="malformed"):
        PageCursor(account_id="acc 1", executed_at="2024-03-01T09:30:00.000001Z", trade_id="T")


GOOD = {"v": 1, "a": "acc-1", "e": "2024-03-01T09:30:00.000001Z", "t": "T-9"}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("not a token!", id="outside-alphabet"),
        pytest.param(encode_page_token(CURSOR) + "==", id="padded"),
        pytest.param(encode_page_token(CURSOR) + "A", id="extra-character"),
        pytest.param(encode_page_token(CURSOR)[:-2], id="truncated"),
        pytest.param("A" * 600, id="too-long"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="), id="not-utf8"),
        pytest.param(_token_of("just a string"), id="json-string"),
        pytest.param(_token_of([1, "acc-1"]), id="json-array"),
        pytest.param(_token_of({k: v for k, v in GOOD.items() if k != "t"}), id="missing-key"),
        pytest.param(_token_of({**GOOD, "x": 1}), id="extra-key"),
        pytest.param(_token_of({**GOOD, "v": 2}), id="unknown-version"),
        pytest.param(_token_of({**GOOD, "v": True}), id="boolean-version"),
        pytest.param(_token_of({**GOOD, "t": 9}), id="number-trade-id"),
        pytest.param(_token_of({**GOOD, "t": "T 9"}), id="bad-trade-id"),
        pytest.param(_token_of({**GOOD, "e": "2024-03-01"}), id="bad-executed-at"),
        pytest.param(_token_of({**GOOD, "a": "acc-1/../x"}), id="bad-account"),
        pytest.param(_token_of(dict(reversed(GOOD.items()))), id="reordered-keys"),
        pytest.param(
            base64.urlsafe_b64encode(json.dumps(GOOD).encode()).decode().rstrip("="),
            id="non-canonical-whitespace",
        ),
    ],
)
def test_a_malformed_or_tampered_token_is_refused(token: str) -> None:
    with pytest.raises(InvalidPageTokenError, match="malformed"):
        decode_page_token(token, account_id="acc-1")


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=600))
def test_any_text_is_either_a_canonical_token_or_refused_with_a_client_error(text: str) -> None:
    try:
        cursor = decode_page_token(text, account_id="acc-1")
    except InvalidPageTokenError:
        return
    assert encode_page_token(cursor) == text


@settings(max_examples=300, deadline=None, database=None)
@given(st.data())
def test_changing_one_character_of_a_token_never_causes_an_unexpected_error(
    data: st.DataObject,
) -> None:
    token = encode_page_token(CURSOR)
    index = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    character = data.draw(st.characters(codec="ascii"))
    tampered = token[:index] + character + token[index + 1 :]
    try:
        cursor = decode_page_token(tampered, account_id="acc-1")
    except InvalidPageTokenError:
        return
    assert encode_page_token(cursor) == tampered
