"""The figures of REPORT are the invocation's own: Max Memory Used, Duration, Init Duration.

Max Memory Used is the worker's own peak resident memory, not a high-water mark it inherited
from the process that spawned it; Duration and Init Duration lie between what the handler
itself waited and what the caller measured around the whole invoke.
"""

from __future__ import annotations

import json
import math
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.tooling.emulator.runtime.conftest import RecordingSink, events_text, make_spec
from tooling.emulator.runtime import FunctionSpec, InvocationResult, LambdaRuntime
from tooling.emulator.runtime.memory import ProcessMemory

MEMORY_APP = """
import os, resource

def _kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])

def handler(event, context):
    before_kib = _kib("VmRSS")
    block = b"x" * (event.get("allocate_mib", 0) << 20)
    return {
        "rss_before_kib": before_kib,
        "peak_kib": _kib("VmHWM"),
        "inherited_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "held": len(block),
    }
"""

SLEEPY_APP = """
import time

time.sleep(0.3)

def handler(event, context):
    time.sleep(event["seconds"])
    return "slept"
"""

#: What the spawning process allocates (and frees) to raise its high-water mark.
PARENT_PEAK_MIB = 400


def _report(sink: RecordingSink) -> str:
    [report] = [m for m in events_text(sink.batches[-1][1]) if m.startswith("REPORT ")]
    return report


def _report_field(report: str, name: str) -> float:
    match = re.search(rf"\t{name}: (\d+(?:\.\d+)?) (?:ms|MB)\t", report)
    assert match is not None, report
    return float(match.group(1))


def _invoke(runtime: LambdaRuntime, spec: FunctionSpec, event: dict[str, Any]) -> InvocationResult:
    result = runtime.invoke(spec, json.dumps(event).encode())
    assert result.function_error is None, result.payload
    return result


@pytest.fixture
def spawner_with_a_high_peak() -> int:
    """Raises this process's peak resident size (the process that spawns the workers) by
    :data:`PARENT_PEAK_MIB` and frees it again; its ``ru_maxrss`` afterwards, in MiB."""
    block = b"\x01" * (PARENT_PEAK_MIB << 20)
    del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def test_max_memory_used_is_the_workers_own_peak_not_its_spawners(
    lambda_runtime: LambdaRuntime, sink: RecordingSink, spawner_with_a_high_peak: int
) -> None:
    spec = make_spec({"app.py": MEMORY_APP})

    result = _invoke(lambda_runtime, spec, {})

    reply = json.loads(result.payload)
    own_peak_mib = math.ceil(reply["peak_kib"] / 1024)
    assert spawner_with_a_high_peak >= PARENT_PEAK_MIB
    # The worker's getrusage carries its spawner's high-water mark across fork and exec...
    assert reply["inherited_maxrss_kib"] >= PARENT_PEAK_MIB * 1024
    # ...while REPORT gives the worker's own peak, as read inside the handler (plus at most the
    # pages the runtime touched after it: sending the response).
    assert own_peak_mib <= result.max_memory_used_mib <= own_peak_mib + 1
    assert result.max_memory_used_mib < PARENT_PEAK_MIB // 4
    assert _report_field(_report(sink), "Max Memory Used") == result.max_memory_used_mib


def test_max_memory_used_rises_with_what_the_handler_allocates(
    lambda_runtime: LambdaRuntime, sink: RecordingSink
) -> None:
    spec = make_spec({"app.py": MEMORY_APP}, memory_mib=512)
    idle = _invoke(lambda_runtime, spec, {})

    result = _invoke(lambda_runtime, spec, {"allocate_mib": 150})

    reply = json.loads(result.payload)
    assert reply["held"] == 150 << 20
    assert idle.max_memory_used_mib < 150
    # Resident before the allocation plus the 150 MiB it touched, and no more than the peak
    # the handler saw (plus the response's pages).
    assert result.max_memory_used_mib >= reply["rss_before_kib"] / 1024 + 150
    assert result.max_memory_used_mib <= math.ceil(reply["peak_kib"] / 1024) + 1
    assert _report_field(_report(sink), "Max Memory Used") == result.max_memory_used_mib


def test_duration_lies_between_the_handlers_sleep_and_the_callers_wall_clock(
    lambda_runtime: LambdaRuntime, sink: RecordingSink
) -> None:
    spec = make_spec({"app.py": SLEEPY_APP})
    _invoke(lambda_runtime, spec, {"seconds": 0})  # the cold start is measured elsewhere

    started = time.monotonic()
    result = _invoke(lambda_runtime, spec, {"seconds": 0.2})
    wall_ms = (time.monotonic() - started) * 1000

    report = _report(sink)
    assert 200 <= result.duration_ms <= wall_ms
    assert _report_field(report, "Duration") == round(result.duration_ms, 2)
    assert _report_field(report, "Billed Duration") == math.ceil(result.duration_ms)
    assert result.init_duration_ms is None
    assert "Init Duration" not in report


def test_init_duration_lies_between_the_imports_sleep_and_the_callers_wall_clock(
    lambda_runtime: LambdaRuntime, sink: RecordingSink
) -> None:
    spec = make_spec({"app.py": SLEEPY_APP})

    started = time.monotonic()
    result = _invoke(lambda_runtime, spec, {"seconds": 0.1})
    wall_ms = (time.monotonic() - started) * 1000

    assert result.init_duration_ms is not None
    assert result.init_duration_ms >= 300
    assert result.duration_ms >= 100
    assert result.init_duration_ms + result.duration_ms <= wall_ms  # one after the other
    report = _report(sink)
    assert _report_field(report, "Init Duration") == round(result.init_duration_ms, 2)
    assert _report_field(report, "Duration") == round(result.duration_ms, 2)


@pytest.fixture
def holder() -> Iterator[subprocess.Popen[str]]:
    """A process that touches 64 MiB, says so, and holds it until its stdin closes."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; block = b'x' * (64 << 20); print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    yield process
    process.kill()
    process.wait()


def test_process_memory_reads_a_live_process_and_nothing_once_it_exited(
    holder: subprocess.Popen[str],
) -> None:
    memory = ProcessMemory(holder.pid)

    resident, peak = memory.resident_kib(), memory.peak_kib()
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait()  # reaped: its /proc files, still open here, answer for it alone

    assert resident is not None and resident >= 64 * 1024
    assert peak is not None and peak >= resident
    assert (memory.resident_kib(), memory.peak_kib()) == (None, None)
    memory.close()
    assert (memory.resident_kib(), memory.peak_kib()) == (None, None)
