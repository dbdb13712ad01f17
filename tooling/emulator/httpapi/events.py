"""The event an HTTP API sends to a Lambda proxy integration (payload formats 2.0 and 1.0).

Built field by field as "Working with AWS Lambda proxy integrations for HTTP APIs" describes
them, so a handler sees locally what it sees on AWS: in 2.0, header names lower-cased and
repeated headers comma-joined, cookies moved from the ``cookie`` header to ``cookies``, repeated
query parameters comma-joined, optional fields left out when empty, ``rawPath`` with the stage
segment of a named stage (as AWS does), and a body that is base64-encoded unless it is text.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from tooling.emulator.httpapi.ports import HttpApi, Stage
from tooling.emulator.httpapi.routing import RouteMatch

__all__ = [
    "ApiRequest",
    "Invocation",
    "domain_name",
    "event_v1",
    "event_v2",
    "is_text_content",
    "request_time",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_TYPES = frozenset(
    {"application/json", "application/javascript", "application/xml", "application/x-yaml"}
)


@dataclass(frozen=True)
class ApiRequest:
    """An incoming request, as received: ``raw_path`` is the path after the API id (with the
    stage segment), percent-encoded; ``headers`` keep their order and spelling; ``url`` is the
    whole URL the client used (``scheme://host[:port]/path?query``), which is what it signed."""

    method: str
    url: str
    raw_path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    scheme: str
    server_port: str
    protocol: str
    request_id: str
    received_at: datetime

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case); repeated headers comma-joined."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None

    def query(self) -> dict[str, list[str]]:
        """The decoded query parameters, each with all its values in order."""
        parameters: dict[str, list[str]] = {}
        for key, value in parse_qsl(self.raw_query, keep_blank_values=True):
            parameters.setdefault(key, []).append(value)
        return parameters


@dataclass(frozen=True)
class Invocation:
    """A request together with what API Gateway decided about it: the API, stage and route,
    and the ``requestContext.authorizer`` block an authorizer produced (``{"iam": {...}}`` or
    ``{"lambda": {...}}``; empty for routes without authorization)."""

    request: ApiRequest
    api: HttpApi
    stage: Stage
    match: RouteMatch
    authorizer: Mapping[str, Any] = field(default_factory=dict)


def is_text_content(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this type as text (otherwise base64)."""
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return (
        mime.startswith("text/")
        or mime in _TEXT_TYPES
        or mime.endswith("+json")
        or mime.endswith("+xml")
    )


def event_v2(invocation: Invocation) -> dict[str, Any]:
    """The payload format 2.0 event for ``invocation``."""
    request = invocation.request
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": invocation.match.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    cookies = _cookies(request)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = _headers_v2(request)
    query = request.query()
    if query:
        event["queryStringParameters"] = {key: ",".join(values) for key, values in query.items()}
    event["requestContext"] = _request_context_v2(invocation)
    event.update(_body(request))
    if invocation.match.path_parameters:
        event["pathParameters"] = dict(invocation.match.path_parameters)
    if invocation.stage.variables:
        event["stageVariables"] = dict(invocation.stage.variables)
    return event


def event_v1(invocation: Invocation) -> dict[str, Any]:
    """The payload format 1.0 event for ``invocation`` (REST API style, with multi-value
    fields and ``null`` for empty ones)."""
    request = invocation.request
    route_key = invocation.match.route.route_key
    resource = route_key.partition(" ")[2] or route_key
    multi_headers: dict[str, list[str]] = {}
    for key, value in _forwarded(request):
        multi_headers.setdefault(key.lower(), []).append(value)
    query = request.query()
    return {
        "version": "1.0",
        "resource": resource,
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": {key: values[-1] for key, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "requestContext": _request_context_v1(invocation, resource),
        "pathParameters": dict(invocation.match.path_parameters) or None,
        "stageVariables": dict(invocation.stage.variables) or None,
        **_body(request, absent=None),
    }


def request_time(moment: datetime) -> str:
    """``12/Mar/2020:19:03:58 +0000``: API Gateway's ``requestContext.time`` (English month
    names whatever the locale)."""
    return (
        f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} +0000"
    )


def domain_name(api: HttpApi) -> str:
    """The API's default endpoint host on AWS, which is what handlers see as ``domainName``."""
    return f"{api.api_id}.execute-api.{api.region}.amazonaws.com"


def _forwarded(request: ApiRequest) -> list[tuple[str, str]]:
    """The request's headers plus the ``x-forwarded-*`` ones API Gateway adds."""
    forwarded_for = request.header("x-forwarded-for")
    added = {
        "x-forwarded-for": f"{forwarded_for}, {request.source_ip}"
        if forwarded_for
        else request.source_ip,
        "x-forwarded-port": request.server_port,
        "x-forwarded-proto": request.scheme,
    }
    kept = [(key, value) for key, value in request.headers if key.lower() not in added]
    return kept + list(added.items())


def _headers_v2(request: ApiRequest) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in _forwarded(request):
        name = key.lower()
        if name == "cookie":
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _cookies(request: ApiRequest) -> list[str]:
    return [
        cookie.strip()
        for key, value in request.headers
        if key.lower() == "cookie"
        for cookie in value.split(";")
        if cookie.strip()
    ]


def _body(request: ApiRequest, absent: object = ...) -> dict[str, Any]:
    """``body`` and ``isBase64Encoded``; without a body, ``body`` is left out (2.0) or
    ``absent`` (1.0: ``None``)."""
    if not request.body:
        return (
            {"isBase64Encoded": False}
            if absent is ...
            else {"body": absent, "isBase64Encoded": False}
        )
    if is_text_content(request.header("content-type")):
        try:
            return {"body": request.body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(request.body).decode("ascii"), "isBase64Encoded": True}


def _request_context_v2(invocation: Invocation) -> dict[str, Any]:
    request, api = invocation.request, invocation.api
    context: dict[str, Any] = {"accountId": api.account_id, "apiId": api.api_id}
    if invocation.authorizer:
        context["authorizer"] = dict(invocation.authorizer)
    context.update(
        {
            "domainName": domain_name(api),
            "domainPrefix": api.api_id,
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent") or "",
            },
            "requestId": request.request_id,
            "routeKey": invocation.match.route.route_key,
            "stage": invocation.stage.name,
            "time": request_time(request.received_at),
            "timeEpoch": int(request.received_at.timestamp() * 1000),
        }
    )
    return context


def _request_context_v1(invocation: Invocation, resource: str) -> dict[str, Any]:
    request, api = invocation.request, invocation.api
    iam: Mapping[str, Any] = invocation.authorizer.get("iam") or {}
    context: dict[str, Any] = {
        "accountId": api.account_id,
        "apiId": api.api_id,
        "domainName": domain_name(api),
        "domainPrefix": api.api_id,
        "extendedRequestId": request.request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": iam.get("accessKey"),
            "accountId": iam.get("accountId"),
            "caller": iam.get("callerId"),
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": iam.get("userId"),
            "userAgent": request.header("user-agent") or "",
            "userArn": iam.get("userArn"),
        },
        "path": request.raw_path,
        "protocol": request.protocol,
        "requestId": request.request_id,
        "requestTime": request_time(request.received_at),
        "requestTimeEpoch": int(request.received_at.timestamp() * 1000),
        "resourceId": invocation.match.route.route_key,
        "resourcePath": resource,
        "stage": invocation.stage.name,
    }
    lambda_context = invocation.authorizer.get("lambda")
    if lambda_context is not None:
        context["authorizer"] = dict(lambda_context)
    return context
