"""The event an HTTP API sends its Lambda proxy integration: payload format 2.0 (and 1.0)."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

from tests.tooling.emulator.httpapi.support import (
    ACCOUNT,
    API_ID,
    FUNCTION_ARN,
    INTEGRATION_ID,
    REGION,
    base,
    http_api,
    serve,
)
from tooling.emulator.httpapi.ports import Integration

MOMENT = datetime(2024, 3, 5, 7, 8, 9, 123000, tzinfo=UTC)


def _event(method: str = "GET", path: str = "/trades/T-1", **kwargs: Any) -> dict[str, Any]:
    gateway = serve(
        http_api("ANY /trades/{trade_id}", stage_variables={"table": "trades-dev"}),
        clock=lambda: MOMENT,
    )
    gateway.client.open(f"{base('dev')}{path}", method=method, **kwargs)
    return gateway.invoker.last_event


def test_the_event_names_version_and_route() -> None:
    event = _event()

    assert (event["version"], event["routeKey"]) == ("2.0", "ANY /trades/{trade_id}")


def test_raw_path_includes_the_stage_segment_of_a_named_stage() -> None:
    event = _event(path="/trades/T-1")

    assert event["rawPath"] == "/dev/trades/T-1"
    assert event["requestContext"]["http"]["path"] == "/dev/trades/T-1"


def test_raw_path_of_the_default_stage_has_no_stage_segment() -> None:
    gateway = serve(http_api("GET /trades", stages=("$default",)))

    gateway.client.get(f"{base(None)}/trades")

    assert gateway.invoker.last_event["rawPath"] == "/trades"


def test_header_names_are_lower_cased() -> None:
    event = _event(headers={"X-Request-Source": "desk-7"})

    assert event["headers"]["x-request-source"] == "desk-7"


def test_repeated_headers_arrive_comma_joined() -> None:
    # WSGI has no repeated headers: the server joins them (werkzeug's with ","), as AWS does.
    event = _event(environ_overrides={"HTTP_X_TAG": "a,b"})

    assert event["headers"]["x-tag"] == "a,b"


def test_the_query_string_is_raw_and_repeated_parameters_are_comma_joined() -> None:
    event = _event(query_string="side=buy&side=sell&q=a%20b")

    assert event["rawQueryString"] == "side=buy&side=sell&q=a%20b"
    assert event["queryStringParameters"] == {"side": "buy,sell", "q": "a b"}


def test_without_a_query_there_are_no_query_string_parameters() -> None:
    event = _event()

    assert event["rawQueryString"] == "" and "queryStringParameters" not in event


def test_cookies_are_moved_out_of_the_headers() -> None:
    event = _event(headers={"Cookie": "session=abc; theme=dark"})

    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in event["headers"]


def test_path_parameters_and_stage_variables_are_passed() -> None:
    event = _event(path="/trades/T-9")

    assert event["pathParameters"] == {"trade_id": "T-9"}
    assert event["stageVariables"] == {"table": "trades-dev"}


def test_a_json_body_is_passed_as_text() -> None:
    event = _event(method="POST", data=b'{"qty": 5}', content_type="application/json")

    assert (event["body"], event["isBase64Encoded"]) == ('{"qty": 5}', False)


def test_a_binary_body_is_base64_encoded() -> None:
    payload = bytes(range(256))
    event = _event(method="POST", data=payload, content_type="application/octet-stream")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_without_a_body_there_is_no_body_field() -> None:
    event = _event()

    assert "body" not in event and event["isBase64Encoded"] is False


def test_the_request_context_describes_api_stage_and_caller() -> None:
    context = _event(headers={"User-Agent": "tap-cli/1.0"})["requestContext"]

    assert {k: context[k] for k in ("accountId", "apiId", "stage", "domainPrefix")} == {
        "accountId": ACCOUNT,
        "apiId": API_ID,
        "stage": "dev",
        "domainPrefix": API_ID,
    }
    assert context["domainName"] == f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    assert context["http"] == {
        "method": "GET",
        "path": "/dev/trades/T-1",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tap-cli/1.0",
    }


def test_the_request_time_is_in_api_gateway_format() -> None:
    context = _event()["requestContext"]

    assert context["time"] == "05/Mar/2024:07:08:09 +0000"
    assert context["timeEpoch"] == 1709622489123


def test_the_request_id_looks_like_api_gateway_s() -> None:
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", _event()["requestContext"]["requestId"])


def test_a_route_without_authorization_has_no_authorizer_block() -> None:
    assert "authorizer" not in _event()["requestContext"]


def test_format_1_0_has_multi_value_fields_and_the_resource() -> None:
    integration = Integration(INTEGRATION_ID, "AWS_PROXY", FUNCTION_ARN, "1.0")
    gateway = serve(http_api("GET /trades/{trade_id}", integration=integration))

    gateway.client.get(f"{base('dev')}/trades/T-1?side=buy&side=sell")
    event = gateway.invoker.last_event

    assert (event["version"], event["resource"], event["httpMethod"]) == (
        "1.0",
        "/trades/{trade_id}",
        "GET",
    )
    assert event["multiValueQueryStringParameters"] == {"side": ["buy", "sell"]}
    assert event["queryStringParameters"] == {"side": "sell"}
    assert event["body"] is None and event["stageVariables"] is None
