"""Fixtures of the Lambda runtime tests: the python3.12 runtime environment, tiny functions.

The runtime environment (CPython 3.12 + the runtime's pinned boto3) is installed once into
``<repo>/.build/lambda-runtimes``, shared with ``./tap`` and kept between sessions, so a rerun
only checks its marker. Functions are zips built here from handler sources written by the
tests; every worker is a real process.
"""

from __future__ import annotations

import base64
import hashlib
import io
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tooling.emulator.runtime import (
    FunctionSpec,
    LambdaRuntime,
)

REPO_ROOT = Path(__file__).resolve().parents[4]
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
ENDPOINT_URL = "http://127.0.0.1:45999"


@dataclass
class RecordingSink:
    """A LogSink that keeps every batch: (stream name, events)."""

    batches: list[tuple[str, list[tuple[int, str]]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(
        self, *, spec: FunctionSpec, stream_name: str, events: Sequence[tuple[int, str]]
    ) -> None:
        with self.lock:
            self.batches.append((stream_name, list(events)))

    def messages(self) -> list[str]:
        """Every message so far, in the order the batches arrived."""
        with self.lock:
            return [message for _, events in self.batches for message in events_text(events)]


def events_text(events: Sequence[tuple[int, str]]) -> list[str]:
    return [message for _, message in events]


def build_zip(files: Mapping[str, str]) -> bytes:
    """A deployment package with ``files`` (name → source)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def make_spec(
    files: Mapping[str, str],
    *,
    name: str = "fn",
    handler: str = "app.handler",
    environment: Mapping[str, str] | None = None,
    timeout_seconds: int = 3,
    memory_mib: int = 256,
) -> FunctionSpec:
    """A python3.12 function of ``files`` as the Lambda API would describe it."""
    archive = build_zip(files)
    return FunctionSpec(
        function_name=name,
        function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
        version="$LATEST",
        region=REGION,
        account_id=ACCOUNT_ID,
        runtime="python3.12",
        handler=handler,
        code_sha256=base64.b64encode(hashlib.sha256(archive).digest()).decode("ascii"),
        code_zip=lambda: archive,
        environment=dict(environment or {}),
        timeout_seconds=timeout_seconds,
        memory_mib=memory_mib,
        log_group=f"/aws/lambda/{name}",
    )


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def runtime_factory(
    tmp_path: Path, runtimes_dir: Path, sink: RecordingSink
) -> Iterator[Callable[..., LambdaRuntime]]:
    """Makes LambdaRuntimes on a temporary work dir; all are shut down after the test."""
    made: list[LambdaRuntime] = []

    def factory(**options: object) -> LambdaRuntime:
        runtime = LambdaRuntime(
            work_dir=tmp_path / "work",
            endpoint_url=ENDPOINT_URL,
            log_sink=sink,
            runtimes_dir=runtimes_dir,
            **options,  # type: ignore[arg-type]
        )
        made.append(runtime)
        return runtime

    yield factory
    for runtime in made:
        runtime.shutdown()


@pytest.fixture
def lambda_runtime(runtime_factory: Callable[..., LambdaRuntime]) -> LambdaRuntime:
    """A LambdaRuntime with the defaults."""
    return runtime_factory()
