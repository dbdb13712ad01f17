"""Shared pieces of the emulator tests: boto3 clients of the in-process moto server (the
``endpoint`` fixture of tests/tooling/conftest.py) with moto's fake credentials, patch
selection by name, the error of a refused call, functions of one python module, and the
emulator's Lambda service running them in local workers (the ``lambda_service`` fixture).
Test modules import these functions (``tests.tooling.emulator.conftest``)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.tooling.conftest import reset_moto
from tooling.emulator import invocations
from tooling.emulator.invocations import LambdaService, MotoLogSink
from tooling.emulator.patches import PATCHES, CompatPatch
from tooling.emulator.process import FAKE_CREDENTIALS
from tooling.emulator.runtime import (
    FunctionSpec,
    InvocationResult,
    LambdaRuntime,
    RuntimeUnavailableError,
    ensure_runtime_environment,
)
from tooling.emulator.runtime.environment import DEFAULT_ROOT

REPO_ROOT = Path(__file__).resolve().parents[3]

__all__ = ["FakeRuntime", "client", "create_python_function", "named", "refusal_of"]


def client(endpoint: str, service: str, *, region: str, reset: bool) -> Any:
    """A boto3 client of ``service`` in ``region`` on the moto server at ``endpoint``, with
    moto's fake credentials; with ``reset``, the server is reset first."""
    if reset:
        reset_moto(endpoint)
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=FAKE_CREDENTIALS.access_key_id,
        aws_secret_access_key=FAKE_CREDENTIALS.secret_access_key,
    )


def named(*names: str) -> list[CompatPatch]:
    """The patches of ``tooling.emulator.patches.PATCHES`` called ``names``, in that order; each
    name must name exactly one patch."""
    selected = []
    for name in names:
        matches = [patch for patch in PATCHES if patch.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} patches are named {name!r}")
        selected.extend(matches)
    return selected


def refusal_of(call: Callable[..., Any], **kwargs: Any) -> tuple[int, dict[str, str]]:
    """The HTTP status and the error (code, message) with which ``call(**kwargs)`` fails."""
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    response = raised.value.response
    error = response["Error"]
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return status, {"Code": str(error.get("Code")), "Message": str(error.get("Message"))}


def create_python_function(
    awslambda: Any, name: str, role: str, source: str, **options: Any
) -> None:
    """Creates function ``name`` with the Lambda client ``awslambda``: python3.12, its code
    ``source`` as ``index.py`` and its handler ``index.handler``; ``options`` are further
    CreateFunction parameters."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    awslambda.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()},
        **options,
    )


@pytest.fixture(scope="session")
def runtimes_dir() -> Path:
    """``<repo>/.build/lambda-runtimes`` with the python3.12 environment installed (as ./tap
    installs it; shared with it and kept between sessions)."""
    root = REPO_ROOT / DEFAULT_ROOT
    try:
        ensure_runtime_environment(root, "python3.12")
    except RuntimeUnavailableError as error:
        pytest.fail(f"the python3.12 Lambda runtime is needed: {error}")
    return root


@pytest.fixture
def lambda_service(endpoint: str, runtimes_dir: Path, tmp_path: Path) -> Iterator[LambdaService]:
    """The emulator's Lambda service as the server makes it (the default network lookup), its
    workers calling back into the in-process server at ``endpoint``: the service the
    ``lambda-invoke-local-runtime`` patch invokes through during the test."""
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


@dataclass
class FakeRuntime:
    """Answers each invocation with the next of ``outcomes`` (True: success) and records it."""

    outcomes: list[bool] = field(default_factory=list)
    calls: list[tuple[FunctionSpec, bytes, str | None]] = field(default_factory=list)

    def invoke(
        self, spec: FunctionSpec, payload: bytes, *, request_id: str | None = None
    ) -> InvocationResult:
        self.calls.append((spec, payload, request_id))
        ok = self.outcomes.pop(0) if self.outcomes else True
        body = b'{"ok": true}' if ok else b'{"errorMessage": "boom", "errorType": "RuntimeError"}'
        return InvocationResult(
            request_id=request_id or "sync",
            payload=body,
            function_error=None if ok else "Unhandled",
            log_tail="",
            duration_ms=1.0,
            billed_duration_ms=1,
            init_duration_ms=None,
            max_memory_used_mib=40,
        )

    def shutdown(self) -> None:
        pass
