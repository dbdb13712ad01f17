"""What ``./tap invoke`` prints: the answer (pretty-printed payload), the queued asynchronous
invocation, the invocation's log."""

from __future__ import annotations

import json
from typing import TextIO

from tooling.invoke_function.client import Answer
from tooling.invoke_function.functions import Target
from tooling.invoke_function.logs import InvocationLog


def print_lines(out: TextIO, *lines: str) -> None:
    """Each line to ``out`` at once (a long wait may follow)."""
    for line in lines:
        print(line, file=out, flush=True)


def pretty(payload: bytes) -> str:
    """The payload indented when it is JSON, else as text."""
    text = payload.decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def answer_lines(target: Target, answer: Answer, request_id: str) -> list[str]:
    """A synchronous invocation's answer: status, request id, function error, payload."""
    head = f"{target.function_name}: {answer.status_code}, request id {request_id}"
    error = f", function error: {answer.function_error}" if answer.function_error else ""
    return [head + error, "payload:", pretty(answer.payload)]


def queued_lines(target: Target, answer: Answer, timeout_seconds: float) -> list[str]:
    """An asynchronous invocation's answer, and what is waited for."""
    return [
        f"{target.function_name}: {answer.status_code} (queued: InvocationType Event), request id "
        f"{answer.request_id}",
        f"waiting for its REPORT in {target.log_group} (timeout {timeout_seconds:g} s)",
    ]


def stand_in_note(answered_id: str, log: InvocationLog) -> str:
    """Why the log followed is not that of the answered request id."""
    return (
        f"note: no log line carries request id {answered_id}; this is the only "
        f"invocation started since the call: {log.request_id}"
    )


def log_lines(log: InvocationLog) -> list[str]:
    """The invocation's log under a heading saying where it was read."""
    return [f"log ({log.source}):", *log.lines]
