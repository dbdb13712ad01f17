"""``LambdaRuntime``: invoke a deployed function from its exact zip, as Lambda would.

One invocation: check the request (size, JSON), make sure the runtime environment and the
task root exist, take a warm worker or start one (cold start: ``INIT_START`` and Init
Duration), run the event with the function's timeout, turn what happened into the Invoke
API's answer (payload, ``FunctionError``, log tail: :mod:`.answers`) and hand the log events to
the sink.

Failures of the environment are reported as Lambda reports them, and the worker is replaced
on the next invocation: a timeout (``Sandbox.Timedout``), a process that exited
(``Runtime.ExitError``), one killed for going over the function's memory size, in the init phase
or in an invocation (``Runtime.OutOfMemory``), a response over the limit
(``Function.ResponseSizeTooLarge``, the worker stays warm). Errors of the handler or its import
come from the bootstrap, which builds them as Lambda's Python runtime does.

A debug session (:meth:`LambdaRuntime.debug_next`, :mod:`.debug_sessions`) makes the function's
next invocation start a new worker under debugpy instead of taking a warm one; that worker
serves this one invocation and is then retired.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
import weakref
from collections.abc import Hashable
from pathlib import Path
from typing import Final

from tooling.emulator.blackhole import black_hole_url
from tooling.emulator.runtime import answers, logs
from tooling.emulator.runtime.code_store import CodeStore
from tooling.emulator.runtime.debug_addon import ensure_debug_addon
from tooling.emulator.runtime.debug_sessions import (
    DEFAULT_ATTACH_TIMEOUT_SECONDS,
    LOOPBACK,
    MAX_ATTACH_TIMEOUT_SECONDS,
    DebugSessions,
    DebugTarget,
)
from tooling.emulator.runtime.environment import (
    RuntimeEnvironment,
    ensure_runtime_environment,
    runtime_environment,
)
from tooling.emulator.runtime.interpreters import InterpreterFinder
from tooling.emulator.runtime.model import (
    REQUEST_PAYLOAD_LIMIT_BYTES,
    FunctionSpec,
    InvalidRequestContentError,
    InvocationResult,
    LogSink,
    RequestTooLargeError,
)
from tooling.emulator.runtime.pool import Lease, WarmPool
from tooling.emulator.runtime.reachability import (
    NOT_IN_A_VPC,
    Reachability,
    ReachabilityLookup,
    enforced,
    moto_reachability,
)
from tooling.emulator.runtime.role_credentials import (
    Credentials,
    CredentialSource,
    ExecutionRoleCredentials,
)
from tooling.emulator.runtime.service_endpoints import Endpoints, endpoints_for
from tooling.emulator.runtime.variables import worker_environment
from tooling.emulator.runtime.worker import InitOutcome, Worker

__all__ = ["LambdaRuntime"]

#: Lambda gives the init phase 10 seconds (on-demand functions).
INIT_TIMEOUT_SECONDS: Final = 10.0
#: Lambda keeps an idle environment for minutes, not a fixed time; this is the emulator's.
DEFAULT_IDLE_SECONDS_BEFORE_REAP: Final = 900.0


class LambdaRuntime:
    """Runs functions in worker processes of their runtime, kept warm between invocations.

    ``work_dir`` holds the task roots (``code/``) and, unless ``runtimes_dir`` names a shared
    place (``<repo>/.build/lambda-runtimes``), the runtime environments. ``endpoint_url`` is
    the emulator's, given to functions as ``AWS_ENDPOINT_URL``.

    A function attached to a VPC reaches only the services its network lets it reach
    (``reachability``, by default read from moto's EC2: :mod:`.reachability`); its calls to
    the others hang like dropped packets (:mod:`.service_endpoints`). The network is read at
    every invocation and is part of a warm worker's key: a network change replaces the warm
    workers whose reach it changes. ``TAP_EMULATOR_VPC_REACHABILITY=off`` lifts the rule
    (more lenient than AWS; for debugging only).

    Each worker signs its AWS calls with credentials of the function's execution role
    (``credentials``, by default a fresh session from moto's STS: :mod:`.role_credentials`); a
    warm worker whose credentials no longer hold is replaced.
    """

    def __init__(
        self,
        *,
        work_dir: Path,
        endpoint_url: str,
        log_sink: LogSink,
        interpreters: InterpreterFinder | None = None,
        max_environments_per_function: int = 10,
        runtimes_dir: Path | None = None,
        idle_seconds_before_reap: float = DEFAULT_IDLE_SECONDS_BEFORE_REAP,
        init_timeout_seconds: float = INIT_TIMEOUT_SECONDS,
        reachability: ReachabilityLookup = moto_reachability,
        credentials: CredentialSource | None = None,
    ) -> None:
        self._endpoint_url = endpoint_url
        self._credentials = credentials or ExecutionRoleCredentials()
        self._worker_credentials: weakref.WeakKeyDictionary[Worker, Credentials] = (
            weakref.WeakKeyDictionary()
        )
        self._reachability = reachability
        self._sink = log_sink
        self._interpreters = interpreters
        self._runtimes_dir = runtimes_dir or work_dir / "runtimes"
        self._init_timeout_seconds = init_timeout_seconds
        self._code = CodeStore(work_dir / "code")
        self._debug = DebugSessions(work_dir.absolute() / "debug")
        self._pool = WarmPool(
            max_environments_per_function=max_environments_per_function,
            idle_seconds_before_reap=idle_seconds_before_reap,
        )
        self._environments: dict[str, tuple[RuntimeEnvironment, str]] = {}
        self._environments_lock = threading.Lock()
        self._stopping = threading.Event()
        self._reaper = threading.Thread(
            target=self._reap,
            args=(min(60.0, max(idle_seconds_before_reap / 2, 0.05)),),
            name="lambda-runtime-reaper",
            daemon=True,
        )
        self._reaper.start()

    def invoke(
        self, spec: FunctionSpec, payload: bytes, *, request_id: str | None = None
    ) -> InvocationResult:
        """Invoke ``spec`` synchronously (``RequestResponse``) with ``payload``.

        Raises RequestTooLargeError or InvalidRequestContentError before running anything,
        and RuntimeUnavailableError when the runtime cannot be provided.
        """
        event = self._check_request(payload)
        request_id = request_id or str(uuid.uuid4())
        environment, interpreter_version = self._runtime_environment(spec.runtime)
        task_root = self._code.task_root(spec)
        debugger = self._debug.take(spec.function_arn)
        if debugger is not None:
            task_root = self._debug.link_task_root(debugger, task_root)
        record = answers.Record(request_id, spec)
        endpoints = self._endpoints(spec)
        key = (spec.configuration_key(), endpoints.key())
        lease = self._acquire(spec, key, fresh=debugger is not None)
        worker = lease.worker
        reusable = False
        try:
            if worker is None:
                init_started_ms = answers.now_ms()
                worker, init = self._start(spec, lease, environment, task_root, endpoints, debugger)
                record.add(
                    logs.init_start_line(spec.runtime, interpreter_version, spec.region),
                    init_started_ms,
                )
                record.extend(init.output)
                record.init_duration_ms = init.init_duration_ms
                if init.failure is not None or init.error_document is not None:
                    return self._finish(record, worker, answers.init_failed(record, init))
            started_ms = answers.now_ms()
            outcome = worker.invoke(
                request_id=request_id,
                payload=event,
                timeout_seconds=spec.timeout_seconds,
                invoked_function_arn=spec.function_arn,
            )
            reusable = outcome.failure is None and worker.debugger is None
            record.add(logs.start_line(request_id, spec.version), started_ms)
            return self._finish(record, worker, answers.invoked(record, outcome))
        finally:
            self._pool.release(lease, worker, reusable=reusable)

    def debug_next(
        self,
        spec: FunctionSpec,
        *,
        port: int,
        attach_timeout_seconds: float = DEFAULT_ATTACH_TIMEOUT_SECONDS,
    ) -> DebugTarget:
        """Start the next execution environment of ``spec`` under debugpy on loopback ``port``.

        The function's next invocation, whatever triggers it, retires its warm workers and
        starts a worker that waits for a debugger client before its init phase, then serves
        that one invocation without deadlines (:mod:`.debug_sessions`). Installs the runtime's
        debugger add-on first when it is missing (a pip install, :mod:`.debug_addon`).

        Raises ValueError for an attach timeout out of range, DebugPortUnavailableError for a
        port that cannot be listened on, and RuntimeUnavailableError when the runtime or its
        add-on cannot be provided.
        """
        if not 0 < attach_timeout_seconds <= MAX_ATTACH_TIMEOUT_SECONDS:
            raise ValueError(
                f"the attach timeout must be more than 0 and at most "
                f"{MAX_ATTACH_TIMEOUT_SECONDS:g} seconds (got {attach_timeout_seconds:g})"
            )
        self._runtime_environment(spec.runtime)
        site = ensure_debug_addon(self._runtimes_dir, spec.runtime, interpreters=self._interpreters)
        target = DebugTarget(
            function_arn=spec.function_arn,
            host=LOOPBACK,
            port=port,
            task_root=self._debug.task_root(spec.function_name),
            addon_site=site.absolute(),
            attach_timeout_seconds=attach_timeout_seconds,
        )
        self._debug.arm(target)
        return target

    def cancel_debug(self, function_arn: str) -> DebugTarget | None:
        """Disarm the function's debug session that no invocation has taken yet, if any."""
        return self._debug.cancel(function_arn)

    def worker_count(self, function_arn: str) -> int:
        """Execution environments of a function's current configuration (busy or idle)."""
        return self._pool.worker_count(function_arn)

    def shutdown(self) -> None:
        """Kill every worker; the runtime cannot be used afterwards."""
        self._stopping.set()
        self._pool.shutdown()

    # --- steps ---------------------------------------------------------------------------------

    @staticmethod
    def _check_request(payload: bytes) -> bytes:
        if len(payload) > REQUEST_PAYLOAD_LIMIT_BYTES:
            raise RequestTooLargeError(
                f"Request must be smaller than {REQUEST_PAYLOAD_LIMIT_BYTES} bytes for the "
                f"InvokeFunction operation (got {len(payload)} bytes)"
            )
        event = payload if payload.strip() else b"{}"
        try:
            json.loads(event)
        except ValueError as error:
            raise InvalidRequestContentError(
                f"Could not parse request body into json: {error}"
            ) from None
        return event

    def _runtime_environment(self, runtime: str) -> tuple[RuntimeEnvironment, str]:
        """The runtime's environment (installed on first use) and its interpreter version."""
        with self._environments_lock:
            known = self._environments.get(runtime)
            if known is None:
                ensure_runtime_environment(
                    self._runtimes_dir, runtime, interpreters=self._interpreters
                )
                environment = runtime_environment(self._runtimes_dir, runtime)
                known = self._environments[runtime] = (environment, _venv_version(environment))
            return known

    def _acquire(self, spec: FunctionSpec, key: Hashable, *, fresh: bool = False) -> Lease:
        """A lease from the pool whose warm worker, if any, still has usable credentials
        (``fresh``: never a warm worker)."""
        while True:
            lease = self._pool.acquire(spec.function_arn, key, fresh=fresh)
            worker = lease.worker
            credentials = None if worker is None else self._worker_credentials.get(worker)
            if worker is None or (
                credentials is not None and self._credentials.usable(spec, credentials)
            ):
                return lease
            self._pool.release(lease, worker, reusable=False)

    def _endpoints(self, spec: FunctionSpec) -> Endpoints:
        """Where the function's SDK calls go, from its network as it is now."""
        reach = Reachability(in_vpc=False, others=NOT_IN_A_VPC)
        if enforced(os.environ):
            reach = self._reachability(spec.function_arn, spec.account_id, spec.region)
        return endpoints_for(reach, emulator_url=self._endpoint_url, unreachable_url=black_hole_url)

    def _start(
        self,
        spec: FunctionSpec,
        lease: Lease,
        environment: RuntimeEnvironment,
        task_root: Path,
        endpoints: Endpoints,
        debugger: DebugTarget | None = None,
    ) -> tuple[Worker, InitOutcome]:
        stream_name = logs.log_stream_name(spec.version)
        credentials = self._credentials.issue(spec)
        worker = Worker(
            python=environment.python,
            task_root=task_root,
            environment=worker_environment(
                spec,
                task_root=task_root,
                runtime_dir=environment.site_packages,
                interpreter_bin_dir=environment.python.parent,
                endpoint_url=endpoints.default,
                service_endpoint_urls=endpoints.services,
                log_stream_name=stream_name,
                credentials=credentials,
            ),
            log_stream_name=stream_name,
            memory_mib=spec.memory_mib,
            debugger=debugger,
        )
        self._worker_credentials[worker] = credentials
        self._pool.track(worker)
        return worker, worker.start(self._init_timeout_seconds)

    def _finish(
        self, record: answers.Record, worker: Worker, result: InvocationResult
    ) -> InvocationResult:
        self._sink.put(
            spec=record.spec, stream_name=worker.log_stream_name, events=record.ordered()
        )
        return result

    def _reap(self, interval_seconds: float) -> None:
        while not self._stopping.wait(interval_seconds):
            self._pool.reap_idle()


def _venv_version(environment: RuntimeEnvironment) -> str:
    """The interpreter's full version (``3.12.1``), from the venv's ``pyvenv.cfg``."""
    try:
        lines = (environment.directory / "pyvenv.cfg").read_text().splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        name, _, value = line.partition("=")
        if name.strip() in {"version", "version_info"}:
            return value.strip()
    return "unknown"
