"""tooling.emulator.invocations: Lambda's asynchronous semantics over moto's function model.

The runtime is a fake (no processes): each test says which attempts fail. Functions, their event
invoke configs and the dead-letter queue live in moto's in-process backends (``mock_aws``), as
they do in the emulator's server after a terraform apply.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.tooling.emulator.conftest import FakeRuntime
from tooling.emulator import invocations
from tooling.emulator.invocations import (
    ASYNC_PAYLOAD_LIMIT_BYTES,
    AsyncPayloadTooLargeError,
    LambdaService,
    find_function,
    function_spec,
    retry_delays_seconds,
)
from tooling.emulator.patches import patched
from tooling.emulator.runtime import FunctionSpec, InvocationResult

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


CODE = _zip()


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws(), patched():
        yield lambda service: boto3.client(service, region_name=REGION)


def _function(aws: Any, *, retries: int | None = 2, max_age: int | None = None) -> Any:
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    queue_url = aws("sqs").create_queue(QueueName="fn-dlq")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:123456789012:fn-dlq"
    aws("lambda").create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": CODE},
        Environment={"Variables": {"TABLE": "trades"}},
        DeadLetterConfig={"TargetArn": queue_arn},
    )
    config: dict[str, Any] = {"DestinationConfig": {"OnFailure": {"Destination": queue_arn}}}
    if retries is not None:
        config["MaximumRetryAttempts"] = retries
    if max_age is not None:
        config["MaximumEventAgeInSeconds"] = max_age
    aws("lambda").put_function_event_invoke_config(FunctionName="fn", **config)
    function = find_function(f"arn:aws:lambda:{REGION}:123456789012:function:fn")
    return function, queue_url


def _messages(aws: Any, queue_url: str) -> list[dict[str, Any]]:
    answer = aws("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return list(answer.get("Messages", []))


def test_the_spec_is_the_deployed_configuration(aws: Any) -> None:
    function, _ = _function(aws)
    spec = function_spec(function)
    assert (spec.function_name, spec.handler, spec.runtime) == ("fn", "index.handler", "python3.12")
    assert spec.environment == {"TABLE": "trades"}
    assert (spec.timeout_seconds, spec.memory_mib) == (3, 128)
    assert spec.log_group == "/aws/lambda/fn"
    assert spec.code_zip() == CODE


def test_a_successful_event_runs_once_and_sends_nothing(aws: Any) -> None:
    function, queue_url = _function(aws)
    runtime = FakeRuntime([True])
    service = LambdaService(runtime, retry_delays=(0.0,))  # type: ignore[arg-type]
    request_id = service.submit(function, b'{"n": 1}')
    assert service.wait_idle(10)
    assert [(payload, rid) for _, payload, rid in runtime.calls] == [(b'{"n": 1}', request_id)]
    assert _messages(aws, queue_url) == []


def test_a_failing_event_is_retried_then_dead_lettered_with_lambdas_record(aws: Any) -> None:
    """GIVEN MaximumRetryAttempts 2 and a function that always fails THEN 3 attempts, then the
    event in the dead-letter queue and the invocation record at the on-failure destination."""
    function, queue_url = _function(aws, retries=2)
    runtime = FakeRuntime([False, False, False])
    service = LambdaService(runtime, retry_delays=(0.0,))  # type: ignore[arg-type]
    request_id = service.submit(function, b'{"n": 2}')
    assert service.wait_idle(10)
    assert len(runtime.calls) == 3
    messages = _messages(aws, queue_url)
    dead_letter = next(m for m in messages if json.loads(m["Body"]) == {"n": 2})
    attributes = dead_letter["MessageAttributes"]
    assert attributes["RequestID"]["StringValue"] == request_id
    assert attributes["ErrorCode"]["StringValue"] == "200"
    assert attributes["ErrorMessage"]["StringValue"] == "boom"
    record = next(json.loads(m["Body"]) for m in messages if "requestContext" in m["Body"])
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{function.function_arn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"n": 2}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "boom"


def test_no_retries_when_the_config_says_zero(aws: Any) -> None:
    function, queue_url = _function(aws, retries=0)
    runtime = FakeRuntime([False])
    service = LambdaService(runtime, retry_delays=(0.0,))  # type: ignore[arg-type]
    service.submit(function, b"{}")
    assert service.wait_idle(10)
    assert len(runtime.calls) == 1
    assert len(_messages(aws, queue_url)) == 2  # dead letter + on-failure record


def test_a_retry_that_succeeds_sends_nothing(aws: Any) -> None:
    function, queue_url = _function(aws, retries=2)
    runtime = FakeRuntime([False, True])
    service = LambdaService(runtime, retry_delays=(0.0,))  # type: ignore[arg-type]
    service.submit(function, b"{}")
    assert service.wait_idle(10)
    assert len(runtime.calls) == 2
    assert _messages(aws, queue_url) == []


def test_each_attempt_runs_the_configuration_current_at_that_time(aws: Any) -> None:
    function, _ = _function(aws, retries=1)
    seen: list[str] = []

    class Fixing(FakeRuntime):
        def invoke(
            self, spec: FunctionSpec, payload: bytes, *, request_id: str | None = None
        ) -> InvocationResult:
            seen.append(spec.environment["TABLE"])
            aws("lambda").update_function_configuration(
                FunctionName="fn", Environment={"Variables": {"TABLE": "fixed"}}
            )
            return super().invoke(spec, payload, request_id=request_id)

    service = LambdaService(Fixing([False, True]), retry_delays=(0.0,))  # type: ignore[arg-type]
    service.submit(function, b"{}")
    assert service.wait_idle(10)
    assert seen == ["trades", "fixed"]


def test_an_event_older_than_the_maximum_age_is_not_run_again(aws: Any) -> None:
    function, queue_url = _function(aws, retries=2, max_age=60)
    now = [1000.0]
    runtime = FakeRuntime([False, False, False])
    service = LambdaService(
        runtime,  # type: ignore[arg-type]
        retry_delays=(0.0,),
        clock=lambda: now[0],
    )

    def ageing(spec: FunctionSpec, payload: bytes, *, request_id: str | None = None) -> Any:
        now[0] += 61  # the attempt took the event past its maximum age
        return FakeRuntime.invoke(runtime, spec, payload, request_id=request_id)

    runtime.invoke = ageing  # type: ignore[method-assign]
    service.submit(function, b"{}")
    assert service.wait_idle(10)
    assert len(runtime.calls) == 1
    records = [json.loads(m["Body"]) for m in _messages(aws, queue_url)]
    assert any(r.get("requestContext", {}).get("condition") == "EventAgeExceeded" for r in records)


def test_an_async_payload_over_lambdas_limit_is_refused(aws: Any) -> None:
    function, _ = _function(aws)
    service = LambdaService(FakeRuntime(), retry_delays=(0.0,))  # type: ignore[arg-type]
    with pytest.raises(AsyncPayloadTooLargeError, match="Event invocation type"):
        service.submit(function, b"x" * (ASYNC_PAYLOAD_LIMIT_BYTES + 1))


@pytest.mark.parametrize(
    ("raw", "delays"), [("", (1.0, 2.0)), ("0.5", (0.5,)), ("0,1.5", (0.0, 1.5))]
)
def test_retry_delays_come_from_the_environment(raw: str, delays: tuple[float, ...]) -> None:
    assert retry_delays_seconds({invocations.RETRY_DELAYS_ENV: raw}) == delays


@pytest.mark.parametrize("raw", ["soon", "-1", "1,,2"])
def test_bad_retry_delays_name_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match=invocations.RETRY_DELAYS_ENV):
        retry_delays_seconds({invocations.RETRY_DELAYS_ENV: raw})
