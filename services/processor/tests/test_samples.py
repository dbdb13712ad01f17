"""The sample events (processor.samples): AWS's S3 notification shape, read by this service's own
event parser and processed end to end by its handler."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model
from aws_lambda_powertools.utilities.typing import LambdaContext
from processor import handler
from processor.adapters.memory import InMemoryObjectStore
from processor.domain.ports import ObjectRef
from processor.domain.service import IngestService
from processor.events import parse_s3_event
from processor.samples import HANDLER, SAMPLES, UnknownSampleError, names, s3_put, sample

#: S3's ETag of an empty object (the MD5 of no bytes), as quotes-and-all S3 answers it.
EMPTY_MD5 = hashlib.md5(b"", usedforsecurity=False).hexdigest()
MOMENT = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
BUCKET = "trading-data-test"


def pinned(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "bucket": "tap-data-dev-ap-southeast-1-123456789012",
        "key": "incoming/2024/my trades (1)+final.csv",
        "size": 4_096,
        "etag": f'"{EMPTY_MD5}"',
        "version_id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH",
        "region": "ap-southeast-1",
        "event_time": MOMENT,
        "request_id": "0000111122223333",
    }
    params.update(overrides)
    return sample("s3-put", **params)


def test_the_samples_are_named_and_for_the_processor_handler() -> None:
    assert names() == ("s3-put",)
    assert [(s.name, s.handler) for s in SAMPLES.values()] == [
        ("s3-put", "processor.handler.lambda_handler")
    ]
    assert HANDLER == "processor.handler.lambda_handler"


def test_s3_put_is_the_record_s3_sends_to_lambda() -> None:
    event = pinned()
    host_id = event["Records"][0]["responseElements"].pop("x-amz-id-2")

    assert len(base64.b64decode(host_id, validate=True)) == 57
    assert event == {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "ap-southeast-1",
                "eventTime": "2024-03-01T12:00:00.250Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUPLOADER"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {"x-amz-request-id": "0000111122223333"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "tf-s3-lambda-20260101000000000000000001",
                    "bucket": {
                        "name": "tap-data-dev-ap-southeast-1-123456789012",
                        "ownerIdentity": {"principalId": "A3I5XTEXAMAI3E"},
                        "arn": "arn:aws:s3:::tap-data-dev-ap-southeast-1-123456789012",
                    },
                    "object": {
                        "key": "incoming/2024/my+trades+%281%29%2Bfinal.csv",
                        "size": 4096,
                        "eTag": EMPTY_MD5,
                        "versionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH",
                        "sequencer": "17B8A23367773280",
                    },
                },
            }
        ]
    }


def test_the_sequencer_is_the_event_time_in_nanoseconds_as_hex() -> None:
    sequencer = pinned()["Records"][0]["s3"]["object"]["sequencer"]

    assert int(sequencer, 16) == 1_709_294_400_250_000_000


def test_an_object_of_an_unversioned_bucket_has_no_version_id() -> None:
    s3_object = pinned(version_id=None)["Records"][0]["s3"]["object"]

    assert sorted(s3_object) == ["eTag", "key", "sequencer", "size"]


def test_the_service_reads_the_object_the_sample_names() -> None:
    parsed = parse_s3_event(pinned())

    assert parsed.objects == [
        ObjectRef(
            bucket="tap-data-dev-ap-southeast-1-123456789012",
            key="incoming/2024/my trades (1)+final.csv",
            version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH",
        )
    ]
    assert parsed.skipped == []


def test_powertools_s3_model_accepts_the_sample() -> None:
    model = S3Model.model_validate(pinned())

    record = model.Records[0]
    assert record.s3.object is not None
    assert (record.eventName, record.s3.bucket.name, record.s3.object.size) == (
        "ObjectCreated:Put",
        "tap-data-dev-ap-southeast-1-123456789012",
        4096,
    )


def test_the_defaults_are_a_complete_event_of_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    event = s3_put()

    (record,) = event["Records"]
    assert (record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]) == (
        "tap-data-dev-ap-southeast-1-123456789012",
        "incoming/trades.csv",
    )
    assert re.fullmatch(r"[0-9A-F]{16}", record["responseElements"]["x-amz-request-id"])
    assert re.fullmatch(r"[0-9A-F]{16,}", record["s3"]["object"]["sequencer"])
    sent = datetime.strptime(record["eventTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert sent >= before
    assert parse_s3_event(event).objects == [
        ObjectRef("tap-data-dev-ap-southeast-1-123456789012", "incoming/trades.csv")
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"key": ""}, "bucket and key must not be empty"),
        ({"bucket": ""}, "bucket and key must not be empty"),
        ({"size": -1}, "size must not be negative"),
    ],
)
def test_an_impossible_object_is_refused(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sample("s3-put", **params)


def test_an_unknown_sample_names_the_samples_there_are() -> None:
    with pytest.raises(UnknownSampleError, match=r"no sample 's3-delete'; the samples are: s3-put"):
        sample("s3-delete")


def test_an_unknown_parameter_is_refused() -> None:
    with pytest.raises(TypeError, match="colour"):
        sample("s3-put", colour="red")


@pytest.mark.moto
@pytest.mark.usefixtures("fresh_handler", "table", "bucket")
def test_the_handler_processes_the_object_the_sample_names(
    upload: Callable[[str, bytes], str | None],
    csv_bytes: Callable[[list[dict[str, Any]]], bytes],
    trade: Callable[..., dict[str, Any]],
    lambda_context: LambdaContext,
) -> None:
    key = "incoming/2024/sample batch.csv"
    version_id = upload(key, csv_bytes([trade(1), trade(2)]))

    result = handler.lambda_handler(
        sample("s3-put", bucket=BUCKET, key=key, version_id=version_id), lambda_context
    )

    (summary,) = result["files"]
    assert (summary["bucket"], summary["key"], summary["status"], summary["accepted"]) == (
        BUCKET,
        key,
        "processed",
        2,
    )


def test_the_sample_trade_file_is_three_trades_and_one_rejected_line(
    store: InMemoryObjectStore, service: IngestService
) -> None:
    from processor.samples import SAMPLE_TRADE_FILE, SAMPLE_TRADE_FILE_KEY

    assert SAMPLE_TRADE_FILE_KEY.startswith("incoming/")  # the only prefix the role may read
    store.add("bucket", SAMPLE_TRADE_FILE_KEY, SAMPLE_TRADE_FILE)
    summary = service.ingest(ObjectRef("bucket", SAMPLE_TRADE_FILE_KEY))
    assert (summary.accepted, summary.rejected, summary.duplicates) == (3, 1, 0)
