"""tooling.emulator.patches.dynamodb: the patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it without changing results (gap 10: TransactWriteItems copies the
whole table once per item)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.tooling.emulator.conftest import named
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

TABLE = "trades"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-southeast-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "trade_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "trade_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _puts(*ids: str, condition: bool = True) -> list[dict[str, Any]]:
    put: dict[str, Any] = {"TableName": TABLE}
    if condition:
        put["ConditionExpression"] = "attribute_not_exists(trade_id)"
    return [{"Put": {**put, "Item": {"trade_id": {"S": trade_id}}}} for trade_id in ids]


def _table_copies(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[str]:
    """Record every deepcopy of a moto Table made through ``module.copy``."""
    copies: list[str] = []

    def counting(obj: Any, memo: Any = None) -> Any:
        if type(obj).__name__ == "Table":
            copies.append(obj.name)
        return copy.deepcopy(obj, memo)

    monkeypatch.setattr(module, "copy", SimpleNamespace(deepcopy=counting))
    return copies


def test_gap10_unpatched_moto_copies_the_table_once_per_item(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.dynamodb.models as models

    copies = _table_copies(monkeypatch, models)
    dynamodb.transact_write_items(TransactItems=_puts(*(f"T-{i}" for i in range(10))))
    assert copies == [TABLE] * 10


def test_gap10_patch_copies_each_table_once_per_transaction(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tooling.emulator.patches import dynamodb as patch_module

    with patched(named("dynamodb-transaction-snapshot-once")):
        copies = _table_copies(monkeypatch, patch_module)
        dynamodb.transact_write_items(TransactItems=_puts(*(f"T-{i}" for i in range(10))))
        dynamodb.transact_write_items(TransactItems=_puts("T-10", "T-11"))
    assert copies == [TABLE, TABLE]  # one per transaction
    assert dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"] == 12


def test_gap10_patch_still_rolls_a_failed_transaction_back(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={"trade_id": {"S": "T-2"}})
    with patched(named("dynamodb-transaction-snapshot-once")):
        with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
            dynamodb.transact_write_items(TransactItems=_puts("T-1", "T-2", "T-3"))
        assert dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"] == 1  # only T-2


def test_the_dynamodb_patches_are_undone() -> None:
    import moto.dynamodb.models as models

    from tooling.emulator.patches import dynamodb as patch_module

    method = models.DynamoDBBackend.__dict__["transact_write_items"]
    with patched(patch_module.PATCHES):
        assert vars(models)["copy"] is not copy
        assert models.DynamoDBBackend.__dict__["transact_write_items"] is not method
    assert vars(models)["copy"] is copy
    assert models.DynamoDBBackend.__dict__["transact_write_items"] is method
