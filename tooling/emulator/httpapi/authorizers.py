"""``authorizationType: CUSTOM``: Lambda (``REQUEST``) authorizers of HTTP APIs.

As "Working with AWS Lambda authorizers for HTTP APIs" describes them: the route names an
authorizer; its identity sources (``$request.header.X``, ``$request.querystring.x``,
``$context.x``, ``$stageVariables.x``) must all be present and non-empty, or the client gets
401 without the function being called; the function gets the request as an authorizer event
(payload 2.0 or 1.0) and answers either a simple response (``isAuthorized``, ``context``; 2.0
with ``enableSimpleResponses``) or an IAM policy for ``execute-api:Invoke`` on the route ARN.
Denied → 403; a failed or malformed authorizer → 500. A result is cached for the authorizer's
TTL by the values of its identity sources (never when it has none).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tooling.emulator.httpapi.events import Invocation, event_v1, event_v2
from tooling.emulator.httpapi.guards import AccessDenied
from tooling.emulator.httpapi.ports import (
    Authorizer,
    InvocationTimeoutError,
    LambdaInvoker,
    function_arn_of,
    invoke_within,
)
from tooling.emulator.httpapi.responses import gateway_error

__all__ = ["AUTHORIZER_TIMEOUT_SECONDS", "LambdaAuthorizerGuard", "route_arn"]

#: How long API Gateway waits for a Lambda authorizer.
AUTHORIZER_TIMEOUT_SECONDS = 10.0

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Verdict:
    """An authorizer's answer, kept in the cache: a simple yes/no, or a policy to evaluate
    against each route ARN it is asked about."""

    simple: bool | None
    statements: tuple[Mapping[str, Any], ...]
    context: Mapping[str, Any]

    def allows(self, arn: str) -> bool:
        if self.simple is not None:
            return self.simple
        effects = {
            str(statement.get("Effect"))
            for statement in self.statements
            if _action_matches(statement.get("Action"))
            and any(_arn_matches(pattern, arn) for pattern in _as_list(statement.get("Resource")))
        }
        return "Allow" in effects and "Deny" not in effects


def route_arn(invocation: Invocation) -> str:
    """``arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>``: what a
    policy's ``Resource`` names."""
    api, request = invocation.api, invocation.request
    path = request.raw_path
    if invocation.stage.name != "$default":
        path = path.removeprefix("/" + invocation.stage.name)
    return (
        f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/"
        f"{invocation.stage.name}/{request.method}{path or '/'}"
    )


class LambdaAuthorizerGuard:
    """Runs the route's Lambda authorizer through ``invoker``; ``clock`` gives monotonic
    seconds for the result cache."""

    def __init__(
        self,
        invoker: LambdaInvoker,
        clock: Callable[[], float],
        timeout_seconds: float = AUTHORIZER_TIMEOUT_SECONDS,
    ) -> None:
        self._invoker = invoker
        self._clock = clock
        self._timeout = timeout_seconds
        self._cache: dict[tuple[str, str, tuple[str, ...]], tuple[float, _Verdict]] = {}
        self._lock = threading.Lock()

    def authorize(self, invocation: Invocation) -> Mapping[str, Any]:
        """``{"lambda": context}`` when the authorizer allows the request; else AccessDenied."""
        authorizer = self._authorizer(invocation)
        identity = _identity(authorizer, invocation)
        if identity is None:
            raise AccessDenied(gateway_error(401, "Unauthorized"))
        key = (invocation.api.api_id, authorizer.authorizer_id, identity)
        verdict = self._cached(key)
        if verdict is None:
            verdict = self._ask(authorizer, invocation, identity)
            if authorizer.result_ttl_seconds > 0 and authorizer.identity_source:
                with self._lock:
                    self._cache[key] = (self._clock() + authorizer.result_ttl_seconds, verdict)
        if not verdict.allows(route_arn(invocation)):
            raise AccessDenied(gateway_error(403, "Forbidden"))
        return {"lambda": dict(verdict.context)}

    def _authorizer(self, invocation: Invocation) -> Authorizer:
        authorizer_id = invocation.match.route.authorizer_id
        authorizer = invocation.api.authorizers.get(authorizer_id or "")
        if authorizer is None or authorizer.authorizer_type != "REQUEST":
            _log.error("route %s: no Lambda authorizer %r", invocation.match.route, authorizer_id)
            raise AccessDenied(gateway_error(500, "Internal Server Error"))
        return authorizer

    def _cached(self, key: tuple[str, str, tuple[str, ...]]) -> _Verdict | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._cache[key]
                return None
            return entry[1]

    def _ask(
        self, authorizer: Authorizer, invocation: Invocation, identity: tuple[str, ...]
    ) -> _Verdict:
        event = _event(authorizer, invocation, identity)
        arn = function_arn_of(authorizer.authorizer_uri or "")
        try:
            outcome = invoke_within(self._invoker, arn, json.dumps(event).encode(), self._timeout)
        except InvocationTimeoutError as error:
            _log.error("authorizer %s timed out", arn)
            raise AccessDenied(gateway_error(503, "Service Unavailable")) from error
        except Exception as error:
            _log.exception("authorizer %s could not be invoked", arn)
            raise AccessDenied(gateway_error(500, "Internal Server Error")) from error
        verdict = None if outcome.function_error else _parse(outcome.payload, authorizer)
        if verdict is None:
            _log.error("authorizer %s failed or answered malformed: %r", arn, outcome.payload)
            raise AccessDenied(gateway_error(500, "Internal Server Error"))
        return verdict


def _identity(authorizer: Authorizer, invocation: Invocation) -> tuple[str, ...] | None:
    """The values of the identity sources, or None if one is missing or empty."""
    values: list[str] = []
    for source in authorizer.identity_source:
        value = _source_value(source.strip(), invocation)
        if not value:
            return None
        values.append(value)
    return tuple(values)


def _source_value(source: str, invocation: Invocation) -> str | None:
    request = invocation.request
    if source.startswith("$request.header."):
        return request.header(source.removeprefix("$request.header."))
    if source.startswith("$request.querystring."):
        values = request.query().get(source.removeprefix("$request.querystring."))
        return ",".join(values) if values else None
    if source.startswith("$stageVariables."):
        return invocation.stage.variables.get(source.removeprefix("$stageVariables."))
    if source.startswith("$context."):
        found: Any = event_v2(invocation)["requestContext"]
        for part in source.removeprefix("$context.").split("."):
            found = found.get(part) if isinstance(found, dict) else None
        return None if found is None else str(found)
    return None


def _event(
    authorizer: Authorizer, invocation: Invocation, identity: tuple[str, ...]
) -> dict[str, Any]:
    if authorizer.payload_format_version == "1.0":
        event = event_v1(invocation)
        event.update(
            type="REQUEST",
            methodArn=route_arn(invocation),
            identitySource=",".join(identity),
            authorizationToken=",".join(identity),
        )
    else:
        event = event_v2(invocation)
        event.update(type="REQUEST", routeArn=route_arn(invocation), identitySource=list(identity))
    event.pop("body", None)
    event.pop("isBase64Encoded", None)
    return event


def _parse(payload: bytes, authorizer: Authorizer) -> _Verdict | None:
    """The authorizer's answer, or None when it is not one API Gateway accepts."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    context = answer.get("context") or {}
    if not isinstance(context, dict):
        return None
    simple = authorizer.enable_simple_responses and authorizer.payload_format_version == "2.0"
    if simple:
        allowed = answer.get("isAuthorized")
        return _Verdict(allowed, (), context) if isinstance(allowed, bool) else None
    policy = answer.get("policyDocument")
    if not isinstance(policy, dict) or not isinstance(answer.get("principalId"), str):
        return None
    statements = tuple(s for s in _as_list(policy.get("Statement")) if isinstance(s, dict))
    return _Verdict(None, statements, context)


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _action_matches(action: object) -> bool:
    return any(_arn_matches(str(pattern), "execute-api:Invoke") for pattern in _as_list(action))


def _arn_matches(pattern: str, value: str) -> bool:
    """IAM wildcard matching: ``*`` any run of characters, ``?`` any one character."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, value) is not None
