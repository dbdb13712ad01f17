"""Route authorization: one guard per ``authorizationType`` of a route.

A guard sees the request after its route was chosen and either lets it through, returning
the ``requestContext.authorizer`` block the integration will see, or raises
:class:`AccessDenied` with the response API Gateway sends instead. The gateway looks guards up
by authorization type, so a new kind (``JWT``) is a new guard class passed to
:class:`~tooling.emulator.httpapi.HttpApiGateway` (``guards={"JWT": ...}``), without touching
routing or events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from tooling.emulator.httpapi.events import Invocation
from tooling.emulator.httpapi.responses import HttpResponse, gateway_error
from tooling.emulator.httpapi.sigv4 import (
    CredentialLookup,
    SignatureError,
    fake_credentials,
    is_signed,
    verify_sigv4,
)

__all__ = ["AccessDenied", "IamGuard", "OpenGuard", "RouteGuard"]


class AccessDenied(Exception):  # noqa: N818 - it is an outcome, not an error of the gateway
    """The request may not reach the integration; ``response`` is what the client gets."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


class RouteGuard(Protocol):
    """Decides whether a routed request may reach its integration."""

    def authorize(self, invocation: Invocation) -> Mapping[str, Any]:
        """The ``requestContext.authorizer`` block for ``invocation`` (empty for none), or
        raise :class:`AccessDenied`."""
        ...


class OpenGuard:
    """``authorizationType: NONE``: everyone may call the route."""

    def authorize(self, invocation: Invocation) -> Mapping[str, Any]:
        """Nothing to check and nothing to tell the integration."""
        return {}


class IamGuard:
    """``authorizationType: AWS_IAM``: the request must carry a valid SigV4 signature for
    ``execute-api`` in the API's region. Without ``credentials``, the emulator's fake
    credentials of the API's own account are the only known key."""

    def __init__(
        self, clock: Callable[[], datetime], credentials: CredentialLookup | None = None
    ) -> None:
        self._clock = clock
        self._credentials = credentials

    def authorize(self, invocation: Invocation) -> Mapping[str, Any]:
        """``{"iam": {...}}`` for a correctly signed request; 403 otherwise."""
        request = invocation.request
        if not is_signed(request.headers, request.raw_query):
            raise AccessDenied(gateway_error(403, "Forbidden"))
        lookup = self._credentials or fake_credentials(invocation.api.account_id)
        try:
            iam = verify_sigv4(
                method=request.method,
                url=request.url,
                headers=request.headers,
                body=request.body,
                region=invocation.api.region,
                lookup=lookup,
                now=self._clock(),
            )
        except SignatureError as error:
            raise AccessDenied(gateway_error(403, str(error))) from error
        return {"iam": iam}
