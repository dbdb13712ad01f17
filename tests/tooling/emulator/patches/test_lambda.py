"""tooling.emulator.patches.lambda_: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 4: a
function's DeadLetterConfig and LoggingConfig are not returned; gap 5: Invoke needs Docker; rule
R4: Lambda's payload limits, which unpatched moto does not enforce)."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable
from functools import partial
from typing import Any
from unittest.mock import patch

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.emulator.conftest import client, create_python_function, named
from tooling.emulator.invocations import LambdaService
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"
Clients = Callable[[str], Any]


@pytest.fixture
def aws(endpoint: str) -> Clients:
    """boto3 clients of a freshly reset in-process moto server."""
    reset_moto(endpoint)
    return partial(client, endpoint, region=REGION, reset=False)


# --------------------------------------------------------------------------- DeadLetterConfig


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _create_function_with_dlq(aws: Clients) -> tuple[Any, str]:
    role = aws("iam").create_role(
        RoleName="fn",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:fn-dlq"
    awslambda = aws("lambda")
    awslambda.create_function(
        FunctionName="fn",
        Runtime="python3.11",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        DeadLetterConfig={"TargetArn": dlq},
    )
    return awslambda, dlq


def test_gap4_unpatched_moto_drops_the_lambda_dead_letter_config(aws: Clients) -> None:
    awslambda, _ = _create_function_with_dlq(aws)
    assert "DeadLetterConfig" not in awslambda.get_function(FunctionName="fn")["Configuration"]
    assert "DeadLetterConfig" not in awslambda.get_function_configuration(FunctionName="fn")


def test_gap4_patch_returns_the_lambda_dead_letter_config(aws: Clients) -> None:
    with patched(named("lambda-dead-letter-config")):
        awslambda, dlq = _create_function_with_dlq(aws)
        expected = {"TargetArn": dlq}
        assert awslambda.get_function(FunctionName="fn")["Configuration"]["DeadLetterConfig"] == (
            expected
        )
        assert awslambda.get_function_configuration(FunctionName="fn")["DeadLetterConfig"] == (
            expected
        )
        # The provider removes it with an empty TargetArn, and may set it again.
        awslambda.update_function_configuration(
            FunctionName="fn", DeadLetterConfig={"TargetArn": ""}
        )
        assert "DeadLetterConfig" not in awslambda.get_function_configuration(FunctionName="fn")
        other = f"{dlq}-2"
        awslambda.update_function_configuration(
            FunctionName="fn", DeadLetterConfig={"TargetArn": other}
        )
        configuration = awslambda.get_function_configuration(FunctionName="fn")
        assert configuration["DeadLetterConfig"] == {"TargetArn": other}


# --------------------------------------------------------------------------- LoggingConfig


def _logging_config(endpoint: str) -> tuple[Any, Any]:
    iam = client(endpoint, "iam", region=REGION, reset=True)
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.py", "x = 1\n")
    lam = client(endpoint, "lambda", region=REGION, reset=False)
    lam.create_function(
        FunctionName="f", Runtime="python3.12", Role=role, Handler="a.h",
        Code={"ZipFile": buffer.getvalue()},
        LoggingConfig={"LogFormat": "JSON", "LogGroup": "/aws/lambda/custom"},
    )  # fmt: skip
    created = lam.get_function(FunctionName="f")["Configuration"].get("LoggingConfig")
    lam.update_function_configuration(FunctionName="f", LoggingConfig={"LogFormat": "Text"})
    updated = lam.get_function_configuration(FunctionName="f").get("LoggingConfig")
    return created, updated


def test_gap4_unpatched_moto_drops_the_lambda_logging_config(endpoint: str) -> None:
    created, _ = _logging_config(endpoint)
    assert not created


def test_gap4_patch_returns_the_lambda_logging_config(endpoint: str) -> None:
    with patched(named("lambda-dead-letter-config")):
        created, updated = _logging_config(endpoint)
    assert created == {"LogFormat": "JSON", "LogGroup": "/aws/lambda/custom"}
    assert updated == {"LogFormat": "Text", "LogGroup": "/aws/lambda/custom"}


# --------------------------------------------------------------------------- Invoke (gap 5)

ECHO = (
    "import os\n"
    "def handler(event, context):\n"
    "    return {'event': event, 'table': os.environ['TABLE'], 'name': context.function_name}\n"
)
FAILING = "def handler(event, context):\n    raise ValueError('bad trade file')\n"


def _deploy(aws: Clients, source: str) -> Any:
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    awslambda = aws("lambda")
    create_python_function(
        awslambda, "fn", role, source, Environment={"Variables": {"TABLE": "trades"}}
    )
    return awslambda


def test_gap5_unpatched_moto_cannot_run_a_function_without_docker(aws: Clients) -> None:
    answer = _deploy(aws, ECHO).invoke(FunctionName="fn", Payload=b'{"n": 1}')
    assert b"error running docker" in answer["Payload"].read()


def test_gap5_patch_runs_the_deployed_zip_and_answers_its_result(
    aws: Clients, lambda_service: LambdaService
) -> None:
    with patched(named("lambda-invoke-local-runtime")):
        answer = _deploy(aws, ECHO).invoke(FunctionName="fn", Payload=b'{"n": 1}', LogType="Tail")
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {
        "event": {"n": 1},
        "table": "trades",
        "name": "fn",
    }
    assert answer["ExecutedVersion"] == "$LATEST"
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert f"REPORT RequestId: {request_id}\t" in base64.b64decode(answer["LogResult"]).decode()


def test_gap5_patch_answers_a_handler_error_as_lambda_does(
    aws: Clients, lambda_service: LambdaService
) -> None:
    with patched(named("lambda-invoke-local-runtime")):
        answer = _deploy(aws, FAILING).invoke(FunctionName="fn", Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "bad trade file")


def test_gap5_patch_queues_an_event_invocation_and_answers_202(
    aws: Clients, lambda_service: LambdaService
) -> None:
    with patched(named("lambda-invoke-local-runtime")):
        answer = _deploy(aws, ECHO).invoke(
            FunctionName="fn", Payload=b'{"n": 2}', InvocationType="Event"
        )
        assert answer["StatusCode"] == 202
        assert lambda_service.wait_idle(30)
    logs = aws("logs").filter_log_events(logGroupName="/aws/lambda/fn")["events"]
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert any(event["message"].startswith(f"START RequestId: {request_id} ") for event in logs)


def test_gap5_patch_refuses_a_request_over_lambdas_limit(
    aws: Clients, lambda_service: LambdaService
) -> None:
    big = json.dumps({"data": "x" * 6_300_000}).encode()
    with patched(named("lambda-invoke-local-runtime")):
        awslambda = _deploy(aws, ECHO)
        with pytest.raises(awslambda.exceptions.ClientError, match="RequestEntityTooLarge"):
            awslambda.invoke(FunctionName="fn", Payload=big)


# --------------------------------------------------------------------------- rule R4 (limits)

RESPONDER = "def handler(event, context):\n    return 'x' * (event['respond_bytes'] - 2)\n"


def _event_of_size(size: int) -> bytes:
    """A JSON event of exactly ``size`` bytes."""
    skeleton = len(json.dumps({"data": ""}))
    return json.dumps({"data": "x" * (size - skeleton)}).encode()


#: Over Lambda's request limits by one byte: 6 MB synchronous, 1 MB asynchronous.
OVER_THE_LIMITS = [("RequestResponse", 6_291_457), ("Event", 1_048_577)]


@pytest.mark.parametrize(("invocation_type", "size"), OVER_THE_LIMITS)
def test_r4_unpatched_moto_accepts_requests_over_lambdas_limits(
    aws: Clients, invocation_type: str, size: int
) -> None:
    answer = _deploy(aws, ECHO).invoke(
        FunctionName="fn", Payload=_event_of_size(size), InvocationType=invocation_type
    )
    assert answer["StatusCode"] == {"RequestResponse": 200, "Event": 202}[invocation_type]


@pytest.mark.parametrize(("invocation_type", "size"), OVER_THE_LIMITS)
def test_r4_patch_refuses_requests_over_lambdas_limits_with_413(
    aws: Clients, lambda_service: LambdaService, invocation_type: str, size: int
) -> None:
    with patched(named("lambda-invoke-local-runtime")):
        awslambda = _deploy(aws, ECHO)
        with pytest.raises(awslambda.exceptions.ClientError) as raised:
            awslambda.invoke(
                FunctionName="fn", Payload=_event_of_size(size), InvocationType=invocation_type
            )
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert lambda_service.wait_idle(10)
    logs = aws("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/fn")["logGroups"]
    assert logs == []  # refused before anything ran


def test_r4_patch_queues_an_event_of_exactly_1_mb(
    aws: Clients, lambda_service: LambdaService
) -> None:
    with patched(named("lambda-invoke-local-runtime")):
        answer = _deploy(aws, ECHO).invoke(
            FunctionName="fn", Payload=_event_of_size(1_048_576), InvocationType="Event"
        )
        assert lambda_service.wait_idle(30)
    assert answer["StatusCode"] == 202


def test_r4_unpatched_moto_replaces_a_result_under_lambdas_response_limit(aws: Clients) -> None:
    """moto's Invoke response checks ``sys.getsizeof(result) > 6000000``: a result of 6,100,000
    bytes, which Lambda returns (its limit is 6,291,556 bytes), becomes an error document."""
    from moto.awslambda.models import LambdaFunction

    awslambda = _deploy(aws, ECHO)
    result = b'"' + b"x" * 6_099_998 + b'"'  # what the function returned, without Docker
    with patch.object(LambdaFunction, "invoke", lambda *_args: result):
        answer = awslambda.invoke(FunctionName="fn", Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"


def test_r4_patch_answers_a_response_over_6_mb_as_a_function_error(
    aws: Clients, lambda_service: LambdaService
) -> None:
    with patched(named("lambda-invoke-local-runtime")):
        awslambda = _deploy(aws, RESPONDER)
        too_large = awslambda.invoke(FunctionName="fn", Payload=b'{"respond_bytes": 6291557}')
        largest = awslambda.invoke(FunctionName="fn", Payload=b'{"respond_bytes": 6291556}')
    assert too_large["StatusCode"] == 200
    assert too_large["FunctionError"] == "Unhandled"
    assert json.loads(too_large["Payload"].read()) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    assert "FunctionError" not in largest
    assert len(largest["Payload"].read()) == 6_291_556


# --------------------------------------------------------------------------- reversibility


def test_the_lambda_patches_are_undone() -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    from tooling.emulator.patches import lambda_

    names = ("__init__", "update_configuration", "get_configuration", "invoke")
    originals = {name: LambdaFunction.__dict__[name] for name in names}
    response_invoke = LambdaResponse.__dict__["invoke"]
    with patched(lambda_.PATCHES):
        assert all(LambdaFunction.__dict__[name] is not fn for name, fn in originals.items())
        assert LambdaResponse.__dict__["invoke"] is not response_invoke
    assert all(LambdaFunction.__dict__[name] is fn for name, fn in originals.items())
    assert LambdaResponse.__dict__["invoke"] is response_invoke
