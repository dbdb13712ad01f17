"""Test doubles for the HTTP API data plane: a catalog holding hand-built APIs, an invoker that
records events and answers with scripted results, and a SigV4 signer as a client uses one."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.test import Client, TestResponse

from tooling.emulator.httpapi import HttpApiGateway
from tooling.emulator.httpapi.ports import (
    Authorizer,
    HttpApi,
    Integration,
    LambdaOutcome,
    Route,
    Stage,
)
from tooling.emulator.process import FAKE_CREDENTIALS

ACCOUNT = "123456789012"
REGION = "eu-west-2"
API_ID = "a1b2c3d4e5"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tap-dev-api"
AUTHORIZER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tap-dev-authorizer"
INTEGRATION_ID = "int0001"
#: The emulator's fake key's secret (moto's documented value, not a secret).
FAKE_SECRET = FAKE_CREDENTIALS.secret_access_key
#: The host werkzeug's test client sends; a signing client signs for it.
BASE_URL = "http://localhost"

Handler = Callable[[dict[str, Any]], object]


def base(stage: str | None = "dev") -> str:
    """The path of the API's stage (or of ``$default`` for None), as a client builds it."""
    prefix = f"/_tap/execute-api/{API_ID}"
    return prefix if stage is None else f"{prefix}/{stage}"


def route(route_key: str, authorization: str = "NONE", authorizer_id: str | None = None) -> Route:
    """A route to the test integration."""
    return Route(route_key, f"integrations/{INTEGRATION_ID}", authorization, authorizer_id)


def http_api(
    *routes: Route | str,
    stages: tuple[str, ...] = ("dev",),
    stage_variables: Mapping[str, str] | None = None,
    integration: Integration | None = None,
    authorizers: tuple[Authorizer, ...] = (),
) -> HttpApi:
    """An HTTP API of the test account with ``routes`` (route keys or routes), all to one
    Lambda proxy integration (payload 2.0 unless ``integration`` says otherwise)."""
    return HttpApi(
        api_id=API_ID,
        region=REGION,
        account_id=ACCOUNT,
        stages=tuple(Stage(name, dict(stage_variables or {})) for name in stages),
        routes=tuple(route(r) if isinstance(r, str) else r for r in routes),
        integrations={
            INTEGRATION_ID: integration
            or Integration(INTEGRATION_ID, "AWS_PROXY", FUNCTION_ARN, "2.0", 30_000)
        },
        authorizers={authorizer.authorizer_id: authorizer for authorizer in authorizers},
    )


@dataclass
class FakeCatalog:
    """A catalog of hand-built APIs."""

    apis: dict[str, HttpApi] = field(default_factory=dict)

    def find(self, api_id: str) -> HttpApi | None:
        return self.apis.get(api_id)


def echo_route_key(event: dict[str, Any]) -> object:
    """The default function: answers which route it was called for."""
    return {"statusCode": 200, "body": event.get("routeKey", "")}


@dataclass
class FakeInvoker:
    """Answers each invocation with ``handlers[function_arn](event)``: a JSON-able result, or a
    :class:`LambdaOutcome` to answer exactly that. Records every call."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def invoke(self, function_arn: str, payload: bytes) -> LambdaOutcome:
        event = json.loads(payload)
        self.calls.append((function_arn, event))
        result = self.handlers.get(function_arn, echo_route_key)(event)
        if isinstance(result, LambdaOutcome):
            return result
        return LambdaOutcome(json.dumps(result).encode())

    def events_of(self, function_arn: str) -> list[dict[str, Any]]:
        """The events ``function_arn`` was invoked with, in order."""
        return [event for arn, event in self.calls if arn == function_arn]

    @property
    def last_event(self) -> dict[str, Any]:
        """The event of the last call of the API's function."""
        return self.events_of(FUNCTION_ARN)[-1]


def answering(result: object) -> Handler:
    """A function that always returns ``result``."""
    return lambda _event: result


def sleeping(seconds: float) -> Handler:
    """A function that takes ``seconds`` to answer."""

    def handler(_event: dict[str, Any]) -> object:
        time.sleep(seconds)
        return {"statusCode": 200, "body": "late"}

    return handler


@dataclass
class Gateway:
    """A gateway serving one API, its fake invoker and a werkzeug client of it."""

    api: HttpApi
    invoker: FakeInvoker
    client: Client


def serve(
    api: HttpApi,
    handlers: dict[str, Handler] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Gateway:
    """A :class:`HttpApiGateway` serving ``api`` with a fake invoker."""
    invoker = FakeInvoker(dict(handlers or {}))
    gateway = HttpApiGateway(FakeCatalog({api.api_id: api}), invoker, clock=clock)
    return Gateway(api, invoker, Client(gateway, use_cookies=False))


def signed_headers(
    method: str,
    path: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    secret: str = FAKE_SECRET,
    region: str = REGION,
) -> dict[str, str]:
    """The headers a SigV4 client (botocore) sends for ``method`` ``path`` on the test host."""
    request = AWSRequest(
        method=method, url=f"{BASE_URL}{path}", data=body, headers=dict(headers or {})
    )
    SigV4Auth(Credentials("testing", secret), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def json_body(response: TestResponse) -> Any:
    """The response's body parsed as JSON."""
    return json.loads(response.get_data())
