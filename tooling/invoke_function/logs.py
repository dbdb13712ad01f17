"""The invocation's log lines, ``START`` to ``REPORT``: decoded from Invoke's ``LogResult`` (the
last 4 KB), or read from the function's log group, waited for until its ``REPORT`` is there.

Both of Lambda's log formats are read: ``START``/``REPORT`` lines in plain text,
``platform.start`` and ``platform.report`` records in JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tooling.function_logs import FunctionLogsError, read_events

#: How long to wait for an invocation's log in the log group (an asynchronous one: its REPORT).
DEFAULT_TIMEOUT_SECONDS: Final = 120
POLL_SECONDS: Final = 1.0
#: How far before the Invoke call the log group is read from (clocks of this machine and the
#: service differ a little).
LOG_MARGIN_MS: Final = 5_000


@dataclass(frozen=True)
class InvocationLog:
    """An invocation's log lines, ``START`` to ``REPORT``, where they were read, and the
    request id they carry (None: not seen in them)."""

    lines: tuple[str, ...]
    source: str
    request_id: str | None = None


def _lines(messages: Iterator[str] | Sequence[str]) -> list[str]:
    return [line for message in messages for line in message.rstrip("\n").splitlines()]


def _stream_messages(logs: Any, group: str, stream: str, start_ms: int) -> Iterator[str]:
    """The messages of one stream from ``start_ms`` on, in the stream's order."""
    token: str | None = None
    while True:
        request: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startTime": start_ms,
            "startFromHead": True,
        }
        if token is not None:
            request["nextToken"] = token
        page = logs.get_log_events(**request)
        for event in page.get("events", []):
            yield str(event.get("message", ""))
        following = page.get("nextForwardToken")
        if not page.get("events") or following is None or following == token:
            return
        token = following


def _platform_id(message: str, *, text: str, json_type: str) -> str | None:
    """The request id of Lambda's ``text`` line (``START``, ``REPORT``) in ``message``, if it is
    one: ``START RequestId: <id> ...`` in the plain text log format, ``{"type":
    "platform.start", "record": {"requestId": "<id>", ...}, ...}`` in the JSON one (the
    platform's functions log in JSON;
    https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html)."""
    prefix = f"{text} RequestId: "
    if message.startswith(prefix):
        found = message[len(prefix) :].split(None, 1)
        return found[0] if found else None
    if not message.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(message)
    except ValueError:
        return None
    record = document.get("record") if isinstance(document, dict) else None
    if not isinstance(record, dict) or document.get("type") != json_type:
        return None
    request_id = record.get("requestId")
    return request_id if isinstance(request_id, str) and request_id else None


def start_id(message: str) -> str | None:
    """The request id of the invocation ``message`` opens, if it opens one."""
    return _platform_id(message, text="START", json_type="platform.start")


def report_id(message: str) -> str | None:
    """The request id of the invocation ``message`` reports on, if it is a report."""
    return _platform_id(message, text="REPORT", json_type="platform.report")


def _opening(
    events: Sequence[Mapping[str, Any]], request_id: str, *, only_other_since: int | None
) -> tuple[Mapping[str, Any], str] | None:
    """The event opening invocation ``request_id``, with its id; with ``only_other_since``,
    when none does, the only invocation opened at or after that time (an answer whose request
    id the log does not carry: the local emulator's asynchronous answers, on the same clock)."""
    opened = [
        (event, found)
        for event in events
        if (found := start_id(str(event.get("message", "")))) is not None
    ]
    exact = [(event, found) for event, found in opened if found == request_id]
    if exact:
        return exact[0]
    if only_other_since is None:
        return None
    later = [(e, found) for e, found in opened if int(e["timestamp"]) >= only_other_since]
    return later[0] if len(later) == 1 else None


def invocation_log(
    logs: Any, group: str, request_id: str, *, since_ms: int, only_other_since: int | None = None
) -> InvocationLog | None:
    """The log of invocation ``request_id``, ``START`` to ``REPORT``, from the stream whose
    ``START`` line names it (an execution environment runs one invocation at a time, so what its
    stream holds between the two is that invocation's); None until its ``REPORT`` is there.
    ``only_other_since``: see :func:`_opening`."""
    try:
        events = list(read_events(logs, group, start_ms=since_ms))
    except FunctionLogsError:
        return None
    opening = _opening(events, request_id, only_other_since=only_other_since)
    if opening is None:
        return None
    first, found_id = opening
    stream = str(first["logStreamName"])
    lines: list[str] = []
    for message in _stream_messages(logs, group, stream, int(first["timestamp"])):
        if lines or start_id(message) == found_id:
            lines.extend(_lines([message]))
        if lines and report_id(message) == found_id:
            return InvocationLog(tuple(lines), f"{group}, stream {stream}", found_id)
    return None


@dataclass(frozen=True)
class LogWait:
    """Where and how long to wait for an invocation's log: the log group ``group`` read from
    ``since_ms`` on, every ``poll_seconds`` until ``timeout_seconds`` have passed on ``clock``."""

    logs: Any
    group: str
    since_ms: int
    timeout_seconds: float
    poll_seconds: float
    clock: Callable[[], float]
    sleep: Callable[[float], None]

    def read(self, request_id: str, *, only_other_since: int | None = None) -> InvocationLog | None:
        """:func:`invocation_log` until it is found (None: not within the timeout)."""
        deadline = self.clock() + self.timeout_seconds
        while True:
            found = invocation_log(
                self.logs,
                self.group,
                request_id,
                since_ms=self.since_ms,
                only_other_since=only_other_since,
            )
            if found is not None or self.clock() >= deadline:
                return found
            self.sleep(self.poll_seconds)


def tail_lines(log_result: str | None) -> list[str]:
    """The lines of Invoke's ``LogResult`` (base64; none when it is missing or not base64)."""
    if not log_result:
        return []
    try:
        text = base64.b64decode(log_result).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return []
    return _lines([text])
