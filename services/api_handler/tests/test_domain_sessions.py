"""Session rules and the create-session request model."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from api_handler import services
from api_handler.adapters.memory import InMemorySessionRepository
from api_handler.domain.errors import InvalidBodyError, RequestValidationError
from api_handler.domain.identifiers import is_session_id
from api_handler.domain.sessions import (
    CreateSessionRequest,
    Session,
    new_session_id,
    parse_create_session_request,
    session_key,
    start_session,
)

NOW = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)  # epoch 1709294400.25


def test_new_session_ids_are_43_url_safe_characters() -> None:
    assert is_session_id(new_session_id())


def test_new_session_ids_do_not_repeat() -> None:
    assert len({new_session_id() for _ in range(1000)}) == 1000


def test_a_session_expires_ttl_seconds_after_the_whole_second_it_was_created_in() -> None:
    session = start_session("acc-1", 60, now=NOW, session_id="s" * 43)
    assert session.expires_at == 1709294400 + 60


def test_created_at_is_stored_in_utc() -> None:
    singapore = timezone(timedelta(hours=8))
    session = start_session("acc-1", 60, now=NOW.astimezone(singapore), session_id="s" * 43)
    assert session.created_at == NOW
    assert session.created_at.tzinfo == UTC


@pytest.mark.parametrize("ttl", [59, 86_401, 0, -60])
def test_a_lifetime_outside_60_to_86400_seconds_is_refused(ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        start_session("acc-1", ttl, now=NOW, session_id="s" * 43)


@pytest.mark.parametrize(
    ("offset", "expired"),
    [(-0.001, False), (0, True), (0.5, True), (3600, True)],
)
def test_a_session_is_valid_strictly_before_expires_at(offset: float, expired: bool) -> None:
    session = Session("s" * 43, "acc-1", NOW, expires_at=1709294460)
    moment = datetime.fromtimestamp(1709294460, UTC) + timedelta(seconds=offset)
    assert session.is_expired(moment) is expired


def test_the_key_of_a_session_is_the_sha256_hex_digest_of_its_id() -> None:
    session_id = new_session_id()
    key = session_key(session_id)
    assert key == hashlib.sha256(session_id.encode()).hexdigest()
    assert len(key) == 64
    assert session_id not in key


def test_storage_keeps_no_clear_id() -> None:
    session = Session("s" * 43, "acc-1", NOW, 1709294460)
    stored = session.stored()
    assert stored.key == session_key("s" * 43)
    assert "s" * 43 not in repr(stored)
    assert stored.with_id("s" * 43) == session


def test_a_stored_session_does_not_take_an_id_of_another_key() -> None:
    stored = Session("s" * 43, "acc-1", NOW, 1709294460).stored()
    with pytest.raises(ValueError, match="does not match"):
        stored.with_id("t" * 43)


def test_creation_returns_the_clear_id_once_and_stores_only_its_key() -> None:
    repository = InMemorySessionRepository()
    session = services.create_session(
        repository,
        CreateSessionRequest(account_id="acc-1"),
        default_ttl_seconds=60,
        now=NOW,
        new_id=new_session_id,
    )
    assert set(repository.sessions) == {session_key(session.session_id)}
    assert session.session_id not in json.dumps([repr(v) for v in repository.sessions.values()])
    found = services.authorize_bearer(repository, f"Bearer {session.session_id}", now=NOW)
    assert found.claims is not None
    assert found.claims.session_id == session.session_id
    assert services.get_session(repository, session.session_id, now=NOW) == session
    services.end_session(repository, session.session_id, now=NOW)
    assert repository.sessions == {}


def test_a_request_with_only_an_account_id_is_valid_and_has_no_ttl() -> None:
    request = parse_create_session_request({"account_id": "acc-1"})
    assert (request.account_id, request.ttl_seconds) == ("acc-1", None)


def test_an_explicit_null_ttl_is_the_same_as_none() -> None:
    assert (
        parse_create_session_request({"account_id": "a", "ttl_seconds": None}).ttl_seconds is None
    )


@pytest.mark.parametrize("ttl", [60, 3600, 86_400])
def test_a_ttl_from_60_to_86400_is_accepted(ttl: int) -> None:
    assert parse_create_session_request({"account_id": "a", "ttl_seconds": ttl}).ttl_seconds == ttl


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "account_id: Field required"),
        ({"account_id": ""}, "account_id: must be 1-64 characters"),
        ({"account_id": "a b"}, "account_id: must be 1-64 characters"),
        ({"account_id": 42}, "account_id: Input should be a valid string"),
        ({"account_id": "a", "ttl_seconds": 59}, "ttl_seconds: Input should be greater than"),
        ({"account_id": "a", "ttl_seconds": 86_401}, "ttl_seconds: Input should be less than"),
        ({"account_id": "a", "ttl_seconds": "600"}, "ttl_seconds: Input should be a valid int"),
        ({"account_id": "a", "ttl_seconds": 600.0}, "ttl_seconds: Input should be a valid int"),
        ({"account_id": "a", "ttl_seconds": True}, "ttl_seconds: Input should be a valid int"),
        ({"account_id": "a", "role": "admin"}, "role: Extra inputs are not permitted"),
    ],
)
def test_an_invalid_request_names_the_field_and_the_problem(
    payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(RequestValidationError) as raised:
        parse_create_session_request(payload)
    assert raised.value.message.startswith(message)


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(RequestValidationError) as raised:
        parse_create_session_request({"account_id": "a b", "ttl_seconds": 1})
    assert "account_id:" in raised.value.message
    assert "ttl_seconds:" in raised.value.message


def test_validation_messages_do_not_echo_the_input() -> None:
    with pytest.raises(RequestValidationError) as raised:
        parse_create_session_request({"account_id": "<script>", "ttl_seconds": "DROP TABLE"})
    assert "<script>" not in raised.value.message
    assert "DROP TABLE" not in raised.value.message


@pytest.mark.parametrize("payload", [[], "acc-1", 1, None])
def test_a_body_that_is_not_a_json_object_is_refused(payload: Any) -> None:
    with pytest.raises(InvalidBodyError, match="JSON object"):
        parse_create_session_request(payload)
