"""Shared fixtures: a fixed clock, in-memory adapters, log capture and moto DynamoDB tables.

Test modules cannot import this file (pytest's importlib mode), so everything they share
is a fixture. The app's clock starts at 2024-03-01T12:00:00.250000Z (epoch 1709294400.25).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from api_handler.adapters.memory import InMemorySessionRepository, InMemoryTradeReader
from api_handler.app import App
from api_handler.domain.identifiers import format_utc_timestamp
from api_handler.domain.trades import Trade
from api_handler.observability import logger
from api_handler.wiring import get_app
from moto import mock_aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "ap-southeast-1"
SESSIONS_TABLE = "test-sessions-table"
TRADES_TABLE = "test-trades-table"
TRADES_INDEX = "test-trades-by-account"
# 2024-03-01T12:00:00.250000Z: a fraction of a second, to exercise rounding of expires_at.
START = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
SESSION_ID = "S" * 43
CONFIG_VARIABLES = (
    "SESSIONS_TABLE_NAME",
    "TRADES_TABLE_NAME",
    "TRADES_BY_ACCOUNT_INDEX",
    "SESSION_TTL_SECONDS",
    "LOG_LEVEL",
)


# --- unit-test fixtures (no AWS) -------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> _Clock:
    """The time the app sees: START until a test moves it."""
    return _Clock()


@pytest.fixture
def advance(clock: _Clock) -> Callable[[float], None]:
    """Move the app's clock forward by some seconds."""

    def move(seconds: float) -> None:
        clock.now += timedelta(seconds=seconds)

    return move


@pytest.fixture
def sessions() -> InMemorySessionRepository:
    return InMemorySessionRepository()


@pytest.fixture
def trades() -> InMemoryTradeReader:
    return InMemoryTradeReader()


@pytest.fixture
def app(
    sessions: InMemorySessionRepository,
    trades: InMemoryTradeReader,
    clock: _Clock,
    issued_session_id: str,
) -> App:
    """The app over in-memory adapters, a fixed clock, a 3600 s default TTL and fixed ids."""
    return App(
        sessions=sessions,
        trades=trades,
        default_ttl_seconds=3600,
        clock=clock,
        new_id=lambda: issued_session_id,
    )


@pytest.fixture
def issued_session_id() -> str:
    """The id the ``app`` fixture gives every new session."""
    return SESSION_ID


@pytest.fixture
def make_trade() -> Callable[..., Trade]:
    """Build a trade; keyword arguments override the defaults."""

    def build(**overrides: Any) -> Trade:
        fields: dict[str, Any] = {
            "trade_id": "T-1",
            "account_id": "acc-1",
            "symbol": "D05.SI",
            "side": "BUY",
            "quantity": 100,
            "price": Decimal("35.1250"),
            "currency": "SGD",
            "executed_at": "2024-03-01T09:30:00.000001Z",
        }
        fields.update(overrides)
        return Trade(**fields)

    return build


@pytest.fixture(autouse=True)
def log_output() -> Iterator[io.StringIO]:
    """Everything the service's logger writes during the test (one JSON object per line)."""
    handler = logger.logger_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


# --- moto fixtures ---------------------------------------------------------------------------


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and the test region; nothing can reach a real account or endpoint."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def dynamodb(aws_credentials: None) -> Iterator[DynamoDBClient]:
    """A moto DynamoDB with the sessions table (TTL on expires_at) and the trades table
    (GSI account_id/executed_at, all attributes projected), as the infra defines them."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=SESSIONS_TABLE,
            AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.update_time_to_live(
            TableName=SESSIONS_TABLE,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
        client.create_table(
            TableName=TRADES_TABLE,
            AttributeDefinitions=[
                {"AttributeName": "trade_id", "AttributeType": "S"},
                {"AttributeName": "account_id", "AttributeType": "S"},
                {"AttributeName": "executed_at", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "trade_id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": TRADES_INDEX,
                    "KeySchema": [
                        {"AttributeName": "account_id", "KeyType": "HASH"},
                        {"AttributeName": "executed_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def sessions_table() -> str:
    return SESSIONS_TABLE


@pytest.fixture
def trades_table() -> str:
    return TRADES_TABLE


@pytest.fixture
def trades_index() -> str:
    return TRADES_INDEX


def _trade_item(
    trade_id: str, account_id: str, executed_at: datetime, **overrides: str | None
) -> Any:
    item = {
        "trade_id": {"S": trade_id},
        "account_id": {"S": account_id},
        "symbol": {"S": "D05.SI"},
        "side": {"S": "SELL"},
        "quantity": {"N": "250"},
        "price": {"N": "35.125"},
        "currency": {"S": "SGD"},
        "executed_at": {"S": format_utc_timestamp(executed_at)},
        "record_hash": {"S": "9f2c" * 16},
        "source_key": {"S": "incoming/2024-03-01/trades.csv"},
        "source_line": {"N": "17"},
        "ingested_at": {"S": "2024-03-01T09:31:00.000000Z"},
    }
    for name, value in overrides.items():
        kind = "N" if name in {"quantity", "price", "source_line"} else "S"
        if value is None:
            del item[name]
        else:
            item[name] = {kind: value}
    return item


@pytest.fixture
def make_trade_item() -> Callable[..., Any]:
    """``(trade_id, account_id, executed_at: datetime, **overrides)`` -> a trades-table item
    as the ingesting service writes it, internal attributes included (an override of
    ``None`` leaves the attribute out)."""
    return _trade_item


@pytest.fixture
def seed_trades(dynamodb: DynamoDBClient) -> Callable[[list[Any]], None]:
    """Write trades-table items (BatchWriteItem, 25 at a time)."""

    def seed(items: list[Any]) -> None:
        for start in range(0, len(items), 25):
            chunk = items[start : start + 25]
            dynamodb.batch_write_item(
                RequestItems={TRADES_TABLE: [{"PutRequest": {"Item": i}} for i in chunk]}
            )

    return seed


@pytest.fixture
def lambda_env(dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The function's configuration pointing at the moto tables; the app is rebuilt for it."""
    monkeypatch.setenv("SESSIONS_TABLE_NAME", SESSIONS_TABLE)
    monkeypatch.setenv("TRADES_TABLE_NAME", TRADES_TABLE)
    monkeypatch.setenv("TRADES_BY_ACCOUNT_INDEX", TRADES_INDEX)
    monkeypatch.setenv("SESSION_TTL_SECONDS", "900")
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    get_app.cache_clear()
    yield
    get_app.cache_clear()


@pytest.fixture
def no_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An environment without the function's configuration; the app is rebuilt for it."""
    for variable in CONFIG_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    get_app.cache_clear()
    yield
    get_app.cache_clear()
