"""The log records Lambda writes around an invocation, in its text format.

Each execution environment writes to a stream of its own, named as Lambda names them
(``2025/01/31/[$LATEST]<32 hex>``). Around the function's output of one invocation come
``START``, ``END`` and ``REPORT``; a cold start adds ``INIT_START`` and the init phase's output
before them. Every message ends with a newline, as Lambda's CloudWatch events do.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

__all__ = [
    "LOG_TAIL_BYTES",
    "billed_duration_ms",
    "end_line",
    "error_log_message",
    "init_start_line",
    "log_stream_name",
    "log_tail",
    "report_line",
    "start_line",
    "timestamp_text",
]

#: ``LogType=Tail`` returns the last 4 KB of the invocation's log.
LOG_TAIL_BYTES: Final = 4096


def log_stream_name(version: str, now: datetime | None = None) -> str:
    """A new stream name for one execution environment: ``YYYY/MM/DD/[version]<32 hex>``."""
    day = (now or datetime.now(UTC)).strftime("%Y/%m/%d")
    return f"{day}/[{version}]{uuid.uuid4().hex}"


def timestamp_text(epoch_ms: int) -> str:
    """``2025-01-31T12:00:00.123Z``: how Lambda's own lines (timeouts) print a time."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def init_start_line(runtime: str, interpreter_version: str, region: str) -> str:
    """The first line of a cold start (the runtime version is the local interpreter's)."""
    name = runtime.removeprefix("python")
    return (
        f"INIT_START Runtime Version: python:{name}.local-{interpreter_version}\t"
        f"Runtime Version ARN: arn:aws:lambda:{region}::runtime:local-{interpreter_version}\n"
    )


def start_line(request_id: str, version: str) -> str:
    """The line that opens an invocation."""
    return f"START RequestId: {request_id} Version: {version}\n"


def end_line(request_id: str) -> str:
    """The line that closes an invocation's output."""
    return f"END RequestId: {request_id}\n"


def billed_duration_ms(duration_ms: float) -> int:
    """Lambda bills by the millisecond, rounded up (at least 1 ms)."""
    return max(1, math.ceil(duration_ms))


def report_line(
    request_id: str,
    *,
    duration_ms: float,
    memory_mib: int,
    max_memory_used_mib: int,
    init_duration_ms: float | None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """``REPORT RequestId: ...`` with Lambda's tab-separated fields.

    ``status``/``error_type`` are added as Lambda adds them when the environment failed
    (``Status: timeout``, ``Status: error\tError Type: Runtime.ExitError``).
    """
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_duration_ms(duration_ms)} ms",
        f"Memory Size: {memory_mib} MB",
        f"Max Memory Used: {max_memory_used_mib} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status is not None:
        fields.append(f"Status: {status}")
    if error_type is not None:
        fields.append(f"Error Type: {error_type}")
    return "\t".join(fields) + "\t\n"


def error_log_message(document: Mapping[str, Any]) -> str:
    """The one log event Lambda's Python runtime writes for an error document.

    ``[ERROR] Type: message`` then ``Traceback (most recent call last):`` and the frames, as
    awslambdaric's ``log_error`` formats them.
    """
    description = "[ERROR]"
    error_type = document.get("errorType")
    message = document.get("errorMessage")
    if error_type:
        description += f" {error_type}"
    if message:
        description += (":" if error_type else "") + f" {message}"
    lines = [description]
    stack_trace: Sequence[str] | None = document.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            lines.extend(element.splitlines() if element else [""])
    return "\n".join(lines) + "\n"


def log_tail(messages: Sequence[str]) -> str:
    """The last :data:`LOG_TAIL_BYTES` of an invocation's log (whole characters only)."""
    encoded = "".join(messages).encode("utf-8")[-LOG_TAIL_BYTES:]
    return encoded.decode("utf-8", errors="ignore")
