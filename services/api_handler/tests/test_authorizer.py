"""The session authorizer: its simple responses, what it logs, and the Lambda entry point
against a moto sessions table."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from api_handler.adapters.memory import InMemorySessionRepository
from api_handler.authorization import SessionAuthorizer, authorization_header
from api_handler.authorizer import lambda_handler as authorizer_handler
from api_handler.domain.access import claims_from_context
from api_handler.domain.sessions import Session, session_key
from api_handler.events import http_api_event, iam_authorizer, lambda_context
from api_handler.handler import lambda_handler
from api_handler.wiring import get_authorizer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SID = "K" * 43


def authorizer_event(authorization: str | None, *, route: str = "GET /trades/{trade_id}") -> Any:
    """What API Gateway sends a REQUEST authorizer (payload 2.0) for a user route."""
    headers = {} if authorization is None else {"authorization": authorization}
    event = http_api_event("GET", "/trades/T-1", headers=headers, route_key=route)
    event.update(
        type="REQUEST", routeArn="arn:aws:execute-api:ap-southeast-1:1:api/$default/GET/trades/T-1"
    )
    event["identitySource"] = [] if authorization is None else [authorization]
    return event


@pytest.fixture
def authorizer(sessions: InMemorySessionRepository, clock: Any) -> SessionAuthorizer:
    sessions.add(Session(SID, "acc-1", clock.now, int(clock.now.timestamp()) + 60))
    return SessionAuthorizer(sessions=sessions, clock=clock)


def test_a_valid_session_is_authorized_with_its_claims(authorizer: SessionAuthorizer) -> None:
    answer = authorizer.authorize(authorizer_event(f"Bearer {SID}"))
    assert answer == {
        "isAuthorized": True,
        "context": {"account_id": "acc-1", "session_id": SID, "expires_at": 1709294460},
    }


def test_the_claims_are_what_the_handler_accepts(authorizer: SessionAuthorizer) -> None:
    answer = authorizer.authorize(authorizer_event(f"Bearer {SID}"))
    claims = claims_from_context(answer["context"])
    assert claims is not None and claims.account_id == "acc-1"


def test_an_unknown_session_is_denied(authorizer: SessionAuthorizer) -> None:
    assert authorizer.authorize(authorizer_event(f"Bearer {'U' * 43}")) == {"isAuthorized": False}


def test_an_expired_session_is_denied(
    authorizer: SessionAuthorizer, advance: Callable[[float], None]
) -> None:
    advance(60)
    assert authorizer.authorize(authorizer_event(f"Bearer {SID}")) == {"isAuthorized": False}


@pytest.mark.parametrize("header", ["Bearer short", SID, f"Basic {SID}", "AWS4-HMAC-SHA256 x"])
def test_a_malformed_token_is_denied_without_a_read(header: str, clock: Any) -> None:
    class Unreadable:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError("a malformed token must not reach the table")

    authorizer = SessionAuthorizer(sessions=Unreadable(), clock=clock)
    assert authorizer.authorize(authorizer_event(header)) == {"isAuthorized": False}


def test_the_identity_source_is_preferred_over_the_header() -> None:
    event = authorizer_event("Bearer from-identity-source")
    event["headers"]["authorization"] = "Bearer from-header"
    assert authorization_header(event) == "Bearer from-identity-source"


def test_without_identity_source_the_header_is_read() -> None:
    event = authorizer_event(f"Bearer {SID}")
    del event["identitySource"]
    assert authorization_header(event) == f"Bearer {SID}"


def test_the_verdict_is_logged_without_the_token(
    authorizer: SessionAuthorizer, log_output: io.StringIO
) -> None:
    authorizer.authorize(authorizer_event(f"Bearer {'U' * 43}"))
    (line,) = [json.loads(x) for x in log_output.getvalue().splitlines()]
    assert (line["message"], line["verdict"]) == ("authorization", "unknown_session")
    assert "U" * 43 not in log_output.getvalue()


# --- the Lambda entry point against moto -----------------------------------------------------


@pytest.fixture
def authorizer_env(lambda_env: None) -> Any:
    get_authorizer.cache_clear()
    yield
    get_authorizer.cache_clear()


@pytest.mark.moto
@pytest.mark.usefixtures("authorizer_env")
def test_a_session_created_through_the_api_is_authorized() -> None:
    created = lambda_handler(
        http_api_event(
            "POST", "/sessions", body={"account_id": "acc-9"}, authorizer=iam_authorizer()
        ),
        lambda_context(),
    )
    session_id = json.loads(created["body"])["session_id"]
    answer = authorizer_handler(authorizer_event(f"Bearer {session_id}"), lambda_context())
    assert answer["isAuthorized"] is True
    assert answer["context"]["account_id"] == "acc-9"


@pytest.mark.moto
@pytest.mark.usefixtures("authorizer_env")
def test_a_stored_but_expired_session_is_denied(
    dynamodb: DynamoDBClient, sessions_table: str
) -> None:
    dynamodb.put_item(
        TableName=sessions_table,
        Item={
            "session_id": {"S": session_key(SID)},
            "account_id": {"S": "acc-1"},
            "created_at": {"S": "2024-03-01T12:00:00.000000Z"},
            "expires_at": {"N": "1709294460"},
        },
    )
    answer = authorizer_handler(authorizer_event(f"Bearer {SID}"), lambda_context())
    assert answer == {"isAuthorized": False}


@pytest.mark.moto
@pytest.mark.usefixtures("authorizer_env")
def test_the_authorizer_needs_only_the_sessions_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADES_TABLE_NAME")
    monkeypatch.delenv("TRADES_BY_ACCOUNT_INDEX")
    answer = authorizer_handler(authorizer_event(f"Bearer {SID}"), lambda_context())
    assert answer == {"isAuthorized": False}


@pytest.mark.usefixtures("no_config")
def test_a_configuration_error_fails_rather_than_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    """A denial would be cached by the gateway and lock valid sessions out; a failure is a 500."""
    get_authorizer.cache_clear()
    with pytest.raises(Exception, match="SESSIONS_TABLE_NAME"):
        authorizer_handler(authorizer_event(f"Bearer {SID}"), lambda_context())
    get_authorizer.cache_clear()


def test_expired_is_measured_against_the_clock(
    sessions: InMemorySessionRepository, clock: Any
) -> None:
    sessions.add(Session(SID, "acc-1", clock.now, int(clock.now.timestamp()) + 60))
    clock.now += timedelta(seconds=59)
    answer = SessionAuthorizer(sessions=sessions, clock=clock).authorize(
        authorizer_event(f"Bearer {SID}")
    )
    assert answer["isAuthorized"] is True


@pytest.mark.moto
@pytest.mark.usefixtures("authorizer_env")
@pytest.mark.parametrize(("stored_under", "allowed"), [("key", True), ("clear id", False)])
def test_the_authorizer_looks_a_token_up_by_its_key_only(
    dynamodb: DynamoDBClient, sessions_table: str, stored_under: str, allowed: bool
) -> None:
    """The table's key is the SHA-256 of the token; an item under the clear token (written
    before hashing, or forged) authorizes nothing."""
    dynamodb.put_item(
        TableName=sessions_table,
        Item={
            "session_id": {"S": session_key(SID) if stored_under == "key" else SID},
            "account_id": {"S": "acc-1"},
            "created_at": {"S": "2024-03-01T12:00:00.000000Z"},
            "expires_at": {"N": str(2**40)},
        },
    )
    answer = authorizer_handler(authorizer_event(f"Bearer {SID}"), lambda_context())
    assert answer["isAuthorized"] is allowed
