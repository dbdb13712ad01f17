"""The HTTP API over in-memory adapters: every route, every documented 4xx, the 500 mapping."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from api_handler.adapters.memory import InMemorySessionRepository, InMemoryTradeReader
from api_handler.app import App
from api_handler.domain.identifiers import is_account_id
from api_handler.domain.pagination import PageCursor, encode_page_token
from api_handler.domain.sessions import Session, session_key
from api_handler.domain.trades import Trade, TradePage
from api_handler.events import http_api_event, iam_authorizer, lambda_authorizer

VALID_ID = "A" * 43  # well-formed, never issued


# The gateway's part: SigV4-checked service routes carry ``authorizer.iam``; session routes
# carry the Lambda authorizer's claims. By default the caller owns the account in the path
# (else acc-1), so these tests exercise the endpoints; test_access.py covers the checks.
CALLER_SESSION_ID = "C" * 43
FAR_FUTURE = 4_102_444_800  # 2100-01-01T00:00:00Z


def gateway_authorizer(path: str) -> dict[str, Any] | None:
    segments = path.split("/")
    if path.startswith("/sessions") and path != "/sessions/current":
        return iam_authorizer()
    if not path.startswith(("/trades/", "/accounts/", "/sessions/current")):
        return None
    account = segments[2] if path.startswith("/accounts/") else "acc-1"
    claims = {
        "account_id": account if is_account_id(account) else "acc-1",
        "session_id": CALLER_SESSION_ID,
        "expires_at": FAR_FUTURE,
    }
    return lambda_authorizer(claims)


def call(app: App, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("authorizer", gateway_authorizer(path))
    return app.handle(http_api_event(method, path, **kwargs))


def body(response: dict[str, Any]) -> Any:
    assert response["headers"]["content-type"] == "application/json"
    return json.loads(response["body"])


def assert_error(response: dict[str, Any], status: int, code: str) -> str:
    """Assert the error shape; return its message."""
    assert response["statusCode"] == status
    error = body(response)["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    return str(error["message"])


def create(app: App, **fields: Any) -> dict[str, Any]:
    return call(app, "POST", "/sessions", body={"account_id": "acc-1", **fields})


# --- GET /health -----------------------------------------------------------------------------


class _Unreachable:
    """A repository that fails on any use (stands in for 'no AWS access')."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"health must not touch storage ({name})")


def test_health_is_ok() -> None:
    app = App(sessions=_Unreachable(), trades=_Unreachable())
    response = app.handle(http_api_event("GET", "/health"))
    assert (response["statusCode"], body(response)) == (200, {"status": "ok"})


# --- POST /sessions --------------------------------------------------------------------------


def test_creating_a_session_returns_201_and_the_session(app: App, issued_session_id: str) -> None:
    response = create(app)
    assert response["statusCode"] == 201
    assert body(response) == {
        "session_id": issued_session_id,
        "account_id": "acc-1",
        "created_at": "2024-03-01T12:00:00.250000Z",
        "expires_at": 1709294400 + 3600,
    }


def test_a_created_session_is_stored(app: App, sessions: InMemorySessionRepository) -> None:
    created = body(create(app))
    stored = sessions.get(created["session_id"])
    assert stored is not None
    assert (stored.account_id, stored.expires_at) == ("acc-1", created["expires_at"])


def test_ttl_seconds_sets_the_lifetime(app: App) -> None:
    assert body(create(app, ttl_seconds=60))["expires_at"] == 1709294400 + 60


def test_the_default_lifetime_comes_from_configuration(trades: InMemoryTradeReader) -> None:
    app = App(sessions=InMemorySessionRepository(), trades=trades, default_ttl_seconds=120)
    created = body(create(app))
    assert (
        created["expires_at"] - int(datetime.fromisoformat(created["created_at"]).timestamp())
        == 120
    )


def test_without_an_injected_id_factory_session_ids_are_random(trades: InMemoryTradeReader) -> None:
    app = App(sessions=InMemorySessionRepository(), trades=trades)
    first, second = body(create(app))["session_id"], body(create(app))["session_id"]
    assert first != second
    assert len(first) == 43


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "account_id"),
        ({"account_id": "has space"}, "account_id"),
        ({"account_id": "x" * 65}, "account_id"),
        ({"account_id": 7}, "account_id"),
        ({"account_id": "a", "ttl_seconds": 59}, "ttl_seconds"),
        ({"account_id": "a", "ttl_seconds": 86_401}, "ttl_seconds"),
        ({"account_id": "a", "ttl_seconds": "600"}, "ttl_seconds"),
        ({"account_id": "a", "extra": 1}, "extra"),
    ],
)
def test_an_invalid_session_request_is_a_400_naming_the_field(
    app: App, sessions: InMemorySessionRepository, payload: dict[str, Any], field: str
) -> None:
    response = call(app, "POST", "/sessions", body=payload)
    assert assert_error(response, 400, "validation_error").startswith(f"{field}:")
    assert sessions.sessions == {}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="no-body"),
        pytest.param("", id="empty"),
        pytest.param('{"account_id": "a"', id="truncated"),
        pytest.param("account_id=a", id="form-encoded"),
        pytest.param('["acc-1"]', id="array"),
        pytest.param("null", id="null"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(app: App, raw: str | None) -> None:
    assert_error(call(app, "POST", "/sessions", body=raw), 400, "invalid_body")


def test_a_base64_encoded_json_body_is_accepted(app: App) -> None:
    response = call(app, "POST", "/sessions", body=b'{"account_id": "acc-1"}')
    assert response["statusCode"] == 201


@pytest.mark.parametrize(
    ("raw", "message"),
    [("***", "not valid base64"), ("//57fQ==", "not valid UTF-8 JSON")],  # \xff\xfe{}
)
def test_a_bad_base64_body_is_a_400(app: App, raw: str, message: str) -> None:
    event = http_api_event("POST", "/sessions", body=raw, authorizer=iam_authorizer())
    event["isBase64Encoded"] = True
    assert message in assert_error(app.handle(event), 400, "invalid_body")


def test_a_body_over_16_kib_is_a_413(app: App, sessions: InMemorySessionRepository) -> None:
    padding = "x" * (16 * 1024)
    response = call(app, "POST", "/sessions", body={"account_id": "acc-1", "pad": padding})
    assert_error(response, 413, "payload_too_large")
    assert sessions.sessions == {}


# --- GET /sessions/{session_id} --------------------------------------------------------------


def test_a_session_can_be_read_back(app: App) -> None:
    created = body(create(app))
    response = call(app, "GET", f"/sessions/{created['session_id']}")
    assert (response["statusCode"], body(response)) == (200, created)


def test_an_unknown_session_is_a_404(app: App) -> None:
    assert_error(call(app, "GET", f"/sessions/{VALID_ID}"), 404, "session_not_found")


def test_a_session_is_readable_until_just_before_it_expires(
    app: App, advance: Callable[[float], None]
) -> None:
    created = body(create(app, ttl_seconds=60))
    advance(59.7)  # 12:00:59.95, expires_at is 12:01:00
    assert call(app, "GET", f"/sessions/{created['session_id']}")["statusCode"] == 200


def test_an_expired_session_is_a_404_even_while_still_stored(
    app: App, sessions: InMemorySessionRepository, advance: Callable[[float], None]
) -> None:
    created = body(create(app, ttl_seconds=60))
    advance(59.75)  # exactly expires_at
    response = call(app, "GET", f"/sessions/{created['session_id']}")
    assert_error(response, 404, "session_not_found")
    assert session_key(created["session_id"]) in sessions.sessions


# --- DELETE /sessions/{session_id} -----------------------------------------------------------


def test_deleting_a_session_is_a_204_without_body(app: App) -> None:
    created = body(create(app))
    response = call(app, "DELETE", f"/sessions/{created['session_id']}")
    assert response["statusCode"] == 204
    assert "body" not in response
    assert "content-type" not in response["headers"]


def test_a_deleted_session_is_gone(app: App) -> None:
    session_id = body(create(app))["session_id"]
    call(app, "DELETE", f"/sessions/{session_id}")
    assert_error(call(app, "GET", f"/sessions/{session_id}"), 404, "session_not_found")


def test_deleting_an_unknown_session_is_a_404(app: App) -> None:
    assert_error(call(app, "DELETE", f"/sessions/{VALID_ID}"), 404, "session_not_found")


def test_deleting_twice_is_a_404_the_second_time(app: App) -> None:
    session_id = body(create(app))["session_id"]
    call(app, "DELETE", f"/sessions/{session_id}")
    assert_error(call(app, "DELETE", f"/sessions/{session_id}"), 404, "session_not_found")


def test_deleting_an_expired_session_is_a_404(app: App, advance: Callable[[float], None]) -> None:
    session_id = body(create(app, ttl_seconds=60))["session_id"]
    advance(61)
    assert_error(call(app, "DELETE", f"/sessions/{session_id}"), 404, "session_not_found")


# --- GET /trades/{trade_id} ------------------------------------------------------------------


def test_a_trade_is_returned_with_exact_price_text_and_integer_quantity(
    app: App, trades: InMemoryTradeReader, make_trade: Callable[..., Trade]
) -> None:
    trades.add(make_trade(trade_id="T-1", price=Decimal("35.1250"), quantity=100))
    response = call(app, "GET", "/trades/T-1")
    assert response["statusCode"] == 200
    assert body(response) == {
        "trade_id": "T-1",
        "account_id": "acc-1",
        "symbol": "D05.SI",
        "side": "BUY",
        "quantity": 100,
        "price": "35.1250",
        "currency": "SGD",
        "executed_at": "2024-03-01T09:30:00.000001Z",
    }


@pytest.mark.parametrize(
    ("price", "text"),
    [("1E-8", "0.00000001"), ("1.2E+3", "1200"), ("0.1", "0.1"), ("12345678901234.5678", None)],
)
def test_prices_are_plain_decimal_text_never_floats_or_exponents(
    app: App,
    trades: InMemoryTradeReader,
    make_trade: Callable[..., Trade],
    price: str,
    text: str | None,
) -> None:
    trades.add(make_trade(price=Decimal(price)))
    returned = body(call(app, "GET", "/trades/T-1"))["price"]
    assert returned == (text or price)
    assert Decimal(returned) == Decimal(price)


def test_an_unknown_trade_is_a_404(app: App) -> None:
    assert_error(call(app, "GET", "/trades/T-404"), 404, "trade_not_found")


# --- GET /accounts/{account_id}/trades -------------------------------------------------------


def _seed(trades: InMemoryTradeReader, make: Callable[..., Trade], count: int) -> None:
    for i in range(count):
        trades.add(
            make(
                trade_id=f"T-{i:03d}",
                executed_at=f"2024-03-01T09:{i // 60:02d}:{i % 60:02d}.000000Z",
            )
        )


def test_an_account_without_trades_lists_nothing(app: App) -> None:
    response = call(app, "GET", "/accounts/acc-1/trades")
    assert (response["statusCode"], body(response)) == (200, {"items": [], "next_token": None})


def test_trades_are_listed_newest_first_and_only_the_accounts(
    app: App, trades: InMemoryTradeReader, make_trade: Callable[..., Trade]
) -> None:
    _seed(trades, make_trade, 3)
    trades.add(make_trade(trade_id="OTHER", account_id="acc-2"))
    listed = body(call(app, "GET", "/accounts/acc-1/trades"))
    assert [t["trade_id"] for t in listed["items"]] == ["T-002", "T-001", "T-000"]
    assert listed["next_token"] is None


def test_the_default_page_has_50_trades(
    app: App, trades: InMemoryTradeReader, make_trade: Callable[..., Trade]
) -> None:
    _seed(trades, make_trade, 51)
    listed = body(call(app, "GET", "/accounts/acc-1/trades"))
    assert len(listed["items"]) == 50
    assert listed["next_token"] is not None


def test_pages_follow_each_other_through_next_token(
    app: App, trades: InMemoryTradeReader, make_trade: Callable[..., Trade]
) -> None:
    _seed(trades, make_trade, 120)
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = {"limit": "50"} | ({"next_token": token} if token else {})
        page = body(call(app, "GET", "/accounts/acc-1/trades", query=query))
        seen += [t["trade_id"] for t in page["items"]]
        pages += 1
        token = page["next_token"]
        if token is None:
            break
    assert pages == 3
    assert seen == [f"T-{i:03d}" for i in reversed(range(120))]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", " 5", "+5", "5,6", "\u0665"])
def test_a_limit_outside_1_to_100_is_a_400(app: App, limit: str) -> None:
    response = call(app, "GET", "/accounts/acc-1/trades", query={"limit": limit})
    assert "limit" in assert_error(response, 400, "invalid_query_parameter")


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limits_1_and_100_are_accepted(app: App, limit: str) -> None:
    response = call(app, "GET", "/accounts/acc-1/trades", query={"limit": limit})
    assert response["statusCode"] == 200


def test_an_unknown_query_parameter_is_a_400_naming_it(app: App) -> None:
    response = call(app, "GET", "/accounts/acc-1/trades", query={"page": "2"})
    assert "page" in assert_error(response, 400, "invalid_query_parameter")


def test_an_empty_next_token_is_a_400(app: App) -> None:
    response = call(app, "GET", "/accounts/acc-1/trades", query={"next_token": ""})
    assert_error(response, 400, "invalid_query_parameter")


@pytest.mark.parametrize("token", ["garbage", "eyJ2IjoxfQ", "A" * 1000, "a.b"])
def test_a_malformed_next_token_is_a_400(app: App, token: str) -> None:
    response = call(app, "GET", "/accounts/acc-1/trades", query={"next_token": token})
    assert_error(response, 400, "invalid_next_token")


def test_a_next_token_of_another_account_is_a_400(app: App) -> None:
    token = encode_page_token(PageCursor("acc-2", "2024-03-01T09:00:00.000000Z", "T-1"))
    response = call(app, "GET", "/accounts/acc-1/trades", query={"next_token": token})
    assert "account" in assert_error(response, 400, "invalid_next_token")


# --- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/nope", "/health/", "/sessions/", "//health", "/sessions/a/b", "/HEALTH"]
)
def test_an_unknown_path_is_a_404(app: App, path: str) -> None:
    assert_error(call(app, "GET", path), 404, "route_not_found")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/health", "GET"),
        ("GET", "/sessions", "POST"),
        ("PUT", f"/sessions/{VALID_ID}", "DELETE, GET"),
        ("PATCH", "/sessions/not-even-valid", "DELETE, GET"),
        ("DELETE", "/trades/T-1", "GET"),
        ("POST", "/accounts/acc-1/trades", "GET"),
        ("OPTIONS", "/health", "GET"),
    ],
)
def test_a_known_path_with_another_method_is_a_405_with_allow(
    app: App, method: str, path: str, allow: str
) -> None:
    response = call(app, method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response["headers"]["allow"] == allow


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/sessions/too-short", "session_id"),
        (f"/sessions/{VALID_ID}A", "session_id"),
        (f"/sessions/{VALID_ID[:-3]}%2F%2F%2F", "session_id"),
        ("/trades/T%201", "trade_id"),
        ("/trades/T%FF", "trade_id"),
        (f"/trades/{'x' * 129}", "trade_id"),
        (f"/accounts/{'a' * 65}/trades", "account_id"),
        ("/accounts/acc.1/trades", "account_id"),
    ],
)
def test_a_malformed_path_parameter_is_a_400_naming_it(app: App, path: str, parameter: str) -> None:
    message = assert_error(call(app, "GET", path), 400, "invalid_path_parameter")
    assert message.startswith(parameter)


def test_percent_encoded_path_parameters_are_decoded(
    app: App, trades: InMemoryTradeReader, make_trade: Callable[..., Trade]
) -> None:
    trades.add(make_trade(trade_id="T:1"))
    assert call(app, "GET", "/trades/T%3A1")["statusCode"] == 200


def test_routes_work_behind_a_named_stage(app: App) -> None:
    assert call(app, "GET", "/health", stage="prod")["statusCode"] == 200


# --- server errors ---------------------------------------------------------------------------


class _BrokenSessions:
    """Fails like a misconfigured adapter, with internal details in the exception."""

    def add(self, session: Session) -> None:
        raise RuntimeError("ResourceNotFoundException: table prod-sessions-secret not found")

    def get(self, session_id: str) -> Session | None:
        raise RuntimeError("ResourceNotFoundException: table prod-sessions-secret not found")

    def remove_unexpired(self, session_id: str, *, now: datetime) -> bool:
        raise RuntimeError("ResourceNotFoundException: table prod-sessions-secret not found")


class _BrokenTrades:
    def get(self, trade_id: str) -> Trade | None:
        raise KeyError("prod-trades-secret")

    def list_for_account(
        self, account_id: str, *, limit: int, after: PageCursor | None
    ) -> TradePage:
        raise KeyError("prod-trades-secret")


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "/sessions", {"account_id": "acc-1"}),
        ("GET", f"/sessions/{VALID_ID}", None),
        ("DELETE", f"/sessions/{VALID_ID}", None),
        ("GET", "/trades/T-1", None),
        ("GET", "/accounts/acc-1/trades", None),
    ],
)
def test_a_server_fault_is_a_500_that_reveals_nothing(
    method: str, path: str, payload: dict[str, Any] | None
) -> None:
    app = App(sessions=_BrokenSessions(), trades=_BrokenTrades())
    response = call(app, method, path, body=payload)
    assert response["statusCode"] == 500
    assert body(response) == {"error": {"code": "internal_error", "message": "internal error"}}
    for secret in ("secret", "Error", "Exception", "Traceback", "prod-"):
        assert secret not in response["body"]


def test_a_server_fault_is_logged_with_its_traceback(log_output: io.StringIO) -> None:
    app = App(sessions=_BrokenSessions(), trades=_BrokenTrades())
    call(app, "GET", f"/sessions/{VALID_ID}")
    records = [json.loads(line) for line in log_output.getvalue().splitlines()]
    errors = [r for r in records if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert "prod-sessions-secret" in errors[0]["exception"]
    assert errors[0]["route"] == "GET /sessions/{session_id}"


def test_an_event_that_is_not_an_http_api_event_is_a_500(app: App) -> None:
    response = app.handle({"Records": []})
    assert response["statusCode"] == 500


# --- request log -----------------------------------------------------------------------------


def _request_lines(log_output: io.StringIO) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in log_output.getvalue().splitlines()]
    return [r for r in records if r["message"] == "request"]


def test_each_request_logs_one_line_with_route_status_and_latency(
    app: App, log_output: io.StringIO
) -> None:
    call(app, "GET", "/health")
    (line,) = _request_lines(log_output)
    assert (line["route"], line["method"], line["status"]) == ("GET /health", "GET", 200)
    assert isinstance(line["latency_ms"], float)
    assert line["service"] == "trading-api-handler"


def test_the_request_log_names_the_route_template_not_the_session_id(
    app: App, log_output: io.StringIO
) -> None:
    session_id = body(create(app))["session_id"]
    call(app, "GET", f"/sessions/{session_id}")
    lines = _request_lines(log_output)
    assert [line["route"] for line in lines] == ["POST /sessions", "GET /sessions/{session_id}"]
    assert session_id not in log_output.getvalue()


def test_client_errors_are_logged_with_their_status_but_without_traceback(
    app: App, log_output: io.StringIO
) -> None:
    call(app, "PUT", "/health")
    (line,) = _request_lines(log_output)
    assert (line["route"], line["status"]) == ("PUT /health", 405)
    assert "Traceback" not in log_output.getvalue()
