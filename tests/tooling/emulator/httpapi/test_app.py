"""The HTTP API data plane: stages, route selection and how a function's result becomes the
response, as API Gateway does them."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest
from werkzeug.test import Client

from tests.tooling.emulator.httpapi.support import (
    FUNCTION_ARN,
    INTEGRATION_ID,
    FakeCatalog,
    FakeInvoker,
    answering,
    base,
    http_api,
    json_body,
    serve,
    sleeping,
)
from tooling.emulator.httpapi import PATH_PREFIX, HttpApiGateway, stage_url
from tooling.emulator.httpapi.ports import Integration, LambdaOutcome

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# --------------------------------------------------------------------------- URLs


def test_stage_url_of_a_named_stage_ends_with_the_stage() -> None:
    assert (
        stage_url("http://127.0.0.1:4566", "abc123", "dev")
        == "http://127.0.0.1:4566/_tap/execute-api/abc123/dev"
    )


def test_stage_url_of_the_default_stage_has_no_stage_segment() -> None:
    assert stage_url("http://127.0.0.1:4566/", "abc123", "$default") == (
        f"http://127.0.0.1:4566{PATH_PREFIX}/abc123"
    )


def test_an_unknown_api_is_not_found() -> None:
    gateway = serve(http_api("GET /health"))

    response = gateway.client.get(f"{PATH_PREFIX}/nosuchapi/dev/health")

    assert response.status_code == 404
    assert json_body(response) == {"message": "Not Found"}


def test_a_path_outside_the_prefix_is_not_found() -> None:
    response = serve(http_api("GET /health")).client.get("/health")

    assert response.status_code == 404


# --------------------------------------------------------------------------- stages


def test_a_named_stage_is_stripped_before_routes_are_matched() -> None:
    gateway = serve(http_api("GET /health"))

    response = gateway.client.get(f"{base('dev')}/health")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "GET /health"


def test_without_a_stage_segment_and_no_default_stage_nothing_is_found() -> None:
    gateway = serve(http_api("GET /health", stages=("dev",)))

    assert gateway.client.get(f"{base(None)}/health").status_code == 404


def test_the_default_stage_serves_paths_without_a_stage_segment() -> None:
    gateway = serve(http_api("GET /health", stages=("$default",)))

    response = gateway.client.get(f"{base(None)}/health")

    assert response.status_code == 200
    assert gateway.invoker.last_event["requestContext"]["stage"] == "$default"


def test_a_first_segment_that_is_no_stage_belongs_to_the_default_stage_path() -> None:
    gateway = serve(http_api("GET /dev/health", stages=("$default", "prod")))

    response = gateway.client.get(f"{base(None)}/dev/health")

    assert response.get_data(as_text=True) == "GET /dev/health"


def test_the_stage_root_matches_the_root_route() -> None:
    gateway = serve(http_api("GET /"))

    assert gateway.client.get(base("dev")).get_data(as_text=True) == "GET /"


# --------------------------------------------------------------------------- route selection

ROUTES = (
    "GET /trades/latest",
    "GET /trades/{trade_id}",
    "GET /trades/{proxy+}",
    "ANY /trades/{trade_id}",
    "ANY /{proxy+}",
    "$default",
)


@pytest.mark.parametrize(
    ("method", "path", "route_key"),
    [
        ("GET", "/trades/latest", "GET /trades/latest"),
        ("GET", "/trades/T-1", "GET /trades/{trade_id}"),
        ("GET", "/trades/T-1/fills", "GET /trades/{proxy+}"),
        ("DELETE", "/trades/T-1", "ANY /trades/{trade_id}"),
        ("POST", "/orders", "ANY /{proxy+}"),
        ("GET", "/", "$default"),
    ],
    ids=["exact", "parameter", "greedy", "any-method", "any-greedy", "default-route"],
)
def test_the_most_specific_route_wins(method: str, path: str, route_key: str) -> None:
    gateway = serve(http_api(*ROUTES))

    response = gateway.client.open(f"{base('dev')}{path}", method=method)

    assert response.get_data(as_text=True) == route_key


def test_a_greedy_path_needs_at_least_one_segment() -> None:
    gateway = serve(http_api("GET /trades/{proxy+}", "$default"))

    response = gateway.client.get(f"{base('dev')}/trades")

    assert response.get_data(as_text=True) == "$default"


def test_no_matching_route_and_no_default_route_is_not_found() -> None:
    gateway = serve(http_api("GET /health"))

    response = gateway.client.post(f"{base('dev')}/health")

    assert response.status_code == 404
    assert json_body(response) == {"message": "Not Found"}


def test_path_parameters_are_decoded() -> None:
    gateway = serve(http_api("GET /trades/{trade_id}", "GET /files/{proxy+}"))

    gateway.client.get(f"{base('dev')}/trades/T%201")
    trade = gateway.invoker.last_event["pathParameters"]
    gateway.client.get(f"{base('dev')}/files/a%20b/c")
    files = gateway.invoker.last_event["pathParameters"]

    assert (trade, files) == ({"trade_id": "T 1"}, {"proxy": "a b/c"})


def test_the_invoke_arn_form_of_the_integration_uri_names_the_function() -> None:
    invoke_arn = (
        f"arn:aws:apigateway:eu-west-2:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"
    )
    integration = Integration(INTEGRATION_ID, "AWS_PROXY", invoke_arn)
    gateway = serve(http_api("GET /health", integration=integration))

    gateway.client.get(f"{base('dev')}/health")

    assert [arn for arn, _ in gateway.invoker.calls] == [FUNCTION_ARN]


# --------------------------------------------------------------------------- responses


def _answer(result: object) -> tuple[int, dict[str, str], bytes]:
    gateway = serve(http_api("GET /x"), {FUNCTION_ARN: answering(result)})
    response = gateway.client.get(f"{base('dev')}/x")
    return response.status_code, dict(response.headers), response.get_data()


def test_a_result_with_status_code_is_the_response() -> None:
    status, headers, body = _answer(
        {"statusCode": 201, "headers": {"X-Trade": "T-1"}, "body": '{"id":"T-1"}'}
    )

    assert (status, headers["x-trade"], body) == (201, "T-1", b'{"id":"T-1"}')


def test_a_dict_without_status_code_is_returned_as_json_with_200() -> None:
    status, headers, body = _answer({"trades": []})

    assert (status, headers["content-type"], body) == (200, "application/json", b'{"trades": []}')


def test_a_string_result_is_returned_as_json_with_200() -> None:
    status, headers, body = _answer("hello")

    assert (status, headers["content-type"], body) == (200, "application/json", b'"hello"')


def test_a_base64_encoded_body_is_decoded() -> None:
    png = b"\x89PNG\r\n\x1a\n"
    _, _, body = _answer(
        {"statusCode": 200, "body": base64.b64encode(png).decode(), "isBase64Encoded": True}
    )

    assert body == png


def test_cookies_become_set_cookie_headers() -> None:
    gateway = serve(
        http_api("GET /x"),
        {FUNCTION_ARN: answering({"statusCode": 200, "cookies": ["a=1; Secure", "b=2"]})},
    )

    response = gateway.client.get(f"{base('dev')}/x")

    assert response.headers.getlist("set-cookie") == ["a=1; Secure", "b=2"]


def test_multi_value_headers_are_sent_repeated() -> None:
    gateway = serve(
        http_api("GET /x"),
        {FUNCTION_ARN: answering({"statusCode": 200, "multiValueHeaders": {"X-A": ["1", "2"]}})},
    )

    assert gateway.client.get(f"{base('dev')}/x").headers.getlist("x-a") == ["1", "2"]


def test_responses_carry_a_request_id_and_content_length() -> None:
    _, headers, body = _answer({"statusCode": 200, "body": "four"})

    assert len(headers["apigw-requestid"]) == 16 and headers["content-length"] == str(len(body))


def test_the_request_id_is_the_one_the_function_saw() -> None:
    gateway = serve(http_api("GET /x"))

    response = gateway.client.get(f"{base('dev')}/x")

    assert (
        response.headers["apigw-requestid"]
        == (gateway.invoker.last_event["requestContext"]["requestId"])
    )


def test_a_function_error_is_an_internal_server_error() -> None:
    error = LambdaOutcome(b'{"errorMessage": "boom", "errorType": "ValueError"}', "Unhandled")
    status, _, body = _answer(error)

    assert (status, body) == (500, b'{"message":"Internal Server Error"}')


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200", "body": "x"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "headers": ["x"]},
    ],
    ids=["status-not-int", "body-not-string", "bad-base64", "headers-not-object"],
)
def test_a_malformed_response_is_an_internal_server_error(result: object) -> None:
    status, _, body = _answer(result)

    assert (status, body) == (500, b'{"message":"Internal Server Error"}')


def test_an_invocation_slower_than_the_integration_timeout_is_service_unavailable() -> None:
    integration = Integration(INTEGRATION_ID, "AWS_PROXY", FUNCTION_ARN, "2.0", 50)
    gateway = serve(http_api("GET /x", integration=integration), {FUNCTION_ARN: sleeping(1.0)})

    response = gateway.client.get(f"{base('dev')}/x")

    assert (response.status_code, json_body(response)) == (503, {"message": "Service Unavailable"})


def test_a_body_over_10_mb_is_too_large() -> None:
    gateway = serve(http_api("POST /x"))

    response = gateway.client.post(f"{base('dev')}/x", data=b"x" * (10 * 1024 * 1024 + 1))

    assert response.status_code == 413 and gateway.invoker.calls == []


def test_format_1_0_needs_a_status_code() -> None:
    integration = Integration(INTEGRATION_ID, "AWS_PROXY", FUNCTION_ARN, "1.0")
    gateway = serve(
        http_api("GET /x", integration=integration), {FUNCTION_ARN: answering({"ok": True})}
    )

    assert gateway.client.get(f"{base('dev')}/x").status_code == 500


def test_a_path_outside_the_prefix_goes_to_the_fallback_application() -> None:
    def moto(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("content-type", "text/plain")])
        return [b"moto"]

    gateway = HttpApiGateway(FakeCatalog(), FakeInvoker(), fallback=moto)

    assert Client(gateway).get("/moto-api/").get_data() == b"moto"
