"""Whether a message of the processor's dead-letter queue is the event of an uploaded object
(its S3 notification or one of its continuations), told apart by bucket, key, ETag and version
id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from processor.domain.checkpoint import EVENT_KEY

from tooling.upload.records import DeadLetter, json_object
from tooling.upload.transfer import UploadedObject

__all__ = ["dead_letter_of"]


def dead_letter_of(uploaded: UploadedObject, message: Mapping[str, Any]) -> DeadLetter | None:
    """The dead letter of ``uploaded`` that ``message`` is, if it is one.

    The dead-letter queue receives the event itself, with Lambda's ``ErrorMessage`` attribute
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html), and,
    as the on-failure destination, Lambda's invocation record with the event as
    ``requestPayload``. The event is an S3 notification (the object key URL-encoded,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html)
    or the processor's continuation of a file (``processor.domain.checkpoint``).
    """
    body = json_object(str(message.get("Body", "")))
    if body is None:
        return None
    record = body if "requestContext" in body else None
    event = body.get("requestPayload") if record is not None else body
    if not isinstance(event, dict):
        return None
    part = _names_object(uploaded, event)
    if part is None:
        return None
    attributes = message.get("MessageAttributes", {})
    error = str(attributes.get("ErrorMessage", {}).get("StringValue", ""))
    if not error and record is not None:
        response = record.get("responsePayload")
        if isinstance(response, dict):
            error = ": ".join(
                str(response[name]) for name in ("errorType", "errorMessage") if response.get(name)
            )
        error = error or str(record.get("requestContext", {}).get("condition", ""))
    return DeadLetter(error=error or "the event failed", continuation_part=part or None)


def _names_object(uploaded: UploadedObject, event: Mapping[str, Any]) -> int | None:
    """0 when ``event`` is the S3 notification of ``uploaded``, the part number when it is a
    continuation of it, None otherwise (another object, or another version or content)."""
    continuation = event.get(EVENT_KEY)
    if isinstance(continuation, dict):
        same = _same_object(
            uploaded,
            continuation.get("bucket"),
            continuation.get("key"),
            continuation.get("etag"),
            continuation.get("version_id"),
        )
        return int(continuation.get("part", 0)) if same else None
    for record in event.get("Records") or ():
        s3 = record.get("s3", {}) if isinstance(record, dict) else {}
        target = s3.get("object", {})
        key = target.get("key")
        if _same_object(
            uploaded,
            s3.get("bucket", {}).get("name"),
            unquote_plus(key) if isinstance(key, str) else None,
            target.get("eTag"),
            target.get("versionId"),
        ):
            return 0
    return None


def _same_object(
    uploaded: UploadedObject, bucket: Any, key: Any, etag: Any, version_id: Any
) -> bool:
    if (bucket, key) != (uploaded.bucket, uploaded.key):
        return False
    if not isinstance(etag, str) or etag.strip('"') != uploaded.etag:
        return False
    versioned = version_id not in (None, "null") and uploaded.version_id is not None
    return not versioned or version_id == uploaded.version_id
