"""tooling.emulator.patches.dynamodb: unpatched moto has the gaps of docs/emulator.md (gap 10:
a transaction copies every table it touches; a request can run between the items of a
transaction) and the patches close them without changing any result."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.tooling.emulator.conftest import named
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

TABLE = "trades"
REGION = "ap-southeast-1"
JOURNAL = "dynamodb-transaction-journal"
ISOLATED = "dynamodb-requests-isolated"


def _client() -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = _client()
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "trade_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "trade_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _puts(*ids: str, condition: bool = True, writer: str = "w") -> list[dict[str, Any]]:
    put: dict[str, Any] = {"TableName": TABLE}
    if condition:
        put["ConditionExpression"] = "attribute_not_exists(trade_id)"
    return [
        {"Put": {**put, "Item": {"trade_id": {"S": trade_id}, "writer": {"S": writer}}}}
        for trade_id in ids
    ]


def _fill(client: Any, count: int) -> None:
    for start in range(0, count, 100):
        ids = [f"S-{i:04d}" for i in range(start, min(start + 100, count))]
        client.transact_write_items(TransactItems=_puts(*ids, writer="seed"))


def _stored(client: Any) -> dict[str, dict[str, Any]]:
    items = client.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return {item["trade_id"]["S"]: item for item in items}


def _table_copies(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[str]:
    """Record every deepcopy of a moto Table made through ``module.copy``."""
    copies: list[str] = []
    deepcopy = module.copy.deepcopy

    def counting(obj: Any, memo: Any = None) -> Any:
        result = deepcopy(obj, memo)
        if type(obj).__name__ == "Table" and result is not obj:
            copies.append(obj.name)
        return result

    monkeypatch.setattr(module, "copy", SimpleNamespace(deepcopy=counting))
    return copies


def _item_copies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the key of every moto Item deep-copied (inside a table copy or alone)."""
    from moto.dynamodb.models.dynamo_type import Item

    copies: list[str] = []
    original: Callable[..., Any] = Item.__deepcopy__

    def counting(self: Any, memo: dict[int, Any]) -> Any:
        copies.append(str(self.hash_key.value))
        return original(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting)
    return copies


# -- cost: the journal copies what the transaction touches, never the table -----------------


def test_gap10_unpatched_moto_copies_the_table_once_per_item(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.dynamodb.models as models

    _fill(dynamodb, 200)
    tables = _table_copies(monkeypatch, models)
    items = _item_copies(monkeypatch)
    dynamodb.transact_write_items(TransactItems=_puts(*(f"T-{i}" for i in range(10))))
    assert tables == [TABLE] * 10
    assert len(items) == 10 * 200  # every stored item, once per item of the transaction


def test_gap10_journal_copies_no_table_and_no_item_for_puts(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.dynamodb.models as models

    _fill(dynamodb, 200)
    with patched(named(JOURNAL)), pytest.MonkeyPatch.context() as inside:
        tables = _table_copies(inside, models)  # undone before the patch is
        items = _item_copies(monkeypatch)
        dynamodb.transact_write_items(TransactItems=_puts(*(f"T-{i}" for i in range(10))))
    assert tables == []
    assert items == []
    assert len(_stored(dynamodb)) == 210


def test_gap10_journal_copies_only_the_items_an_update_changes(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(dynamodb, 200)
    update = {
        "TableName": TABLE,
        "UpdateExpression": "SET writer = :w",
        "ExpressionAttributeValues": {":w": {"S": "updated"}},
    }
    with patched(named(JOURNAL)):
        items = _item_copies(monkeypatch)
        dynamodb.transact_write_items(
            TransactItems=[
                {"Update": {**update, "Key": {"trade_id": {"S": trade_id}}}}
                for trade_id in ("S-0007", "S-0100")
            ]
        )
    # the journal's copies (before the transaction), then moto's own for its stream records
    assert items == ["S-0007", "S-0100", "S-0007", "S-0100"]


# -- results: a cancelled transaction leaves every item as it was --------------------------


def _mixed_transaction(failing: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"Put": {"TableName": TABLE, "Item": {"trade_id": {"S": "N-1"}, "writer": {"S": "t"}}}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"trade_id": {"S": "S-0001"}},
                "UpdateExpression": "SET writer = :w, extra = :x",
                "ExpressionAttributeValues": {":w": {"S": "t"}, ":x": {"N": "1"}},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": {"trade_id": {"S": "S-0002"}}}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"trade_id": {"S": "N-2"}},
                "UpdateExpression": "SET writer = :w",
                "ExpressionAttributeValues": {":w": {"S": "t"}},
            }
        },
        failing,
    ]


FAILING_CONDITION = {
    "Put": {
        "TableName": TABLE,
        "Item": {"trade_id": {"S": "S-0003"}, "writer": {"S": "t"}},
        "ConditionExpression": "attribute_not_exists(trade_id)",
    }
}
SAME_ITEM_TWICE = {"Delete": {"TableName": TABLE, "Key": {"trade_id": {"S": "N-1"}}}}


@pytest.mark.parametrize("patches", [(), (JOURNAL,)], ids=["unpatched", "journal"])
@pytest.mark.parametrize(
    ("failing", "error"),
    [
        (FAILING_CONDITION, "TransactionCanceledException"),
        (SAME_ITEM_TWICE, "ValidationException"),
    ],
    ids=["condition-failed", "same-item-twice"],
)
def test_gap10_a_cancelled_transaction_leaves_every_item_as_it_was(
    dynamodb: Any, patches: tuple[str, ...], failing: dict[str, Any], error: str
) -> None:
    _fill(dynamodb, 5)
    before = _stored(dynamodb)
    with patched(named(*patches)):
        with pytest.raises(dynamodb.exceptions.ClientError) as raised:
            dynamodb.transact_write_items(TransactItems=_mixed_transaction(failing))
        after = _stored(dynamodb)
    assert raised.value.response["Error"]["Code"] == error
    assert after == before
    assert sorted(after) == ["S-0000", "S-0001", "S-0002", "S-0003", "S-0004"]
    assert after["S-0001"] == {"trade_id": {"S": "S-0001"}, "writer": {"S": "seed"}}


def test_gap10_journal_reports_the_stored_item_of_a_failed_condition(dynamodb: Any) -> None:
    _fill(dynamodb, 5)
    failing = copy.deepcopy(FAILING_CONDITION)
    failing["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    cancelled = dynamodb.exceptions.TransactionCanceledException
    with patched(named(JOURNAL)), pytest.raises(cancelled) as raised:
        dynamodb.transact_write_items(TransactItems=[*_puts("N-1"), failing])
    reasons = raised.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"] == {"trade_id": {"S": "S-0003"}, "writer": {"S": "seed"}}
    assert "N-1" not in _stored(dynamodb)


def test_gap10_journal_commits_like_moto(dynamodb: Any) -> None:
    _fill(dynamodb, 5)
    with patched(named(JOURNAL)):
        dynamodb.transact_write_items(TransactItems=_mixed_transaction(_puts("N-3")[0]))
        after = _stored(dynamodb)
    assert sorted(after) == ["N-1", "N-2", "N-3", "S-0000", "S-0001", "S-0003", "S-0004"]
    assert after["S-0001"] == {
        "trade_id": {"S": "S-0001"},
        "writer": {"S": "t"},
        "extra": {"N": "1"},
    }


# -- isolation: nothing runs between the items of a transaction ----------------------------


def _read_during_transaction(monkeypatch: pytest.MonkeyPatch, read_wait_s: float) -> Any:
    """Run a transaction (Put A, then a Put of B whose condition fails, so it is cancelled) and,
    once A is written, a GetItem of A on another thread; return what that GetItem saw.

    The transaction waits after writing A until the read has finished, for at most
    ``read_wait_s``: long enough for an unblocked read, and the wait a blocked one costs."""
    from moto.dynamodb.models.table import Table

    reading, read_done, a_written = threading.Event(), threading.Event(), threading.Event()
    put_item = Table.put_item
    seen: list[Any] = []

    def put_then_wait(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        stored = put_item(self, item_attrs, *args, **kwargs)
        if item_attrs["trade_id"] == {"S": "A"}:
            a_written.set()
            reading.wait(30)
            read_done.wait(read_wait_s)
        return stored

    monkeypatch.setattr(Table, "put_item", put_then_wait)

    def read() -> None:
        client = _client()
        a_written.wait(30)
        reading.set()
        seen.append(client.get_item(TableName=TABLE, Key={"trade_id": {"S": "A"}}).get("Item"))
        read_done.set()

    reader = threading.Thread(target=read)
    reader.start()
    transaction = [
        *_puts("A", condition=False),
        {
            "Put": {
                "TableName": TABLE,
                "Item": {"trade_id": {"S": "B"}},
                "ConditionExpression": "attribute_exists(trade_id)",
            }
        },
    ]
    with pytest.raises(_client().exceptions.TransactionCanceledException):
        _client().transact_write_items(TransactItems=transaction)
    reader.join(30)
    return seen[0]


def test_gap10_unpatched_moto_shows_a_write_of_a_transaction_that_is_then_cancelled(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _read_during_transaction(monkeypatch, read_wait_s=30)
    assert seen == {"trade_id": {"S": "A"}, "writer": {"S": "w"}}
    assert "A" not in _stored(dynamodb)


def test_gap10_isolated_requests_never_show_a_cancelled_write(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with patched(named(ISOLATED, JOURNAL)):
        seen = _read_during_transaction(monkeypatch, read_wait_s=0.5)
    assert seen is None
    assert "A" not in _stored(dynamodb)


def test_gap10_concurrent_transactions_write_each_item_exactly_once(dynamodb: Any) -> None:
    """Eight writers race conditional 10-item transactions over 20 ids (each id wanted by
    four writers), retrying the cancelled ones without the ids found stored, as the processor
    does: every id ends stored once, by a writer whose committed transaction contained it."""
    wanted = {w: [f"T-{(w * 5 + i) % 20:02d}" for i in range(10)] for w in range(8)}
    committed: dict[int, list[list[str]]] = {w: [] for w in wanted}

    def write(writer: int) -> None:
        client = _client()
        pending = list(wanted[writer])
        while pending:
            try:
                client.transact_write_items(TransactItems=_puts(*pending, writer=str(writer)))
            except client.exceptions.TransactionCanceledException as cancelled:
                reasons = cancelled.response["CancellationReasons"]
                pending = [
                    trade_id
                    for trade_id, reason in zip(pending, reasons, strict=True)
                    if reason["Code"] != "ConditionalCheckFailed"
                ]
            else:
                committed[writer].append(pending)
                pending = []

    with patched(named(ISOLATED, JOURNAL)):
        writers = [threading.Thread(target=write, args=(w,)) for w in wanted]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join(60)
        stored = _stored(dynamodb)
    assert sorted(stored) == [f"T-{i:02d}" for i in range(20)]
    for writer, transactions in committed.items():
        for ids in transactions:
            assert {stored[i]["writer"]["S"] for i in ids} == {str(writer)}
    assert sum(len(ids) for t in committed.values() for ids in t) == 20


def test_the_dynamodb_patches_are_undone() -> None:
    import moto.dynamodb.models as models
    from moto.dynamodb.responses import DynamoHandler

    from tooling.emulator.patches import dynamodb as patch_module

    method = models.DynamoDBBackend.__dict__["transact_write_items"]
    call_action = DynamoHandler.__dict__["call_action"]
    with patched(patch_module.PATCHES):
        assert vars(models)["copy"] is not copy
        assert models.DynamoDBBackend.__dict__["transact_write_items"] is not method
        assert DynamoHandler.__dict__["call_action"] is not call_action
    assert vars(models)["copy"] is copy
    assert models.DynamoDBBackend.__dict__["transact_write_items"] is method
    assert DynamoHandler.__dict__["call_action"] is call_action


# -- cost: a condition is parsed once, an item's size summed once ---------------------------

PARSED_ONCE = "dynamodb-conditions-parsed-once"
SIZE_ONCE = "dynamodb-item-size-summed-once"


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every condition expression moto lexes, which it does once per parse."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    parses: list[str] = []
    lex = ConditionExpressionParser._lex_condition_expression

    def counting(self: Any) -> Any:
        parses.append(self.condition_expression)
        return lex(self)

    monkeypatch.setattr(ConditionExpressionParser, "_lex_condition_expression", counting)
    return parses


@pytest.mark.parametrize(
    ("patches", "parses"), [((), [30, 30]), ((PARSED_ONCE,), [2, 0])], ids=["unpatched", "patched"]
)
def test_gap10_a_condition_is_parsed_once_instead_of_three_times_per_item(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch, patches: tuple[str, ...], parses: list[int]
) -> None:
    counted: list[int] = []
    with patched(named(*patches)):
        lexed = _parses(monkeypatch)
        for first in (0, 10):
            ids = (f"T-{i}" for i in range(first, first + 10))
            dynamodb.transact_write_items(TransactItems=_puts(*ids))
            counted.append(len(lexed) - sum(counted))
    # per 10-item transaction; patched, the two forms moto passes (no names and values as {}
    # when validating the request, as None when applying it) are parsed once each
    assert counted == parses
    assert set(lexed) == {"attribute_not_exists(trade_id)"}
    assert len(_stored(dynamodb)) == 20


def test_gap10_a_cached_condition_still_refuses_what_it_refuses(dynamodb: Any) -> None:
    with patched(named(PARSED_ONCE)):
        dynamodb.transact_write_items(TransactItems=_puts("T-1"))
        for _ in range(2):
            with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
                dynamodb.transact_write_items(TransactItems=_puts("T-1"))
            with pytest.raises(ValueError, match="Bad function expression"):  # moto's own refusal
                dynamodb.put_item(
                    TableName=TABLE,
                    Item={"trade_id": {"S": "T-2"}},
                    ConditionExpression="attribute_not_exists(",
                )


def _sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    sizes: list[int] = []
    size = DynamoType.size

    def counting(self: Any) -> int:
        sizes.append(1)
        return size(self)

    monkeypatch.setattr(DynamoType, "size", counting)
    return sizes


@pytest.mark.parametrize(
    ("patches", "expected"), [((), 78), ((SIZE_ONCE,), 12)], ids=["unpatched", "patched"]
)
def test_gap10_an_items_size_is_summed_once_instead_of_once_per_attribute(
    monkeypatch: pytest.MonkeyPatch, patches: tuple[str, ...], expected: int
) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    attributes = {f"a{i:02d}": {"S": "x" * i} for i in range(12)}
    with patched(named(*patches)):
        sizes = _sizes(monkeypatch)
        item = Item(DynamoType({"S": "k"}), None, attributes)
    assert len(sizes) == expected  # unpatched: 1 + 2 + ... + 12 = 78
    assert item.to_json()["Attributes"] == attributes


@pytest.mark.parametrize("patches", [(), (SIZE_ONCE,)], ids=["unpatched", "patched"])
def test_gap10_the_item_size_limit_is_where_moto_puts_it(
    dynamodb: Any, patches: tuple[str, ...]
) -> None:
    with patched(named(*patches)):
        dynamodb.put_item(
            TableName=TABLE, Item={"trade_id": {"S": "fits"}, "a": {"S": "x" * 404_000}}
        )
        with pytest.raises(dynamodb.exceptions.ClientError) as refused:
            dynamodb.put_item(
                TableName=TABLE,
                Item={
                    "trade_id": {"S": "too big"},
                    "a": {"S": "x" * 200_000},
                    "b": {"S": "x" * 205_000},
                },
            )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert (
        refused.value.response["Error"]["Message"]
        == "Item size has exceeded the maximum allowed size"
    )
