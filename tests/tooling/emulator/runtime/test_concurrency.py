"""Concurrent invocations: one execution environment each, up to the per-function limit."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tests.tooling.emulator.runtime.conftest import make_spec
from tooling.emulator.runtime import LambdaRuntime

APP = """
import os, time

def handler(event, context):
    time.sleep(event["sleep"])
    return os.getpid()
"""


def _invoke_all(
    runtime: LambdaRuntime, count: int, sleep_seconds: float
) -> tuple[list[int], float]:
    spec = make_spec({"app.py": APP})
    payload = json.dumps({"sleep": sleep_seconds}).encode()
    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(lambda _: runtime.invoke(spec, payload), range(count)))
    seconds = time.monotonic() - started
    assert all(result.function_error is None for result in results)
    return [json.loads(result.payload) for result in results], seconds


def test_concurrent_invocations_run_in_parallel_in_distinct_workers(
    lambda_runtime: LambdaRuntime,
) -> None:
    pids, seconds = _invoke_all(lambda_runtime, 4, 1.0)

    assert len(set(pids)) == 4
    assert seconds < 2.5


def test_beyond_the_limit_invocations_wait_for_a_worker(
    runtime_factory: Callable[..., LambdaRuntime],
) -> None:
    runtime = runtime_factory(max_environments_per_function=2)

    pids, seconds = _invoke_all(runtime, 4, 0.5)

    assert len(set(pids)) == 2
    assert 1.0 <= seconds < 2.5
