"""The data plane of HTTP APIs (API Gateway v2, protocol HTTP) deployed into the emulator.

moto implements API Gateway's control plane only: Terraform can create an API, its routes,
integrations and stages, but nothing answers the API's URL. :class:`HttpApiGateway` is a WSGI
application that does, under the emulator's own port:

* ``http://127.0.0.1:<port>/_tap/execute-api/<api_id>/<stage>/<path>`` for a named stage,
* ``http://127.0.0.1:<port>/_tap/execute-api/<api_id>/<path>`` for the ``$default`` stage

(:func:`stage_url` builds them). For each request it does what API Gateway does: choose the
stage and the route (:mod:`~tooling.emulator.httpapi.routing`), authorize it
(:mod:`~tooling.emulator.httpapi.guards`, :mod:`~tooling.emulator.httpapi.authorizers`), build
the integration's event (:mod:`~tooling.emulator.httpapi.events`), invoke the function within
the integration's timeout and map its result to the response
(:mod:`~tooling.emulator.httpapi.responses`). The deployed configuration comes from an
:class:`ApiCatalog` (moto's backend through :class:`MotoApiCatalog`) and functions run through
a :class:`LambdaInvoker`; the gateway itself knows neither moto nor the Lambda runtime.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from tooling.emulator.httpapi.authorizers import LambdaAuthorizerGuard
from tooling.emulator.httpapi.events import ApiRequest, Invocation, event_v1, event_v2
from tooling.emulator.httpapi.guards import AccessDenied, IamGuard, OpenGuard, RouteGuard
from tooling.emulator.httpapi.moto_catalog import MotoApiCatalog
from tooling.emulator.httpapi.ports import (
    ApiCatalog,
    HttpApi,
    Integration,
    InvocationTimeoutError,
    LambdaInvoker,
    LambdaOutcome,
    function_arn_of,
    invoke_within,
)
from tooling.emulator.httpapi.responses import (
    HttpResponse,
    MalformedResponseError,
    gateway_error,
    map_lambda_result,
)
from tooling.emulator.httpapi.routing import resolve_stage, select_route
from tooling.emulator.httpapi.sigv4 import CredentialLookup

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "MAX_BODY_BYTES",
    "PATH_PREFIX",
    "ApiCatalog",
    "HttpApiGateway",
    "LambdaInvoker",
    "LambdaOutcome",
    "MotoApiCatalog",
    "RouteGuard",
    "stage_url",
]

#: Where the emulator serves HTTP APIs: ``<endpoint>/_tap/execute-api/<api_id>/...``.
PATH_PREFIX = "/_tap/execute-api"
#: API Gateway's limit on a request's payload (larger requests get 413).
MAX_BODY_BYTES = 10 * 1024 * 1024

_log = logging.getLogger(__name__)


def stage_url(endpoint: str, api_id: str, stage: str) -> str:
    """The local invoke URL of ``stage`` of API ``api_id`` on the emulator at ``endpoint``
    (``http://127.0.0.1:<port>``), without a trailing slash; ``$default`` has no stage segment.
    """
    base = f"{endpoint.rstrip('/')}{PATH_PREFIX}/{api_id}"
    return base if stage == "$default" else f"{base}/{quote(stage, safe='')}"


class HttpApiGateway:
    """WSGI application serving every HTTP API of ``catalog`` under :data:`PATH_PREFIX`.

    ``invoker`` runs integrations' (and Lambda authorizers') functions. ``credentials`` finds
    the secret of an access key for ``AWS_IAM`` routes (default: the emulator's fake
    ``testing`` key in the API's account). ``guards`` replaces or adds authorization types
    (default ``NONE``, ``AWS_IAM``, ``CUSTOM``; a route of any other type, such as ``JWT``,
    answers 500). ``clock`` gives the current UTC time (request time, SigV4 expiry);
    ``fallback`` answers requests outside :data:`PATH_PREFIX` (e.g. moto's own application),
    which otherwise get 404.
    """

    def __init__(
        self,
        catalog: ApiCatalog,
        invoker: LambdaInvoker,
        *,
        credentials: CredentialLookup | None = None,
        guards: Mapping[str, RouteGuard] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        fallback: WSGIApplication | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._catalog = catalog
        self._invoker = invoker
        self._clock = clock
        self._fallback = fallback
        self._max_body = max_body_bytes
        self._guards: dict[str, RouteGuard] = {
            "NONE": OpenGuard(),
            "AWS_IAM": IamGuard(clock, credentials),
            "CUSTOM": LambdaAuthorizerGuard(invoker, time.monotonic),
        }
        self._guards.update(guards or {})

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, query = _raw_target(environ)
        if not path.startswith(PATH_PREFIX + "/"):
            if self._fallback is not None:
                return self._fallback(environ, start_response)
            return _send(gateway_error(404, "Not Found"), "", start_response)
        request_id = _request_id()
        api_id, _, rest = path.removeprefix(PATH_PREFIX + "/").partition("/")
        body = _read_body(environ, self._max_body)
        if body is None:
            response = gateway_error(413, "Request Entity Too Large")
        else:
            request = _request(
                environ,
                target=(path, "/" + rest if rest else "", query),
                body=body,
                request_id=request_id,
                received_at=self._clock().astimezone(UTC),
            )
            response = self.handle(api_id, request)
        return _send(response, request_id, start_response)

    def handle(self, api_id: str, request: ApiRequest) -> HttpResponse:
        """API Gateway's answer to ``request`` for API ``api_id``."""
        api = self._catalog.find(api_id)
        if api is None:
            return gateway_error(404, "Not Found")
        staged = resolve_stage(api, request.raw_path)
        match = select_route(api.routes, request.method, staged.route_path) if staged else None
        if staged is None or match is None:
            return gateway_error(404, "Not Found")
        invocation = Invocation(request=request, api=api, stage=staged.stage, match=match)
        integration = _integration(api, invocation)
        guard = self._guards.get(match.route.authorization_type)
        if integration is None or guard is None:
            _log.error("route %r of API %s cannot be served locally", match.route, api.api_id)
            return gateway_error(500, "Internal Server Error")
        try:
            authorizer = guard.authorize(invocation)
        except AccessDenied as denied:
            return denied.response
        invocation = Invocation(request, api, staged.stage, match, authorizer)
        return self._integrate(invocation, integration)

    def _integrate(self, invocation: Invocation, integration: Integration) -> HttpResponse:
        """Invoke the integration's function and map its result, as API Gateway does."""
        version = integration.payload_format_version
        event = event_v1(invocation) if version == "1.0" else event_v2(invocation)
        arn = function_arn_of(integration.integration_uri)
        try:
            outcome = invoke_within(
                self._invoker, arn, json.dumps(event).encode(), integration.timeout_in_millis / 1000
            )
        except InvocationTimeoutError:
            _log.warning("%s timed out after %d ms", arn, integration.timeout_in_millis)
            return gateway_error(503, "Service Unavailable")
        except Exception:
            _log.exception("%s could not be invoked", arn)
            return gateway_error(500, "Internal Server Error")
        if outcome.function_error:
            _log.warning("%s failed (%s): %r", arn, outcome.function_error, outcome.payload)
            return gateway_error(500, "Internal Server Error")
        try:
            return map_lambda_result(outcome.payload, version)
        except MalformedResponseError as error:
            _log.warning("%s answered a malformed response (%s)", arn, error)
            return gateway_error(500, "Internal Server Error")


def _integration(api: HttpApi, invocation: Invocation) -> Integration | None:
    """The route's Lambda proxy integration; other integration types are not emulated."""
    integration = api.integrations.get(invocation.match.route.integration_id or "")
    if integration is None or integration.integration_type != "AWS_PROXY":
        return None
    return integration


def _request_id() -> str:
    """An id shaped like API Gateway's (16 base64 characters, e.g. ``KUz9Oh3GoAMEVfA=``)."""
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")


def _raw_target(environ: WSGIEnvironment) -> tuple[str, str]:
    """The request's path and query as the client sent them (still percent-encoded): the path
    from ``RAW_URI``/``REQUEST_URI`` where the server gives them, else re-encoded from PEP
    3333's decoded ``PATH_INFO``; the query from ``QUERY_STRING``, which WSGI leaves encoded."""
    query = environ.get("QUERY_STRING", "")
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return urlsplit(raw).path, query
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return quote(path.encode("latin-1"), safe="/%:@!$&'()*+,;=~"), query


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` bytes."""
    length_text = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if length_text.isdigit():
        length = int(length_text)
        return None if length > limit else stream.read(length)
    if environ.get("wsgi.input_terminated"):
        body: bytes = stream.read(limit + 1)
        return None if len(body) > limit else body
    return b""


def _request(
    environ: WSGIEnvironment,
    *,
    target: tuple[str, str, str],
    body: bytes,
    request_id: str,
    received_at: datetime,
) -> ApiRequest:
    """The request as API Gateway sees it; ``target`` is (full path, path after the API id,
    query), all as sent. WSGI has already joined repeated headers with commas."""
    full_path, raw_path, query = target
    headers = [
        (key.removeprefix("HTTP_").replace("_", "-").lower(), str(value))
        for key, value in environ.items()
        if (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")) and value
    ]
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return ApiRequest(
        method=environ["REQUEST_METHOD"].upper(),
        url=f"{scheme}://{host}{full_path}" + (f"?{query}" if query else ""),
        raw_path=raw_path,
        raw_query=query,
        headers=tuple(headers),
        body=body,
        source_ip=environ.get("REMOTE_ADDR") or "127.0.0.1",
        scheme=scheme,
        server_port=str(environ.get("SERVER_PORT", "")),
        protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        request_id=request_id,
        received_at=received_at,
    )


def _send(response: HttpResponse, request_id: str, start_response: StartResponse) -> list[bytes]:
    headers = [
        (name, value)
        for name, value in response.headers
        if name.lower() not in ("content-length", "apigw-requestid")
    ]
    headers.append(("content-length", str(len(response.body))))
    if request_id:
        headers.append(("apigw-requestid", request_id))
    start_response(f"{response.status} {_reason(response.status)}", headers)
    return [response.body]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
