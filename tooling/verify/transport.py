"""HTTP to the deployed API: a request and its answer, the transport that sends it (urllib; a
test gives a fake one) and the SigV4 signer of the API's IAM routes.

The service routes (``POST /sessions``, ``DELETE /sessions/{id}``) use IAM authorization: the
request is signed with Signature Version 4 for the service ``execute-api``, and the signer needs
``execute-api:Invoke`` on the route
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from botocore.credentials import Credentials

__all__ = [
    "REQUEST_TIMEOUT_SECONDS",
    "ApiUnreachableError",
    "HttpAnswer",
    "HttpRequest",
    "SigV4Signer",
    "Transport",
    "UrllibTransport",
]

#: One request's limit: the API's own integration timeout is 30 s, and a verify run must end.
REQUEST_TIMEOUT_SECONDS: Final = 35.0
#: The answer's body as a report shows it, at most.
_SHOWN_BODY: Final = 200


class ApiUnreachableError(OSError):
    """No HTTP answer at all (refused, DNS, TLS, timeout): the message names the request."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes = b""

    def json(self) -> Any:
        """The body as JSON (None when it is not JSON)."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def shown(self) -> str:
        """``<status> <body>``, the body cut short, for a report."""
        text = self.body.decode("utf-8", errors="replace").strip()
        if len(text) > _SHOWN_BODY:
            text = text[: _SHOWN_BODY - 3] + "..."
        return f"{self.status} {text}".rstrip()


class Transport(Protocol):
    def send(self, request: HttpRequest) -> HttpAnswer: ...


class UrllibTransport:
    """Sends a request with urllib: an HTTP error status is an answer like any other; no answer
    at all raises :class:`ApiUnreachableError`."""

    def __init__(self, timeout_seconds: float = REQUEST_TIMEOUT_SECONDS) -> None:
        self._timeout = timeout_seconds

    def send(self, request: HttpRequest) -> HttpAnswer:
        if urlsplit(request.url).scheme not in ("http", "https"):
            raise ApiUnreachableError(f"{request.method} {request.url}: not an http(s) URL")
        prepared = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            request.url, data=request.body, method=request.method, headers=request.headers
        )
        try:
            with urllib.request.urlopen(prepared, timeout=self._timeout) as answer:  # noqa: S310
                return HttpAnswer(int(answer.status), answer.read())
        except urllib.error.HTTPError as error:
            return HttpAnswer(int(error.code), error.read())
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", None) or error
            raise ApiUnreachableError(f"{request.method} {request.url}: {reason}") from None


class SigV4Signer:
    """Signs a request for ``execute-api`` in ``region`` with ``credentials`` (botocore)."""

    def __init__(self, credentials: Credentials, region: str) -> None:
        self._credentials = credentials
        self._region = region

    def __call__(self, request: HttpRequest) -> HttpRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        signing = AWSRequest(
            method=request.method,
            url=request.url,
            data=request.body or b"",
            headers=dict(request.headers),
        )
        SigV4Auth(self._credentials, "execute-api", self._region).add_auth(signing)
        return replace(request, headers=dict(signing.headers.items()))
