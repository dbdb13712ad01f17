"""Sample events of this function, as AWS sends them: invoke it by hand with a realistic event.

``./tap invoke processor --sample s3-put --key incoming/trades.csv`` sends :func:`s3_put`
filled from a deployment (the data bucket, its region); the same events serve a developer
without the infrastructure toolchain (a unit test, a local dry run of
``processor.handler.lambda_handler``)::

    from processor.samples import names, sample

    names()                                              # ('s3-put',)
    sample("s3-put", bucket="my-bucket", key="incoming/my trades.csv")

An event only names an object: the function reads it from the bucket, so it must exist there
(``./tap upload FILE --key KEY`` puts one) for the file to be processed; a missing object is a
``file_error`` summary, not a failed invocation.

The record follows "Event message structure"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
``eventVersion`` 2.1, ``eventSource`` ``aws:s3``, ``eventName`` without the ``s3:`` prefix,
``s3.object.key`` URL-encoded as S3 writes it (``+`` for a space, ``%XX`` for other reserved
characters, ``/`` kept), ``size`` a number, ``eTag`` without quotes, ``versionId`` only for an
object of a versioned bucket and ``sequencer`` a hexadecimal string. S3 invokes a notified
function asynchronously with that event as the payload
(https://docs.aws.amazon.com/lambda/latest/dg/with-s3.html).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import quote_plus

__all__ = [
    "HANDLER",
    "SAMPLES",
    "SAMPLE_TRADE_FILE",
    "SAMPLE_TRADE_FILE_KEY",
    "Sample",
    "UnknownSampleError",
    "names",
    "s3_put",
    "sample",
]

#: The Lambda handler these events are for.
HANDLER = "processor.handler.lambda_handler"

DEFAULT_REGION = "ap-southeast-1"
DEFAULT_BUCKET = "tap-data-dev-ap-southeast-1-123456789012"
DEFAULT_KEY = "incoming/trades.csv"

#: A small trade file for the S3 sample to name: three trades and one line the processor
#: rejects (a side that is neither BUY nor SELL), in the documented CSV format.
SAMPLE_TRADE_FILE = (
    b"trade_id,account_id,symbol,side,quantity,price,currency,executed_at\n"
    b"SAMPLE-1,acc-sample,D05.SI,BUY,100,35.125,SGD,2024-03-01T09:30:00Z\n"
    b"SAMPLE-2,acc-sample,O39.SI,SELL,250,12.5,SGD,2024-03-01T09:31:00Z\n"
    b"SAMPLE-3,acc-sample,U11.SI,BUY,10,28.04,SGD,2024-03-01T09:32:00Z\n"
    b"SAMPLE-4,acc-sample,Z74.SI,HOLD,1,3.1,SGD,2024-03-01T09:33:00Z\n"
)
#: Where a developer's tool puts :data:`SAMPLE_TRADE_FILE`: under ``incoming/``, the only prefix
#: the function's role may read. The bucket's notification processes it too; the function is
#: idempotent, so whichever run comes second counts its trades as duplicates.
SAMPLE_TRADE_FILE_KEY = "incoming/samples/trades.csv"
#: Its ETag as S3 computes it for a single PutObject (the MD5 of its bytes): the S3 sample's
#: default, so that by default the event describes the sample trade file.
SAMPLE_TRADE_FILE_ETAG = hashlib.md5(SAMPLE_TRADE_FILE, usedforsecurity=False).hexdigest()


class UnknownSampleError(LookupError):
    """No sample has that name; the message lists the names there are."""


@dataclass(frozen=True, slots=True)
class Sample:
    """A named event: what it is, the handler it is for, and the function building it
    (keyword arguments only, every one with a default)."""

    name: str
    summary: str
    handler: str
    build: Callable[..., dict[str, Any]]


def event_key(key: str) -> str:
    """``key`` as S3 writes it into an event: form-encoded (``+`` for a space), ``/`` kept."""
    return quote_plus(key, safe="/")


def _event_time(moment: datetime) -> str:
    """ISO 8601 with milliseconds, UTC: ``2024-03-01T12:00:00.250Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def s3_put(
    *,
    bucket: str = DEFAULT_BUCKET,
    key: str = DEFAULT_KEY,
    size: int = len(SAMPLE_TRADE_FILE),
    etag: str = SAMPLE_TRADE_FILE_ETAG,
    version_id: str | None = None,
    region: str = DEFAULT_REGION,
    event_time: datetime | None = None,
    sequencer: str | None = None,
    request_id: str | None = None,
    configuration_id: str = "tf-s3-lambda-20260101000000000000000001",
) -> dict[str, Any]:
    """The ``ObjectCreated:Put`` notification of ``s3://bucket/key`` (``key`` as stored, not
    encoded; ``etag`` with or without its quotes).

    ``event_time`` defaults to now; ``sequencer`` to the event time in nanoseconds as 16
    upper-case hex digits (S3's grow for later events of a key); ``request_id`` to a random
    S3-style id.
    """
    if not bucket or not key:
        raise ValueError("bucket and key must not be empty")
    if size < 0:
        raise ValueError("size must not be negative")
    moment = event_time or datetime.now(UTC)
    nanoseconds = int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000
    s3_object: dict[str, Any] = {"key": event_key(key), "size": size, "eTag": etag.strip('"')}
    if version_id is not None:
        s3_object["versionId"] = version_id
    s3_object["sequencer"] = sequencer or f"{nanoseconds:016X}"
    s3_request_id = request_id or secrets.token_hex(8).upper()
    record: dict[str, Any] = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": _event_time(moment),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUPLOADER"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {
            "x-amz-request-id": s3_request_id,
            "x-amz-id-2": base64.b64encode(secrets.token_bytes(57)).decode("ascii"),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3I5XTEXAMAI3E"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": s3_object,
        },
    }
    return {"Records": [record]}


SAMPLES: Mapping[str, Sample] = MappingProxyType(
    {
        "s3-put": Sample(
            "s3-put",
            "S3 ObjectCreated:Put notification of one object (bucket, key, size, etag, "
            "version_id, region)",
            HANDLER,
            s3_put,
        ),
    }
)


# names() and sample() are written out in api_handler.samples too: each service is a package of its
# own that ships and is tested alone, so the two share no module.
def names(handler: str | None = None) -> tuple[str, ...]:
    """The samples' names in table order; with ``handler``, only those for that handler."""
    return tuple(name for name, s in SAMPLES.items() if handler is None or s.handler == handler)


def sample(name: str, **params: Any) -> dict[str, Any]:
    """The event of sample ``name`` built with ``params`` (the builder's keyword arguments)."""
    found = SAMPLES.get(name)
    if found is None:
        raise UnknownSampleError(f"no sample {name!r}; the samples are: {', '.join(SAMPLES)}")
    return found.build(**params)
