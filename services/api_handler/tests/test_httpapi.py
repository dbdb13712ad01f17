"""Reading payload-2.0 requests, writing responses, and the error -> response mapping."""

from __future__ import annotations

import base64
import json

import pytest
from api_handler.domain.errors import (
    ApiError,
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
)
from api_handler.events import http_api_event
from api_handler.httpapi import (
    MAX_BODY_BYTES,
    Request,
    error_response,
    json_response,
    no_content_response,
)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidBodyError("x"), 400, "invalid_body"),
        (RequestValidationError("x"), 400, "validation_error"),
        (InvalidPathParameterError("x"), 400, "invalid_path_parameter"),
        (InvalidQueryParameterError("x"), 400, "invalid_query_parameter"),
        (InvalidPageTokenError("x"), 400, "invalid_next_token"),
        (SessionNotFoundError(), 404, "session_not_found"),
        (TradeNotFoundError(), 404, "trade_not_found"),
        (RouteNotFoundError("x"), 404, "route_not_found"),
        (MethodNotAllowedError("PUT", ("GET",)), 405, "method_not_allowed"),
        (PayloadTooLargeError("x"), 413, "payload_too_large"),
    ],
)
def test_each_client_error_has_its_status_and_code(error: ApiError, status: int, code: str) -> None:
    response = error_response(error)
    assert response["statusCode"] == status
    assert response["headers"]["content-type"] == "application/json"
    assert json.loads(response["body"]) == {"error": {"code": code, "message": error.message}}


def test_405_lists_the_allowed_methods_in_an_allow_header() -> None:
    response = error_response(MethodNotAllowedError("PUT", ("DELETE", "GET")))
    assert response["headers"]["allow"] == "DELETE, GET"


def test_any_other_exception_is_a_500_that_reveals_nothing() -> None:
    response = error_response(KeyError("prod-sessions-table"))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {
        "error": {"code": "internal_error", "message": "internal error"}
    }
    assert "prod-sessions-table" not in response["body"]
    assert "KeyError" not in response["body"]


def test_json_responses_are_compact_json_and_not_cached() -> None:
    response = json_response(200, {"a": [1, 2]})
    assert response == {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "cache-control": "no-store"},
        "body": '{"a":[1,2]}',
        "isBase64Encoded": False,
    }


def test_204_has_neither_body_nor_content_type() -> None:
    response = no_content_response()
    assert response["statusCode"] == 204
    assert "body" not in response
    assert "content-type" not in response["headers"]


def test_a_request_is_read_from_an_event() -> None:
    event = http_api_event("post", "/sessions", query={"a": "1"}, headers={"X-A": "b"}, body="{}")
    request = Request.from_event(event)
    assert (request.method, request.path, request.query["a"]) == ("POST", "/sessions", "1")
    assert request.headers["x-a"] == "b"
    assert request.body() == b"{}"


def test_the_stage_prefix_of_a_named_stage_is_removed_from_the_path() -> None:
    assert Request.from_event(http_api_event("GET", "/health", stage="prod")).path == "/health"


def test_a_base64_body_is_decoded() -> None:
    request = Request.from_event(http_api_event("POST", "/sessions", body=b'{"a":1}'))
    assert request.json_body() == {"a": 1}


def test_invalid_base64_is_a_client_error() -> None:
    request = Request("POST", "/sessions", raw_body="%%%not base64", body_is_base64=True)
    with pytest.raises(InvalidBodyError, match="base64"):
        request.body()


@pytest.mark.parametrize("binary", [False, True])
def test_a_body_of_exactly_16_kib_is_accepted(binary: bool) -> None:
    data = b"x" * MAX_BODY_BYTES
    raw = base64.b64encode(data).decode() if binary else data.decode()
    assert Request("POST", "/", raw_body=raw, body_is_base64=binary).body() == data


@pytest.mark.parametrize("binary", [False, True])
def test_a_body_over_16_kib_is_too_large(binary: bool) -> None:
    data = b"x" * (MAX_BODY_BYTES + 1)
    raw = base64.b64encode(data).decode() if binary else data.decode()
    with pytest.raises(PayloadTooLargeError):
        Request("POST", "/", raw_body=raw, body_is_base64=binary).body()


def test_a_text_body_is_measured_in_utf8_bytes() -> None:
    raw = "é" * (MAX_BODY_BYTES // 2 + 1)  # 2 bytes each
    with pytest.raises(PayloadTooLargeError):
        Request("POST", "/", raw_body=raw).body()


@pytest.mark.parametrize(
    ("raw", "binary"),
    [
        pytest.param(None, False, id="absent"),
        pytest.param("", False, id="empty"),
        pytest.param("   ", False, id="blank"),
        pytest.param("{", False, id="truncated"),
        pytest.param("{'a': 1}", False, id="python-literal"),
        pytest.param(base64.b64encode(b"\xff\xfe{}").decode(), True, id="not-utf8"),
    ],
)
def test_a_missing_or_malformed_json_body_is_a_client_error(raw: str | None, binary: bool) -> None:
    with pytest.raises(InvalidBodyError):
        Request("POST", "/", raw_body=raw, body_is_base64=binary).json_body()
