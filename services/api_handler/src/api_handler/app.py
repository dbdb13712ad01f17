"""The HTTP entrypoint: routing, caller checks, request parsing, use-case calls, bodies.

Routing is a small explicit table rather than Powertools' ``APIGatewayHttpResolver``:
the resolver answers an unknown method on a known path with 404 (this API must answer
405 with an ``Allow`` header), has no request-size limit (413) and renders its own error
bodies, so the three behaviours would have to be rebuilt around it anyway.

:data:`OPERATIONS` is the one description of the API: the router serves it and
:mod:`api_handler.openapi` documents it (docs/api/openapi.json), the document the gateway's
routes are created from (``trading_infra.components.api_routes``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from pydantic import BaseModel

from api_handler import services
from api_handler.domain.access import (
    Access,
    SessionClaims,
    claims_from_context,
    is_iam_context,
)
from api_handler.domain.errors import (
    ApiError,
    ForbiddenError,
    InvalidBodyError,
    InvalidPageTokenError,
    InvalidPathParameterError,
    InvalidQueryParameterError,
    MethodNotAllowedError,
    PayloadTooLargeError,
    RequestValidationError,
    RouteNotFoundError,
    SessionNotFoundError,
    TradeNotFoundError,
    UnauthorizedError,
)
from api_handler.domain.identifiers import (
    ACCOUNT_ID_PATTERN,
    ACCOUNT_ID_RULE,
    SESSION_ID_PATTERN,
    SESSION_ID_RULE,
    TRADE_ID_PATTERN,
    TRADE_ID_RULE,
    is_account_id,
    is_session_id,
    is_trade_id,
)
from api_handler.domain.pagination import MAX_TOKEN_LENGTH
from api_handler.domain.sessions import (
    DEFAULT_SESSION_TTL_SECONDS,
    CreateSessionRequest,
    new_session_id,
    parse_create_session_request,
)
from api_handler.domain.trades import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT
from api_handler.httpapi import (
    Request,
    Response,
    error_response,
    json_response,
    no_content_response,
)
from api_handler.observability import logger as default_logger
from api_handler.ports import SessionRepository, TradeReader
from api_handler.schemas import (
    NEXT_PAGE_PATTERN,
    HealthBody,
    SessionBody,
    TradeBody,
    TradePageBody,
)

Clock = Callable[[], datetime]
Params = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class PathParameter:
    """A ``{name}`` segment's format: the check, its rule in words and its JSON Schema pattern."""

    check: Callable[[str], bool]
    rule: str
    pattern: str


#: Every path parameter name used in a route, with its format.
PATH_PARAMETERS: dict[str, PathParameter] = {
    "session_id": PathParameter(is_session_id, SESSION_ID_RULE, SESSION_ID_PATTERN),
    "trade_id": PathParameter(is_trade_id, TRADE_ID_RULE, TRADE_ID_PATTERN),
    "account_id": PathParameter(is_account_id, ACCOUNT_ID_RULE, ACCOUNT_ID_PATTERN),
}


@dataclass(frozen=True, slots=True)
class QueryParameter:
    """An optional query-string parameter and its JSON Schema (as the client writes it)."""

    name: str
    description: str
    schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Operation:
    """One method of one path: who may call it, what it takes, what it answers.

    ``errors`` are the endpoint's own client errors; the ones every request can get (unknown
    query parameter, body checks, caller checks, path formats) follow from :func:`checks_of`.
    """

    method: str
    template: str
    name: str  # operationId; App serves it with its method ``_<name>``
    summary: str
    access: Access
    status: int
    response: type[BaseModel] | None
    request: type[BaseModel] | None = None
    query: tuple[QueryParameter, ...] = ()
    errors: tuple[type[ApiError], ...] = ()
    description: str = ""

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(
            segment[1:-1] for segment in self.template.split("/") if segment.startswith("{")
        )


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/health", "health", "Health check", Access.PUBLIC, 200, HealthBody,
        description="Answers without touching storage; for load balancers and uptime probes.",
    ),
    Operation(
        "POST", "/sessions", "create_session", "Create a session for an account",
        Access.SERVICE, 201, SessionBody, request=CreateSessionRequest,
        errors=(InvalidBodyError, RequestValidationError),
        description=(
            "Called by the login backend once it has authenticated the user. `ttl_seconds` "
            "defaults to the function's SESSION_TTL_SECONDS. Strict: no type coercion, no "
            "unknown fields; every bad field is named in one message."
        ),
    ),
    Operation(
        "GET", "/sessions/current", "get_current_session", "The caller's own session",
        Access.USER, 200, SessionBody,
        description=(
            "The session named by the bearer token. A session revoked or expired while the "
            "gateway still holds the authorizer's cached answer is a 401 here."
        ),
    ),
    Operation(
        "GET", "/sessions/{session_id}", "get_session", "Look a session up (login backend)",
        Access.SERVICE, 200, SessionBody, errors=(SessionNotFoundError,),
        description="An expired session is not found, even before DynamoDB's TTL deletes it.",
    ),
    Operation(
        "DELETE", "/sessions/{session_id}", "delete_session", "Revoke a session",
        Access.SERVICE, 204, None, errors=(SessionNotFoundError,),
        description=(
            "Conditional delete: 204 if an unexpired session existed, else 404. Gateways that "
            "cached the authorizer's answer keep accepting the token for at most the "
            "authorizer's cache TTL; GET /sessions/current refuses it at once."
        ),
    ),
    Operation(
        "GET", "/trades/{trade_id}", "get_trade", "One trade of the caller's account",
        Access.USER, 200, TradeBody, errors=(TradeNotFoundError,),
        description="A trade of another account is `trade_not_found`, exactly like a missing one.",
    ),
    Operation(
        "GET", "/accounts/{account_id}/trades", "list_account_trades",
        "The caller's account's trades, newest first", Access.USER, 200, TradePageBody,
        query=(
            QueryParameter(
                "limit",
                f"Page size, 1..{MAX_PAGE_LIMIT} in ASCII digits (default {DEFAULT_PAGE_LIMIT}).",
                {"type": "string", "pattern": "^[0-9]{1,3}$"},
            ),
            QueryParameter(
                "next_token",
                "The previous page's next_token, unchanged.",
                {"type": "string", "pattern": NEXT_PAGE_PATTERN, "maxLength": MAX_TOKEN_LENGTH},
            ),
        ),
        errors=(InvalidQueryParameterError, InvalidPageTokenError, ForbiddenError),
        description=(
            "Only the session's own account (another account is 403 `forbidden`). A page can be "
            "shorter than `limit`, even empty, and still have a next_token."
        ),
    ),
)  # fmt: skip


def checks_of(operation: Operation) -> tuple[type[ApiError], ...]:
    """Every client error :meth:`App.handle` can answer for ``operation``, in check order:
    caller (401), path formats (400), unknown query parameters (400), body (413/400), then
    the endpoint's own (:attr:`Operation.errors`)."""
    checks: list[type[ApiError]] = []
    if operation.access is not Access.PUBLIC:
        checks.append(UnauthorizedError)
    if operation.path_parameters:
        checks.append(InvalidPathParameterError)
    checks += [InvalidQueryParameterError, PayloadTooLargeError, InvalidBodyError]
    checks += operation.errors
    return tuple(dict.fromkeys(checks))


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


Handler = Callable[[Request, Params, SessionClaims | None], Response]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An operation and the bound method serving it."""

    operation: Operation
    handler: Handler


@dataclass(frozen=True, slots=True)
class Route:
    """A path template ("/sessions/{session_id}") and its endpoints by method."""

    template: str
    endpoints: Mapping[str, Endpoint]
    segments: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(self.template.strip("/").split("/")))

    def match(self, path: str) -> dict[str, str] | None:
        """The raw (still percent-encoded) path parameters, or ``None`` if no match."""
        parts = path.split("/")[1:] if path.startswith("/") else []
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for expected, actual in zip(self.segments, parts, strict=True):
            if expected.startswith("{"):
                if not actual:
                    return None
                params[expected[1:-1]] = actual
            elif expected != actual:
                return None
        return params


def _matching_routes(routes: tuple[Route, ...], path: str) -> list[tuple[Route, dict[str, str]]]:
    """The routes whose template matches ``path``, in table order, with their raw path
    parameters (404 if none)."""
    matches = [(route, raw) for route in routes if (raw := route.match(path)) is not None]
    if not matches:
        raise RouteNotFoundError(f"no route matches the path {path}"[:200])
    return matches


def _select(
    matches: list[tuple[Route, dict[str, str]]], method: str
) -> tuple[Route, Endpoint, dict[str, str]]:
    """The first matching route that has ``method`` (else 405 listing the path's methods).

    Like API Gateway, a literal segment wins over a ``{parameter}`` for the same method:
    ``GET /sessions/current`` is its own route, ``DELETE /sessions/current`` still reaches
    ``DELETE /sessions/{session_id}`` (and fails its format check).
    """
    for route, raw_params in matches:
        endpoint = route.endpoints.get(method)
        if endpoint is not None:
            return route, endpoint, raw_params
    allow = tuple(sorted({name for route, _ in matches for name in route.endpoints}))
    raise MethodNotAllowedError(method, allow)


def _path_params(raw_params: Params) -> dict[str, str]:
    """Percent-decoded, format-checked path parameters (else 400)."""
    params: dict[str, str] = {}
    for name, raw in raw_params.items():
        parameter = PATH_PARAMETERS[name]
        try:
            value = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            value = ""
        if not parameter.check(value):
            raise InvalidPathParameterError(f"{name} must be {parameter.rule}")
        params[name] = value
    return params


def _parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_LIMIT
    if raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_PAGE_LIMIT:
        return int(raw)
    raise InvalidQueryParameterError(f"limit must be an integer from 1 to {MAX_PAGE_LIMIT}")


def _required(claims: SessionClaims | None) -> SessionClaims:
    """The caller's claims on a user route (``handle`` has checked them; this keeps the
    endpoints safe even if called another way)."""
    if claims is None:
        raise UnauthorizedError("this route needs a valid session")
    return claims


def _routes(handlers: Mapping[str, Handler]) -> tuple[Route, ...]:
    """:data:`OPERATIONS` grouped by path, in table order (literal paths before parameters)."""
    by_template: dict[str, dict[str, Endpoint]] = {}
    for operation in OPERATIONS:
        endpoint = Endpoint(operation, handlers[operation.name])
        by_template.setdefault(operation.template, {})[operation.method] = endpoint
    return tuple(Route(template, endpoints) for template, endpoints in by_template.items())


class App:
    """The API over its ports. ``handle`` turns any event into a response and never raises."""

    def __init__(
        self,
        *,
        sessions: SessionRepository,
        trades: TradeReader,
        default_ttl_seconds: int = DEFAULT_SESSION_TTL_SECONDS,
        clock: Clock = utc_now,
        new_id: Callable[[], str] = new_session_id,
        logger: Logger = default_logger,
    ) -> None:
        self._sessions = sessions
        self._trades = trades
        self._default_ttl = default_ttl_seconds
        self._clock = clock
        self._new_id = new_id
        self._logger = logger
        self._routes = _routes(
            {operation.name: getattr(self, f"_{operation.name}") for operation in OPERATIONS}
        )

    def handle(self, event: Mapping[str, Any]) -> Response:
        """Route and serve one event; log one line (route, status, latency)."""
        started = time.perf_counter()
        route = "unmatched"
        method = "-"
        try:
            request = Request.from_event(event)
            method = request.method
            matches = _matching_routes(self._routes, request.path)
            route = f"{method} {matches[0][0].template}"
            matched, endpoint, raw_params = _select(matches, method)
            route = f"{method} {matched.template}"
            claims = self._caller(endpoint.operation.access, request)
            params = _path_params(raw_params)
            unknown = sorted(set(request.query) - {q.name for q in endpoint.operation.query})
            if unknown:
                raise InvalidQueryParameterError(f"unknown query parameter: {', '.join(unknown)}")
            request.body()  # size and encoding checks apply to every route
            response = endpoint.handler(request, params, claims)
        except Exception as error:  # every failure becomes a response
            if not isinstance(error, ApiError):
                self._logger.exception("unhandled error", extra={"route": route})
            response = error_response(error)
        self._logger.info(
            "request",
            extra={
                "route": route,
                "method": method,
                "status": response["statusCode"],
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            },
        )
        return response

    def _caller(self, access: Access, request: Request) -> SessionClaims | None:
        """Check who is calling, again, behind the gateway (401 if the route's check is
        missing): a SigV4 signer on service routes, unexpired session claims on user routes."""
        if access is Access.PUBLIC:
            return None
        if access is Access.SERVICE:
            if not is_iam_context(request.authorizer.get("iam")):
                raise UnauthorizedError("this route needs a SigV4-signed request")
            return None
        claims = claims_from_context(request.authorizer.get("lambda"))
        if claims is None or claims.is_expired(self._clock()):
            raise UnauthorizedError("this route needs a valid session (Authorization: Bearer)")
        return claims

    # --- endpoints -----------------------------------------------------------------------

    def _health(self, request: Request, params: Params, claims: SessionClaims | None) -> Response:
        return json_response(200, HealthBody(status="ok").model_dump())

    def _create_session(
        self, request: Request, params: Params, claims: SessionClaims | None
    ) -> Response:
        body = parse_create_session_request(request.json_body())
        session = services.create_session(
            self._sessions,
            body,
            default_ttl_seconds=self._default_ttl,
            now=self._clock(),
            new_id=self._new_id,
        )
        return json_response(201, SessionBody.of(session).model_dump())

    def _get_current_session(
        self, request: Request, params: Params, claims: SessionClaims | None
    ) -> Response:
        session = services.current_session(self._sessions, _required(claims), now=self._clock())
        return json_response(200, SessionBody.of(session).model_dump())

    def _get_session(
        self, request: Request, params: Params, claims: SessionClaims | None
    ) -> Response:
        session = services.get_session(self._sessions, params["session_id"], now=self._clock())
        return json_response(200, SessionBody.of(session).model_dump())

    def _delete_session(
        self, request: Request, params: Params, claims: SessionClaims | None
    ) -> Response:
        services.end_session(self._sessions, params["session_id"], now=self._clock())
        return no_content_response()

    def _get_trade(
        self, request: Request, params: Params, claims: SessionClaims | None
    ) -> Response:
        trade = services.get_trade(self._trades, params["trade_id"], claims=_required(claims))
        return json_response(200, TradeBody.of(trade).model_dump())

    def _list_account_trades(
        self, request: Request, params: Params, claims: SessionClaims | None
    ) -> Response:
        limit = _parse_limit(request.query.get("limit"))
        next_token = request.query.get("next_token")
        if next_token is not None and not next_token:
            raise InvalidQueryParameterError("next_token must not be empty")
        items, token = services.list_account_trades(
            self._trades,
            params["account_id"],
            claims=_required(claims),
            limit=limit,
            next_token=next_token,
        )
        page = TradePageBody(items=[TradeBody.of(t) for t in items], next_token=token)
        return json_response(200, page.model_dump())
