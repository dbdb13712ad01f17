"""The S3 and DynamoDB adapters: against moto, and with botocore's Stubber for races."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError, ResponseStreamingError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from processor.adapters.dynamodb import DynamoDBTradeRepository, item_of
from processor.adapters.s3 import S3ObjectSource, S3QuarantineSink, _GuardedBody
from processor.domain.errors import DependencyError, ObjectNotFoundError
from processor.domain.model import TradeRecord, format_utc, parse_trade
from processor.domain.ports import ObjectRef
from urllib3.exceptions import ProtocolError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

TABLE = "trades-test"
TradeFactory = Callable[..., dict[str, Any]]


def record_of(fields: dict[str, Any], line: int = 2, key: str = "incoming/a.csv") -> TradeRecord:
    trade = parse_trade(fields)
    return TradeRecord(
        trade=trade,
        record_hash=trade.record_hash,
        source_key=key,
        source_line=line,
        ingested_at=format_utc(datetime(2026, 3, 4, tzinfo=UTC)),
    )


def no_sleep(seconds: float) -> None:
    pass


# -- S3 ------------------------------------------------------------------------------------------


@pytest.mark.moto
def test_object_source_streams_the_object(s3_client: S3Client, bucket: str) -> None:
    s3_client.put_object(Bucket=bucket, Key="incoming/a.csv", Body=b"x" * 100_000)

    with S3ObjectSource(s3_client).open(ObjectRef(bucket, "incoming/a.csv")) as stream:
        first = stream.read(65536)
        second = stream.read(65536)
        third = stream.read(65536)

    assert (len(first), len(second), third) == (65536, 100_000 - 65536, b"")


@pytest.mark.moto
def test_object_source_reads_the_version_named_by_the_event(
    s3_client: S3Client, bucket: str
) -> None:
    first = s3_client.put_object(Bucket=bucket, Key="incoming/a.csv", Body=b"version one")
    s3_client.put_object(Bucket=bucket, Key="incoming/a.csv", Body=b"version two")

    ref = ObjectRef(bucket, "incoming/a.csv", first["VersionId"])
    with S3ObjectSource(s3_client).open(ref) as stream:
        assert stream.read(100) == b"version one"


@pytest.mark.moto
def test_a_missing_object_is_object_not_found(s3_client: S3Client, bucket: str) -> None:
    source = S3ObjectSource(s3_client)

    with (
        pytest.raises(ObjectNotFoundError, match="NoSuchKey"),
        source.open(ObjectRef(bucket, "incoming/none.csv")),
    ):
        pass


@pytest.mark.moto
def test_a_missing_bucket_is_a_dependency_error(s3_client: S3Client) -> None:
    source = S3ObjectSource(s3_client)

    with (
        pytest.raises(DependencyError, match="NoSuchBucket"),
        source.open(ObjectRef("no-such-bucket", "incoming/a.csv")),
    ):
        pass


@pytest.mark.moto
def test_quarantine_sink_puts_the_object(s3_client: S3Client, bucket: str) -> None:
    body = io.BytesIO(b'{"line": 1}\n')

    S3QuarantineSink(s3_client).put(bucket, "quarantine/incoming/a.csv.jsonl", body, 12)

    stored = s3_client.get_object(Bucket=bucket, Key="quarantine/incoming/a.csv.jsonl")
    assert stored["Body"].read() == b'{"line": 1}\n'
    assert stored["ContentType"] == "application/x-ndjson"


class BrokenRaw:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def read(self, amt: int | None = None) -> bytes:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        ProtocolError("Connection broken: IncompleteRead"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
)
def test_body_read_failures_become_dependency_errors(error: Exception) -> None:
    body = _GuardedBody(
        StreamingBody(cast(IO[bytes], BrokenRaw(error)), 10), "s3:GetObject s3://b/k"
    )

    with pytest.raises(DependencyError, match=r"s3:GetObject s3://b/k failed"):
        body.read(10)


def test_botocore_streaming_errors_become_dependency_errors() -> None:
    for error in (ResponseStreamingError(error="reset"), ReadTimeoutError(endpoint_url="x")):
        body = _GuardedBody(StreamingBody(cast(IO[bytes], BrokenRaw(error)), 10), "read")
        with pytest.raises(DependencyError):
            body.read(10)


# -- DynamoDB against moto -----------------------------------------------------------------------


@pytest.mark.moto
def test_items_are_stored_with_exact_numbers_and_every_attribute(
    dynamodb_client: DynamoDBClient, table: str, trade: TradeFactory
) -> None:
    repo = DynamoDBTradeRepository(dynamodb_client, table)
    record = record_of(trade(1, price="0.1", executed_at="2026-01-02T17:30:00.25+08:00"), line=7)

    assert repo.insert_new([record]) == {}

    item = dynamodb_client.get_item(TableName=table, Key={"trade_id": {"S": "T-000001"}})["Item"]
    assert item == {
        "trade_id": {"S": "T-000001"},
        "account_id": {"S": "ACC-1"},
        "symbol": {"S": "AAPL"},
        "side": {"S": "BUY"},
        "quantity": {"N": "100"},
        "price": {"N": "0.1"},
        "currency": {"S": "USD"},
        "executed_at": {"S": "2026-01-02T09:30:00.250000Z"},
        "record_hash": {"S": record.record_hash},
        "source_key": {"S": "incoming/a.csv"},
        "source_line": {"N": "7"},
        "ingested_at": {"S": "2026-03-04T00:00:00.000000Z"},
    }


@pytest.mark.moto
def test_a_38_digit_price_round_trips_exactly(
    dynamodb_client: DynamoDBClient, table: str, trade: TradeFactory
) -> None:
    price = "12345678901234567890.123456789012345678"
    DynamoDBTradeRepository(dynamodb_client, table).insert_new([record_of(trade(1, price=price))])

    item = dynamodb_client.get_item(TableName=table, Key={"trade_id": {"S": "T-000001"}})["Item"]
    assert item["price"] == {"N": price}


@pytest.mark.moto
def test_existing_hashes_reports_stored_ids_only(
    dynamodb_client: DynamoDBClient, table: str, trade: TradeFactory
) -> None:
    repo = DynamoDBTradeRepository(dynamodb_client, table)
    records = [record_of(trade(n)) for n in range(1, 151)]
    repo.insert_new(records[:120])

    found = repo.existing_hashes([r.trade.trade_id for r in records])

    assert len(found) == 120
    assert found["T-000120"] == records[119].record_hash
    assert "T-000121" not in found


@pytest.mark.moto
def test_existing_item_without_hash_reports_none(
    dynamodb_client: DynamoDBClient, table: str
) -> None:
    dynamodb_client.put_item(TableName=table, Item={"trade_id": {"S": "LEGACY-1"}})

    assert DynamoDBTradeRepository(dynamodb_client, table).existing_hashes(["LEGACY-1"]) == {
        "LEGACY-1": None
    }


@pytest.mark.moto
def test_insert_new_never_overwrites_and_reports_what_was_there(
    dynamodb_client: DynamoDBClient, table: str, trade: TradeFactory
) -> None:
    repo = DynamoDBTradeRepository(dynamodb_client, table, sleep=no_sleep)
    stored = record_of(trade(2, price="1.00"), key="incoming/other.csv")
    repo.insert_new([stored])
    racing = [record_of(trade(1)), record_of(trade(2)), record_of(trade(3))]

    already = repo.insert_new(racing)

    assert already == {"T-000002": stored.record_hash}
    item = dynamodb_client.get_item(TableName=table, Key={"trade_id": {"S": "T-000002"}})["Item"]
    assert item["price"] == {"N": "1"}
    assert item["source_key"] == {"S": "incoming/other.csv"}
    assert set(repo.existing_hashes(["T-000001", "T-000003"])) == {"T-000001", "T-000003"}


@pytest.mark.moto
def test_insert_new_writes_more_than_one_transaction(
    dynamodb_client: DynamoDBClient, table: str, trade: TradeFactory
) -> None:
    repo = DynamoDBTradeRepository(dynamodb_client, table)

    assert repo.insert_new([record_of(trade(n)) for n in range(1, 231)]) == {}

    assert dynamodb_client.scan(TableName=table, Select="COUNT")["Count"] == 230


@pytest.mark.moto
def test_a_missing_table_is_a_dependency_error(
    dynamodb_client: DynamoDBClient, trade: TradeFactory
) -> None:
    repo = DynamoDBTradeRepository(dynamodb_client, "no-such-table")

    with pytest.raises(DependencyError, match="ResourceNotFoundException"):
        repo.existing_hashes(["T-1"])
    with pytest.raises(DependencyError, match="ResourceNotFoundException"):
        repo.insert_new([record_of(trade(1))])


# -- DynamoDB races and partial answers (Stubber: moto cannot produce these) ---------------------


@pytest.fixture
def stubbed() -> tuple[DynamoDBClient, Stubber]:
    client = boto3.client(
        "dynamodb",
        region_name="ap-southeast-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return client, Stubber(client)


def cancelled(stubber: Stubber, reasons: list[dict[str, Any]]) -> None:
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        service_message="Transaction cancelled",
        modeled_fields={"CancellationReasons": reasons},
    )


def test_a_transaction_conflict_is_retried_after_a_backoff(
    stubbed: tuple[DynamoDBClient, Stubber], trade: TradeFactory
) -> None:
    client, stubber = stubbed
    sleeps: list[float] = []
    repo = DynamoDBTradeRepository(client, TABLE, sleep=sleeps.append)
    records = [record_of(trade(1)), record_of(trade(2))]
    cancelled(stubber, [{"Code": "None"}, {"Code": "TransactionConflict", "Message": "busy"}])
    stubber.add_response("transact_write_items", {})

    with stubber:
        assert repo.insert_new(records) == {}
    stubber.assert_no_pending_responses()
    assert len(sleeps) == 1


def test_a_lost_condition_is_reported_and_the_rest_committed_without_waiting(
    stubbed: tuple[DynamoDBClient, Stubber], trade: TradeFactory
) -> None:
    client, stubber = stubbed
    sleeps: list[float] = []
    repo = DynamoDBTradeRepository(client, TABLE, sleep=sleeps.append)
    records = [record_of(trade(1)), record_of(trade(2)), record_of(trade(3))]
    winning_record = record_of(trade(2, quantity="5"))
    winner = item_of(winning_record)
    cancelled(
        stubber,
        [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": winner}, {"Code": "None"}],
    )
    expected_retry = [repo._put(records[0]), repo._put(records[2])]
    stubber.add_response("transact_write_items", {}, {"TransactItems": expected_retry})

    with stubber:
        assert repo.insert_new(records) == {"T-000002": winning_record.record_hash}
    stubber.assert_no_pending_responses()
    assert sleeps == []


def test_a_condition_failure_without_the_item_is_looked_up(
    stubbed: tuple[DynamoDBClient, Stubber], trade: TradeFactory
) -> None:
    client, stubber = stubbed
    repo = DynamoDBTradeRepository(client, TABLE, sleep=no_sleep)
    cancelled(stubber, [{"Code": "ConditionalCheckFailed"}])
    stubber.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [{"trade_id": {"S": "T-000001"}, "record_hash": {"S": "abc"}}]}},
    )

    with stubber:
        assert repo.insert_new([record_of(trade(1))]) == {"T-000001": "abc"}


def test_persistent_throttling_raises_a_dependency_error(
    stubbed: tuple[DynamoDBClient, Stubber], trade: TradeFactory
) -> None:
    client, stubber = stubbed
    repo = DynamoDBTradeRepository(client, TABLE, max_attempts=2, sleep=no_sleep)
    for _ in range(3):
        cancelled(stubber, [{"Code": "ThrottlingError"}])

    with stubber, pytest.raises(DependencyError, match="still cancelled after 2 retries"):
        repo.insert_new([record_of(trade(1))])


def test_a_validation_cancellation_raises(
    stubbed: tuple[DynamoDBClient, Stubber], trade: TradeFactory
) -> None:
    client, stubber = stubbed
    repo = DynamoDBTradeRepository(client, TABLE, sleep=no_sleep)
    cancelled(stubber, [{"Code": "ValidationError", "Message": "Item too large"}])

    with stubber, pytest.raises(DependencyError, match="ValidationError: Item too large"):
        repo.insert_new([record_of(trade(1))])


def test_other_client_errors_raise(
    stubbed: tuple[DynamoDBClient, Stubber], trade: TradeFactory
) -> None:
    client, stubber = stubbed
    repo = DynamoDBTradeRepository(client, TABLE)
    stubber.add_client_error(
        "transact_write_items", service_error_code="ProvisionedThroughputExceededException"
    )

    with stubber, pytest.raises(DependencyError, match="ProvisionedThroughputExceededException"):
        repo.insert_new([record_of(trade(1))])


def test_unprocessed_keys_are_retried(stubbed: tuple[DynamoDBClient, Stubber]) -> None:
    client, stubber = stubbed
    sleeps: list[float] = []
    repo = DynamoDBTradeRepository(client, TABLE, sleep=sleeps.append)
    leftover = {
        TABLE: {
            "Keys": [{"trade_id": {"S": "B"}}],
            "ProjectionExpression": "trade_id, record_hash",
            "ConsistentRead": True,
        }
    }
    stubber.add_response(
        "batch_get_item",
        {
            "Responses": {TABLE: [{"trade_id": {"S": "A"}, "record_hash": {"S": "ha"}}]},
            "UnprocessedKeys": leftover,
        },
    )
    stubber.add_response(
        "batch_get_item",
        {"Responses": {TABLE: [{"trade_id": {"S": "B"}, "record_hash": {"S": "hb"}}]}},
        {"RequestItems": leftover},
    )

    with stubber:
        assert repo.existing_hashes(["A", "B"]) == {"A": "ha", "B": "hb"}
    assert len(sleeps) == 1


def test_keys_left_unprocessed_for_good_raise(stubbed: tuple[DynamoDBClient, Stubber]) -> None:
    client, stubber = stubbed
    repo = DynamoDBTradeRepository(client, TABLE, max_attempts=2, sleep=no_sleep)
    leftover = {TABLE: {"Keys": [{"trade_id": {"S": "A"}}]}}
    for _ in range(2):
        stubber.add_response("batch_get_item", {"Responses": {}, "UnprocessedKeys": leftover})

    with stubber, pytest.raises(DependencyError, match="unprocessed after 2 attempts"):
        repo.existing_hashes(["A"])


def test_the_self_invoker_sends_an_asynchronous_invocation_of_the_function() -> None:
    from processor.adapters.lambda_invoke import LambdaSelfInvoker

    client = boto3.client(
        "lambda", region_name="ap-southeast-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    event = {"processor_continuation": {"part": 2}}
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": "trade-processor",
                "InvocationType": "Event",
                "Payload": b'{"processor_continuation": {"part": 2}}',
            },
        )
        LambdaSelfInvoker(lambda: client, "trade-processor").send(event)
        stub.assert_no_pending_responses()


def test_the_self_invoker_fails_the_invocation_when_the_handover_fails() -> None:
    from processor.adapters.lambda_invoke import LambdaSelfInvoker

    client = boto3.client(
        "lambda", region_name="ap-southeast-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_client_error("invoke", "TooManyRequestsException", http_status_code=429)
        with pytest.raises(DependencyError, match="lambda:InvokeFunction trade-processor"):
            LambdaSelfInvoker(lambda: client, "trade-processor").send({})


@pytest.mark.moto
def test_a_continuation_reads_a_range_of_the_pinned_version(
    s3_client: S3Client, bucket: str
) -> None:
    version = s3_client.put_object(Bucket=bucket, Key="incoming/a.csv", Body=b"0123456789")
    ref = ObjectRef(bucket, "incoming/a.csv", version.get("VersionId"))
    source = S3ObjectSource(s3_client)

    with source.open(ref, start=4, etag=version["ETag"]) as stream:
        assert stream.read(100) == b"456789"
    s3_client.put_object(Bucket=bucket, Key="incoming/a.csv", Body=b"replaced")
    with pytest.raises(ObjectNotFoundError, match="PreconditionFailed"):
        source.open(ObjectRef(bucket, "incoming/a.csv"), start=4, etag=version["ETag"]).__enter__()
