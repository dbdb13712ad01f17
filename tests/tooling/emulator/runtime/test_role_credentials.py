"""tooling.emulator.runtime.role_credentials: each worker gets a fresh session of its function's
execution role from moto's STS, and a warm worker is replaced before its credentials expire,
when the function's role changes or when moto forgot the session (a reset)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.emulator.conftest import client
from tests.tooling.emulator.runtime.conftest import make_spec
from tooling.emulator.invocations import function_spec
from tooling.emulator.runtime import FunctionSpec, LambdaRuntime
from tooling.emulator.runtime.role_credentials import (
    EMULATOR_CREDENTIALS,
    RENEWAL_MARGIN_SECONDS,
    SESSION_SECONDS,
    ExecutionRoleCredentials,
    function_session,
)

pytestmark = pytest.mark.moto

REGION = "us-east-1"
ACCOUNT = "123456789012"
TIMEOUT_SECONDS = 3
KEY_OF_THE_WORKER = (
    "import os\n\ndef handler(event, context):\n    return os.environ['AWS_ACCESS_KEY_ID']\n"
)


@dataclass
class Clock:
    """A clock the test moves."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _deploy(endpoint: str, *, role: str = "fn-role", reset: bool = True) -> FunctionSpec:
    """Function ``fn`` (returning its worker's access key) in moto; its spec as the emulator
    reads it."""
    from moto.awslambda.utils import get_backend

    iam = client(endpoint, "iam", region=REGION, reset=reset)
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # A fixed date: the same zip bytes (code sha256) every time it is deployed.
        archive.writestr(zipfile.ZipInfo("index.py", (2026, 1, 1, 0, 0, 0)), KEY_OF_THE_WORKER)
    client(endpoint, "lambda", region=REGION, reset=False).create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role_arn,
        Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=TIMEOUT_SECONDS,
    )
    return function_spec(get_backend(ACCOUNT, REGION).get_function("fn"))


def _key(runtime: LambdaRuntime, spec: FunctionSpec) -> tuple[str, bool]:
    """The access key the invocation's worker had, and whether it was a cold start."""
    result = runtime.invoke(spec, b"{}")
    assert result.function_error is None, result.payload
    return json.loads(result.payload), result.init_duration_ms is not None


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def runtime(runtime_factory: Callable[..., LambdaRuntime], clock: Clock) -> LambdaRuntime:
    return runtime_factory(credentials=ExecutionRoleCredentials(clock=clock))


def test_a_worker_gets_a_session_of_the_functions_role_named_after_it(
    endpoint: str, runtime: LambdaRuntime, clock: Clock
) -> None:
    spec = _deploy(endpoint)

    key, cold = _key(runtime, spec)
    session = function_session(key)

    assert cold and key.startswith("ASIA")
    assert session is not None
    assert (session.role_arn, session.session_arn, session.function_arn) == (
        f"arn:aws:iam::{ACCOUNT}:role/fn-role",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/fn-role/fn",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn",
    )
    assert session.expiration == clock.now + timedelta(seconds=3600)


def test_a_warm_worker_is_replaced_before_its_credentials_expire(
    endpoint: str, runtime: LambdaRuntime, clock: Clock
) -> None:
    spec = _deploy(endpoint)
    first, _ = _key(runtime, spec)

    clock.advance(SESSION_SECONDS - TIMEOUT_SECONDS - RENEWAL_MARGIN_SECONDS - 1)
    still, still_cold = _key(runtime, spec)  # its credentials outlast this invocation
    clock.advance(2)
    renewed, renewed_cold = _key(runtime, spec)  # they might not: a new worker, new ones

    assert (still, still_cold) == (first, False)
    assert renewed != first and renewed_cold
    assert runtime.worker_count(spec.function_arn) == 1


def test_a_new_role_gets_new_workers(endpoint: str, runtime: LambdaRuntime) -> None:
    spec = _deploy(endpoint)
    first, _ = _key(runtime, spec)
    iam = client(endpoint, "iam", region=REGION, reset=False)
    new_role = iam.create_role(RoleName="new-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client(endpoint, "lambda", region=REGION, reset=False).update_function_configuration(
        FunctionName="fn", Role=new_role
    )

    second, cold = _key(runtime, spec)
    session = function_session(second)

    assert second != first and cold
    assert session is not None and session.session_arn.endswith(":assumed-role/new-role/fn")


def test_credentials_moto_forgot_are_not_reused(endpoint: str, runtime: LambdaRuntime) -> None:
    spec = _deploy(endpoint)
    first, _ = _key(runtime, spec)
    reset_moto(endpoint)
    again = _deploy(endpoint, reset=False)  # the same function, role and configuration

    second, cold = _key(runtime, again)

    assert again == spec
    assert second != first and cold


def test_a_function_moto_does_not_know_gets_the_emulators_credentials(endpoint: str) -> None:
    reset_moto(endpoint)
    source = ExecutionRoleCredentials()
    unknown = make_spec({"app.py": ""}, name="not-in-moto")

    assert source.issue(unknown) == EMULATOR_CREDENTIALS
    assert source.usable(unknown, EMULATOR_CREDENTIALS)
    assert not source.usable(_deploy(endpoint, reset=False), EMULATOR_CREDENTIALS)
