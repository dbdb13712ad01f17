"""``./tap logs``: a deployed function's CloudWatch Logs, printed like ``sam logs``.

Works on any CloudWatch Logs client: the local target's (the emulator writes START / END /
REPORT and the function's own output for every invocation, see
:mod:`tooling.emulator.runtime`) and AWS's. Events are read with ``FilterLogEvents`` across
every stream of the group, oldest first; ``follow`` keeps polling for new ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["FunctionLogsError", "format_event", "function_log_group", "read_events", "tail"]


class FunctionLogsError(RuntimeError):
    """The logs cannot be read; the message says what to do."""


def function_log_group(outputs: Mapping[str, Any], environment: str, service: str) -> str:
    """The log group of ``service`` in ``environment``, from the deploy's flat outputs."""
    key = f"{environment}_{service}_function_name"
    name = outputs.get(key)
    if not name:
        raise FunctionLogsError(
            f"cfn-outputs/flat-outputs.json has no {key}: deploy {environment} first "
            f"(`./tap deploy --env {environment}`), and name a service of the platform "
            "(processor or api_handler)."
        )
    return f"/aws/lambda/{name}"


def format_event(event: Mapping[str, Any]) -> str:
    """One log event as ``<UTC time> <stream> <message>`` (the message's own newline dropped)."""
    stamp = datetime.fromtimestamp(int(event["timestamp"]) / 1000, UTC)
    message = str(event.get("message", "")).rstrip("\n")
    return f"{stamp:%Y-%m-%dT%H:%M:%S.%f}"[:-3] + f"Z {event.get('logStreamName', '')} {message}"


def read_events(client: Any, group: str, *, start_ms: int) -> Iterator[dict[str, Any]]:
    """Every event of ``group`` at or after ``start_ms``, oldest first (all pages)."""
    try:
        paginator = client.get_paginator("filter_log_events")
        pages = paginator.paginate(logGroupName=group, startTime=start_ms)
        events = [event for page in pages for event in page.get("events", [])]
    except client.exceptions.ResourceNotFoundException:
        raise FunctionLogsError(
            f"log group {group} does not exist yet: the function has not run since it was "
            "deployed (upload a file or call the API first)."
        ) from None
    yield from sorted(events, key=lambda event: (event["timestamp"], event.get("eventId", "")))


def tail(
    client: Any,
    group: str,
    *,
    out: TextIO,
    follow: bool = False,
    since_ms: int = 0,
    poll_seconds: float = 1.0,
    keep_going: Callable[[], bool] = lambda: True,
) -> int:
    """Print the events of ``group`` since ``since_ms``; with ``follow``, keep printing new ones
    until ``keep_going`` says stop (Ctrl-C in the task). Returns how many were printed."""
    seen: set[str] = set()
    printed = 0
    start_ms = since_ms
    while True:
        for event in read_events(client, group, start_ms=start_ms):
            identity = str(event.get("eventId") or (event["timestamp"], event.get("message")))
            if identity in seen:
                continue
            seen.add(identity)
            print(format_event(event), file=out, flush=True)
            printed += 1
            start_ms = max(start_ms, int(event["timestamp"]))
        if not follow or not keep_going():
            return printed
        time.sleep(poll_seconds)
