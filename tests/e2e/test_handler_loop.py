"""End-to-end: the handler developer's loop on the dev deployment (docs/tasks.md: sync, invoke,
debug), black-box except for the library calls `./tap sync` itself makes.

In CI's dev lane (noxfile.E2E_LANES), on the shared deployment of dev and prod; alone:
`.venv/bin/python -m pytest -m e2e tests/e2e/test_handler_loop.py`.
"""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.black_box import call
from tests.e2e.conftest import ENVIRONMENT, ROOT, Deployed
from tests.e2e.test_platform import _changed_sources

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(deployed: Deployed) -> str:
    """The deployed stage's local URL (from the outputs; served by the emulator)."""
    return str(deployed.out("api_local_url")).rstrip("/")


def _tap(*args: str) -> subprocess.CompletedProcess[str]:
    """``./tap ARGS`` as a user runs it, on this run's emulator and outputs (the environment)."""
    return subprocess.run(
        [str(ROOT / "tap"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_synced_handler_answers_without_a_deploy(
    deployed: Deployed, api: str, tmp_path: Path
) -> None:
    """GIVEN a change to the api_handler's source (in a copy of the services: the lanes beside
    this one build from the working tree) WHEN it is synced into the running deployment, as
    `./tap sync` does, THEN the deployed API answers with the new code at once, no deploy: the
    zip rebuilt without pip, UpdateFunctionCode for the API handler and the authorizer, the warm
    worker replaced."""
    from tooling import sync
    from tooling.lifecycle.commands.context import session_for
    from tooling.lifecycle.outputs import read_outputs

    health = 'HealthBody(status="ok").model_dump()'
    changed = _changed_sources(tmp_path, health, f'{{**{health}, "build": "e2e-synced"}}')
    out = io.StringIO()
    started = time.monotonic()
    sync.run(  # raises SyncError when a service could not be synced
        changed, session_for(changed, start=False), read_outputs(ROOT, ENVIRONMENT), ENVIRONMENT,
        out=out,
    )  # fmt: skip
    answer = call(api + "/health", region=deployed.region)
    deployed.notes["./tap sync of api_handler until /health answers the change"] = (
        time.monotonic() - started
    )
    assert answer.json() == {"status": "ok", "build": "e2e-synced"}
    assert re.search(
        r"^synced api_handler -> tap-api-handler-dev, tap-api-authorizer-dev in [0-9.]+ s$",
        out.getvalue(),
        re.MULTILINE,
    ), out.getvalue()


def test_tap_invoke_runs_every_sample_of_every_function(deployed: Deployed) -> None:
    """GIVEN the deployed functions WHEN `./tap invoke FUNCTION --sample NAME` runs each of their
    samples THEN each answers without a function error and its log runs from START to REPORT;
    the processor's S3 sample ingests the processor's sample trade file (3 trades, 1 rejected)."""
    invoked = _tap("invoke", "processor", "--sample", "s3-put")
    assert invoked.returncode == 0, invoked.stdout + invoked.stderr
    # the bucket's notification processes the sample file too: one of the two runs accepts the
    # three trades, the other counts them as duplicates (the processor is idempotent)
    summary = json.loads(invoked.stdout.split("payload:\n", 1)[1].split("\nlog", 1)[0])["files"][0]
    assert summary["accepted"] + summary["duplicates"] == 3, invoked.stdout
    assert (summary["conflicts"], summary["rejected"]) == (0, 1), invoked.stdout
    assert re.search(r"^REPORT RequestId: \S+\tDuration: ", invoked.stdout, re.MULTILINE)

    listed = _tap("invoke", "api_handler", "--sample", "list")
    samples = re.findall(r"^  ([a-z0-9-]+)\s", listed.stdout, re.MULTILINE)
    assert samples == [
        "health",
        "create-session",
        "get-current-session",
        "get-session",
        "delete-session",
        "get-trade",
        "list-account-trades",
    ], listed.stdout
    for function, sample in [
        *(("api_handler", name) for name in samples),
        ("api_authorizer", "authorizer"),
    ]:
        answered = _tap("invoke", function, "--sample", sample)
        assert answered.returncode == 0, (function, sample, answered.stdout + answered.stderr)
        assert "REPORT RequestId: " in answered.stdout, (function, sample, answered.stdout)


def test_a_debugger_attaches_to_a_deployed_functions_next_invocation(deployed: Deployed) -> None:
    """GIVEN a debug session asked for the deployed API handler (what `./tap invoke --debug`
    does) WHEN it is invoked THEN its new execution environment waits under debugpy on loopback,
    a debugger attaches (the Debug Adapter Protocol handshake VS Code makes), and the invocation
    then answers as usual."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from botocore.config import Config

    from tests.tooling.emulator.dap import WAIT_SECONDS, DapClient
    from tooling.emulator.debugging import request_debug

    name = deployed.out("api_handler_function_name")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    session = request_debug(deployed.endpoint, name, port=port, region=deployed.region)
    env = deployed.aws_env()
    awslambda = boto3.client(  # one attempt, a long read: the invocation waits for the debugger
        "lambda",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=deployed.region,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
        config=Config(read_timeout=600, retries={"total_max_attempts": 1}),
    )
    event = json.dumps(
        {"version": "2.0", "routeKey": "GET /health", "rawPath": "/health", "rawQueryString": "",
         "headers": {}, "requestContext": {"http": {"method": "GET", "path": "/health"}},
         "isBase64Encoded": False}
    ).encode()  # fmt: skip
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(awslambda.invoke, FunctionName=name, Payload=event)
        client = DapClient.connect(session.host, session.port)
        try:
            client.attach()
            response = answer.result(timeout=WAIT_SECONDS)
        finally:
            client.close()
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert json.loads(response["Payload"].read())["statusCode"] == 200
