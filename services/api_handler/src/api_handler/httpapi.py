"""API Gateway HTTP API (payload format 2.0): reading requests, writing responses, and
the one mapping from errors to HTTP responses (:func:`error_response`)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api_handler.domain.errors import (
    ApiError,
    ForbiddenError,
    InvalidBodyError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
)

MAX_BODY_BYTES = 16 * 1024
JSON_CONTENT_TYPE = "application/json"

Response = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Request:
    """The parts of an HTTP API event this service uses."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: str | None = None
    body_is_base64: bool = False
    #: ``requestContext.authorizer``: ``{"iam": {...}}`` on SigV4 routes, ``{"lambda": {...}}``
    #: (the Lambda authorizer's context) on session routes, empty on open routes.
    authorizer: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        """Read a payload-2.0 event; raises ``KeyError``/``TypeError`` if it is not one."""
        context = event["requestContext"]
        method = context["http"]["method"]
        path = event["rawPath"]
        if not isinstance(method, str) or not isinstance(path, str):
            raise TypeError("not an HTTP API payload 2.0 event")
        stage = context.get("stage")
        if isinstance(stage, str) and stage and stage != "$default":
            # Invoked through a named stage's URL, the path starts with /<stage>.
            prefix = f"/{stage}"
            if path == prefix or path.startswith(prefix + "/"):
                path = path[len(prefix) :] or "/"
        raw_body = event.get("body")
        authorizer = context.get("authorizer")
        return cls(
            method=method.upper(),
            path=path,
            query=dict(event.get("queryStringParameters") or {}),
            headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
            raw_body=raw_body if isinstance(raw_body, str) else None,
            body_is_base64=bool(event.get("isBase64Encoded")),
            authorizer=dict(authorizer) if isinstance(authorizer, Mapping) else {},
        )

    def body(self, max_bytes: int = MAX_BODY_BYTES) -> bytes:
        """The decoded body (empty if none): 413 past ``max_bytes``, 400 if bad base64."""
        if not self.raw_body:
            return b""
        if not self.body_is_base64:
            data = self.raw_body.encode("utf-8", errors="surrogatepass")
        else:
            if len(self.raw_body) > (max_bytes + 2) // 3 * 4:
                raise PayloadTooLargeError(f"request body exceeds {max_bytes} bytes")
            try:
                data = base64.b64decode(self.raw_body, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidBodyError("request body is not valid base64") from None
        if len(data) > max_bytes:
            raise PayloadTooLargeError(f"request body exceeds {max_bytes} bytes")
        return data

    def json_body(self, max_bytes: int = MAX_BODY_BYTES) -> Any:
        """The body parsed as UTF-8 JSON; 400 if absent or malformed."""
        data = self.body(max_bytes)
        if not data.strip():
            raise InvalidBodyError("request body is required (a JSON object)")
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise InvalidBodyError("request body is not valid UTF-8 JSON") from None


def json_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response."""
    return {
        "statusCode": status,
        "headers": {
            "content-type": JSON_CONTENT_TYPE,
            "cache-control": "no-store",
            **(headers or {}),
        },
        "body": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        "isBase64Encoded": False,
    }


def no_content_response() -> Response:
    """204: no body and no content type."""
    return {"statusCode": 204, "headers": {"cache-control": "no-store"}, "isBase64Encoded": False}


# The only place that decides which status an error becomes. Order matters (subclasses first).
_STATUS_OF: tuple[tuple[type[ApiError], int], ...] = (
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (MethodNotAllowedError, 405),
    (PayloadTooLargeError, 413),
    (NotFoundError, 404),
    (InvalidRequestError, 400),
)
INTERNAL_ERROR_BODY = {"error": {"code": "internal_error", "message": "internal error"}}


def status_of(kind: type[ApiError]) -> int:
    """The HTTP status of an error class (also what the OpenAPI document lists)."""
    return next((s for base, s in _STATUS_OF if issubclass(kind, base)), 400)


def error_response(error: BaseException) -> Response:
    """The response for ``error``: its 4xx if the client caused it, else a 500 that hides it.

    Nothing of a non-:class:`ApiError` (message, class name, traceback) reaches the client;
    the caller logs it.
    """
    if not isinstance(error, ApiError):
        return json_response(500, INTERNAL_ERROR_BODY)
    status = status_of(type(error))
    headers = (
        {"allow": ", ".join(error.allow)} if isinstance(error, MethodNotAllowedError) else None
    )
    return json_response(status, {"error": {"code": error.code, "message": error.message}}, headers)
