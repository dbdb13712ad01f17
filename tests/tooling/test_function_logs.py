"""tooling.function_logs: what `./tap logs` prints of a function's CloudWatch Logs."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tooling.function_logs import FunctionLogsError, format_event, function_log_group, tail

pytestmark = pytest.mark.moto

GROUP = "/aws/lambda/tap-processor-dev"
#: CloudWatch Logs refuses events older than 14 days: the tests log "now" plus offsets.
NOW_MS = int(time.time() * 1000) - 60_000


@pytest.fixture
def logs() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("logs", region_name="ap-southeast-1")
        client.create_log_group(logGroupName=GROUP)
        yield client


def _put(logs: Any, stream: str, *events: tuple[int, str]) -> None:
    if stream not in {
        s["logStreamName"] for s in logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
    }:
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": stamp, "message": message} for stamp, message in events],
    )


def test_the_group_is_named_after_the_deployed_function() -> None:
    outputs = {"dev_processor_function_name": "tap-processor-dev"}
    assert function_log_group(outputs, "dev", "processor") == GROUP


def test_an_undeployed_service_says_what_to_run() -> None:
    with pytest.raises(FunctionLogsError, match=r"./tap deploy --env staging"):
        function_log_group({}, "staging", "processor")


def test_an_event_prints_as_utc_time_stream_and_message() -> None:
    event = {"timestamp": 1_700_000_000_123, "logStreamName": "s", "message": "START x\n"}
    assert format_event(event) == "2023-11-14T22:13:20.123Z s START x"


def test_every_stream_is_printed_oldest_first(logs: Any) -> None:
    _put(logs, "b", (NOW_MS + 2, "second"))
    _put(logs, "a", (NOW_MS + 1, "first"), (NOW_MS + 3, "third"))
    out = io.StringIO()
    assert tail(logs, GROUP, out=out) == 3
    assert [line.split(" ", 2)[2] for line in out.getvalue().splitlines()] == [
        "first",
        "second",
        "third",
    ]


def test_a_missing_group_says_the_function_has_not_run(logs: Any) -> None:
    with pytest.raises(FunctionLogsError, match="has not run"):
        tail(logs, "/aws/lambda/nothing", out=io.StringIO())


def test_follow_prints_new_events_once(logs: Any) -> None:
    _put(logs, "a", (NOW_MS + 1, "old"))
    out = io.StringIO()
    polls = iter([True, True, False])
    added = threading.Event()

    def keep_going() -> bool:
        if not added.is_set():
            _put(logs, "a", (NOW_MS + 2, "new"))
            added.set()
        return next(polls)

    printed = tail(logs, GROUP, out=out, follow=True, poll_seconds=0, keep_going=keep_going)
    assert printed == 2
    assert [line.rsplit(" ", 1)[1] for line in out.getvalue().splitlines()] == ["old", "new"]
