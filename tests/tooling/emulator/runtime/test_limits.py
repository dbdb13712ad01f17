"""Lambda's payload limits: 6 MB requests refused up front, larger responses as an error."""

from __future__ import annotations

import json

import pytest

from tests.tooling.emulator.runtime.conftest import make_spec
from tooling.emulator.runtime import (
    REQUEST_PAYLOAD_LIMIT_BYTES,
    RESPONSE_PAYLOAD_LIMIT_BYTES,
    InvalidRequestContentError,
    LambdaRuntime,
    RequestTooLargeError,
)

APP = """
def handler(event, context):
    if "respond_bytes" in event:
        return "x" * (event["respond_bytes"] - 2)  # JSON quotes
    return {"received": len(event.get("blob", ""))}
"""


def _event_of_size(size: int) -> bytes:
    skeleton = len(json.dumps({"blob": ""}))
    return json.dumps({"blob": "x" * (size - skeleton)}).encode()


def test_a_request_over_6_mb_is_refused_before_anything_runs(
    lambda_runtime: LambdaRuntime,
) -> None:
    spec = make_spec({"app.py": APP})

    with pytest.raises(RequestTooLargeError, match="6291456"):
        lambda_runtime.invoke(spec, _event_of_size(REQUEST_PAYLOAD_LIMIT_BYTES + 1))

    assert lambda_runtime.worker_count(spec.function_arn) == 0


def test_a_request_of_exactly_6_mb_is_served(lambda_runtime: LambdaRuntime) -> None:
    payload = _event_of_size(REQUEST_PAYLOAD_LIMIT_BYTES)
    assert len(payload) == REQUEST_PAYLOAD_LIMIT_BYTES

    result = lambda_runtime.invoke(make_spec({"app.py": APP}), payload)

    assert result.function_error is None
    assert json.loads(result.payload)["received"] == REQUEST_PAYLOAD_LIMIT_BYTES - 12


def test_a_response_over_the_limit_is_function_response_size_too_large(
    lambda_runtime: LambdaRuntime,
) -> None:
    spec = make_spec({"app.py": APP})

    too_large = lambda_runtime.invoke(
        spec, json.dumps({"respond_bytes": RESPONSE_PAYLOAD_LIMIT_BYTES + 1}).encode()
    )
    largest = lambda_runtime.invoke(
        spec, json.dumps({"respond_bytes": RESPONSE_PAYLOAD_LIMIT_BYTES}).encode()
    )

    assert too_large.function_error == "Unhandled"
    assert json.loads(too_large.payload) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    assert largest.function_error is None
    assert len(largest.payload) == RESPONSE_PAYLOAD_LIMIT_BYTES


def test_a_request_that_is_not_json_is_refused(lambda_runtime: LambdaRuntime) -> None:
    with pytest.raises(InvalidRequestContentError):
        lambda_runtime.invoke(make_spec({"app.py": APP}), b"{not json")


def test_an_empty_request_is_an_empty_object(lambda_runtime: LambdaRuntime) -> None:
    result = lambda_runtime.invoke(make_spec({"app.py": APP}), b"")

    assert json.loads(result.payload) == {"received": 0}
