"""Reading what the processor logged about one uploaded object, and its dead-letter queue
(:class:`ObjectWatch`).

The part summaries and failed attempts of the object are read from the function's log group
with ``FilterLogEvents``: only events naming the key (a quoted-term filter pattern,
:func:`key_filter_pattern`), from the creation of the object on, the start time moving forward
as events are read. The dead-letter queue is looked at without consuming it
(:func:`tooling.upload.dead_letters.dead_letter_of`). The summaries name the bucket and key, not
the object's version or ETag (see :mod:`tooling.upload`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from tooling.upload.dead_letters import dead_letter_of
from tooling.upload.deployment import Deployment
from tooling.upload.errors import UploadError
from tooling.upload.records import (
    DeadLetter,
    FailedAttempt,
    Observation,
    PartSummary,
    json_object,
)
from tooling.upload.transfer import UploadedObject

__all__ = ["REREAD_MS", "ObjectWatch", "key_filter_pattern"]

#: Each poll reads again the last minute of matching events (deduplicated by event id): an event
#: of another execution environment's stream can become visible after a later one.
REREAD_MS: Final = 60_000
#: The level of the processor's line for a failed attempt (``processor.handler._ingest``: a
#: Powertools ``logger.exception``, the traceback under ``exception``).
_ERROR_LEVEL: Final = "ERROR"


def key_filter_pattern(key: str) -> str:
    """A FilterLogEvents pattern matching the events that contain ``key`` as the processor's
    JSON lines write it: a quoted term, "an exact phrase"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).
    A key whose JSON form holds a quote or a backslash (escapes, non-ASCII) cannot be such a
    term: then every event is read and matched here."""
    text = json.dumps(key)[1:-1]
    return "" if '"' in text or "\\" in text else f'"{text}"'


def _error_text(record: Mapping[str, Any]) -> str:
    """``Type: message`` of a Powertools ``logger.exception`` record (the traceback's last
    line), else its message."""
    lines = [line for line in str(record.get("exception") or "").splitlines() if line.strip()]
    if lines:
        return lines[-1].strip()
    return str(record.get("message", "failed"))


class ObjectWatch:
    """Reads what the processor logged about one uploaded object, and its dead-letter queue.

    Each :meth:`poll` returns what is new since the last one.
    """

    def __init__(
        self,
        logs: Any,
        sqs: Any,
        uploaded: UploadedObject,
        deployment: Deployment,
    ) -> None:
        self._logs = logs
        self._sqs = sqs
        self._object = uploaded
        self._group = deployment.log_group
        self._queue = deployment.dead_letter_queue_url
        self._pattern = key_filter_pattern(uploaded.key)
        self._read_from = uploaded.created_ms
        self._seen: set[str] = set()
        self._dead_lettered = False
        self.notes: list[str] = []

    def poll(self) -> list[Observation]:
        found: list[Observation] = list(self._logged())
        dead = self._dead_letter()
        if dead is not None:
            found.append(dead)
        return found

    def _logged(self) -> Iterable[PartSummary | FailedAttempt]:
        events = self._new_events()
        for event in events:
            record = json_object(str(event.get("message", "")))
            if record is None or record.get("key") != self._object.key:
                continue
            if record.get("bucket") != self._object.bucket:
                continue
            stamp = int(event["timestamp"])
            if "status" in record:
                summary = PartSummary.from_record(record, stamp)
                if summary is not None:
                    yield summary
            elif record.get("level") == _ERROR_LEVEL:
                yield FailedAttempt(error=_error_text(record), timestamp_ms=stamp)

    def _new_events(self) -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        arguments: dict[str, Any] = {"logGroupName": self._group, "startTime": self._read_from}
        if self._pattern:
            arguments["filterPattern"] = self._pattern
        try:
            pages = self._logs.get_paginator("filter_log_events").paginate(**arguments)
            events = [event for page in pages for event in page.get("events", [])]
        except self._logs.exceptions.ResourceNotFoundException:
            return []  # the function has not logged anything yet
        except (BotoCoreError, ClientError) as error:
            raise UploadError(f"reading the logs of {self._group} failed: {error}") from None
        fresh = []
        for event in sorted(events, key=lambda e: (int(e["timestamp"]), e.get("eventId", ""))):
            identity = str(event.get("eventId") or (event["timestamp"], event.get("message")))
            if identity not in self._seen:
                self._seen.add(identity)
                fresh.append(event)
        if events:
            newest = max(int(event["timestamp"]) for event in events)
            self._read_from = max(self._object.created_ms, newest - REREAD_MS)
        return fresh

    def _dead_letter(self) -> DeadLetter | None:
        """A look at up to 10 messages of the queue, leaving them there (visibility timeout 0:
        a replay or another reader still finds them)."""
        if self._queue is None or self._dead_lettered:
            return None
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._sqs.receive_message(
                QueueUrl=self._queue,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["SentTimestamp"],
                MessageAttributeNames=["All"],
            )
        except (BotoCoreError, ClientError) as error:
            self.notes.append(
                f"cannot read the dead-letter queue {self._queue} ({error}): a dead-lettered "
                "event is then seen only as failed attempts in the logs"
            )
            self._queue = None
            return None
        for message in answer.get("Messages", []):
            sent = int(message.get("Attributes", {}).get("SentTimestamp", "0"))
            if sent < self._object.created_ms:
                continue
            dead = dead_letter_of(self._object, message)
            if dead is not None:
                self._dead_lettered = True
                return dead
        return None
