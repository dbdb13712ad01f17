"""The emulator's debug endpoint (``/_tap/lambda/debug``) and its client (debugging.py).

The emulator's own WSGI application (tooling.emulator.server.build_app) serves on a loopback
port with the Invoke patch applied, its Lambda service running functions in local workers, as
``./tap`` starts it. The end-to-end test is what ``./tap invoke FUNCTION --debug`` does:
request_debug, then Invoke, which blocks until a DAP client attaches.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import make_server

from tests.tooling.emulator.conftest import named
from tests.tooling.emulator.dap import WAIT_SECONDS, DapClient
from tooling.emulator import invocations
from tooling.emulator.debugging import (
    DEBUG_PATH,
    DebugRequestError,
    DebugSession,
    cancel_debug,
    request_debug,
)
from tooling.emulator.invocations import LambdaService, MotoLogSink
from tooling.emulator.patches import patched
from tooling.emulator.process import FAKE_CREDENTIALS
from tooling.emulator.runtime import LambdaRuntime
from tooling.emulator.server import build_app

pytestmark = pytest.mark.moto

REGION = "eu-west-1"
ACCOUNT = "123456789012"

SOURCE = """\
import os


def handler(event, context):
    return {"echo": event, "task_root": os.environ["LAMBDA_TASK_ROOT"]}
"""


@dataclass
class Emulator:
    url: str
    work_dir: Path

    def client(self, service: str, region: str = REGION, **config: Any) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=FAKE_CREDENTIALS.access_key_id,
            aws_secret_access_key=FAKE_CREDENTIALS.secret_access_key,
            config=Config(**config),
        )

    def deploy(self, name: str = "fn", region: str = REGION) -> str:
        """Create function ``name`` (python3.12, SOURCE) in ``region``; its ARN."""
        role = self.client("iam", region).create_role(
            RoleName=f"{name}-{region}", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", SOURCE)
        created = self.client("lambda", region).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": buffer.getvalue()},
        )
        return str(created["FunctionArn"])


@pytest.fixture
def emulator(runtimes_dir: Path, tmp_path: Path) -> Iterator[Emulator]:
    """build_app on a loopback port, the Invoke patch applied, moto reset, a Lambda service of
    its own (work dir ``tmp_path``)."""
    server = make_server(
        "127.0.0.1", 0, build_app(()), threaded=True, request_handler=MotoRequestHandler
    )
    url = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    runtime = LambdaRuntime(
        work_dir=tmp_path, endpoint_url=url, log_sink=MotoLogSink(), runtimes_dir=runtimes_dir
    )
    previous = invocations.configure(LambdaService(runtime, retry_delays=(0.0,)))
    try:
        requests.post(f"{url}/moto-api/reset", timeout=60).raise_for_status()
        with patched(named("lambda-invoke-local-runtime")):
            yield Emulator(url=url, work_dir=tmp_path)
    finally:
        service = invocations.configure(previous)
        if service is not None:
            service.shutdown()
        server.shutdown()
        thread.join()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _raw(url: str, method: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{url}{DEBUG_PATH}", data=body, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_invoke_after_request_debug_waits_for_the_debugger_and_answers(emulator: Emulator) -> None:
    arn = emulator.deploy()
    port = _free_port()

    session = request_debug(emulator.url, "fn", port=port)

    remote_root = str(emulator.work_dir / "debug" / "fn")
    assert session == DebugSession(
        function=arn,
        function_name="fn",
        host="127.0.0.1",
        port=port,
        remote_root=remote_root,
        attach_timeout_seconds=300.0,
        debugpy_version="1.8.22",
    )
    assert session.launch_configuration() == {
        "name": "Attach to fn (tap emulator)",
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": "127.0.0.1", "port": port},
        "pathMappings": [
            {
                "localRoot": "${workspaceFolder}/services/api_handler/src",
                "remoteRoot": remote_root,
            }
        ],
        "justMyCode": True,
    }
    awslambda = emulator.client("lambda", read_timeout=WAIT_SECONDS, retries={"max_attempts": 0})
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(awslambda.invoke, FunctionName="fn", Payload=b'{"n": 1}')
        client = DapClient.connect("127.0.0.1", port)
        try:
            client.attach()
            response = answer.result(timeout=WAIT_SECONDS)
        finally:
            client.close()

    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"echo": {"n": 1}, "task_root": remote_root}
    after = awslambda.invoke(FunctionName="fn", Payload=b"{}")  # a normal worker again
    assert json.loads(after["Payload"].read())["task_root"] != remote_root


def test_a_function_is_named_by_arn_too_and_its_session_can_be_cancelled(
    emulator: Emulator,
) -> None:
    arn = emulator.deploy()

    session = request_debug(emulator.url, arn, port=_free_port(), attach_timeout_seconds=30)

    assert (session.function, session.attach_timeout_seconds) == (arn, 30.0)
    assert cancel_debug(emulator.url, "fn") is True
    assert cancel_debug(emulator.url, "fn") is False


def test_an_unknown_function_is_404(emulator: Emulator) -> None:
    with pytest.raises(DebugRequestError) as refused:
        request_debug(emulator.url, "nope")
    assert (refused.value.status, refused.value.message) == (
        404,
        "no function named 'nope' in the emulator",
    )


def test_a_name_in_two_regions_is_named_with_its_region_or_arn(emulator: Emulator) -> None:
    first = emulator.deploy(region="eu-west-1")
    second = emulator.deploy(region="us-east-1")

    with pytest.raises(DebugRequestError) as refused:
        request_debug(emulator.url, "fn")

    assert refused.value.status == 409
    assert refused.value.message == (
        f"2 functions are named 'fn' ({first}, {second}): name one by ARN"
    )
    assert request_debug(emulator.url, "fn", port=_free_port(), region="us-east-1").function == (
        second
    )
    assert cancel_debug(emulator.url, "fn", region="us-east-1") is True
    assert cancel_debug(emulator.url, "fn", region="eu-west-1") is False
    with pytest.raises(DebugRequestError) as elsewhere:
        request_debug(emulator.url, "fn", region="ap-south-1")
    assert (elsewhere.value.status, elsewhere.value.message) == (
        404,
        "no function named 'fn' in ap-south-1",
    )


def test_a_port_in_use_is_409(emulator: Emulator) -> None:
    emulator.deploy()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DebugRequestError) as refused:
            request_debug(emulator.url, "fn", port=port)
    assert (refused.value.status, refused.value.message) == (
        409,
        f"127.0.0.1:{port} is in use by another process: choose another port",
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "the body is not JSON"),
        (b"[1]", "a JSON object body is required"),
        (b'{"port": 5678}', "'function' must name a function (its name or ARN)"),
        (b'{"function": "fn"}', "'port' must be a TCP port number"),
        (b'{"function": "fn", "port": 5678, "region": 1}', "'region' must be a region name"),
        (b'{"function": "fn", "port": true}', "'port' must be a TCP port number"),
        (
            b'{"function": "fn", "port": 5678, "attach_timeout_seconds": "soon"}',
            "'attach_timeout_seconds' must be a number of seconds",
        ),
        (
            b'{"function": "fn", "port": 5678, "attach_timeout_seconds": 0}',
            "the attach timeout must be more than 0 and at most 3600 seconds (got 0)",
        ),
    ],
)
def test_a_malformed_request_is_400(emulator: Emulator, body: bytes, error: str) -> None:
    emulator.deploy()
    assert _raw(emulator.url, "POST", body) == (400, {"error": error})


def test_other_methods_are_405(emulator: Emulator) -> None:
    assert _raw(emulator.url, "PUT", b"{}") == (
        405,
        {"error": "PUT is not supported here: POST or DELETE"},
    )


def test_an_emulator_that_does_not_answer_is_status_0() -> None:
    with pytest.raises(DebugRequestError) as refused:
        request_debug(f"http://127.0.0.1:{_free_port()}", "fn")
    assert refused.value.status == 0
    assert refused.value.message.startswith("the emulator at http://127.0.0.1:")
