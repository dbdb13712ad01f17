"""tooling.emulator.patches.lambda_: the patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 4: a
function's DeadLetterConfig and LoggingConfig are not returned)."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.emulator.conftest import client, named
from tooling.emulator import invocations
from tooling.emulator.invocations import LambdaService, MotoLogSink
from tooling.emulator.patches import patched
from tooling.emulator.runtime import LambdaRuntime

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


def _code(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


@pytest.fixture
def lambda_service(endpoint: str, runtimes_dir: Path, tmp_path: Path) -> Iterator[LambdaService]:
    """The emulator's Lambda service, its workers calling back into the in-process server."""
    runtime = LambdaRuntime(
        work_dir=tmp_path, endpoint_url=endpoint, log_sink=MotoLogSink(), runtimes_dir=runtimes_dir
    )
    service = LambdaService(runtime, retry_delays=(0.0,))
    previous = invocations.configure(service)
    try:
        yield service
    finally:
        invocations.configure(previous)
        service.shutdown()


def _deploy(aws: Clients, source: str) -> Any:
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    awslambda = aws("lambda")
    awslambda.create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _code(source)},
        Environment={"Variables": {"TABLE": "trades"}},
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
    assert "REPORT RequestId: " in base64.b64decode(answer["LogResult"]).decode()


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
    assert any(event["message"].startswith("START RequestId: ") for event in logs)


def test_gap5_patch_refuses_a_request_over_lambdas_limit(
    aws: Clients, lambda_service: LambdaService
) -> None:
    big = json.dumps({"data": "x" * 6_300_000}).encode()
    with patched(named("lambda-invoke-local-runtime")):
        awslambda = _deploy(aws, ECHO)
        with pytest.raises(awslambda.exceptions.ClientError, match="RequestEntityTooLarge"):
            awslambda.invoke(FunctionName="fn", Payload=big)


# --------------------------------------------------------------------------- reversibility


def test_the_lambda_patches_are_undone() -> None:
    from moto.awslambda.models import LambdaFunction

    from tooling.emulator.patches import lambda_

    names = ("__init__", "update_configuration", "get_configuration", "invoke")
    originals = {name: LambdaFunction.__dict__[name] for name in names}
    with patched(lambda_.PATCHES):
        assert all(LambdaFunction.__dict__[name] is not fn for name, fn in originals.items())
    assert all(LambdaFunction.__dict__[name] is fn for name, fn in originals.items())
