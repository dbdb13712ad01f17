"""The DynamoDB adapters against moto tables shaped like the real ones."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from api_handler.adapters import dynamodb as dynamodb_adapters
from api_handler.adapters.dynamodb import (
    CorruptItemError,
    DynamoDbSessionRepository,
    DynamoDbTradeReader,
)
from api_handler.domain.pagination import PageCursor
from api_handler.domain.sessions import Session, new_session_id
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.moto

NOW = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
BASE = datetime(2024, 3, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def repository(dynamodb: DynamoDBClient, sessions_table: str) -> DynamoDbSessionRepository:
    return DynamoDbSessionRepository(dynamodb, sessions_table)


@pytest.fixture
def reader(dynamodb: DynamoDBClient, trades_table: str, trades_index: str) -> DynamoDbTradeReader:
    return DynamoDbTradeReader(dynamodb, trades_table, trades_index)


def _session(session_id: str = "s" * 43, expires_at: int = 1709294460) -> Session:
    return Session(session_id, "acc-1", NOW, expires_at)


# --- sessions --------------------------------------------------------------------------------


def test_a_stored_session_reads_back_equal(repository: DynamoDbSessionRepository) -> None:
    repository.add(_session())
    assert repository.get("s" * 43) == _session()


def test_a_session_is_stored_under_its_key_with_the_ttl_attribute_as_a_number(
    repository: DynamoDbSessionRepository, dynamodb: DynamoDBClient, sessions_table: str
) -> None:
    repository.add(_session())
    key = hashlib.sha256(b"s" * 43).hexdigest()
    item = dynamodb.get_item(TableName=sessions_table, Key={"session_id": {"S": key}})["Item"]
    assert item == {
        "session_id": {"S": key},
        "account_id": {"S": "acc-1"},
        "created_at": {"S": "2024-03-01T12:00:00.250000Z"},
        "expires_at": {"N": "1709294460"},
    }


def test_the_clear_session_id_is_in_no_stored_attribute(
    repository: DynamoDbSessionRepository, dynamodb: DynamoDBClient, sessions_table: str
) -> None:
    """The whole table, as a reader of a backup or a replica sees it, holds no bearer token."""
    session_id = new_session_id()
    repository.add(_session(session_id))
    items = dynamodb.scan(TableName=sessions_table)["Items"]
    assert len(items) == 1
    assert session_id not in json.dumps(items)
    no_item = dynamodb.get_item(TableName=sessions_table, Key={"session_id": {"S": session_id}})
    assert "Item" not in no_item
    assert repository.get(session_id) == _session(session_id)


def test_an_item_stored_under_the_clear_id_is_not_a_session(
    repository: DynamoDbSessionRepository, dynamodb: DynamoDBClient, sessions_table: str
) -> None:
    """Items written before hashing (or forged under a clear id) authorize nothing."""
    dynamodb.put_item(
        TableName=sessions_table,
        Item={
            "session_id": {"S": "s" * 43},
            "account_id": {"S": "acc-1"},
            "created_at": {"S": "2024-03-01T12:00:00.250000Z"},
            "expires_at": {"N": "1709294460"},
        },
    )
    assert repository.get("s" * 43) is None


def test_an_existing_session_id_is_never_overwritten(repository: DynamoDbSessionRepository) -> None:
    repository.add(_session())
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        repository.add(_session(expires_at=1709299999))
    stored = repository.get("s" * 43)
    assert stored is not None
    assert stored.expires_at == 1709294460


def test_an_unknown_session_reads_as_none(repository: DynamoDbSessionRepository) -> None:
    assert repository.get("u" * 43) is None


def test_sessions_are_read_strongly_consistently_so_a_new_one_is_found_at_once(
    repository: DynamoDbSessionRepository, dynamodb: DynamoDBClient
) -> None:
    calls: list[dict[str, Any]] = []
    dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.GetItem",
        lambda params, **_: calls.append(dict(params)),
    )
    repository.get("s" * 43)
    assert [call.get("ConsistentRead") for call in calls] == [True]


def test_removing_an_unexpired_session_deletes_it(repository: DynamoDbSessionRepository) -> None:
    repository.add(_session())
    assert repository.remove_unexpired("s" * 43, now=NOW) is True
    assert repository.get("s" * 43) is None


def test_removing_an_unknown_session_reports_false(repository: DynamoDbSessionRepository) -> None:
    assert repository.remove_unexpired("u" * 43, now=NOW) is False


def test_an_expired_session_is_not_removed_and_reports_false(
    repository: DynamoDbSessionRepository,
) -> None:
    repository.add(_session(expires_at=1709294460))
    at_expiry = datetime.fromtimestamp(1709294460, UTC)
    assert repository.remove_unexpired("s" * 43, now=at_expiry) is False
    assert repository.get("s" * 43) is not None  # left for DynamoDB's TTL


# --- trades ----------------------------------------------------------------------------------


def test_a_trade_is_read_with_exact_price_and_integer_quantity(
    reader: DynamoDbTradeReader,
    seed_trades: Callable[[list[Any]], None],
    make_trade_item: Callable[..., Any],
) -> None:
    seed_trades([make_trade_item("T-1", "acc-1", BASE, price="0.000123456789", quantity="250")])
    trade = reader.get("T-1")
    assert trade is not None
    assert (trade.price, trade.price_text) == (Decimal("0.000123456789"), "0.000123456789")
    assert trade.quantity == 250
    assert (trade.symbol, trade.side, trade.currency) == ("D05.SI", "SELL", "SGD")
    assert trade.executed_at == "2024-03-01T09:00:00.000000Z"


def test_an_unknown_trade_reads_as_none(reader: DynamoDbTradeReader) -> None:
    assert reader.get("T-404") is None


@pytest.mark.parametrize(
    "overrides",
    [{"quantity": "2.5"}, {"price": None}, {"symbol": None}],
)
def test_a_corrupt_trade_item_is_a_server_side_error(
    reader: DynamoDbTradeReader,
    seed_trades: Callable[[list[Any]], None],
    make_trade_item: Callable[..., Any],
    overrides: dict[str, str | None],
) -> None:
    seed_trades([make_trade_item("T-1", "acc-1", BASE, **overrides)])
    with pytest.raises(CorruptItemError):
        reader.get("T-1")


def test_an_accounts_trades_come_newest_first_across_pages_without_gaps_or_repeats(
    reader: DynamoDbTradeReader,
    seed_trades: Callable[[list[Any]], None],
    make_trade_item: Callable[..., Any],
) -> None:
    items = [
        make_trade_item(f"T-{i:03d}", "acc-1", BASE + timedelta(seconds=i)) for i in range(120)
    ]
    items += [make_trade_item(f"X-{i}", "acc-2", BASE + timedelta(seconds=i)) for i in range(30)]
    seed_trades(items)
    pages: list[list[str]] = []
    after: PageCursor | None = None
    while True:
        page = reader.list_for_account("acc-1", limit=50, after=after)
        pages.append([t.trade_id for t in page.items])
        after = page.next_cursor
        if after is None:
            break
    assert [len(p) for p in pages] == [50, 50, 20]
    assert [tid for p in pages for tid in p] == [f"T-{i:03d}" for i in reversed(range(120))]


def test_the_cursor_is_the_last_trade_of_the_page(
    reader: DynamoDbTradeReader,
    seed_trades: Callable[[list[Any]], None],
    make_trade_item: Callable[..., Any],
) -> None:
    seed_trades([make_trade_item(f"T-{i}", "acc-1", BASE + timedelta(seconds=i)) for i in range(3)])
    page = reader.list_for_account("acc-1", limit=2, after=None)
    assert page.next_cursor == PageCursor("acc-1", "2024-03-01T09:00:01.000000Z", "T-1")


# --- IAM: the documented actions are exactly the ones called ---------------------------------


def _documented_actions() -> set[tuple[str, str]]:
    doc = dynamodb_adapters.__doc__ or ""
    found = re.findall(
        r"^- dynamodb:(\w+) on the (sessions table|trades table(?:'s index)?)", doc, re.M
    )
    return {(action, resource) for action, resource in found}


def test_the_adapters_call_exactly_the_documented_aws_actions(
    dynamodb: DynamoDBClient,
    sessions_table: str,
    trades_table: str,
    trades_index: str,
    seed_trades: Callable[[list[Any]], None],
    make_trade_item: Callable[..., Any],
) -> None:
    seed_trades([make_trade_item("T-1", "acc-1", BASE)])
    called: set[tuple[str, str]] = set()
    resources = {sessions_table: "sessions table", trades_table: "trades table"}

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:  # the API call's arguments
        resource = resources[params["TableName"]]
        if "IndexName" in params:
            assert params["IndexName"] == trades_index
            resource += "'s index"
        called.add((model.name, resource))

    dynamodb.meta.events.register("before-parameter-build.dynamodb", record)
    sessions = DynamoDbSessionRepository(dynamodb, sessions_table)
    trades = DynamoDbTradeReader(dynamodb, trades_table, trades_index)
    sessions.add(_session())
    sessions.get("s" * 43)
    sessions.remove_unexpired("s" * 43, now=NOW)
    trades.get("T-1")
    trades.list_for_account("acc-1", limit=1, after=None)
    trades.list_for_account(
        "acc-1", limit=1, after=PageCursor("acc-1", "2024-03-01T09:00:00.000000Z", "T-1")
    )

    assert called == _documented_actions()
    assert len(called) == 5
