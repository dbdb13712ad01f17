"""Build API Gateway HTTP API (payload format 2.0) events and Lambda contexts.

Pure and dependency-free (standard library plus the Powertools context type): used by the
tests and by a local dev server that turns real HTTP requests into Lambda invocations::

    from api_handler.events import http_api_event, lambda_context
    from api_handler.handler import lambda_handler

    event = http_api_event("POST", "/sessions", body={"account_id": "acc-1"})
    response = lambda_handler(event, lambda_context())
    # {"statusCode": 201, "headers": {...}, "body": "{...}", "isBase64Encoded": False}

The event has the shape API Gateway sends for an HTTP API with the ``$default`` stage:
``rawPath``, ``rawQueryString``, lower-cased ``headers`` (repeated values joined by commas),
``cookies`` split out of the ``cookie`` header, ``queryStringParameters`` (repeated values
joined by commas), ``requestContext`` (``http.method``, ``http.path``, ``requestId``,
``routeKey``, ``stage``, ``time``, ``timeEpoch``...), ``pathParameters``, ``body`` and
``isBase64Encoded``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode

from aws_lambda_powertools.utilities.typing import LambdaContext

QueryValue = str | Sequence[str]
Body = str | bytes | Mapping[str, Any]


def http_api_event(
    method: str,
    path: str,
    *,
    query: Mapping[str, QueryValue] | None = None,
    headers: Mapping[str, str] | None = None,
    body: Body | None = None,
    path_parameters: Mapping[str, str] | None = None,
    route_key: str | None = None,
    stage: str = "$default",
    request_id: str | None = None,
    time_epoch_ms: int | None = None,
    source_ip: str = "127.0.0.1",
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A payload-2.0 event for ``method path``.

    - ``path``: the request path without query string (e.g. ``/sessions/abc``), percent-
      encoded as it would be on the wire. With a named ``stage`` it is prefixed with
      ``/<stage>`` in ``rawPath``, as API Gateway does.
    - ``query``: parameter -> value, or a list of values for a repeated parameter.
    - ``body``: ``str`` is sent as is; ``bytes`` base64-encoded with ``isBase64Encoded``
      true (what API Gateway does with binary bodies); a mapping is JSON-encoded and
      ``content-type: application/json`` added unless given.
    - ``route_key``: e.g. ``"GET /sessions/{session_id}"``; default ``"$default"``. When it
      has ``{name}`` placeholders and ``path_parameters`` is not given, they are filled
      from ``path``.
    - ``request_id``/``time_epoch_ms``: default to a fresh UUID and the current time.
    - ``authorizer``: ``requestContext.authorizer`` as the gateway fills it after checking
      the caller: :func:`iam_authorizer` (SigV4 routes) or :func:`lambda_authorizer`
      (session routes); absent by default, as on an open route.
    """
    if "?" in path or not path.startswith("/"):
        raise ValueError("path must start with '/' and carry no query string (use query=)")
    header_map = {name.lower(): value for name, value in (headers or {}).items()}
    raw_body, is_base64 = _encode_body(body, header_map)
    epoch_ms = int(time.time() * 1000) if time_epoch_ms is None else time_epoch_ms
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    key = route_key or "$default"
    cookie_header = _complete_headers(header_map, source_ip, raw_body, is_base64)
    pairs = _query_pairs(query or {})
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": key,
        "rawPath": raw_path,
        "rawQueryString": urlencode(pairs, quote_via=quote),
        "headers": header_map,
        "requestContext": _request_context(
            method.upper(),
            raw_path,
            key,
            stage,
            request_id or str(uuid.uuid4()),
            epoch_ms,
            source_ip,
            header_map,
        ),
        "isBase64Encoded": is_base64,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    if cookie_header:
        event["cookies"] = [c.strip() for c in cookie_header.split(";") if c.strip()]
    if pairs:
        event["queryStringParameters"] = _joined_query(pairs)
    parameters = path_parameters
    if parameters is None and route_key is not None:
        parameters = _path_parameters(route_key, path)
    if parameters:
        event["pathParameters"] = dict(parameters)
    if raw_body is not None:
        event["body"] = raw_body
    return event


def _complete_headers(
    header_map: dict[str, str], source_ip: str, raw_body: str | None, is_base64: bool
) -> str | None:
    """Add the headers API Gateway's front end adds when the caller did not send them, and take
    out the ``cookie`` header (payload 2.0 carries cookies apart): its value, if any."""
    header_map.setdefault("user-agent", "api-handler-events")
    header_map.setdefault("host", "localhost")
    header_map.setdefault("x-forwarded-for", source_ip)
    header_map.setdefault("x-forwarded-proto", "https")
    header_map.setdefault("x-forwarded-port", "443")
    if raw_body is not None:
        header_map.setdefault("content-length", str(_body_length(raw_body, is_base64)))
    return header_map.pop("cookie", None)


def _request_context(
    method: str,
    raw_path: str,
    route_key: str,
    stage: str,
    request_id: str,
    epoch_ms: int,
    source_ip: str,
    headers: Mapping[str, str],
) -> dict[str, Any]:
    """``requestContext`` of the request; host and user agent are its (completed) headers'."""
    return {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": headers["host"],
        "domainPrefix": headers["host"].split(".")[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": headers["user-agent"],
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": epoch_ms,
    }


def iam_authorizer(
    *,
    account_id: str = "123456789012",
    user_arn: str = "arn:aws:iam::123456789012:role/login-backend",
    access_key: str = "local-test-access-key",
) -> dict[str, Any]:
    """``requestContext.authorizer`` of a SigV4-verified request (route ``AWS_IAM``)."""
    return {
        "iam": {
            "accessKey": access_key,
            "accountId": account_id,
            "callerId": f"AROAEXAMPLE:{user_arn.rsplit('/', 1)[-1]}",
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": user_arn,
            "userId": "AROAEXAMPLE",
        }
    }


def lambda_authorizer(context: Mapping[str, Any]) -> dict[str, Any]:
    """``requestContext.authorizer`` after a Lambda authorizer allowed the request with the
    simple response's ``context``."""
    return {"lambda": dict(context)}


def lambda_context(
    *,
    function_name: str = "trading-api-handler",
    request_id: str | None = None,
    memory_limit_in_mb: int = 256,
    remaining_time_in_millis: int = 30_000,
) -> LambdaContext:
    """A stand-in Lambda context with the attributes Powertools' Logger reads."""
    context = LambdaContext()
    context._function_name = function_name
    context._function_version = "$LATEST"
    context._invoked_function_arn = (
        f"arn:aws:lambda:ap-southeast-1:123456789012:function:{function_name}"
    )
    context._memory_limit_in_mb = memory_limit_in_mb
    context._aws_request_id = request_id or str(uuid.uuid4())
    context._log_group_name = f"/aws/lambda/{function_name}"
    context._log_stream_name = "local"
    deadline = time.monotonic() + remaining_time_in_millis / 1000
    context.get_remaining_time_in_millis = lambda: max(  # type: ignore[method-assign]
        0, int((deadline - time.monotonic()) * 1000)
    )
    return context


def _encode_body(body: Body | None, headers: dict[str, str]) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    if isinstance(body, bytes):
        return base64.b64encode(body).decode("ascii"), True
    if isinstance(body, str):
        return body, False
    headers.setdefault("content-type", "application/json")
    return json.dumps(body, separators=(",", ":")), False


def _body_length(raw_body: str, is_base64: bool) -> int:
    return (
        len(base64.b64decode(raw_body))
        if is_base64
        else len(raw_body.encode("utf-8", "surrogatepass"))
    )


def _query_pairs(query: Mapping[str, QueryValue]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in query.items():
        values = [value] if isinstance(value, str) else list(value)
        pairs.extend((name, v) for v in values)
    return pairs


def _joined_query(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``queryStringParameters``: a repeated parameter's values joined by commas."""
    joined: dict[str, list[str]] = {}
    for name, value in pairs:
        joined.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in joined.items()}


def _path_parameters(route_key: str, path: str) -> dict[str, str]:
    """Values of ``{name}`` / ``{name+}`` placeholders of ``route_key`` found in ``path``."""
    _, _, template = route_key.partition(" ")
    expected = template.strip("/").split("/")
    actual = path.strip("/").split("/")
    found: dict[str, str] = {}
    for index, segment in enumerate(expected):
        if segment.startswith("{") and segment.endswith("+}"):
            found[segment[1:-2]] = unquote("/".join(actual[index:]))
            break
        if segment.startswith("{") and segment.endswith("}") and index < len(actual):
            found[segment[1:-1]] = unquote(actual[index])
    return found
