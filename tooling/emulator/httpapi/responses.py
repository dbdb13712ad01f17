"""How an HTTP API turns a Lambda proxy integration's result into the HTTP response.

Payload format 2.0: a JSON object with ``statusCode`` is a response document (``statusCode``,
``headers``, ``multiValueHeaders``, ``cookies`` as ``set-cookie`` headers, ``body``,
``isBase64Encoded``); any other valid JSON is the "inferred format": status 200,
``content-type: application/json`` and the result itself as the body. Format 1.0 infers
nothing: the result must be a response document. A document that cannot be one (a status that
is not an HTTP status, a body that is not a string, bad base64, invalid JSON) is a malformed
integration response, which API Gateway answers with 500 like a function error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["HttpResponse", "MalformedResponseError", "gateway_error", "map_lambda_result"]


@dataclass(frozen=True)
class HttpResponse:
    """A response to send: status, headers in order (names may repeat), body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class MalformedResponseError(ValueError):
    """The function's result is not a response API Gateway can send."""


def gateway_error(status: int, message: str) -> HttpResponse:
    """One of API Gateway's own JSON error responses, e.g. 404 ``{"message":"Not Found"}``."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return HttpResponse(status, (("content-type", "application/json"),), body)


def map_lambda_result(payload: bytes, payload_format_version: str) -> HttpResponse:
    """The HTTP response for a successful invocation's ``payload``; raises
    :class:`MalformedResponseError` where API Gateway answers 500."""
    try:
        result = json.loads(payload)
    except ValueError as error:
        raise MalformedResponseError("the result is not JSON") from error
    if isinstance(result, dict) and "statusCode" in result:
        return _document(result, cookies_allowed=payload_format_version == "2.0")
    if payload_format_version != "2.0":
        raise MalformedResponseError("format 1.0 results must have a statusCode")
    return HttpResponse(200, (("content-type", "application/json"),), payload)


def _document(result: Mapping[str, Any], *, cookies_allowed: bool) -> HttpResponse:
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponseError(f"statusCode {status!r} is not an HTTP status")
    headers = _headers(result.get("headers"), result.get("multiValueHeaders"))
    if cookies_allowed:
        headers += [("set-cookie", cookie) for cookie in _strings(result.get("cookies"), "cookies")]
    return HttpResponse(status, tuple(headers), _body(result))


def _headers(single: object, multi: object) -> list[tuple[str, str]]:
    headers: dict[str, list[str]] = {}
    for key, values in _mapping(multi, "multiValueHeaders").items():
        headers.setdefault(key.lower(), []).extend(_header_value(v) for v in _list(values))
    for key, value in _mapping(single, "headers").items():
        headers[key.lower()] = [_header_value(value)]
    return [(name, value) for name, values in headers.items() for value in values]


def _body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResponseError("body is not a string")
    encoded = result.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise MalformedResponseError("isBase64Encoded is not a boolean")
    if not encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error as error:
        raise MalformedResponseError("body is not valid base64") from error


def _mapping(value: object, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedResponseError(f"{name} is not an object")
    return value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedResponseError("multiValueHeaders values must be lists")
    return value


def _strings(value: object, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedResponseError(f"{name} is not a list of strings")
    return value


def _header_value(value: object) -> str:
    """Header values may be strings, numbers or booleans (rendered as JSON does)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponseError(f"header value {value!r} is not a scalar")
