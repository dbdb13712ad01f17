"""What one invocation answers and logs, as Lambda writes them: from what the worker did (or
why its init failed) to the Invoke API's answer (payload, ``FunctionError``, log tail) and the
log events of the invocation (``START``, the function's output, ``END``, ``REPORT``).

Failures of the environment are reported as Lambda reports them: a timeout
(``Sandbox.Timedout``), a process that exited (``Runtime.ExitError``), one killed for going
over the function's memory size (``Runtime.OutOfMemory``), a response over the limit
(``Function.ResponseSizeTooLarge``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tooling.emulator.runtime import logs
from tooling.emulator.runtime.memory import peak_memory_mib
from tooling.emulator.runtime.model import (
    RESPONSE_PAYLOAD_LIMIT_BYTES,
    FunctionSpec,
    InvocationResult,
)
from tooling.emulator.runtime.worker import InitOutcome, InvokeOutcome, LogLine

__all__ = ["UNHANDLED", "Record", "init_failed", "invoked", "now_ms"]

UNHANDLED: Final = "Unhandled"


@dataclass
class Record:
    """The log events and timings of one invocation, as they are assembled."""

    request_id: str
    spec: FunctionSpec
    events: list[LogLine] = field(default_factory=list)
    init_duration_ms: float | None = None

    def add(self, message: str, epoch_ms: int | None = None) -> None:
        self.events.append((epoch_ms if epoch_ms is not None else now_ms(), message))

    def extend(self, lines: list[LogLine]) -> None:
        self.events.extend(lines)

    def ordered(self) -> list[LogLine]:
        """Events with non-decreasing timestamps, as CloudWatch Logs requires in a batch."""
        ordered: list[LogLine] = []
        latest = 0
        for epoch_ms, message in self.events:
            latest = max(latest, epoch_ms)
            ordered.append((latest, message))
        return ordered


def now_ms() -> int:
    """Milliseconds since the epoch: the timestamps of log events."""
    return time.time_ns() // 1_000_000


def _compact(document: Mapping[str, Any]) -> bytes:
    """Error documents written by Lambda's service (not the runtime) have no spaces."""
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def init_failed(record: Record, init: InitOutcome) -> InvocationResult:
    """The invocation that met a failed init: its error, with START/END/REPORT."""
    spec, request_id = record.spec, record.request_id
    init_ms = init.init_duration_ms
    if init.error_document is not None:
        document: Mapping[str, Any] = init.error_document
        payload = json.dumps(document).encode("utf-8")
        record.add(logs.error_log_message(document))
        error_type = str(document.get("errorType", ""))
        status = "error"
    else:
        failure = init.failure or "timeout"
        payload, error_type, status = _environment_failure(
            record, failure, init_ms, out_of_memory=init.out_of_memory
        )
    record.add(
        f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: {status}"
        + (f"\tError Type: {error_type}" if status == "error" else "")
        + "\n"
    )
    record.add(logs.start_line(request_id, spec.version))
    return _result(
        record,
        payload=payload,
        function_error=UNHANDLED,
        duration_ms=init_ms,
        max_rss_kib=init.max_rss_kib,
        status=status,
        error_type=error_type if status == "error" else None,
        report_init=False,
    )


def invoked(record: Record, outcome: InvokeOutcome) -> InvocationResult:
    """The invocation's answer from what the worker did."""
    record.extend(outcome.output)
    payload, function_error = outcome.payload, None
    status = error_type = None
    if outcome.failure is not None:
        payload, error_type, status = _environment_failure(
            record, outcome.failure, outcome.duration_ms, out_of_memory=outcome.out_of_memory
        )
        function_error = UNHANDLED
        error_type = error_type if status == "error" else None
    elif outcome.handler_error:
        record.add(logs.error_log_message(json.loads(outcome.payload)))
        function_error = UNHANDLED
    elif len(outcome.payload) > RESPONSE_PAYLOAD_LIMIT_BYTES:
        document = {
            "errorMessage": "Response payload size exceeded maximum allowed payload size "
            f"({RESPONSE_PAYLOAD_LIMIT_BYTES} bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }
        payload, function_error = _compact(document), UNHANDLED
    return _result(
        record,
        payload=payload,
        function_error=function_error,
        duration_ms=outcome.duration_ms,
        max_rss_kib=outcome.max_rss_kib,
        status=status,
        error_type=error_type,
    )


def _environment_failure(
    record: Record, failure: str, duration_ms: float, *, out_of_memory: bool = False
) -> tuple[bytes, str, str]:
    """Payload, error type and REPORT status of a timeout or a dead worker; logs it.

    A worker killed over its memory size is ``Runtime.OutOfMemory`` with the same message
    as an exit, and Lambda's log line ``RequestId: ... Error: ...`` then the error type
    (``FaultData`` in ``internal/lambda/interop/events_api.go`` of
    https://github.com/aws/aws-lambda-runtime-interface-emulator; the OOM error type in its
    ``internal/lambda-managed-instances/rapid/shutdown.go``).
    """
    request_id, timeout_seconds = record.request_id, record.spec.timeout_seconds
    if failure == "timeout":
        message = f"Task timed out after {timeout_seconds:.2f} seconds"
        record.add(f"{logs.timestamp_text(now_ms())} {request_id} {message}\n")
        document = {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {request_id} Error: {message}",
        }
        return _compact(document), "Sandbox.Timedout", "timeout"
    error_type = "Runtime.OutOfMemory" if out_of_memory else "Runtime.ExitError"
    message = f"RequestId: {request_id} Error: Runtime exited with error: {failure}"
    record.add(f"{message}\n{error_type}\n")
    document = {"errorType": error_type, "errorMessage": message}
    return _compact(document), error_type, "error"


def _result(
    record: Record,
    *,
    payload: bytes,
    function_error: str | None,
    duration_ms: float,
    max_rss_kib: int,
    status: str | None = None,
    error_type: str | None = None,
    report_init: bool = True,
) -> InvocationResult:
    memory_used_mib = peak_memory_mib(max_rss_kib)
    record.add(logs.end_line(record.request_id))
    record.add(
        logs.report_line(
            record.request_id,
            duration_ms=duration_ms,
            memory_mib=record.spec.memory_mib,
            max_memory_used_mib=memory_used_mib,
            init_duration_ms=record.init_duration_ms if report_init else None,
            status=status,
            error_type=error_type,
        )
    )
    return InvocationResult(
        request_id=record.request_id,
        payload=payload,
        function_error=function_error,
        log_tail=logs.log_tail([message for _, message in record.events]),
        duration_ms=duration_ms,
        billed_duration_ms=logs.billed_duration_ms(duration_ms),
        init_duration_ms=record.init_duration_ms,
        max_memory_used_mib=memory_used_mib,
    )
