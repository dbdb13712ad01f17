"""tooling.emulator.patches.dynamodb, gap 13: unpatched moto holds every item as ~2 KB of Python
objects, the patched emulator keeps the items of a table without a sort key on disk, and every
DynamoDB call the platform makes answers exactly as moto answers without the patch."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.tooling.emulator.conftest import named
from tooling.emulator import dynamodb_items
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

TABLE = "trades"
INDEX = "by-account-executed-at"
REGION = "ap-southeast-1"
ON_DISK = "dynamodb-items-on-disk"
#: Without it, moto keeps every Item it ever created (gap 14), whatever holds the table's items.
WEAK = "core-models-tracked-weakly"


def _create(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "trade_id", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "trade_id", "AttributeType": "S"},
            {"AttributeName": "account_id", "AttributeType": "S"},
            {"AttributeName": "executed_at", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "account_id", "KeyType": "HASH"},
                    {"AttributeName": "executed_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def session() -> Iterator[Callable[[], Any]]:
    """A function creating the trades table (under the patches in force) and its client."""
    with mock_aws():

        def start() -> Any:
            client = boto3.client("dynamodb", region_name=REGION)
            _create(client)
            return client

        yield start


def _trade(number: int) -> dict[str, Any]:
    return {
        "trade_id": {"S": f"T-{number:05d}"},
        "account_id": {"S": f"ACC-{number % 7}"},
        "executed_at": {"S": f"2026-01-02T09:{number % 60:02d}:00.{number:03d}Z"},
        "quantity": {"N": str(1 + number % 50)},
        "price": {"N": f"{100 + number}.25"},
        "record_hash": {"S": "a" * 64},
        "tags": {"L": [{"S": "x"}, {"M": {"n": {"N": "1"}, "b": {"B": b"\x00\x01"}}}]},
        "flags": {"SS": ["p", "q"]},
    }


def _put_all(client: Any, numbers: range) -> None:
    for start in range(numbers.start, numbers.stop, 25):
        chunk = range(start, min(start + 25, numbers.stop))
        client.batch_write_item(
            RequestItems={TABLE: [{"PutRequest": {"Item": _trade(n)}} for n in chunk]}
        )


def _traced_bytes_per_item(client: Any, count: int) -> float:
    _put_all(client, range(0, 200))  # moto's lazily built structures, before measuring
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        _put_all(client, range(200, 200 + count))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / count


def test_gap13_unpatched_moto_holds_each_item_in_memory(session: Callable[[], Any]) -> None:
    with patched(named(WEAK)):
        assert _traced_bytes_per_item(session(), 1000) > 1500


def test_gap13_the_patched_emulator_holds_items_on_disk(session: Callable[[], Any]) -> None:
    with patched(named(WEAK, ON_DISK)):
        # 3,000 items: the store's own growth (a few steps of tens of KB) must be spread over
        # enough items not to count as theirs (1,000 items measured 101 bytes each).
        assert _traced_bytes_per_item(session(), 3000) < 100


def _exercise(client: Any) -> list[Any]:
    """Every kind of call the services and Terraform make, and the answers they get."""
    answers: list[Any] = []

    def keep(response: dict[str, Any]) -> None:
        response.pop("ResponseMetadata", None)
        answers.append(response)

    _put_all(client, range(0, 150))
    key = {"trade_id": {"S": "T-00003"}}
    keep(client.get_item(TableName=TABLE, Key=key, ConsistentRead=True))
    keep(client.get_item(TableName=TABLE, Key=key, ProjectionExpression="price, tags[1].n"))
    keep(
        client.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET price = :p ADD quantity :one",
            ExpressionAttributeValues={":p": {"N": "7.5"}, ":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        )
    )
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as failed:
        client.update_item(
            TableName=TABLE,
            Key=key,
            UpdateExpression="SET price = :p",
            ConditionExpression="price = :old",
            ExpressionAttributeValues={":p": {"N": "1"}, ":old": {"N": "103.25"}},
        )
    answers.append(failed.value.response["Error"]["Code"])
    keep(client.get_item(TableName=TABLE, Key=key))
    keep(client.delete_item(TableName=TABLE, Key={"trade_id": {"S": "T-00004"}}))
    keep(
        client.put_item(
            TableName=TABLE,
            Item=_trade(4),
            ConditionExpression="attribute_not_exists(trade_id)",
            ReturnValues="NONE",
        )
    )
    keep(
        client.batch_get_item(
            RequestItems={
                TABLE: {
                    "Keys": [{"trade_id": {"S": f"T-{n:05d}"}} for n in (1, 2, 999)],
                    "ProjectionExpression": "trade_id, record_hash",
                    "ConsistentRead": True,
                }
            }
        )
    )
    with pytest.raises(client.exceptions.TransactionCanceledException) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": _trade(500)}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"trade_id": {"S": "T-00005"}},
                        "UpdateExpression": "SET price = :p",
                        "ExpressionAttributeValues": {":p": {"N": "0"}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": _trade(6),
                        "ConditionExpression": "attribute_not_exists(trade_id)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    answers.append(cancelled.value.response["CancellationReasons"])
    keep(client.get_item(TableName=TABLE, Key={"trade_id": {"S": "T-00005"}}))
    index_query: dict[str, Any] = {
        "TableName": TABLE,
        "IndexName": INDEX,
        "KeyConditionExpression": "account_id = :a",
        "ExpressionAttributeValues": {":a": {"S": "ACC-3"}},
        "ScanIndexForward": False,
        "Limit": 8,
    }
    page = client.query(**index_query)
    keep(dict(page))
    keep(client.query(**index_query, ExclusiveStartKey=page["LastEvaluatedKey"]))
    keep(
        client.query(
            TableName=TABLE,
            IndexName=INDEX,
            KeyConditionExpression="account_id = :a AND executed_at BETWEEN :from AND :to",
            ExpressionAttributeValues={
                ":a": {"S": "ACC-1"},
                ":from": {"S": "2026-01-02T09:10"},
                ":to": {"S": "2026-01-02T09:30"},
            },
            Select="COUNT",
        )
    )
    keep(
        client.query(
            TableName=TABLE,
            KeyConditionExpression="trade_id = :t",
            ExpressionAttributeValues={":t": {"S": "T-00009"}},
        )
    )
    scan = client.scan(TableName=TABLE, Limit=40)
    keep(dict(scan))
    keep(client.scan(TableName=TABLE, ExclusiveStartKey=scan["LastEvaluatedKey"], Limit=40))
    keep(client.scan(TableName=TABLE, Select="COUNT"))
    answers.append(client.describe_table(TableName=TABLE)["Table"]["ItemCount"])
    return answers


def test_gap13_every_call_answers_as_unpatched_moto(session: Callable[[], Any]) -> None:
    client = session()
    unpatched = _exercise(client)
    client.delete_table(TableName=TABLE)
    with patched(named(ON_DISK)):
        _create(client)
        on_disk = _exercise(client)
    assert on_disk == unpatched
    assert unpatched[-1] == 150
    assert unpatched[2]["Attributes"]["price"] == {"N": "7.5"}
    assert unpatched[2]["Attributes"]["quantity"] == {"N": "5"}
    assert unpatched[3] == "ConditionalCheckFailedException"


def test_gap13_even_the_first_index_query_decodes_only_the_items_of_its_partition(
    session: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index's partition key is recorded on each write, as DynamoDB maintains an index,
    so the first Query after a trading day does not read the whole table."""
    with patched(named(ON_DISK)):
        client = session()
        _put_all(client, range(0, 700))
        decoded: list[bytes] = []
        decode = dynamodb_items.decode_item

        def counting(data: bytes) -> Any:
            decoded.append(data)
            return decode(data)

        monkeypatch.setattr(dynamodb_items, "decode_item", counting)
        response = client.query(
            TableName=TABLE,
            IndexName=INDEX,
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": "ACC-2"}},
        )
    assert response["Count"] == 100
    assert len(decoded) == 100  # the 100 trades of ACC-2, none of the other 600


def test_gap13_an_index_added_later_answers_from_the_items_already_stored(
    session: Callable[[], Any],
) -> None:
    with patched(named(ON_DISK)):
        client = session()
        _put_all(client, range(0, 70))
        client.update_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "record_hash", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": "by-hash",
                        "KeySchema": [{"AttributeName": "record_hash", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "KEYS_ONLY"},
                    }
                }
            ],
        )
        response = client.query(
            TableName=TABLE,
            IndexName="by-hash",
            KeyConditionExpression="record_hash = :h",
            ExpressionAttributeValues={":h": {"S": "a" * 64}},
            Select="COUNT",
        )
    assert response["Count"] == 70


def test_gap13_an_index_query_sees_writes_made_after_it_was_first_asked(
    session: Callable[[], Any],
) -> None:
    query = {
        "TableName": TABLE,
        "IndexName": INDEX,
        "KeyConditionExpression": "account_id = :a",
        "ExpressionAttributeValues": {":a": {"S": "ACC-9"}},
        "Select": "COUNT",
    }
    with patched(named(ON_DISK)):
        client = session()
        assert client.query(**query)["Count"] == 0
        client.put_item(TableName=TABLE, Item={**_trade(1), "account_id": {"S": "ACC-9"}})
        assert client.query(**query)["Count"] == 1
        client.update_item(
            TableName=TABLE,
            Key={"trade_id": {"S": "T-00001"}},
            UpdateExpression="SET account_id = :a",
            ExpressionAttributeValues={":a": {"S": "ACC-8"}},
        )
        assert client.query(**query)["Count"] == 0
        client.delete_item(TableName=TABLE, Key={"trade_id": {"S": "T-00001"}})
        assert client.describe_table(TableName=TABLE)["Table"]["ItemCount"] == 0


def test_gap13_a_restored_backup_has_its_own_items(session: Callable[[], Any]) -> None:
    with patched(named(ON_DISK)):
        client = session()
        _put_all(client, range(0, 10))
        backup = client.create_backup(TableName=TABLE, BackupName="before")["BackupDetails"]
        client.delete_item(TableName=TABLE, Key={"trade_id": {"S": "T-00000"}})
        client.restore_table_from_backup(TargetTableName="restored", BackupArn=backup["BackupArn"])
        restored = client.scan(TableName="restored", Select="COUNT")["Count"]
        original = client.scan(TableName=TABLE, Select="COUNT")["Count"]
    assert (restored, original) == (10, 9)


def test_gap13_numbers_equal_in_value_are_one_key() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    keys = {dynamodb_items.key_of(DynamoType({"N": text})) for text in ("1", "1.0", "1.00")}
    zeros = {dynamodb_items.key_of(DynamoType({"N": text})) for text in ("0", "0.0", "-0")}
    assert (keys, zeros) == ({"N:1"}, {"N:0"})
