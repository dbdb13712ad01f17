"""The function's memory size is a limit: over it, the worker is killed as Lambda kills it.

Lambda answers ``Runtime.OutOfMemory`` with "Runtime exited with error: signal: killed", logs
that line and the error type, reports ``Max Memory Used`` equal to ``Memory Size`` and starts a
new execution environment for the next invocation; the init phase is held to the same limit.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

import pytest

from tests.tooling.emulator.runtime.conftest import RecordingSink, events_text, make_spec
from tooling.emulator.runtime import FunctionSpec, LambdaRuntime
from tooling.emulator.runtime import worker as worker_module

APP = """
import os, time

def handler(event, context):
    print("allocating", event.get("allocate_mib", 0))
    block = b"x" * (event.get("allocate_mib", 0) << 20)
    if event.get("free"):
        del block
    time.sleep(event.get("then_sleep", 0))
    return {"pid": os.getpid()}
"""

OOM_MESSAGE = "Error: Runtime exited with error: signal: killed"


def _document(payload: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(payload)
    return document


def _pid(runtime: LambdaRuntime, spec: FunctionSpec) -> int:
    result = runtime.invoke(spec, b"{}")
    assert result.function_error is None, result.payload
    pid: int = _document(result.payload)["pid"]
    return pid


def test_a_handler_over_its_memory_size_is_killed_with_runtime_out_of_memory(
    lambda_runtime: LambdaRuntime, sink: RecordingSink
) -> None:
    spec = make_spec({"app.py": APP}, memory_mib=128)
    pid = _pid(lambda_runtime, spec)

    started = time.monotonic()
    result = lambda_runtime.invoke(spec, b'{"allocate_mib": 256}', request_id="r-oom")
    wall_ms = (time.monotonic() - started) * 1000

    assert result.function_error == "Unhandled"
    assert _document(result.payload) == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: r-oom {OOM_MESSAGE}",
    }
    assert events_text(sink.batches[-1][1])[1:4] == [
        "allocating 256\n",
        f"RequestId: r-oom {OOM_MESSAGE}\nRuntime.OutOfMemory\n",
        "END RequestId: r-oom\n",
    ]
    assert re.fullmatch(
        r"REPORT RequestId: r-oom\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 128 MB\tMax Memory Used: 128 MB\t"
        r"Status: error\tError Type: Runtime.OutOfMemory\t\n",
        events_text(sink.batches[-1][1])[4],
    )
    assert result.max_memory_used_mib == 128
    assert result.duration_ms <= wall_ms
    assert not os.path.exists(f"/proc/{pid}")  # killed, and the next invocation gets a new one
    assert _pid(lambda_runtime, spec) != pid
    assert lambda_runtime.worker_count(spec.function_arn) == 1


def test_the_worker_is_killed_while_it_runs_not_when_it_returns(
    lambda_runtime: LambdaRuntime,
) -> None:
    spec = make_spec({"app.py": APP}, memory_mib=128, timeout_seconds=30)

    result = lambda_runtime.invoke(spec, b'{"allocate_mib": 200, "then_sleep": 25}', request_id="r")

    assert _document(result.payload)["errorType"] == "Runtime.OutOfMemory"
    assert result.duration_ms < 25_000  # the handler's own sleep never ended


def test_a_spike_between_two_samples_freed_before_returning_still_kills(
    lambda_runtime: LambdaRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "POLL_SECONDS", 60.0)  # no sample while the handler runs
    spec = make_spec({"app.py": APP}, memory_mib=128)

    result = lambda_runtime.invoke(spec, b'{"allocate_mib": 200, "free": true}', request_id="r")

    assert _document(result.payload) == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: r {OOM_MESSAGE}",
    }
    assert result.max_memory_used_mib == 128


def test_a_handler_under_its_memory_size_runs_and_keeps_its_worker(
    lambda_runtime: LambdaRuntime, sink: RecordingSink
) -> None:
    spec = make_spec({"app.py": APP}, memory_mib=128)
    pid = _pid(lambda_runtime, spec)

    result = lambda_runtime.invoke(spec, b'{"allocate_mib": 64}')

    assert result.function_error is None
    assert _document(result.payload) == {"pid": pid}
    assert 64 < result.max_memory_used_mib < 128
    assert "Status:" not in events_text(sink.batches[-1][1])[-1]
    assert _pid(lambda_runtime, spec) == pid


def test_an_init_phase_over_the_memory_size_is_killed_with_runtime_out_of_memory(
    lambda_runtime: LambdaRuntime, sink: RecordingSink
) -> None:
    spec = make_spec(
        {"app.py": "print('loading')\nBLOCK = b'x' * (256 << 20)\n" + APP}, memory_mib=128
    )

    result = lambda_runtime.invoke(spec, b"{}", request_id="r-init")

    assert result.function_error == "Unhandled"
    assert _document(result.payload) == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: r-init {OOM_MESSAGE}",
    }
    log = events_text(sink.batches[-1][1])
    assert log[0].startswith("INIT_START ")
    assert log[1:3] == ["loading\n", f"RequestId: r-init {OOM_MESSAGE}\nRuntime.OutOfMemory\n"]
    assert re.fullmatch(
        r"INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\t"
        r"Error Type: Runtime.OutOfMemory\n",
        log[3],
    )
    assert log[4:6] == ["START RequestId: r-init Version: $LATEST\n", "END RequestId: r-init\n"]
    assert "\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t" in log[6]
    assert log[6].endswith("\tStatus: error\tError Type: Runtime.OutOfMemory\t\n")
    assert lambda_runtime.worker_count(spec.function_arn) == 0
