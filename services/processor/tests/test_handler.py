"""The Lambda handler end to end against moto's S3 and DynamoDB."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from processor import handler
from processor.config import ConfigError
from processor.domain.errors import DependencyError
from processor.domain.model import FIELDS, parse_trade
from processor.events import InvalidEventError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

pytestmark = [pytest.mark.moto, pytest.mark.usefixtures("fresh_handler", "table", "bucket")]

BUCKET = "trading-data-test"
TABLE = "trades-test"
GSI = "account_id-executed_at-index"
Upload = Callable[[str, bytes], str | None]
Event = Callable[..., dict[str, Any]]
TradeFactory = Callable[..., dict[str, Any]]
FileFactory = Callable[[Sequence[dict[str, Any]]], bytes]
Logs = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def invoke(lambda_context: LambdaContext) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def call(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = handler.lambda_handler(event, lambda_context)
        return result

    return call


@pytest.fixture
def process(
    upload: Upload, s3_event: Event, invoke: Callable[[dict[str, Any]], dict[str, Any]]
) -> Callable[[str, bytes], dict[str, Any]]:
    """Upload a file, deliver its ObjectCreated event, return the file's summary."""

    def run(key: str, data: bytes) -> dict[str, Any]:
        version_id = upload(key, data)
        files: list[dict[str, Any]] = invoke(s3_event(BUCKET, key, version_id))["files"]
        (summary,) = files
        return summary

    return run


def table_items(client: DynamoDBClient) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for page in client.get_paginator("scan").paginate(TableName=TABLE):
        for item in page["Items"]:
            items[str(item["trade_id"]["S"])] = dict(item)
    return items


def quarantine_of(client: S3Client, source_key: str) -> list[dict[str, Any]]:
    body = client.get_object(Bucket=BUCKET, Key=f"quarantine/{source_key}.jsonl")["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines()]


def quarantine_keys(client: S3Client) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix="quarantine/")
    return [entry["Key"] for entry in listing.get("Contents", [])]


def counts(summary: dict[str, Any]) -> tuple[int, int, int, int]:
    return summary["accepted"], summary["duplicates"], summary["conflicts"], summary["rejected"]


def test_a_csv_file_is_stored_item_by_item(
    process: Callable[[str, bytes], dict[str, Any]],
    dynamodb_client: DynamoDBClient,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    data = csv_bytes([trade(1), trade(2, price="0.1", executed_at="2026-01-02T17:30:00+08:00")])

    summary = process("incoming/2026/batch1.csv", data)

    assert summary == {
        "bucket": BUCKET,
        "key": "incoming/2026/batch1.csv",
        "status": "processed",
        "accepted": 2,
        "duplicates": 0,
        "conflicts": 0,
        "rejected": 0,
        "blank_lines": 0,
        "quarantine_key": None,
        "part": 1,
        "quarantine_keys": [],
        "reason": None,
    }
    item = table_items(dynamodb_client)["T-000002"]
    assert item["price"] == {"N": "0.1"}
    assert item["quantity"] == {"N": "100"}
    assert item["executed_at"] == {"S": "2026-01-02T09:30:00.000000Z"}
    assert item["source_key"] == {"S": "incoming/2026/batch1.csv"}
    assert item["source_line"] == {"N": "3"}
    assert item["record_hash"] == {"S": parse_trade(trade(2, price="0.1")).record_hash}
    assert len(item["ingested_at"]["S"]) == 27


def test_a_json_lines_file_with_malformed_lines_quarantines_them(
    process: Callable[[str, bytes], dict[str, Any]],
    s3_client: S3Client,
    dynamodb_client: DynamoDBClient,
    trade: TradeFactory,
    jsonl_bytes: FileFactory,
) -> None:
    good = jsonl_bytes([trade(1), trade(3)]).decode().splitlines()
    data = "\n".join([good[0], "{broken", json.dumps(trade(2, currency="usd")), good[1]]).encode()

    summary = process("incoming/feed.jsonl", data)

    assert counts(summary) == (2, 0, 0, 2)
    assert summary["quarantine_key"] == "quarantine/incoming/feed.jsonl.jsonl"
    entries = quarantine_of(s3_client, "incoming/feed.jsonl")
    assert [(e["line"], e["reason"].split(":")[0]) for e in entries] == [
        (2, "invalid JSON"),
        (3, "currency"),
    ]
    assert entries[0]["raw"] == "{broken"
    assert set(table_items(dynamodb_client)) == {"T-000001", "T-000003"}


def test_a_redelivered_event_counts_nothing_twice(
    upload: Upload,
    s3_event: Event,
    invoke: Callable[[dict[str, Any]], dict[str, Any]],
    dynamodb_client: DynamoDBClient,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    event = s3_event(
        BUCKET, "incoming/a.csv", upload("incoming/a.csv", csv_bytes([trade(1), trade(2)]))
    )
    first = invoke(event)["files"][0]
    stored = table_items(dynamodb_client)

    second = invoke(event)["files"][0]

    assert counts(first) == (2, 0, 0, 0)
    assert counts(second) == (0, 2, 0, 0)
    assert table_items(dynamodb_client) == stored


def test_the_same_file_under_another_key_is_all_duplicates(
    process: Callable[[str, bytes], dict[str, Any]],
    dynamodb_client: DynamoDBClient,
    s3_client: S3Client,
    trade: TradeFactory,
    csv_bytes: FileFactory,
    jsonl_bytes: FileFactory,
) -> None:
    process("incoming/monday.csv", csv_bytes([trade(1), trade(2)]))

    summary = process(
        "incoming/monday-resent.jsonl", jsonl_bytes([trade(2), trade(1, price="189.2500")])
    )

    assert counts(summary) == (0, 2, 0, 0)
    assert table_items(dynamodb_client)["T-000001"]["source_key"] == {"S": "incoming/monday.csv"}
    assert quarantine_keys(s3_client) == []


def test_a_conflicting_record_is_quarantined_and_not_overwritten(
    process: Callable[[str, bytes], dict[str, Any]],
    dynamodb_client: DynamoDBClient,
    s3_client: S3Client,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    process("incoming/original.csv", csv_bytes([trade(1)]))
    original = table_items(dynamodb_client)["T-000001"]

    summary = process("incoming/amended.csv", csv_bytes([trade(2), trade(1, quantity="150")]))

    assert counts(summary) == (1, 0, 1, 0)
    assert table_items(dynamodb_client)["T-000001"] == original
    (entry,) = quarantine_of(s3_client, "incoming/amended.csv")
    assert entry["line"] == 3
    assert entry["reason"].startswith("conflict: trade_id 'T-000001' is already stored")
    assert entry["raw"] == "T-000001,ACC-1,AAPL,BUY,150,189.25,USD,2026-01-02T09:30:00Z"


def test_a_large_file_is_streamed_with_exact_counts(
    process: Callable[[str, bytes], dict[str, Any]],
    dynamodb_client: DynamoDBClient,
    s3_client: S3Client,
) -> None:
    lines = [",".join(FIELDS)]
    for n in range(1, 5001):
        if n % 100 == 0:
            lines.append(
                f"L-{n},ACC-{n % 9},AAPL,BUY,0,1.00,USD,2026-01-02T09:30:00Z"
            )  # quantity 0
        else:
            lines.append(
                f"L-{n},ACC-{n % 9},MSFT,SELL,{n},{n}.01,USD,2026-01-02T09:{n % 60:02d}:00Z"
            )
    data = gzip.compress(("\n".join(lines) + "\n").encode())

    summary = process("incoming/large/day.csv.gz", data)

    assert counts(summary) == (4950, 0, 0, 50)
    pages = dynamodb_client.get_paginator("scan").paginate(TableName=TABLE, Select="COUNT")
    assert sum(page["Count"] for page in pages) == 4950
    entries = quarantine_of(s3_client, "incoming/large/day.csv.gz")
    assert [entry["line"] for entry in entries] == [n + 1 for n in range(100, 5001, 100)]


def test_keys_with_spaces_and_special_characters_are_url_decoded(
    process: Callable[[str, bytes], dict[str, Any]],
    s3_client: S3Client,
    dynamodb_client: DynamoDBClient,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    key = "incoming/2026/Q1 trades+fix (v2) é.csv"

    summary = process(key, csv_bytes([trade(1), trade(2, side="?")]))

    assert summary["key"] == key
    assert counts(summary) == (1, 0, 0, 1)
    assert quarantine_keys(s3_client) == [f"quarantine/{key}.jsonl"]
    assert table_items(dynamodb_client)["T-000001"]["source_key"] == {"S": key}


def test_keys_under_the_quarantine_prefix_are_ignored(
    upload: Upload,
    s3_event: Event,
    invoke: Callable[[dict[str, Any]], dict[str, Any]],
    s3_client: S3Client,
    dynamodb_client: DynamoDBClient,
    log_lines: Logs,
) -> None:
    key = "quarantine/incoming/a.csv.jsonl"
    upload(key, b'{"line": 2, "reason": "x", "raw": "y"}\n')

    (summary,) = invoke(s3_event(BUCKET, key))["files"]

    assert summary["status"] == "ignored"
    assert summary["reason"] == "key is under the quarantine prefix 'quarantine/'"
    assert quarantine_keys(s3_client) == [key]
    assert table_items(dynamodb_client) == {}
    (log,) = [line for line in log_lines() if line["message"] == "object ignored"]
    assert (log["level"], log["key"]) == ("WARNING", key)


def test_an_unsupported_file_is_reported_not_raised(
    process: Callable[[str, bytes], dict[str, Any]], s3_client: S3Client, log_lines: Logs
) -> None:
    summary = process("incoming/trades.xlsx", b"PK\x03\x04")

    assert summary["status"] == "file_error"
    assert summary["reason"].startswith("unsupported file extension")
    (entry,) = quarantine_of(s3_client, "incoming/trades.xlsx")
    assert (entry["line"], entry["reason"]) == (0, summary["reason"])
    (log,) = [line for line in log_lines() if line["message"] == "trade file rejected as a whole"]
    assert log["level"] == "ERROR"
    assert log["reason"] == summary["reason"]


def test_an_empty_file_is_reported_not_raised(
    process: Callable[[str, bytes], dict[str, Any]], s3_client: S3Client
) -> None:
    summary = process("incoming/empty.csv", b"")

    assert (summary["status"], summary["reason"]) == ("file_error", "file is empty (no CSV header)")
    assert quarantine_of(s3_client, "incoming/empty.csv")[0]["line"] == 0


def test_the_event_version_is_processed_even_if_the_key_was_overwritten(
    upload: Upload,
    s3_event: Event,
    invoke: Callable[[dict[str, Any]], dict[str, Any]],
    dynamodb_client: DynamoDBClient,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    first_version = upload("incoming/a.csv", csv_bytes([trade(1)]))
    second_version = upload("incoming/a.csv", csv_bytes([trade(2)]))

    invoke(s3_event(BUCKET, "incoming/a.csv", first_version))
    invoke(s3_event(BUCKET, "incoming/a.csv", second_version))

    assert set(table_items(dynamodb_client)) == {"T-000001", "T-000002"}


def test_one_summary_log_line_per_file(
    process: Callable[[str, bytes], dict[str, Any]],
    log_lines: Logs,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    summary = process("incoming/a.csv", csv_bytes([trade(1), trade(2, side="x")]))

    (log,) = [line for line in log_lines() if line["message"] == "trade file processed"]
    # Powertools leaves out keys whose value is None (here: "reason").
    assert {key: log.get(key) for key in summary} == summary
    assert counts(log) == (1, 0, 0, 1)
    assert log["level"] == "INFO"
    assert log["service"] == "trade-processor"
    assert log["function_request_id"] == "00000000-0000-0000-0000-000000000001"


def test_the_greeting_test_event_is_accepted(
    invoke: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    assert invoke({"Service": "Amazon S3", "Event": "s3:TestEvent"}) == {"files": []}


def test_a_foreign_event_raises(invoke: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    with pytest.raises(InvalidEventError):
        invoke({"detail-type": "Object Created", "detail": {}})


def test_a_transient_dynamodb_failure_raises_and_a_retry_completes(
    upload: Upload,
    s3_event: Event,
    invoke: Callable[[dict[str, Any]], dict[str, Any]],
    dynamodb_client: DynamoDBClient,
    s3_client: S3Client,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: Logs,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    event = s3_event(
        BUCKET,
        "incoming/a.csv",
        upload("incoming/a.csv", csv_bytes([trade(1), trade(2, side="?")])),
    )
    real_call = vars(BaseClient)["_make_api_call"]

    def throttled(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "TransactWriteItems":
            code = "ProvisionedThroughputExceededException"
            raise ClientError({"Error": {"Code": code, "Message": "slow down"}}, operation)
        return real_call(client, operation, params)

    with monkeypatch.context() as patch:
        patch.setattr(BaseClient, "_make_api_call", throttled)
        with pytest.raises(DependencyError, match="ProvisionedThroughputExceededException"):
            invoke(event)

    assert table_items(dynamodb_client) == {}
    assert quarantine_keys(s3_client) == []
    (log,) = [line for line in log_lines() if line["level"] == "ERROR"]
    assert log["key"] == "incoming/a.csv"
    assert "ProvisionedThroughputExceededException" in log["exception"]

    retried = invoke(event)["files"][0]
    assert counts(retried) == (1, 0, 0, 1)


def test_a_transient_s3_failure_raises(
    upload: Upload,
    s3_event: Event,
    invoke: Callable[[dict[str, Any]], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    event = s3_event(BUCKET, "incoming/a.csv", upload("incoming/a.csv", csv_bytes([trade(1)])))
    real_call = vars(BaseClient)["_make_api_call"]

    def unavailable(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if operation == "GetObject":
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "503"}}, operation)
        return real_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", unavailable)

    with pytest.raises(DependencyError, match="SlowDown"):
        invoke(event)


def test_missing_configuration_fails_naming_the_variable(
    invoke: Callable[[dict[str, Any]], dict[str, Any]],
    s3_event: Event,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRADES_TABLE_NAME")

    with pytest.raises(ConfigError, match="TRADES_TABLE_NAME is required but not set"):
        invoke(s3_event(BUCKET, "incoming/a.csv"))


def test_the_account_index_lists_trades_in_execution_order(
    process: Callable[[str, bytes], dict[str, Any]],
    dynamodb_client: DynamoDBClient,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    rows = [
        trade(1, executed_at="2026-01-02T10:00:00+01:00"),  # 09:00Z
        trade(2, executed_at="2026-01-02T08:59:59.999999Z"),
        trade(3, executed_at="2026-01-02T03:30:00-06:00"),  # 09:30Z
        trade(4, account_id="ACC-2"),
    ]
    process("incoming/a.csv", csv_bytes(rows))

    result = dynamodb_client.query(
        TableName=TABLE,
        IndexName=GSI,
        KeyConditionExpression="account_id = :account",
        ExpressionAttributeValues={":account": {"S": "ACC-1"}},
    )

    assert [item["trade_id"]["S"] for item in result["Items"]] == [
        "T-000002",
        "T-000001",
        "T-000003",
    ]


def test_a_file_too_large_for_one_invocation_continues_itself(
    monkeypatch: pytest.MonkeyPatch,
    upload: Upload,
    s3_event: Event,
    lambda_context: Any,
    dynamodb_client: DynamoDBClient,
    s3_client: S3Client,
    trade: TradeFactory,
    csv_bytes: FileFactory,
    log_lines: Logs,
) -> None:
    import processor.bootstrap
    from processor.adapters.memory import ContinuationRecorder

    recorder = ContinuationRecorder()
    monkeypatch.setattr(processor.bootstrap, "build_continuations", lambda config: recorder)
    rows = [trade(n, side="HOLD") if n % 50 == 0 else trade(n) for n in range(1, 251)]
    version_id = upload("incoming/big.csv", csv_bytes(rows))
    event: dict[str, Any] = s3_event(BUCKET, "incoming/big.csv", version_id)
    summaries = []
    for _ in range(5):
        lambda_context.remaining_ms = lambda: 0  # time runs short after every window
        (summary,) = handler.lambda_handler(event, lambda_context)["files"]
        summaries.append(summary)
        if summary["status"] != "continued":
            break
        event = dict(recorder.events[-1])

    assert [s["status"] for s in summaries] == ["continued", "continued", "processed"]
    assert len(recorder.events) == 2
    assert counts(summaries[-1]) == (245, 0, 0, 5)
    assert len(table_items(dynamodb_client)) == 245
    assert (
        sorted(quarantine_keys(s3_client))
        == summaries[-1]["quarantine_keys"]
        == [
            "quarantine/incoming/big.csv.jsonl",
            "quarantine/incoming/big.csv.part-2.jsonl",
            "quarantine/incoming/big.csv.part-3.jsonl",
        ]
    )
    assert [log["message"] for log in log_lines() if "key" in log] == [
        "trade file part processed; continuing in a new invocation",
        "trade file part processed; continuing in a new invocation",
        "trade file processed",
    ]
