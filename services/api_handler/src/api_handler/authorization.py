"""The Lambda authorizer of the user routes, over the session repository port.

API Gateway (HTTP API, authorizer payload 2.0, simple responses) calls it with the route's
identity source, the ``Authorization`` header, and accepts the request when it answers
``{"isAuthorized": true, "context": {...}}``; the context reaches the handler as
``requestContext.authorizer.lambda``. A missing header never gets here (the gateway answers
401 itself); a denial becomes the gateway's 403 ``{"message": "Forbidden"}``.

Failures (DynamoDB unavailable, bad configuration) raise rather than deny: the gateway then
answers 500 and caches nothing, whereas a denial would lock a valid session out for the
cache TTL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from api_handler import services
from api_handler.app import utc_now
from api_handler.observability import logger as default_logger
from api_handler.ports import SessionRepository

AuthorizerResponse = dict[str, Any]


def authorization_header(event: Mapping[str, Any]) -> str | None:
    """The ``Authorization`` value of an authorizer event: its identity source (what the
    gateway cached the answer under), else the header itself."""
    identity = event.get("identitySource")
    if isinstance(identity, list) and len(identity) == 1 and isinstance(identity[0], str):
        return identity[0]
    headers = event.get("headers")
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if isinstance(name, str) and name.lower() == "authorization":
                return value if isinstance(value, str) else None
    return None


class SessionAuthorizer:
    """Allows a request whose bearer token names an existing, unexpired session."""

    def __init__(
        self,
        *,
        sessions: SessionRepository,
        clock: Callable[[], datetime] = utc_now,
        logger: Logger = default_logger,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._logger = logger

    def authorize(self, event: Mapping[str, Any]) -> AuthorizerResponse:
        """The simple response for one authorizer event; logs the verdict, never the token."""
        started = time.perf_counter()
        decision = services.authorize_bearer(
            self._sessions, authorization_header(event), now=self._clock()
        )
        self._logger.info(
            "authorization",
            extra={
                "route": str(event.get("routeKey", "-"))[:200],
                "verdict": decision.verdict.value,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            },
        )
        if decision.claims is None:
            return {"isAuthorized": False}
        return {"isAuthorized": True, "context": decision.claims.to_context()}
