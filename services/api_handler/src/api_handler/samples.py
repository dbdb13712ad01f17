"""Sample events of this package's two functions, as API Gateway sends them.

One sample per route of :data:`api_handler.app.OPERATIONS` (the route table the handler serves
and the gateway mirrors), named after its operation id (``get_trade`` -> ``get-trade``), for
``api_handler.handler.lambda_handler``; and ``authorizer``, the request the session
authorizer ``api_handler.authorizer.lambda_handler`` gets for a user route. ``./tap invoke
api_handler --sample get-trade`` sends one, filled from a deployment (region, account, API id,
stage); a developer without the infrastructure toolchain builds the same events::

    from api_handler.samples import names, sample

    names()          # ('health', 'create-session', ..., 'authorizer')
    sample("get-trade", trade_id="T-42", stage="dev")

Each route event is what the gateway hands the integration after its own checks
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html,
payload format version 2.0): ``version``, ``routeKey``, ``rawPath`` (with ``/<stage>`` in front
for a named stage), ``rawQueryString``, lower-cased ``headers``, ``queryStringParameters``,
``pathParameters``, ``requestContext`` (``accountId``, ``apiId``, ``domainName``,
``domainPrefix``, ``http``, ``requestId``, ``routeKey``, ``stage``, ``time``, ``timeEpoch``),
``body`` and ``isBase64Encoded``. What the route's authorization put into
``requestContext.authorizer`` comes with it, as the handler checks it again: the SigV4 signer
(``iam``) on service routes, the session authorizer's claims (``lambda``, valid for an hour from
``now``) on user routes, nothing on the open route.

The authorizer's event follows "Lambda authorizer payload format version 2.0"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html):
the request's fields (without ``body``) plus ``type: REQUEST``, ``routeArn`` and
``identitySource``, the values of the authorizer's identity sources (here the
``Authorization: Bearer <token>`` header, ``$request.header.Authorization``). A token that
names no session of the deployment's table is answered ``{"isAuthorized": false}``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from api_handler.app import OPERATIONS, Operation
from api_handler.domain.access import Access, SessionClaims
from api_handler.domain.sessions import CreateSessionRequest
from api_handler.events import http_api_event, iam_authorizer, lambda_authorizer

__all__ = [
    "AUTHORIZER",
    "AUTHORIZER_HANDLER",
    "HANDLER",
    "SAMPLES",
    "Sample",
    "UnknownSampleError",
    "authorizer_request",
    "names",
    "route_event",
    "sample",
]

#: The Lambda handlers the events are for.
HANDLER = "api_handler.handler.lambda_handler"
AUTHORIZER_HANDLER = "api_handler.authorizer.lambda_handler"
#: The name of the authorizer's sample.
AUTHORIZER = "authorizer"

DEFAULT_REGION = "ap-southeast-1"
DEFAULT_AWS_ACCOUNT_ID = "123456789012"
DEFAULT_API_ID = "a1b2c3d4e5"
#: A well-formed session id (43 URL-safe characters) that no deployment issued.
DEFAULT_SESSION_ID = "sample-session-0123456789-abcdefghijklmnopq"
#: How long the user routes' claims stay valid after ``now``.
CLAIMS_SECONDS = 3_600
#: The route an authorizer request is for unless told otherwise.
DEFAULT_AUTHORIZED_ROUTE = "GET /trades/{trade_id}"
SOURCE_IP = "203.0.113.10"
LOGIN_BACKEND_ROLE = "login-backend"
LOGIN_BACKEND_ACCESS_KEY = "ASIAEXAMPLELOGINBACKEND"
#: Stand-ins of the signer's temporary credentials, of the right shape; never real ones.
LOGIN_BACKEND_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"  # noqa: S105


class UnknownSampleError(LookupError):
    """No sample has that name; the message lists the names there are."""


@dataclass(frozen=True, slots=True)
class Sample:
    """A named event: what it is, the handler it is for, and the function building it
    (keyword arguments only, every one with a default)."""

    name: str
    summary: str
    handler: str
    build: Callable[..., dict[str, Any]]


def _sample_name(operation: Operation) -> str:
    return operation.name.replace("_", "-")


def _path(operation: Operation, values: Mapping[str, str]) -> str:
    """The operation's template with each ``{name}`` replaced by its percent-encoded value."""
    segments = [
        quote(values[segment[1:-1]], safe="") if segment.startswith("{") else segment
        for segment in operation.template.split("/")
    ]
    return "/".join(segments)


def _sigv4_headers(
    method: str, path: str, *, moment: datetime, region: str, with_body: bool
) -> dict[str, str]:
    """The headers of a request signed for ``execute-api`` (the gateway verified them; the
    signature is a stand-in of the right shape)."""
    stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    signed = "host;x-amz-date;x-amz-security-token"
    if with_body:
        signed = f"content-type;{signed}"
    signature = hashlib.sha256(f"{method} {path} {stamp}".encode()).hexdigest()
    credential = f"{LOGIN_BACKEND_ACCESS_KEY}/{stamp[:8]}/{region}/execute-api/aws4_request"
    return {
        "authorization": (
            f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed}, "
            f"Signature={signature}"
        ),
        "x-amz-date": stamp,
        "x-amz-security-token": LOGIN_BACKEND_SESSION_TOKEN,
        "user-agent": "login-backend/1.0 botocore/1.34",
    }


def _request_body(operation: Operation, *, account_id: str, ttl_seconds: int) -> Any:
    if operation.request is None:
        return None
    if operation.request is CreateSessionRequest:
        body = {"account_id": account_id, "ttl_seconds": ttl_seconds}
        return CreateSessionRequest.model_validate(body).model_dump(exclude_none=True)
    raise LookupError(f"no sample body for {operation.request.__name__}")


def route_event(
    operation: Operation,
    *,
    region: str = DEFAULT_REGION,
    aws_account_id: str = DEFAULT_AWS_ACCOUNT_ID,
    api_id: str = DEFAULT_API_ID,
    stage: str = "$default",
    now: datetime | None = None,
    request_id: str | None = None,
    token: str = DEFAULT_SESSION_ID,
    session_id: str = DEFAULT_SESSION_ID,
    trade_id: str = "T-000001",
    account_id: str = "ACC-1",
    ttl_seconds: int = 900,
    limit: int = 25,
) -> dict[str, Any]:
    """The payload-2.0 event of ``operation``'s route as the gateway sends it.

    ``session_id``, ``trade_id`` and ``account_id`` fill the path parameters of the same name;
    ``account_id`` is also the session's account on user routes and the body's on
    ``POST /sessions`` (with ``ttl_seconds``); ``limit`` is the page size of a route that takes
    one; ``token`` is the bearer session of user routes. A route ignores what it has no use for.
    """
    moment = now or datetime.now(UTC)
    path = _path(
        operation, {"session_id": session_id, "trade_id": trade_id, "account_id": account_id}
    )
    body = _request_body(operation, account_id=account_id, ttl_seconds=ttl_seconds)
    headers = {"host": f"{api_id}.execute-api.{region}.amazonaws.com", "accept": "application/json"}
    authorizer: dict[str, Any] | None = None
    if operation.access is Access.SERVICE:
        headers |= _sigv4_headers(
            operation.method, path, moment=moment, region=region, with_body=body is not None
        )
        authorizer = iam_authorizer(
            account_id=aws_account_id,
            user_arn=(
                f"arn:aws:sts::{aws_account_id}:assumed-role/{LOGIN_BACKEND_ROLE}/"
                f"{LOGIN_BACKEND_ROLE}-session"
            ),
            access_key=LOGIN_BACKEND_ACCESS_KEY,
        )
    elif operation.access is Access.USER:
        headers |= {"authorization": f"Bearer {token}", "user-agent": "curl/8.5.0"}
        claims = SessionClaims(
            session_id=token,
            account_id=account_id,
            expires_at=int(moment.timestamp()) + CLAIMS_SECONDS,
        )
        authorizer = lambda_authorizer(claims.to_context())
    else:
        headers["user-agent"] = "ELB-HealthChecker/2.0"
    query = {q.name: str(limit) for q in operation.query if q.name == "limit"}
    event = http_api_event(
        operation.method,
        path,
        query=query,
        headers=headers,
        body=body,
        route_key=f"{operation.method} {operation.template}",
        stage=stage,
        request_id=request_id,
        time_epoch_ms=int(moment.timestamp() * 1000),
        source_ip=SOURCE_IP,
        authorizer=authorizer,
    )
    event["requestContext"] |= {"accountId": aws_account_id, "apiId": api_id}
    return event


def _user_operation(route: str) -> Operation:
    for operation in OPERATIONS:
        if f"{operation.method} {operation.template}" == route:
            if operation.access is not Access.USER:
                raise ValueError(f"{route} is not a user route: the authorizer does not guard it")
            return operation
    raise ValueError(f"no route {route!r}")


def authorizer_request(
    *,
    route: str = DEFAULT_AUTHORIZED_ROUTE,
    region: str = DEFAULT_REGION,
    aws_account_id: str = DEFAULT_AWS_ACCOUNT_ID,
    api_id: str = DEFAULT_API_ID,
    stage: str = "$default",
    now: datetime | None = None,
    request_id: str | None = None,
    token: str = DEFAULT_SESSION_ID,
    trade_id: str = "T-000001",
    account_id: str = "ACC-1",
) -> dict[str, Any]:
    """The session authorizer's request (payload 2.0, type REQUEST) for user route ``route``
    called with ``Authorization: Bearer <token>``; path parameters as in :func:`route_event`."""
    operation = _user_operation(route)
    event = route_event(
        operation,
        region=region,
        aws_account_id=aws_account_id,
        api_id=api_id,
        stage=stage,
        now=now,
        request_id=request_id,
        token=token,
        trade_id=trade_id,
        account_id=account_id,
    )
    for gateway_only in ("body", "isBase64Encoded"):
        event.pop(gateway_only, None)
    del event["requestContext"]["authorizer"]  # the authorizer's answer does not exist yet
    path = event["rawPath"] if stage == "$default" else event["rawPath"][len(stage) + 1 :]
    event["type"] = "REQUEST"
    event["routeArn"] = (
        f"arn:aws:execute-api:{region}:{aws_account_id}:{api_id}/{stage}/{operation.method}{path}"
    )
    event["identitySource"] = [event["headers"]["authorization"]]
    return event


_ACCESS = {
    Access.PUBLIC: "open route",
    Access.SERVICE: "SigV4-signed service route: requestContext.authorizer.iam",
    Access.USER: "user route: the session authorizer's claims in requestContext.authorizer.lambda",
}


def _route_samples() -> dict[str, Sample]:
    return {
        _sample_name(operation): Sample(
            _sample_name(operation),
            f"{operation.method} {operation.template}: {operation.summary} "
            f"({_ACCESS[operation.access]})",
            HANDLER,
            functools.partial(route_event, operation),
        )
        for operation in OPERATIONS
    }


SAMPLES: Mapping[str, Sample] = MappingProxyType(
    {
        **_route_samples(),
        AUTHORIZER: Sample(
            AUTHORIZER,
            f"session authorizer request (payload 2.0, REQUEST) for {DEFAULT_AUTHORIZED_ROUTE} "
            "with Authorization: Bearer <token> (route, token)",
            AUTHORIZER_HANDLER,
            authorizer_request,
        ),
    }
)


# names() and sample() are written out in processor.samples too: each service is a package of its
# own that ships and is tested alone, so the two share no module.
def names(handler: str | None = None) -> tuple[str, ...]:
    """The samples' names in table order; with ``handler``, only those for that handler."""
    return tuple(name for name, s in SAMPLES.items() if handler is None or s.handler == handler)


def sample(name: str, **params: Any) -> dict[str, Any]:
    """The event of sample ``name`` built with ``params`` (the builder's keyword arguments)."""
    found = SAMPLES.get(name)
    if found is None:
        raise UnknownSampleError(f"no sample {name!r}; the samples are: {', '.join(SAMPLES)}")
    return found.build(**params)
