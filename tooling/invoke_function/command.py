"""``run``: invoke the function, print the answer and follow or read the invocation's log."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from tooling.invoke_function.client import Answer, invoke
from tooling.invoke_function.debugger import DebugHook
from tooling.invoke_function.errors import InvokeError
from tooling.invoke_function.functions import Target
from tooling.invoke_function.logs import (
    DEFAULT_TIMEOUT_SECONDS,
    LOG_MARGIN_MS,
    POLL_SECONDS,
    InvocationLog,
    LogWait,
    report_id,
    start_id,
    tail_lines,
)
from tooling.invoke_function.report import (
    answer_lines,
    log_lines,
    print_lines,
    queued_lines,
    stand_in_note,
)


@dataclass(frozen=True)
class Outcome:
    """What Lambda answered, and the invocation's log (None: not found in time)."""

    status_code: int
    request_id: str
    function_error: str | None
    payload: bytes
    log: InvocationLog | None

    @property
    def asynchronous(self) -> bool:
        return self.status_code == 202


def run(
    lambda_: Any,
    logs: Any,
    target: Target,
    payload: bytes,
    *,
    out: TextIO,
    asynchronous: bool = False,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    debug: DebugHook | None = None,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> Outcome:
    """Invoke ``target`` with ``payload`` and print the answer and the invocation's log.

    Raises :class:`InvokeError` (after printing) when the function returned an error, or when an
    asynchronous invocation's ``REPORT`` did not show within ``timeout_seconds``.
    """
    if timeout_seconds <= 0:
        raise InvokeError(f"--timeout {timeout_seconds:g}: a number of seconds above 0.", 2)
    if debug is not None:
        print_lines(out, *debug(target.function_name, target.region))
    called_ms = now_ms()
    wait = LogWait(
        logs,
        target.log_group,
        since_ms=called_ms - LOG_MARGIN_MS,
        timeout_seconds=timeout_seconds,
        poll_seconds=poll_seconds,
        clock=clock,
        sleep=sleep,
    )
    answer = invoke(lambda_, target.function_name, payload, asynchronous=asynchronous)
    if asynchronous:
        return _follow(target, answer, wait, called_ms=called_ms, out=out)
    return _answered(target, answer, wait, out=out)


def _follow(
    target: Target, answer: Answer, wait: LogWait, *, called_ms: int, out: TextIO
) -> Outcome:
    """An asynchronous invocation: its 202, then its log read from the log group to its
    ``REPORT``, or that of the only invocation started since the call when no log line carries
    the answered request id."""
    print_lines(out, *queued_lines(target, answer, wait.timeout_seconds))
    log = wait.read(answer.request_id, only_other_since=called_ms)
    if log is None:
        raise InvokeError(
            f"no REPORT of request {answer.request_id} in {target.log_group} after "
            f"{wait.timeout_seconds:g} s: see `./tap logs` (Lambda may still be running or "
            "retrying the event)."
        )
    if log.request_id != answer.request_id:
        print_lines(out, stand_in_note(answer.request_id, log))
    print_lines(out, *log_lines(log))
    request_id = log.request_id or answer.request_id
    return Outcome(answer.status_code, request_id, answer.function_error, answer.payload, log)


def _answered(target: Target, answer: Answer, wait: LogWait, *, out: TextIO) -> Outcome:
    """A synchronous invocation: its answer, and its log from ``LogResult``, or from the log
    group when the tail has lost the ``START`` line."""
    tail = tail_lines(answer.log_result)
    # The tail ends with the invocation's REPORT, which names it whatever the answer's id.
    reported = [found for line in tail if (found := report_id(line)) is not None]
    request_id = reported[-1] if reported else answer.request_id
    print_lines(out, *answer_lines(target, answer, request_id))
    log = InvocationLog(tuple(tail), "LogResult, the last 4 KB", request_id)
    if not any(start_id(line) == request_id for line in tail):
        full = wait.read(request_id)
        if full is not None:
            log = full
    print_lines(out, *log_lines(log))
    outcome = Outcome(answer.status_code, request_id, answer.function_error, answer.payload, log)
    if answer.function_error:
        raise InvokeError(
            f"{target.function_name} returned a function error ({answer.function_error})."
        )
    return outcome
