"""http_api_event builds realistic API Gateway HTTP API payload-2.0 events."""

from __future__ import annotations

import base64
import json

import pytest
from api_handler.events import http_api_event, lambda_context


def test_an_event_has_the_payload_2_0_shape() -> None:
    event = http_api_event("get", "/health", request_id="req-1", time_epoch_ms=1709294400250)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/health"
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    assert "queryStringParameters" not in event
    context = event["requestContext"]
    assert context["http"]["method"] == "GET"
    assert context["http"]["path"] == "/health"
    assert context["requestId"] == "req-1"
    assert context["stage"] == "$default"
    assert context["timeEpoch"] == 1709294400250
    assert context["time"] == "01/Mar/2024:12:00:00 +0000"


def test_headers_are_lower_cased_and_completed() -> None:
    event = http_api_event("GET", "/health", headers={"X-Trace": "abc"})
    assert event["headers"]["x-trace"] == "abc"
    assert {"host", "user-agent", "x-forwarded-for"} <= set(event["headers"])


def test_the_cookie_header_becomes_the_cookies_list() -> None:
    event = http_api_event("GET", "/health", headers={"Cookie": "a=1; b=2"})
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]


def test_repeated_query_parameters_are_joined_with_commas_like_api_gateway() -> None:
    event = http_api_event("GET", "/x", query={"limit": "5", "tag": ["a", "b c"]})
    assert event["queryStringParameters"] == {"limit": "5", "tag": "a,b c"}
    assert event["rawQueryString"] == "limit=5&tag=a&tag=b%20c"


def test_a_mapping_body_is_sent_as_json_with_a_json_content_type() -> None:
    event = http_api_event("POST", "/sessions", body={"account_id": "acc-1"})
    assert json.loads(event["body"]) == {"account_id": "acc-1"}
    assert event["headers"]["content-type"] == "application/json"
    assert event["headers"]["content-length"] == str(len(event["body"]))


def test_a_bytes_body_is_base64_encoded() -> None:
    event = http_api_event("POST", "/sessions", body=b"\x00\xff")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff"


def test_a_text_body_is_sent_as_is() -> None:
    assert http_api_event("POST", "/sessions", body="{not json")["body"] == "{not json"


def test_path_parameters_are_filled_from_the_route_key() -> None:
    event = http_api_event(
        "GET", "/accounts/acc%2D1/trades", route_key="GET /accounts/{account_id}/trades"
    )
    assert event["routeKey"] == "GET /accounts/{account_id}/trades"
    assert event["pathParameters"] == {"account_id": "acc-1"}


def test_explicit_path_parameters_win() -> None:
    event = http_api_event("GET", "/trades/T-1", path_parameters={"trade_id": "T-1"})
    assert event["pathParameters"] == {"trade_id": "T-1"}


def test_a_named_stage_prefixes_the_raw_path() -> None:
    event = http_api_event("GET", "/health", stage="prod")
    assert (event["rawPath"], event["requestContext"]["stage"]) == ("/prod/health", "prod")


@pytest.mark.parametrize("path", ["/health?x=1", "health"])
def test_a_path_with_a_query_string_or_without_leading_slash_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="path must start with"):
        http_api_event("GET", path)


def test_every_event_gets_its_own_request_id() -> None:
    first = http_api_event("GET", "/health")["requestContext"]["requestId"]
    assert first != http_api_event("GET", "/health")["requestContext"]["requestId"]


def test_lambda_context_has_what_powertools_reads() -> None:
    context = lambda_context(function_name="fn", request_id="req-1")
    assert context.function_name == "fn"
    assert context.aws_request_id == "req-1"
    assert context.invoked_function_arn.endswith(":function:fn")
    assert 0 < context.get_remaining_time_in_millis() <= 30_000
