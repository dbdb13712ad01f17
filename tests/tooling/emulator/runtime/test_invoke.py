"""LambdaRuntime.invoke on the happy path: warm reuse, Lambda's environment, context, logs."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Any

from tests.tooling.emulator.runtime.conftest import (
    ENDPOINT_URL,
    REPO_ROOT,
    RecordingSink,
    events_text,
    make_spec,
)
from tooling.emulator.process import FAKE_CREDENTIALS
from tooling.emulator.runtime import LambdaRuntime
from tooling.emulator.runtime.code_store import code_directory_name

APP = """
import json, os, sys, time
import boto3

print("init output")

def handler(event, context):
    print("event", json.dumps(event))
    first = context.get_remaining_time_in_millis()
    time.sleep(event.get("sleep", 0))
    return {
        "pid": os.getpid(),
        "env": dict(os.environ),
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "client_context": context.client_context,
            "identity": [context.identity.cognito_identity_id,
                         context.identity.cognito_identity_pool_id],
        },
        "remaining_ms": [first, context.get_remaining_time_in_millis()],
        "boto3": [boto3.__version__, boto3.__file__],
        "endpoint": boto3.client("s3").meta.endpoint_url,
        "sys_path": sys.path,
        "cwd": os.getcwd(),
        "version": list(sys.version_info[:2]),
    }
"""

LAMBDA_VARIABLES = {
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "_HANDLER",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "LANG",
    "TZ",
    "PATH",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
}


def _invoke(runtime: LambdaRuntime, spec: Any, event: dict[str, Any]) -> dict[str, Any]:
    result = runtime.invoke(spec, json.dumps(event).encode())
    assert result.function_error is None, result.payload
    answer: dict[str, Any] = json.loads(result.payload)
    return answer


def test_a_warm_worker_serves_the_second_invocation(lambda_runtime: LambdaRuntime) -> None:
    spec = make_spec({"app.py": APP}, environment={"TABLE": "orders"})

    first = lambda_runtime.invoke(spec, b'{"n": 1}')
    second = lambda_runtime.invoke(spec, b'{"n": 2}')

    assert json.loads(first.payload)["pid"] == json.loads(second.payload)["pid"]
    assert first.init_duration_ms is not None and first.init_duration_ms > 0
    assert second.init_duration_ms is None
    assert lambda_runtime.worker_count(spec.function_arn) == 1


def test_the_worker_sees_only_lambdas_environment(lambda_runtime: LambdaRuntime) -> None:
    spec = make_spec(
        {"app.py": APP},
        environment={"TABLE": "orders", "AWS_REGION": "eu-west-1", "TZ": ":Europe/Paris"},
        memory_mib=512,
    )

    answer = _invoke(lambda_runtime, spec, {})
    env = answer["env"]

    assert set(env) == LAMBDA_VARIABLES | {"TABLE"}
    assert env["TABLE"] == "orders"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"  # reserved: not yours
    assert env["TZ"] == ":Europe/Paris"  # not reserved: a configuration may change it
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert re.fullmatch(
        r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"]
    )
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["_HANDLER"] == "app.handler"
    assert env["LANG"] == "en_US.UTF-8"
    assert env["AWS_ENDPOINT_URL"] == ENDPOINT_URL
    assert env["AWS_ACCESS_KEY_ID"] == FAKE_CREDENTIALS.access_key_id
    assert env["AWS_SECRET_ACCESS_KEY"] == FAKE_CREDENTIALS.secret_access_key
    assert env["AWS_SESSION_TOKEN"] == FAKE_CREDENTIALS.session_token
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == "/dev/null"
    assert Path(env["LAMBDA_TASK_ROOT"]).name == code_directory_name(spec.code_sha256)
    assert answer["cwd"] == env["LAMBDA_TASK_ROOT"]


def test_the_context_has_lambdas_attributes(lambda_runtime: LambdaRuntime) -> None:
    spec = make_spec({"app.py": APP}, timeout_seconds=5, memory_mib=128)

    result = lambda_runtime.invoke(spec, b"{}", request_id="req-1")
    answer = json.loads(result.payload)

    assert answer["context"] == {
        "aws_request_id": "req-1",
        "function_name": "fn",
        "function_version": "$LATEST",
        "invoked_function_arn": spec.function_arn,
        "memory_limit_in_mb": "128",
        "log_group_name": "/aws/lambda/fn",
        "log_stream_name": answer["env"]["AWS_LAMBDA_LOG_STREAM_NAME"],
        "client_context": None,
        "identity": [None, None],
    }
    assert result.request_id == "req-1"


def test_remaining_time_counts_down_from_the_timeout(lambda_runtime: LambdaRuntime) -> None:
    spec = make_spec({"app.py": APP}, timeout_seconds=5)

    before, after = _invoke(lambda_runtime, spec, {"sleep": 0.2})["remaining_ms"]
    warm_before, _ = _invoke(lambda_runtime, spec, {})["remaining_ms"]

    assert 4_500 < before <= 5_000
    assert 150 <= before - after <= 500
    assert 4_500 < warm_before <= 5_000  # each invocation has its own deadline


def test_the_runtime_provides_its_own_boto3_and_the_loopback_endpoint(
    lambda_runtime: LambdaRuntime, runtimes_dir: Path
) -> None:
    answer = _invoke(lambda_runtime, make_spec({"app.py": APP}), {})

    version, location = answer["boto3"]
    assert version == "1.40.4"  # python3.12-runtime.txt, not the project's 1.44.x
    assert Path(location).is_relative_to(runtimes_dir / "python3.12")
    assert answer["endpoint"] == ENDPOINT_URL
    assert answer["version"] == [3, 12]
    task_root = answer["env"]["LAMBDA_TASK_ROOT"]
    assert answer["sys_path"][:2] == [task_root, answer["env"]["LAMBDA_RUNTIME_DIR"]]
    assert not any(str(REPO_ROOT / ".venv") in entry for entry in answer["sys_path"])


def test_the_log_has_start_end_report_and_init_duration_only_on_a_cold_start(
    lambda_runtime: LambdaRuntime, sink: RecordingSink
) -> None:
    spec = make_spec({"app.py": APP}, memory_mib=256)

    cold = lambda_runtime.invoke(spec, b'{"n": 1}', request_id="cold")
    warm = lambda_runtime.invoke(spec, b'{"n": 2}', request_id="warm")

    (cold_stream, cold_events), (warm_stream, warm_events) = sink.batches
    assert cold_stream == warm_stream
    cold_log, warm_log = events_text(cold_events), events_text(warm_events)
    assert cold_log[0].startswith("INIT_START Runtime Version: python:3.12")
    assert cold_log[1:5] == [
        "init output\n",
        "START RequestId: cold Version: $LATEST\n",
        'event {"n": 1}\n',
        "END RequestId: cold\n",
    ]
    assert re.fullmatch(
        r"REPORT RequestId: cold\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t\n",
        cold_log[5],
    )
    assert warm_log[:3] == [
        "START RequestId: warm Version: $LATEST\n",
        'event {"n": 2}\n',
        "END RequestId: warm\n",
    ]
    assert "Init Duration" not in warm_log[3]
    assert warm.billed_duration_ms >= warm.duration_ms
    assert warm.log_tail == "".join(warm_log)
    assert cold.log_tail.endswith(cold_log[5])
    timestamps = [epoch_ms for epoch_ms, _ in cold_events]
    assert timestamps == sorted(timestamps)


def test_a_new_code_or_configuration_retires_the_old_worker(
    lambda_runtime: LambdaRuntime,
) -> None:
    spec = make_spec({"app.py": APP})
    first = _invoke(lambda_runtime, spec, {})["pid"]

    changed_config = dataclasses.replace(spec, environment={"STAGE": "2"})
    second = _invoke(lambda_runtime, changed_config, {})
    changed_code = make_spec({"app.py": APP + "\n# v3\n"}, environment={"STAGE": "2"})
    third = _invoke(lambda_runtime, changed_code, {})

    assert len({first, second["pid"], third["pid"]}) == 3
    assert second["env"]["STAGE"] == "2"
    assert third["env"]["LAMBDA_TASK_ROOT"] != second["env"]["LAMBDA_TASK_ROOT"]
    assert not Path(f"/proc/{first}").exists()  # the retired idle worker was killed
    assert lambda_runtime.worker_count(spec.function_arn) == 1


def test_idle_workers_are_reaped(runtime_factory: Any) -> None:
    runtime: LambdaRuntime = runtime_factory(idle_seconds_before_reap=0.2)
    spec = make_spec({"app.py": "def handler(e, c):\n    import os\n    return os.getpid()\n"})
    pid = json.loads(runtime.invoke(spec, b"{}").payload)

    for _ in range(100):  # the reaper counts the worker out, then kills it
        if runtime.worker_count(spec.function_arn) == 0 and not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.05)

    assert runtime.worker_count(spec.function_arn) == 0
    assert not Path(f"/proc/{pid}").exists()
