"""Concurrent invocations: one execution environment each, up to the per-function limit."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.tooling.emulator.runtime.conftest import make_spec
from tooling.emulator.runtime import LambdaRuntime

APP = """
import os, time

def handler(event, context):
    started = time.time()
    time.sleep(event["sleep"])
    return {"pid": os.getpid(), "started": started, "ended": time.time()}
"""


def _invoke_all(runtime: LambdaRuntime, count: int, sleep_seconds: float) -> list[dict[str, Any]]:
    """Each invocation's worker pid and when its handler started and ended (wall clock, one
    machine): the order of these events, not their durations, is what the tests read."""
    spec = make_spec({"app.py": APP})
    payload = json.dumps({"sleep": sleep_seconds}).encode()
    with ThreadPoolExecutor(count) as pool:
        results = list(pool.map(lambda _: runtime.invoke(spec, payload), range(count)))
    assert all(result.function_error is None for result in results)
    return [json.loads(result.payload) for result in results]


def _most_at_once(runs: list[dict[str, Any]]) -> int:
    """The most handlers running at the same instant."""
    return max(
        sum(1 for other in runs if other["started"] <= run["started"] < other["ended"])
        for run in runs
    )


def test_concurrent_invocations_run_in_parallel_in_distinct_workers(
    lambda_runtime: LambdaRuntime,
) -> None:
    runs = _invoke_all(lambda_runtime, 4, 1.0)

    assert len({run["pid"] for run in runs}) == 4
    # every handler started before any ended: all four ran at once
    assert max(run["started"] for run in runs) < min(run["ended"] for run in runs)


def test_beyond_the_limit_invocations_wait_for_a_worker(
    runtime_factory: Callable[..., LambdaRuntime],
) -> None:
    runtime = runtime_factory(max_environments_per_function=2)

    runs = _invoke_all(runtime, 4, 0.5)

    assert len({run["pid"] for run in runs}) == 2
    assert _most_at_once(runs) == 2  # two at once, the others waited for a worker
