"""The Lambda entrypoint: cold-start configuration, and whole requests against moto tables."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from api_handler.domain.identifiers import is_account_id
from api_handler.events import http_api_event, iam_authorizer, lambda_authorizer, lambda_context
from api_handler.handler import lambda_handler
from api_handler.wiring import get_app

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BASE = datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)


# The gateway's part: SigV4-checked service routes carry ``authorizer.iam``; session routes
# carry the Lambda authorizer's claims. By default the caller owns the account in the path
# (else acc-1), so these tests exercise the endpoints; test_access.py covers the checks.
CALLER_SESSION_ID = "C" * 43
FAR_FUTURE = 4_102_444_800  # 2100-01-01T00:00:00Z


def gateway_authorizer(path: str) -> dict[str, Any] | None:
    segments = path.split("/")
    if path.startswith("/sessions") and path != "/sessions/current":
        return iam_authorizer()
    if not path.startswith(("/trades/", "/accounts/", "/sessions/current")):
        return None
    account = segments[2] if path.startswith("/accounts/") else "acc-1"
    claims = {
        "account_id": account if is_account_id(account) else "acc-1",
        "session_id": CALLER_SESSION_ID,
        "expires_at": FAR_FUTURE,
    }
    return lambda_authorizer(claims)


def invoke(method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("authorizer", gateway_authorizer(path))
    return lambda_handler(http_api_event(method, path, **kwargs), lambda_context())


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


# --- cold start ------------------------------------------------------------------------------


def test_the_handler_module_imports_without_any_configuration() -> None:
    variables = ("SESSIONS_TABLE_NAME", "TRADES_TABLE_NAME", "TRADES_BY_ACCOUNT_INDEX")
    environ = {
        k: v for k, v in os.environ.items() if k not in variables and not k.startswith("AWS_")
    }
    environ["LOG_LEVEL"] = "NOT-A-LEVEL"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import api_handler.handler as h; print(callable(h.lambda_handler))",
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "True"), result.stderr


# The cold-import budget (250 ms under CPython 3.12) is met by loading nothing heavy at import:
# Powertools (~115 ms), pydantic with the models (~235 ms) and boto3 (~90 ms) wait for the first
# invocation. Time is measured by `./tap bench --services`; this pins the cause, not the time.
HEAVY_MODULES = ("aws_lambda_powertools", "pydantic", "boto3", "botocore")


@pytest.mark.parametrize("entrypoint", ["api_handler.handler", "api_handler.authorizer"])
def test_an_entrypoint_import_loads_no_heavy_library(entrypoint: str) -> None:
    script = (
        f"import sys, {entrypoint}; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY_MODULES!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


@pytest.mark.usefixtures("no_config")
def test_missing_configuration_is_a_500_and_a_log_line_naming_the_variables(
    log_output: io.StringIO,
) -> None:
    response = invoke("GET", "/health")
    assert response["statusCode"] == 500
    assert body(response) == {"error": {"code": "internal_error", "message": "internal error"}}
    assert "SESSIONS_TABLE_NAME" not in response["body"]
    logged = log_output.getvalue()
    assert "SESSIONS_TABLE_NAME is required" in logged
    assert "TRADES_BY_ACCOUNT_INDEX is required" in logged


@pytest.mark.usefixtures("no_config")
def test_configuration_is_read_again_after_a_failed_cold_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert invoke("GET", "/health")["statusCode"] == 500
    monkeypatch.setenv("SESSIONS_TABLE_NAME", "s-table")
    monkeypatch.setenv("TRADES_TABLE_NAME", "t-table")
    monkeypatch.setenv("TRADES_BY_ACCOUNT_INDEX", "t-index")
    monkeypatch.setenv("AWS_REGION", "ap-southeast-1")
    assert invoke("GET", "/health")["statusCode"] == 200


@pytest.mark.usefixtures("no_config")
def test_the_invocation_log_carries_the_lambda_request_id(
    monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    monkeypatch.setenv("SESSIONS_TABLE_NAME", "s-table")
    monkeypatch.setenv("TRADES_TABLE_NAME", "t-table")
    monkeypatch.setenv("TRADES_BY_ACCOUNT_INDEX", "t-index")
    monkeypatch.setenv("AWS_REGION", "ap-southeast-1")
    lambda_handler(http_api_event("GET", "/health"), lambda_context(request_id="req-42"))
    (line,) = [json.loads(x) for x in log_output.getvalue().splitlines()]
    assert (line["function_request_id"], line["route"], line["status"]) == (
        "req-42",
        "GET /health",
        200,
    )


# --- whole requests against moto -------------------------------------------------------------


@pytest.mark.moto
@pytest.mark.usefixtures("lambda_env")
def test_a_session_lives_from_creation_to_deletion() -> None:
    created = invoke("POST", "/sessions", body={"account_id": "acc-1"})
    assert created["statusCode"] == 201
    session = body(created)
    assert session["expires_at"] - datetime.fromisoformat(session["created_at"]).timestamp() <= 900
    path = f"/sessions/{session['session_id']}"

    read = invoke("GET", path)
    assert (read["statusCode"], body(read)) == (200, session)
    assert invoke("DELETE", path)["statusCode"] == 204
    assert invoke("GET", path)["statusCode"] == 404
    assert invoke("DELETE", path)["statusCode"] == 404


@pytest.mark.moto
@pytest.mark.usefixtures("lambda_env")
def test_a_stored_but_expired_session_is_not_found(
    dynamodb: DynamoDBClient, sessions_table: str
) -> None:
    session_id = "e" * 43
    dynamodb.put_item(
        TableName=sessions_table,
        Item={
            "session_id": {"S": session_id},
            "account_id": {"S": "acc-1"},
            "created_at": {"S": "2024-03-01T09:00:00.000000Z"},
            "expires_at": {"N": "1709287260"},  # 2024-03-01T10:01:00Z, long past
        },
    )
    response = invoke("GET", f"/sessions/{session_id}")
    assert body(response)["error"]["code"] == "session_not_found"
    assert invoke("DELETE", f"/sessions/{session_id}")["statusCode"] == 404


@pytest.mark.moto
@pytest.mark.usefixtures("lambda_env")
def test_a_trade_is_returned_without_internal_attributes(
    seed_trades: Callable[[list[Any]], None], make_trade_item: Callable[..., Any]
) -> None:
    seed_trades([make_trade_item("T-1", "acc-1", BASE, price="35.125")])
    response = invoke("GET", "/trades/T-1")
    assert response["statusCode"] == 200
    assert body(response) == {
        "trade_id": "T-1",
        "account_id": "acc-1",
        "symbol": "D05.SI",
        "side": "SELL",
        "quantity": 250,
        "price": "35.125",
        "currency": "SGD",
        "executed_at": "2024-03-01T09:00:00.000000Z",
    }


@pytest.mark.moto
@pytest.mark.usefixtures("lambda_env")
def test_an_unknown_trade_is_a_404() -> None:
    response = invoke("GET", "/trades/T-404")
    assert (response["statusCode"], body(response)["error"]["code"]) == (404, "trade_not_found")


@pytest.mark.moto
@pytest.mark.usefixtures("lambda_env")
def test_120_trades_are_listed_in_3_pages_of_50_newest_first(
    seed_trades: Callable[[list[Any]], None], make_trade_item: Callable[..., Any]
) -> None:
    seed_trades(
        [make_trade_item(f"T-{i:03d}", "acc-1", BASE + timedelta(minutes=i)) for i in range(120)]
        + [make_trade_item(f"X-{i}", "acc-2", BASE + timedelta(minutes=i)) for i in range(10)]
    )
    pages: list[list[dict[str, Any]]] = []
    query: dict[str, str] = {"limit": "50"}
    while True:
        response = invoke("GET", "/accounts/acc-1/trades", query=query)
        assert response["statusCode"] == 200
        page = body(response)
        pages.append(page["items"])
        if page["next_token"] is None:
            break
        query = {"limit": "50", "next_token": page["next_token"]}

    assert [len(p) for p in pages] == [50, 50, 20]
    listed = [t for p in pages for t in p]
    assert len({t["trade_id"] for t in listed}) == 120
    times = [t["executed_at"] for t in listed]
    assert times == sorted(times, reverse=True)
    assert {t["account_id"] for t in listed} == {"acc-1"}


@pytest.mark.moto
@pytest.mark.usefixtures("lambda_env")
def test_a_next_token_from_one_account_is_refused_for_another(
    seed_trades: Callable[[list[Any]], None], make_trade_item: Callable[..., Any]
) -> None:
    seed_trades([make_trade_item(f"T-{i}", "acc-1", BASE + timedelta(minutes=i)) for i in range(3)])
    token = body(invoke("GET", "/accounts/acc-1/trades", query={"limit": "1"}))["next_token"]
    response = invoke("GET", "/accounts/acc-2/trades", query={"next_token": token})
    assert (response["statusCode"], body(response)["error"]["code"]) == (400, "invalid_next_token")


@pytest.mark.moto
@pytest.mark.usefixtures("lambda_env")
def test_an_aws_failure_is_a_500_that_names_no_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSIONS_TABLE_NAME", "table-that-does-not-exist")
    get_app.cache_clear()
    response = invoke("GET", f"/sessions/{'a' * 43}")
    assert response["statusCode"] == 500
    assert "table-that-does-not-exist" not in response["body"]
    assert "ResourceNotFound" not in response["body"]
