"""Routes with ``AWS_IAM`` authorization: only requests with a valid SigV4 signature for
``execute-api`` in the API's region reach the function."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.tooling.emulator.httpapi.support import (
    ACCOUNT,
    BASE_URL,
    FUNCTION_ARN,
    REGION,
    Gateway,
    base,
    http_api,
    json_body,
    route,
    serve,
    signed_headers,
)

TRADES = f"{base('dev')}/trades"


def _gateway(clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Gateway:
    return serve(
        http_api("GET /health", route("GET /trades", "AWS_IAM"), route("POST /trades", "AWS_IAM")),
        clock=clock,
    )


def test_a_route_without_authorization_answers_unsigned_requests() -> None:
    response = _gateway().client.get(f"{base('dev')}/health")

    assert response.status_code == 200


def test_an_unsigned_request_is_forbidden() -> None:
    gateway = _gateway()

    response = gateway.client.get(TRADES)

    assert (response.status_code, json_body(response)) == (403, {"message": "Forbidden"})
    assert gateway.invoker.calls == []


def test_a_correctly_signed_request_reaches_the_function() -> None:
    gateway = _gateway()

    response = gateway.client.get(TRADES, headers=signed_headers("GET", TRADES))

    assert response.status_code == 200
    assert gateway.invoker.last_event["requestContext"]["authorizer"] == {
        "iam": {
            "accessKey": "testing",
            "accountId": ACCOUNT,
            "callerId": "AIDAEMULATORTESTING1",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": f"arn:aws:iam::{ACCOUNT}:user/testing",
            "userId": "AIDAEMULATORTESTING1",
        }
    }


def test_a_signed_request_with_a_query_and_body_reaches_the_function() -> None:
    gateway = _gateway()
    url = f"{TRADES}?side=buy&note=a%20b"
    body = b'{"qty": 5}'
    headers = signed_headers("POST", url, body, {"Content-Type": "application/json"})

    response = gateway.client.post(url, data=body, headers=headers)

    assert response.status_code == 200


def test_a_tampered_signature_is_forbidden() -> None:
    gateway = _gateway()
    headers = signed_headers("GET", TRADES)
    headers["Authorization"] = headers["Authorization"][:-4] + "0000"

    response = gateway.client.get(TRADES, headers=headers)

    assert response.status_code == 403
    assert json_body(response)["message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )


def test_a_body_changed_after_signing_is_forbidden() -> None:
    gateway = _gateway()
    headers = signed_headers("POST", TRADES, b'{"qty": 5}', {"Content-Type": "application/json"})

    response = gateway.client.post(TRADES, data=b'{"qty": 500}', headers=headers)

    assert response.status_code == 403 and gateway.invoker.calls == []


def test_a_wrong_secret_is_forbidden() -> None:
    response = _gateway().client.get(TRADES, headers=signed_headers("GET", TRADES, secret="nope"))

    assert response.status_code == 403


def test_an_unknown_access_key_is_forbidden() -> None:
    gateway = _gateway()
    request = AWSRequest(method="GET", url=f"{BASE_URL}{TRADES}")
    SigV4Auth(Credentials("AKIAUNKNOWN", "x"), "execute-api", REGION).add_auth(request)

    response = gateway.client.get(TRADES, headers=dict(request.headers.items()))

    assert json_body(response) == {
        "message": "The security token included in the request is invalid."
    }


def test_a_signature_for_another_region_is_forbidden() -> None:
    headers = signed_headers("GET", TRADES, region="us-east-1")

    response = _gateway().client.get(TRADES, headers=headers)

    assert response.status_code == 403
    assert "scoped to a valid region" in json_body(response)["message"]


def test_a_signature_older_than_five_minutes_has_expired() -> None:
    gateway = _gateway(clock=lambda: datetime.now(UTC) + timedelta(minutes=6))

    response = gateway.client.get(TRADES, headers=signed_headers("GET", TRADES))

    assert response.status_code == 403
    assert json_body(response)["message"].startswith("Signature expired:")


def test_a_presigned_url_is_accepted() -> None:
    gateway = _gateway()
    request = AWSRequest(method="GET", url=f"{BASE_URL}{TRADES}?side=buy")
    SigV4QueryAuth(Credentials("testing", "testing"), "execute-api", REGION).add_auth(request)
    assert request.url is not None

    response = gateway.client.get(request.url.removeprefix(BASE_URL))

    assert response.status_code == 200
    assert (
        gateway.invoker.events_of(FUNCTION_ARN)[-1]["requestContext"]["authorizer"]["iam"][
            "accessKey"
        ]
        == "testing"
    )
