"""Routes with ``CUSTOM`` authorization: a Lambda (REQUEST) authorizer decides first."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tooling.emulator.httpapi.support import (
    ACCOUNT,
    API_ID,
    AUTHORIZER_ARN,
    FUNCTION_ARN,
    REGION,
    Gateway,
    answering,
    base,
    http_api,
    json_body,
    route,
    serve,
)
from tooling.emulator.httpapi.ports import Authorizer, LambdaOutcome

TRADES = f"{base('dev')}/trades"
ROUTE_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/dev/GET/trades"
INVOKE_URI = (
    f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{AUTHORIZER_ARN}/invocations"
)


def _authorizer(**overrides: Any) -> Authorizer:
    settings: dict[str, Any] = {
        "authorizer_id": "auth01",
        "authorizer_type": "REQUEST",
        "authorizer_uri": INVOKE_URI,
        "identity_source": ("$request.header.Authorization",),
        "result_ttl_seconds": 0,
        "enable_simple_responses": True,
        "payload_format_version": "2.0",
    }
    settings.update(overrides)
    return Authorizer(**settings)


def _gateway(answer: object, **overrides: Any) -> Gateway:
    api = http_api(
        route("GET /trades", "CUSTOM", "auth01"), authorizers=(_authorizer(**overrides),)
    )
    return serve(api, {AUTHORIZER_ARN: answering(answer)})


def _policy(effect: str, resource: str) -> dict[str, Any]:
    return {
        "principalId": "trader-7",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": {"desk": "fx"},
    }


def test_a_missing_identity_source_is_unauthorized_without_calling_the_authorizer() -> None:
    gateway = _gateway({"isAuthorized": True})

    response = gateway.client.get(TRADES)

    assert (response.status_code, json_body(response)) == (401, {"message": "Unauthorized"})
    assert gateway.invoker.calls == []


def test_an_authorized_request_reaches_the_function_with_the_context() -> None:
    gateway = _gateway({"isAuthorized": True, "context": {"desk": "fx"}})

    response = gateway.client.get(TRADES, headers={"Authorization": "token-1"})

    assert response.status_code == 200
    assert gateway.invoker.last_event["requestContext"]["authorizer"] == {"lambda": {"desk": "fx"}}


def test_an_unauthorized_request_is_forbidden() -> None:
    gateway = _gateway({"isAuthorized": False})

    response = gateway.client.get(TRADES, headers={"Authorization": "token-1"})

    assert (response.status_code, json_body(response)) == (403, {"message": "Forbidden"})
    assert gateway.invoker.events_of(FUNCTION_ARN) == []


def test_the_authorizer_event_names_route_arn_and_identity() -> None:
    gateway = _gateway({"isAuthorized": True})

    gateway.client.get(TRADES, headers={"Authorization": "token-1"})
    event = gateway.invoker.events_of(AUTHORIZER_ARN)[0]

    assert (event["type"], event["routeArn"], event["identitySource"]) == (
        "REQUEST",
        ROUTE_ARN,
        ["token-1"],
    )
    assert event["headers"]["authorization"] == "token-1" and "body" not in event


def test_a_failing_authorizer_is_an_internal_server_error() -> None:
    gateway = _gateway(LambdaOutcome(b'{"errorMessage": "boom"}', "Unhandled"))

    response = gateway.client.get(TRADES, headers={"Authorization": "token-1"})

    assert response.status_code == 500


def test_a_malformed_simple_response_is_an_internal_server_error() -> None:
    gateway = _gateway({"isAuthorized": "yes"})

    assert gateway.client.get(TRADES, headers={"Authorization": "t"}).status_code == 500


def test_results_are_cached_by_identity_for_the_ttl() -> None:
    gateway = _gateway({"isAuthorized": True}, result_ttl_seconds=300)

    for token in ("token-1", "token-1", "token-2"):
        gateway.client.get(TRADES, headers={"Authorization": token})

    identities = [e["identitySource"] for e in gateway.invoker.events_of(AUTHORIZER_ARN)]
    assert identities == [["token-1"], ["token-2"]]


def test_without_a_ttl_every_request_asks_the_authorizer() -> None:
    gateway = _gateway({"isAuthorized": True}, result_ttl_seconds=0)

    for _ in range(2):
        gateway.client.get(TRADES, headers={"Authorization": "token-1"})

    assert len(gateway.invoker.events_of(AUTHORIZER_ARN)) == 2


def test_a_query_string_identity_source_is_read_from_the_query() -> None:
    gateway = _gateway({"isAuthorized": True}, identity_source=("$request.querystring.key",))

    response = gateway.client.get(f"{TRADES}?key=k1")

    assert response.status_code == 200
    assert gateway.invoker.events_of(AUTHORIZER_ARN)[0]["identitySource"] == ["k1"]


@pytest.mark.parametrize(
    ("effect", "resource", "status"),
    [
        ("Allow", ROUTE_ARN, 200),
        ("Allow", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/*/GET/*", 200),
        ("Allow", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/dev/POST/trades", 403),
        ("Deny", ROUTE_ARN, 403),
    ],
    ids=["allow-route", "allow-wildcard", "allow-other-route", "deny"],
)
def test_an_iam_policy_response_is_evaluated_for_the_route(
    effect: str, resource: str, status: int
) -> None:
    gateway = _gateway(_policy(effect, resource), enable_simple_responses=False)

    response = gateway.client.get(TRADES, headers={"Authorization": "token-1"})

    assert response.status_code == status
