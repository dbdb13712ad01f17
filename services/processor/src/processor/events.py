"""Reading the Lambda's input: S3 event notifications, or a continuation of a file.

A continuation event (``{"processor_continuation": {...}}``) is sent by this function to
itself when a file needs more than one invocation (``processor.domain.checkpoint``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from processor.domain.checkpoint import EVENT_KEY, Checkpoint, CheckpointError
from processor.domain.errors import ProcessorError
from processor.domain.ports import ObjectRef


class InvalidEventError(ProcessorError):
    """The event is not an S3 event notification (misconfiguration: never data)."""


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    objects: list[ObjectRef] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    continuation: Checkpoint | None = None  # where to resume objects[0]


def _record_ref(record: Mapping[str, Any]) -> ObjectRef:
    s3 = record["s3"]
    bucket = s3["bucket"]["name"]
    raw_key = s3["object"]["key"]
    version_id = s3["object"].get("versionId")
    if not isinstance(bucket, str) or not isinstance(raw_key, str) or not bucket or not raw_key:
        raise TypeError("bucket name and object key must be non-empty strings")
    if version_id is not None and not isinstance(version_id, str):
        raise TypeError("versionId must be a string")
    # Keys in S3 event notifications are URL-encoded ('+' for a space, %XX for the rest).
    return ObjectRef(bucket=bucket, key=unquote_plus(raw_key), version_id=version_id or None)


def parse_s3_event(event: Mapping[str, Any]) -> ParsedEvent:
    """The objects an S3 event notification (or a continuation event) names.

    The ``s3:TestEvent`` that S3 sends when notifications are configured yields nothing;
    records other than ``ObjectCreated:*`` are skipped (listed in ``skipped``). Anything that
    is not an S3 notification raises ``InvalidEventError``.
    """
    if EVENT_KEY in event:
        try:
            checkpoint = Checkpoint.from_event(event)
        except CheckpointError as exc:
            raise InvalidEventError(str(exc)) from None
        return ParsedEvent(objects=[checkpoint.ref], continuation=checkpoint)
    if event.get("Event") == "s3:TestEvent":
        return ParsedEvent(skipped=["s3:TestEvent"])
    records = event.get("Records")
    if not isinstance(records, list):
        raise InvalidEventError("event has no Records list: not an S3 event notification")
    parsed = ParsedEvent()
    for index, record in enumerate(records):
        try:
            name = record.get("eventName", "")
            if record.get("eventSource") != "aws:s3" or not isinstance(name, str):
                raise TypeError("eventSource is not aws:s3")
            ref = _record_ref(record)
        except (AttributeError, KeyError, TypeError) as exc:
            raise InvalidEventError(f"record {index} is not an S3 event record: {exc}") from None
        if name.startswith("ObjectCreated:"):
            parsed.objects.append(ref)
        else:
            parsed.skipped.append(f"{name} s3://{ref.bucket}/{ref.key}")
    return parsed
