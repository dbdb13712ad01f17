"""What the HTTP API data plane needs from the rest of the emulator, as ports.

The data plane (:mod:`tooling.emulator.httpapi`) must not depend on moto: it reads the deployed
configuration through an :class:`ApiCatalog` and runs functions through a
:class:`LambdaInvoker`. The types here are plain snapshots of what API Gateway itself would
read at request time, so tests can build them by hand and adapters (such as
:class:`tooling.emulator.httpapi.moto_catalog.MotoApiCatalog`) can fill them from any store.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "DEFAULT_TIMEOUT_MILLIS",
    "ApiCatalog",
    "Authorizer",
    "HttpApi",
    "Integration",
    "InvocationTimeoutError",
    "LambdaInvoker",
    "LambdaOutcome",
    "Route",
    "Stage",
    "function_arn_of",
    "invoke_within",
]

#: API Gateway's integration timeout for HTTP APIs when none is configured (also the maximum).
DEFAULT_TIMEOUT_MILLIS = 30_000

# The "invoke ARN" form Terraform's aws_lambda_function.invoke_arn gives:
# arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations
_INVOKE_ARN = re.compile(
    r"^arn:[^:]+:apigateway:[^:]*:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations$"
)


@dataclass(frozen=True)
class Stage:
    """A deployed stage: its name (``$default`` or e.g. ``dev``) and its stage variables."""

    name: str
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """A route as API Gateway stores it: ``route_key`` is ``"GET /trades/{trade_id}"``,
    ``"ANY /x/{proxy+}"`` or ``"$default"``; ``target`` is ``"integrations/<id>"``."""

    route_key: str
    target: str | None
    authorization_type: str = "NONE"
    authorizer_id: str | None = None

    @property
    def integration_id(self) -> str | None:
        """The integration this route sends to, or None for a route without a target."""
        if self.target is None or not self.target.startswith("integrations/"):
            return None
        return self.target.removeprefix("integrations/")


@dataclass(frozen=True)
class Integration:
    """A Lambda proxy integration; ``integration_uri`` is a function ARN or its invoke ARN."""

    integration_id: str
    integration_type: str
    integration_uri: str
    payload_format_version: str = "2.0"
    timeout_in_millis: int = DEFAULT_TIMEOUT_MILLIS


@dataclass(frozen=True)
class Authorizer:
    """A route authorizer. Only ``REQUEST`` (Lambda) authorizers are emulated; the fields are
    those of API Gateway's ``CreateAuthorizer`` that decide how a request is judged."""

    authorizer_id: str
    authorizer_type: str
    authorizer_uri: str | None
    identity_source: tuple[str, ...] = ()
    result_ttl_seconds: int = 0
    enable_simple_responses: bool = False
    payload_format_version: str = "2.0"


@dataclass(frozen=True)
class HttpApi:
    """Everything the data plane reads about one HTTP API, as of one request."""

    api_id: str
    region: str
    account_id: str
    stages: tuple[Stage, ...]
    routes: tuple[Route, ...]
    integrations: Mapping[str, Integration]
    authorizers: Mapping[str, Authorizer] = field(default_factory=dict)

    def stage(self, name: str) -> Stage | None:
        """The stage called ``name``, or None."""
        return next((stage for stage in self.stages if stage.name == name), None)


class ApiCatalog(Protocol):
    """Where the data plane looks up a deployed API. Called once per request, so a change made
    through the control plane (a new route, a redeployed stage) applies to the next request."""

    def find(self, api_id: str) -> HttpApi | None:
        """The HTTP API with this id, or None if there is none (or it is not an HTTP API)."""
        ...


@dataclass(frozen=True)
class LambdaOutcome:
    """A synchronous invocation's result: the response payload and, when the function failed,
    Lambda's ``X-Amz-Function-Error`` value (``"Unhandled"``); the payload is then the error
    document."""

    payload: bytes
    function_error: str | None = None


class LambdaInvoker(Protocol):
    """Runs a deployed function synchronously (``RequestResponse``) with a JSON payload."""

    def invoke(self, function_arn: str, payload: bytes) -> LambdaOutcome:
        """Run ``function_arn`` with ``payload`` and return what it answered."""
        ...


def function_arn_of(integration_uri: str) -> str:
    """The Lambda function ARN an integration (or authorizer) URI names: API Gateway accepts
    both the plain function ARN and the ``apigateway:…:lambda:path/…/invocations`` form."""
    match = _INVOKE_ARN.match(integration_uri)
    return match.group("fn") if match else integration_uri


class InvocationTimeoutError(TimeoutError):
    """The function did not answer within the integration's (or authorizer's) timeout."""


def invoke_within(
    invoker: LambdaInvoker, function_arn: str, payload: bytes, timeout_seconds: float
) -> LambdaOutcome:
    """``invoker.invoke(function_arn, payload)``, given up on after ``timeout_seconds``.

    API Gateway stops waiting for an integration at its timeout and answers the client,
    while the function itself runs on; so does this: the call runs in a daemon thread that
    is left to finish (or not) on its own, and :class:`InvocationTimeoutError` is raised.
    An exception of the invoker is re-raised in the caller.
    """
    outcome: list[LambdaOutcome] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(invoker.invoke(function_arn, payload))
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)
        finally:
            done.set()

    threading.Thread(target=run, name=f"httpapi-invoke {function_arn}", daemon=True).start()
    if not done.wait(timeout_seconds):
        raise InvocationTimeoutError(f"{function_arn} did not answer in {timeout_seconds:g} s")
    if failure:
        raise failure[0]
    return outcome[0]
