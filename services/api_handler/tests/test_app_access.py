"""The handler checks the caller itself: SigV4 context on service routes, the authorizer's
session claims on user routes, and an account's data only for that account's session."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from api_handler.adapters.memory import InMemorySessionRepository, InMemoryTradeReader
from api_handler.app import App
from api_handler.domain.sessions import Session, session_key
from api_handler.domain.trades import Trade
from api_handler.events import http_api_event, iam_authorizer, lambda_authorizer

OTHER_SID = "O" * 43
START_EPOCH = 1709294400
SERVICE_REQUESTS = [
    ("POST", "/sessions", {"account_id": "acc-1"}),
    ("GET", "/sessions/" + "A" * 43, None),
    ("DELETE", "/sessions/" + "A" * 43, None),
]
USER_REQUESTS = [
    ("GET", "/sessions/current"),
    ("GET", "/trades/T-1"),
    ("GET", "/accounts/acc-1/trades"),
]


def claims(account_id: str = "acc-1", session_id: str = "C" * 43, **extra: Any) -> Any:
    return lambda_authorizer(
        {"account_id": account_id, "session_id": session_id, "expires_at": START_EPOCH + 60} | extra
    )


def send(app: App, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    response = app.handle(http_api_event(method, path, **kwargs))
    return response["statusCode"], json.loads(response.get("body") or "null")


def error_code(answer: tuple[int, Any]) -> tuple[int, str]:
    return answer[0], answer[1]["error"]["code"]


@pytest.fixture
def stored(
    app: App,
    sessions: InMemorySessionRepository,
    trades: InMemoryTradeReader,
    make_trade: Callable[..., Trade],
    clock: Any,
) -> App:
    """acc-1 has trade T-1 and session C...C; acc-2 has trade T-2."""
    trades.add(make_trade(trade_id="T-1", account_id="acc-1"))
    trades.add(make_trade(trade_id="T-2", account_id="acc-2"))
    sessions.add(Session("C" * 43, "acc-1", clock.now, START_EPOCH + 60))
    return app


# --- service routes --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "payload"), SERVICE_REQUESTS)
def test_a_service_route_without_a_sigv4_context_is_a_401(
    stored: App, method: str, path: str, payload: Any
) -> None:
    assert error_code(send(stored, method, path, body=payload)) == (401, "unauthorized")


def test_a_session_route_caller_cannot_create_sessions(
    stored: App, sessions: InMemorySessionRepository
) -> None:
    answer = send(stored, "POST", "/sessions", body={"account_id": "acc-2"}, authorizer=claims())
    assert error_code(answer) == (401, "unauthorized")
    assert set(sessions.sessions) == {session_key("C" * 43)}


# --- user routes: no data without valid claims -----------------------------------------------


@pytest.mark.parametrize(("method", "path"), USER_REQUESTS)
def test_a_user_route_without_authorizer_context_is_a_401(
    stored: App, method: str, path: str
) -> None:
    assert error_code(send(stored, method, path)) == (401, "unauthorized")


@pytest.mark.parametrize(("method", "path"), USER_REQUESTS)
def test_a_user_route_wired_to_iam_instead_serves_nothing(
    stored: App, method: str, path: str
) -> None:
    answer = send(stored, method, path, authorizer=iam_authorizer())
    assert error_code(answer) == (401, "unauthorized")


@pytest.mark.parametrize(("method", "path"), USER_REQUESTS)
def test_claims_of_an_ended_session_are_a_401(
    stored: App, advance: Callable[[float], None], method: str, path: str
) -> None:
    advance(60)  # the gateway may still hold the authorizer's cached "yes"
    answer = send(stored, method, path, authorizer=claims())
    assert error_code(answer) == (401, "unauthorized")


def test_malformed_claims_are_a_401(stored: App) -> None:
    answer = send(stored, "GET", "/trades/T-1", authorizer=claims(account_id="acc 1"))
    assert error_code(answer) == (401, "unauthorized")


def test_the_health_check_needs_no_caller(stored: App) -> None:
    assert send(stored, "GET", "/health")[0] == 200


# --- user routes: own account only -----------------------------------------------------------


def test_the_owner_reads_its_trade(stored: App) -> None:
    status, body = send(stored, "GET", "/trades/T-1", authorizer=claims())
    assert (status, body["trade_id"], body["account_id"]) == (200, "T-1", "acc-1")


def test_another_accounts_trade_is_not_found_like_a_missing_one(stored: App) -> None:
    foreign = send(stored, "GET", "/trades/T-2", authorizer=claims())
    missing = send(stored, "GET", "/trades/T-404", authorizer=claims())
    assert foreign == missing
    assert error_code(foreign) == (404, "trade_not_found")


def test_the_owner_lists_its_trades(stored: App) -> None:
    status, body = send(stored, "GET", "/accounts/acc-1/trades", authorizer=claims())
    assert (status, [t["trade_id"] for t in body["items"]]) == (200, ["T-1"])


def test_listing_another_account_is_a_403(stored: App) -> None:
    answer = send(stored, "GET", "/accounts/acc-2/trades", authorizer=claims())
    assert error_code(answer) == (403, "forbidden")


def test_listing_another_account_is_a_403_whatever_the_query(stored: App) -> None:
    answer = send(
        stored, "GET", "/accounts/acc-2/trades", query={"limit": "1"}, authorizer=claims()
    )
    assert error_code(answer) == (403, "forbidden")


# --- GET /sessions/current -------------------------------------------------------------------


def test_the_current_session_is_the_callers(stored: App) -> None:
    status, body = send(stored, "GET", "/sessions/current", authorizer=claims())
    assert (status, body["session_id"], body["account_id"]) == (200, "C" * 43, "acc-1")


def test_a_revoked_current_session_is_a_401(
    stored: App, sessions: InMemorySessionRepository
) -> None:
    sessions.sessions.clear()  # revoked while the gateway still caches the authorizer's "yes"
    answer = send(stored, "GET", "/sessions/current", authorizer=claims())
    assert error_code(answer) == (401, "unauthorized")


def test_claims_for_another_accounts_session_id_are_a_401(stored: App) -> None:
    answer = send(stored, "GET", "/sessions/current", authorizer=claims(account_id="acc-2"))
    assert error_code(answer) == (401, "unauthorized")


def test_delete_on_current_reaches_the_service_route_and_fails_its_format(stored: App) -> None:
    answer = send(stored, "DELETE", "/sessions/current", authorizer=iam_authorizer())
    assert error_code(answer) == (400, "invalid_path_parameter")


def test_another_method_on_current_is_a_405_listing_the_paths_methods(stored: App) -> None:
    response = stored.handle(http_api_event("POST", "/sessions/current"))
    assert response["statusCode"] == 405
    assert response["headers"]["allow"] == "DELETE, GET"
