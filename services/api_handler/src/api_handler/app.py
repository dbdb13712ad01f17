"""The HTTP entrypoint: routing, request parsing, use-case calls, response bodies.

Routing is a small explicit table rather than Powertools' ``APIGatewayHttpResolver``:
the resolver answers an unknown method on a known path with 404 (this API must answer
405 with an ``Allow`` header), has no request-size limit (413) and renders its own error
bodies, so the three behaviours would have to be rebuilt around it anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger

from api_handler import services
from api_handler.domain.errors import (
    ApiError,
    InvalidPathParameterError,
    InvalidQueryParameterError,
    MethodNotAllowedError,
    RouteNotFoundError,
)
from api_handler.domain.identifiers import (
    ACCOUNT_ID_RULE,
    SESSION_ID_RULE,
    TRADE_ID_RULE,
    format_utc_timestamp,
    is_account_id,
    is_session_id,
    is_trade_id,
)
from api_handler.domain.sessions import (
    DEFAULT_SESSION_TTL_SECONDS,
    Session,
    new_session_id,
    parse_create_session_request,
)
from api_handler.domain.trades import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Trade
from api_handler.httpapi import (
    Request,
    Response,
    error_response,
    json_response,
    no_content_response,
)
from api_handler.observability import logger as default_logger
from api_handler.ports import SessionRepository, TradeReader

Clock = Callable[[], datetime]
Params = Mapping[str, str]

# Every path parameter name used in a route, with its format.
_PARAM_FORMATS: dict[str, tuple[Callable[[str], bool], str]] = {
    "session_id": (is_session_id, SESSION_ID_RULE),
    "trade_id": (is_trade_id, TRADE_ID_RULE),
    "account_id": (is_account_id, ACCOUNT_ID_RULE),
}


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One method of a route: its handler and the query parameters it accepts."""

    handler: Callable[[Request, Params], Response]
    query: frozenset[str] = frozenset()


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


def _find_route(routes: tuple[Route, ...], path: str) -> tuple[Route, dict[str, str]]:
    """The route whose template matches ``path`` and its raw path parameters (else 404)."""
    for route in routes:
        raw_params = route.match(path)
        if raw_params is not None:
            return route, raw_params
    raise RouteNotFoundError(f"no route matches the path {path}"[:200])


def _resolve(route: Route, request: Request, raw_params: Params) -> tuple[Endpoint, Params]:
    """The endpoint for the request's method (else 405) and its validated parameters (else 400)."""
    endpoint = route.endpoints.get(request.method)
    if endpoint is None:
        raise MethodNotAllowedError(request.method, tuple(sorted(route.endpoints)))
    params: dict[str, str] = {}
    for name, raw in raw_params.items():
        is_valid, rule = _PARAM_FORMATS[name]
        try:
            value = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            value = ""
        if not is_valid(value):
            raise InvalidPathParameterError(f"{name} must be {rule}")
        params[name] = value
    unknown = sorted(set(request.query) - endpoint.query)
    if unknown:
        raise InvalidQueryParameterError(f"unknown query parameter: {', '.join(unknown)}")
    return endpoint, params


def _session_body(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "account_id": session.account_id,
        "created_at": format_utc_timestamp(session.created_at),
        "expires_at": session.expires_at,
    }


def _trade_body(trade: Trade) -> dict[str, Any]:
    return {
        "trade_id": trade.trade_id,
        "account_id": trade.account_id,
        "symbol": trade.symbol,
        "side": trade.side,
        "quantity": trade.quantity,
        "price": trade.price_text,
        "currency": trade.currency,
        "executed_at": trade.executed_at,
    }


def _parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_LIMIT
    if raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_PAGE_LIMIT:
        return int(raw)
    raise InvalidQueryParameterError(f"limit must be an integer from 1 to {MAX_PAGE_LIMIT}")


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
        self._routes = (
            Route("/health", {"GET": Endpoint(self._health)}),
            Route("/sessions", {"POST": Endpoint(self._create_session)}),
            Route(
                "/sessions/{session_id}",
                {"GET": Endpoint(self._get_session), "DELETE": Endpoint(self._delete_session)},
            ),
            Route("/trades/{trade_id}", {"GET": Endpoint(self._get_trade)}),
            Route(
                "/accounts/{account_id}/trades",
                {"GET": Endpoint(self._list_trades, frozenset({"limit", "next_token"}))},
            ),
        )

    def handle(self, event: Mapping[str, Any]) -> Response:
        """Route and serve one event; log one line (route, status, latency)."""
        started = time.perf_counter()
        route = "unmatched"
        method = "-"
        try:
            request = Request.from_event(event)
            method = request.method
            matched, raw_params = _find_route(self._routes, request.path)
            route = f"{method} {matched.template}"
            endpoint, params = _resolve(matched, request, raw_params)
            request.body()  # size and encoding checks apply to every route
            response = endpoint.handler(request, params)
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

    # --- endpoints -----------------------------------------------------------------------

    def _health(self, request: Request, params: Params) -> Response:
        return json_response(200, {"status": "ok"})

    def _create_session(self, request: Request, params: Params) -> Response:
        body = parse_create_session_request(request.json_body())
        session = services.create_session(
            self._sessions,
            body,
            default_ttl_seconds=self._default_ttl,
            now=self._clock(),
            new_id=self._new_id,
        )
        return json_response(201, _session_body(session))

    def _get_session(self, request: Request, params: Params) -> Response:
        session = services.get_session(self._sessions, params["session_id"], now=self._clock())
        return json_response(200, _session_body(session))

    def _delete_session(self, request: Request, params: Params) -> Response:
        services.end_session(self._sessions, params["session_id"], now=self._clock())
        return no_content_response()

    def _get_trade(self, request: Request, params: Params) -> Response:
        trade = services.get_trade(self._trades, params["trade_id"])
        return json_response(200, _trade_body(trade))

    def _list_trades(self, request: Request, params: Params) -> Response:
        limit = _parse_limit(request.query.get("limit"))
        next_token = request.query.get("next_token")
        if next_token is not None and not next_token:
            raise InvalidQueryParameterError("next_token must not be empty")
        items, token = services.list_account_trades(
            self._trades, params["account_id"], limit=limit, next_token=next_token
        )
        return json_response(200, {"items": [_trade_body(t) for t in items], "next_token": token})
