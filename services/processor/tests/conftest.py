"""Shared fixtures: trade data builders, in-memory adapters, moto-backed AWS, the handler."""

from __future__ import annotations

import copy
import csv
import io
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote_plus

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws
from processor import handler
from processor.adapters.memory import InMemoryObjectStore, InMemoryTradeRepository
from processor.domain.model import FIELDS
from processor.domain.ports import ObjectRef
from processor.domain.service import FileSummary, IngestService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

REGION: Final = "ap-southeast-1"
BUCKET = "trading-data-test"
TABLE = "trades-test"
GSI = "account_id-executed_at-index"
FUNCTION_NAME = "trade-processor-test"
FIXED_NOW = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)

VALID_TRADE: dict[str, str] = {
    "trade_id": "T-000001",
    "account_id": "ACC-1",
    "symbol": "AAPL",
    "side": "BUY",
    "quantity": "100",
    "price": "189.25",
    "currency": "USD",
    "executed_at": "2026-01-02T09:30:00Z",
}

TradeFactory = Callable[..., dict[str, Any]]
FileFactory = Callable[[Sequence[Mapping[str, Any]]], bytes]


# -- trade data ----------------------------------------------------------------------------------


@pytest.fixture
def trade() -> TradeFactory:
    """make(n, **overrides): a valid trade as text fields; n picks a distinct trade_id."""

    def make(number: int = 1, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {**VALID_TRADE, "trade_id": f"T-{number:06d}"}
        fields.update(overrides)
        return fields

    return make


@pytest.fixture
def csv_bytes() -> FileFactory:
    """A CSV file (header = the eight fields) from rows of text fields."""

    def build(rows: Sequence[Mapping[str, Any]]) -> bytes:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode()

    return build


@pytest.fixture
def jsonl_bytes() -> FileFactory:
    """A JSON Lines file, one object per row."""

    def build(rows: Sequence[Mapping[str, Any]]) -> bytes:
        return "".join(json.dumps(dict(row)) + "\n" for row in rows).encode()

    return build


# -- the service over in-memory adapters ---------------------------------------------------------


@pytest.fixture
def store() -> InMemoryObjectStore:
    return InMemoryObjectStore()


@pytest.fixture
def repo() -> InMemoryTradeRepository:
    return InMemoryTradeRepository()


@pytest.fixture
def service(store: InMemoryObjectStore, repo: InMemoryTradeRepository) -> IngestService:
    return IngestService(
        store, repo, store, quarantine_prefix="quarantine/", clock=lambda: FIXED_NOW
    )


@pytest.fixture
def ingest(
    store: InMemoryObjectStore, service: IngestService
) -> Callable[[str, bytes], FileSummary]:
    """Upload ``data`` as ``key`` to the in-memory bucket and ingest it."""

    def run(key: str, data: bytes) -> FileSummary:
        store.add(BUCKET, key, data)
        return service.ingest(ObjectRef(BUCKET, key))

    return run


@pytest.fixture
def quarantined(store: InMemoryObjectStore) -> Callable[[str], list[dict[str, Any]]]:
    """The parsed entries of the quarantine object of a source key ([] if there is none)."""

    def read(source_key: str) -> list[dict[str, Any]]:
        data = store.objects.get((BUCKET, f"quarantine/{source_key}.jsonl"))
        if data is None:
            return []
        return [json.loads(line) for line in data.decode().splitlines()]

    return read


# -- AWS through moto ----------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, the test region and the function's configuration; no real endpoint."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "QUARANTINE_PREFIX",
        "AWS_LAMBDA_LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("TRADES_TABLE_NAME", TABLE)
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)


@pytest.fixture
def moto_snapshot_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Speed-up of moto's TransactWriteItems, with unchanged behaviour.

    moto snapshots the table for rollback with ``copy.deepcopy`` once per *item* of a
    transaction, before any item is applied, so all those snapshots are identical; that makes
    a 100-item transaction cost 100 full-table copies (minutes for a 5,000-line file). This
    wrapper lets it take the snapshot once per transaction. Without moto's ``copy`` module
    attribute (a future moto), nothing is patched. Transactions are serialised by a lock:
    the service overlaps the DynamoDB calls of several windows in threads, and the patched
    module attribute must not be swapped by two transactions at once.
    """
    import moto.dynamodb.models as moto_dynamodb

    if getattr(moto_dynamodb, "copy", None) is not copy:
        return
    original = moto_dynamodb.DynamoDBBackend.transact_write_items
    lock = threading.Lock()

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        with lock:
            transact_once(backend, transact_items)

    def transact_once(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots: dict[int, Any] = {}

        def deepcopy_once(obj: Any, memo: Any = None) -> Any:
            if id(obj) not in snapshots:
                snapshots[id(obj)] = copy.deepcopy(obj)
            return snapshots[id(obj)]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(moto_dynamodb, "copy", SimpleNamespace(deepcopy=deepcopy_once))
            original(backend, transact_items)

    monkeypatch.setattr(moto_dynamodb.DynamoDBBackend, "transact_write_items", transact_write_items)


@pytest.fixture
def aws(aws_env: None, moto_snapshot_once: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def s3_client(aws: None) -> S3Client:
    return boto3.client("s3", region_name=REGION)


@pytest.fixture
def dynamodb_client(aws: None) -> DynamoDBClient:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def bucket(s3_client: S3Client) -> str:
    """The data bucket, versioned like the real one (events then carry a versionId)."""
    s3_client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3_client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return BUCKET


@pytest.fixture
def table(dynamodb_client: DynamoDBClient) -> str:
    """The trades table: pk trade_id, GSI account_id + executed_at."""
    dynamodb_client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "trade_id", "AttributeType": "S"},
            {"AttributeName": "account_id", "AttributeType": "S"},
            {"AttributeName": "executed_at", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "trade_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": GSI,
                "KeySchema": [
                    {"AttributeName": "account_id", "KeyType": "HASH"},
                    {"AttributeName": "executed_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return TABLE


@pytest.fixture
def upload(s3_client: S3Client, bucket: str) -> Callable[[str, bytes], str | None]:
    """Put an object into the data bucket; returns its VersionId."""

    def put(key: str, data: bytes) -> str | None:
        return s3_client.put_object(Bucket=bucket, Key=key, Body=data).get("VersionId")

    return put


# -- the Lambda handler --------------------------------------------------------------------------


@pytest.fixture
def fresh_handler() -> Iterator[None]:
    """Forget the cached service, so each test gets a cold start with its own environment."""
    handler.get_runtime.cache_clear()
    yield
    handler.get_runtime.cache_clear()


class FakeLambdaContext(LambdaContext):
    """A Lambda context whose remaining time is a fake clock (``remaining_ms``)."""

    def __init__(self, remaining_ms: Callable[[], int] = lambda: 900_000) -> None:
        super().__init__()
        self.remaining_ms = remaining_ms

    # Powertools types it as a staticmethod; the real context's is an instance method.
    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self.remaining_ms()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    context = FakeLambdaContext()
    context._function_name = FUNCTION_NAME
    context._function_version = "$LATEST"
    context._memory_limit_in_mb = 256
    context._invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION_NAME}"
    context._aws_request_id = "00000000-0000-0000-0000-000000000001"
    return context


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The handler's structured log lines (parsed JSON) written during the test."""
    buffer = io.StringIO()
    log_handler = handler.get_logger().registered_handler
    assert isinstance(log_handler, logging.StreamHandler)
    previous = log_handler.setStream(buffer)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    yield lines
    log_handler.setStream(previous)


def s3_event_for(bucket: str, key: str, version_id: str | None = None) -> dict[str, Any]:
    """An S3 ObjectCreated:Put notification, with the key URL-encoded as S3 does."""
    s3_object: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": 1, "sequencer": "0A1"}
    if version_id:
        s3_object["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-03-04T05:06:07.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "incoming",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": s3_object,
                },
            }
        ]
    }


@pytest.fixture
def s3_event() -> Callable[..., dict[str, Any]]:
    return s3_event_for
