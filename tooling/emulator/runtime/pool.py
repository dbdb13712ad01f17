"""Warm execution environments per function, as Lambda keeps them between invocations.

Workers are grouped by function ARN and then by configuration key (code, handler, runtime,
variables, timeout, memory...): only the current configuration of a function is served. An
idle warm worker is reused (most recently used first, the warmest); when every worker is busy a
new one may start, up to ``max_environments_per_function``, beyond which callers wait for one
to come back. When a function's configuration changes, its old workers are retired: idle ones
are killed at once, busy ones when they are released. Idle workers are reaped after
``idle_seconds_before_reap``.

Thread-safe: the emulator's server threads acquire and release concurrently. Killing a process
can wait, so it always happens outside the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from tooling.emulator.runtime.worker import Worker

__all__ = ["Lease", "PoolClosedError", "WarmPool"]


class PoolClosedError(RuntimeError):
    """The pool was shut down."""


@dataclass
class _Environments:
    key: Hashable
    idle: list[Worker] = field(default_factory=list)
    #: Workers of this configuration, busy or idle, plus slots reserved for starting ones.
    count: int = 0


@dataclass
class Lease:
    """A warm worker to use, or (``worker is None``) a reserved slot to start one in."""

    function_arn: str
    environments: _Environments
    worker: Worker | None


class WarmPool:
    """The execution environments of every function."""

    def __init__(self, *, max_environments_per_function: int, idle_seconds_before_reap: float):
        if max_environments_per_function < 1:
            raise ValueError("max_environments_per_function must be at least 1")
        self._max = max_environments_per_function
        self._idle_limit_seconds = idle_seconds_before_reap
        self._condition = threading.Condition()
        self._functions: dict[str, _Environments] = {}
        self._live: set[Worker] = set()
        self._closed = False

    def acquire(self, function_arn: str, key: Hashable, *, fresh: bool = False) -> Lease:
        """A warm worker of this configuration, or a slot to start one; waits at the limit.

        ``fresh`` (a debug session's new environment) never reuses a warm worker: the
        function's idle ones are retired and a slot is reserved.
        """
        retired: list[Worker] = []
        try:
            with self._condition:
                while True:
                    if self._closed:
                        raise PoolClosedError("the Lambda runtime was shut down")
                    environments = self._functions.get(function_arn)
                    if environments is None or environments.key != key:
                        if environments is not None:
                            retired.extend(environments.idle)
                        environments = self._functions[function_arn] = _Environments(key)
                    if fresh:
                        environments.count -= len(environments.idle)
                        retired.extend(environments.idle)
                        environments.idle.clear()
                    while environments.idle:
                        worker = environments.idle.pop()
                        if worker.alive:
                            return Lease(function_arn, environments, worker)
                        environments.count -= 1
                        retired.append(worker)
                    if environments.count < self._max:
                        environments.count += 1
                        return Lease(function_arn, environments, None)
                    self._condition.wait()
        finally:
            self._kill(retired)

    def track(self, worker: Worker) -> None:
        """Remember a worker being started, so that shutdown kills it too."""
        with self._condition:
            if self._closed:
                raise PoolClosedError("the Lambda runtime was shut down")
            self._live.add(worker)

    def release(self, lease: Lease, worker: Worker | None, *, reusable: bool) -> None:
        """Give the lease back: the worker is kept warm if it is reusable and still current."""
        doomed: list[Worker] = []
        with self._condition:
            environments = lease.environments
            current = self._functions.get(lease.function_arn) is environments
            if worker is not None and reusable and current and not self._closed and worker.alive:
                worker.last_used = time.monotonic()
                environments.idle.append(worker)
            else:
                environments.count -= 1
                if worker is not None:
                    doomed.append(worker)
            self._condition.notify_all()
        self._kill(doomed)

    def reap_idle(self) -> int:
        """Kill the workers idle for longer than the limit; how many."""
        horizon = time.monotonic() - self._idle_limit_seconds
        doomed: list[Worker] = []
        with self._condition:
            for environments in self._functions.values():
                stale = [worker for worker in environments.idle if worker.last_used < horizon]
                for worker in stale:
                    environments.idle.remove(worker)
                    environments.count -= 1
                doomed.extend(stale)
            if doomed:
                self._condition.notify_all()
        self._kill(doomed)
        return len(doomed)

    def worker_count(self, function_arn: str) -> int:
        """Workers of the current configuration of a function: busy, idle or starting."""
        with self._condition:
            environments = self._functions.get(function_arn)
            return environments.count if environments is not None else 0

    def shutdown(self) -> None:
        """Kill every worker, busy ones included; later acquires fail."""
        with self._condition:
            self._closed = True
            doomed = list(self._live)
            self._functions.clear()
            self._condition.notify_all()
        self._kill(doomed)

    def _kill(self, workers: Iterable[Worker]) -> None:
        for worker in workers:
            worker.kill()
            with self._condition:
                self._live.discard(worker)
