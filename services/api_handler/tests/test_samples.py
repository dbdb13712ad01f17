"""The sample events (api_handler.samples): one per route of the service's own route table,
each read by its request parsing and served by that route, and the session authorizer's
request, answered by the authorizer."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from api_handler.adapters.memory import InMemorySessionRepository, InMemoryTradeReader
from api_handler.app import OPERATIONS, App
from api_handler.authorization import SessionAuthorizer, authorization_header
from api_handler.domain.sessions import Session
from api_handler.domain.trades import Trade
from api_handler.events import lambda_context
from api_handler.handler import lambda_handler
from api_handler.httpapi import Request
from api_handler.samples import (
    AUTHORIZER_HANDLER,
    DEFAULT_SESSION_ID,
    HANDLER,
    LOGIN_BACKEND_ACCESS_KEY,
    SAMPLES,
    UnknownSampleError,
    names,
    sample,
)
from aws_lambda_powertools.utilities.parser.models import (
    ApiGatewayAuthorizerRequestV2,
    APIGatewayProxyEventV2Model,
)

# The app's clock in conftest.py: 2024-03-01T12:00:00.250000Z.
NOW = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
ROUTE_SAMPLES = names(HANDLER)
#: What each route's sample is answered when its session and trade exist.
STATUS = {
    "health": 200,
    "create-session": 201,
    "get-current-session": 200,
    "get-session": 200,
    "delete-session": 204,
    "get-trade": 200,
    "list-account-trades": 200,
}


def deployed(name: str, **params: Any) -> dict[str, Any]:
    """Sample ``name`` as ./tap invoke fills it for a deployment's ``dev`` stage."""
    where = {
        "region": "ap-southeast-1",
        "aws_account_id": "210987654321",
        "api_id": "x7k2m9p4q1",
        "stage": "dev",
        "now": NOW,
        "request_id": "f3e1c1a0-5b7d-4c2e-9a51-0d6c1b2a3e4f",
    }
    return sample(name, **{**where, **params})


@pytest.fixture
def seeded(
    app: App,
    sessions: InMemorySessionRepository,
    trades: InMemoryTradeReader,
    make_trade: Callable[..., Trade],
) -> App:
    """The app with the samples' session (account ACC-1) and trade T-000001 of ACC-1."""
    sessions.add(Session(DEFAULT_SESSION_ID, "ACC-1", NOW, int(NOW.timestamp()) + 3600))
    trades.add(make_trade(trade_id="T-000001", account_id="ACC-1"))
    return app


def logged_routes(log_output: io.StringIO) -> list[tuple[str, int]]:
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    return [(line["route"], line["status"]) for line in lines if line.get("message") == "request"]


def test_there_is_one_sample_per_route_and_one_for_the_authorizer() -> None:
    assert names() == (
        "health",
        "create-session",
        "get-current-session",
        "get-session",
        "delete-session",
        "get-trade",
        "list-account-trades",
        "authorizer",
    )
    assert names(AUTHORIZER_HANDLER) == ("authorizer",)
    assert {sample(name)["routeKey"] for name in ROUTE_SAMPLES} == {
        f"{operation.method} {operation.template}" for operation in OPERATIONS
    }


@pytest.mark.parametrize("name", ROUTE_SAMPLES)
def test_each_route_sample_is_served_by_its_route(
    name: str, seeded: App, log_output: io.StringIO
) -> None:
    event = deployed(name)

    response = seeded.handle(event)

    assert logged_routes(log_output) == [(event["routeKey"], STATUS[name])]
    assert response["statusCode"] == STATUS[name]


@pytest.mark.parametrize("name", ROUTE_SAMPLES)
def test_each_route_sample_is_read_as_the_request_of_its_route(name: str) -> None:
    event = deployed(name)
    method, template = event["routeKey"].split(" ")

    request = Request.from_event(event)

    assert request.method == method
    assert event["rawPath"] == f"/dev{request.path}"
    assert len(request.path.split("/")) == len(template.split("/"))


@pytest.mark.parametrize("name", ROUTE_SAMPLES)
def test_powertools_accepts_each_route_sample_as_payload_2_0(name: str) -> None:
    model = APIGatewayProxyEventV2Model.model_validate(deployed(name))

    assert (model.version, model.requestContext.stage, model.requestContext.apiId) == (
        "2.0",
        "dev",
        "x7k2m9p4q1",
    )


def test_a_user_route_sample_is_the_event_the_gateway_sends() -> None:
    assert deployed("get-trade", trade_id="T:42") == {
        "version": "2.0",
        "routeKey": "GET /trades/{trade_id}",
        "rawPath": "/dev/trades/T%3A42",
        "rawQueryString": "",
        "headers": {
            "host": "x7k2m9p4q1.execute-api.ap-southeast-1.amazonaws.com",
            "accept": "application/json",
            "authorization": f"Bearer {DEFAULT_SESSION_ID}",
            "user-agent": "curl/8.5.0",
            "x-forwarded-for": "203.0.113.10",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
        },
        "requestContext": {
            "accountId": "210987654321",
            "apiId": "x7k2m9p4q1",
            "domainName": "x7k2m9p4q1.execute-api.ap-southeast-1.amazonaws.com",
            "domainPrefix": "x7k2m9p4q1",
            "http": {
                "method": "GET",
                "path": "/dev/trades/T%3A42",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "f3e1c1a0-5b7d-4c2e-9a51-0d6c1b2a3e4f",
            "routeKey": "GET /trades/{trade_id}",
            "stage": "dev",
            "time": "01/Mar/2024:12:00:00 +0000",
            "timeEpoch": 1709294400250,
            "authorizer": {
                "lambda": {
                    "account_id": "ACC-1",
                    "session_id": DEFAULT_SESSION_ID,
                    "expires_at": 1709298000,
                }
            },
        },
        "isBase64Encoded": False,
        "pathParameters": {"trade_id": "T:42"},
    }


def test_the_create_session_sample_is_signed_and_carries_a_valid_body() -> None:
    event = deployed("create-session", account_id="acc-7", ttl_seconds=600)

    assert json.loads(event["body"]) == {"account_id": "acc-7", "ttl_seconds": 600}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["content-length"] == "40"
    assert event["headers"]["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={LOGIN_BACKEND_ACCESS_KEY}/20240301/ap-southeast-1/"
        "execute-api/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
        "x-amz-security-token, Signature="
    )
    assert event["requestContext"]["authorizer"]["iam"]["userArn"] == (
        "arn:aws:sts::210987654321:assumed-role/login-backend/login-backend-session"
    )


def test_the_page_size_is_a_query_parameter() -> None:
    event = deployed("list-account-trades", account_id="acc-7", limit=5)

    assert (event["rawPath"], event["rawQueryString"], event["queryStringParameters"]) == (
        "/dev/accounts/acc-7/trades",
        "limit=5",
        {"limit": "5"},
    )


def test_the_user_claims_last_an_hour_from_now() -> None:
    claims = deployed("get-current-session")["requestContext"]["authorizer"]["lambda"]

    assert claims["expires_at"] == int(NOW.timestamp()) + 3600


def test_the_open_route_has_no_authorizer_block() -> None:
    assert "authorizer" not in deployed("health")["requestContext"]


# --- the authorizer's request ----------------------------------------------------------------


def test_the_authorizer_sample_is_the_request_payload_2_0() -> None:
    assert deployed("authorizer", token="K" * 43) == {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": (
            "arn:aws:execute-api:ap-southeast-1:210987654321:x7k2m9p4q1/dev/GET/trades/T-000001"
        ),
        "identitySource": [f"Bearer {'K' * 43}"],
        "routeKey": "GET /trades/{trade_id}",
        "rawPath": "/dev/trades/T-000001",
        "rawQueryString": "",
        "headers": {
            "host": "x7k2m9p4q1.execute-api.ap-southeast-1.amazonaws.com",
            "accept": "application/json",
            "authorization": f"Bearer {'K' * 43}",
            "user-agent": "curl/8.5.0",
            "x-forwarded-for": "203.0.113.10",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
        },
        "requestContext": {
            "accountId": "210987654321",
            "apiId": "x7k2m9p4q1",
            "domainName": "x7k2m9p4q1.execute-api.ap-southeast-1.amazonaws.com",
            "domainPrefix": "x7k2m9p4q1",
            "http": {
                "method": "GET",
                "path": "/dev/trades/T-000001",
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "f3e1c1a0-5b7d-4c2e-9a51-0d6c1b2a3e4f",
            "routeKey": "GET /trades/{trade_id}",
            "stage": "dev",
            "time": "01/Mar/2024:12:00:00 +0000",
            "timeEpoch": 1709294400250,
        },
        "pathParameters": {"trade_id": "T-000001"},
    }


def test_powertools_accepts_the_authorizer_sample() -> None:
    model = ApiGatewayAuthorizerRequestV2.model_validate(deployed("authorizer"))

    assert (model.type, model.identitySource) == ("REQUEST", [f"Bearer {DEFAULT_SESSION_ID}"])


def test_the_authorizer_reads_the_token_of_the_sample() -> None:
    assert authorization_header(deployed("authorizer")) == f"Bearer {DEFAULT_SESSION_ID}"


def test_the_authorizer_allows_the_sample_of_a_stored_session(
    sessions: InMemorySessionRepository, clock: Any
) -> None:
    sessions.add(Session(DEFAULT_SESSION_ID, "ACC-1", NOW, int(NOW.timestamp()) + 60))
    authorizer = SessionAuthorizer(sessions=sessions, clock=clock)

    assert authorizer.authorize(deployed("authorizer")) == {
        "isAuthorized": True,
        "context": {
            "account_id": "ACC-1",
            "session_id": DEFAULT_SESSION_ID,
            "expires_at": 1709294460,
        },
    }
    assert authorizer.authorize(deployed("authorizer", token="U" * 43)) == {"isAuthorized": False}


def test_the_authorizer_sample_names_any_user_route() -> None:
    event = deployed("authorizer", route="GET /accounts/{account_id}/trades", account_id="acc-9")

    assert (event["routeKey"], event["routeArn"]) == (
        "GET /accounts/{account_id}/trades",
        "arn:aws:execute-api:ap-southeast-1:210987654321:x7k2m9p4q1/dev/GET/accounts/acc-9/trades",
    )


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ("POST /sessions", "POST /sessions is not a user route"),
        ("GET /health", "GET /health is not a user route"),
        ("GET /nowhere", "no route 'GET /nowhere'"),
    ],
)
def test_the_authorizer_sample_is_only_for_user_routes(route: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sample("authorizer", route=route)


def test_with_the_default_stage_the_path_has_no_stage_segment() -> None:
    event = sample("authorizer", now=NOW)

    assert (event["rawPath"], event["requestContext"]["stage"], event["routeArn"]) == (
        "/trades/T-000001",
        "$default",
        "arn:aws:execute-api:ap-southeast-1:123456789012:a1b2c3d4e5/$default/GET/trades/T-000001",
    )


# --- names, errors, the Lambda entry point ---------------------------------------------------


def test_every_sample_says_which_handler_it_is_for() -> None:
    assert {name: s.handler for name, s in SAMPLES.items()} == {
        **dict.fromkeys(ROUTE_SAMPLES, "api_handler.handler.lambda_handler"),
        "authorizer": "api_handler.authorizer.lambda_handler",
    }


def test_an_unknown_sample_names_the_samples_there_are() -> None:
    with pytest.raises(
        UnknownSampleError,
        match=r"no sample 'get-trades'; the samples are: health, create-session, ",
    ):
        sample("get-trades")


def test_an_unknown_parameter_is_refused() -> None:
    with pytest.raises(TypeError, match="colour"):
        sample("health", colour="red")


@pytest.mark.moto
@pytest.mark.usefixtures("lambda_env")
def test_the_lambda_entry_point_answers_the_health_sample() -> None:
    response = lambda_handler(sample("health", stage="dev"), lambda_context())

    assert (response["statusCode"], json.loads(response["body"])) == (200, {"status": "ok"})
