"""DynamoDB adapters of the session repository and the trade reader.

AWS API actions used (the complete list; the function's least-privilege IAM policy is
written from it, and a test checks that the code calls exactly these):

- dynamodb:PutItem on the sessions table
- dynamodb:GetItem on the sessions table
- dynamodb:DeleteItem on the sessions table
- dynamodb:GetItem on the trades table
- dynamodb:Query on the trades table's index TRADES_BY_ACCOUNT_INDEX

No other action and no other resource (no Scan, no BatchGetItem, no Query on the base table).
The authorizer entry point uses only ``DynamoDbSessionRepository.get`` (dynamodb:GetItem on the
sessions table), which is all its role grants.
Sessions are stored under :func:`~api_handler.domain.sessions.session_key` of their id (the
key attribute keeps its name ``session_id``, now holding the SHA-256 hex digest: renaming a
table's key attribute replaces the table and, in ``global``, its replicas); the clear id, a
bearer credential, is never written.
The client is injected (low-level ``boto3.client("dynamodb")``); numbers are read from the
wire format as text, so prices stay exact decimals.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from api_handler.domain.identifiers import format_utc_timestamp, parse_utc_timestamp
from api_handler.domain.pagination import PageCursor
from api_handler.domain.sessions import Session, StoredSession, session_key
from api_handler.domain.trades import Trade, TradePage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

    Item = Mapping[str, AttributeValueTypeDef]

# The public fields of a trade; internal attributes (record_hash, source_key, ...) are never read.
_TRADE_FIELDS = (
    "trade_id",
    "account_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "currency",
    "executed_at",
)
_TRADE_PROJECTION = ", ".join(f"#{name}" for name in _TRADE_FIELDS)
_TRADE_NAMES = {f"#{name}": name for name in _TRADE_FIELDS}


class CorruptItemError(RuntimeError):
    """A stored item does not have the shape this service relies on (a server-side fault)."""


def _is_conditional_check_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _text(item: Item, name: str) -> str:
    value = item.get(name, {}).get("S")
    if value is None:
        raise CorruptItemError(f"attribute {name} is missing or not a string")
    return value


def _number(item: Item, name: str) -> Decimal:
    value = item.get(name, {}).get("N")
    try:
        if value is None:
            raise InvalidOperation
        number = Decimal(value)
    except InvalidOperation:
        raise CorruptItemError(f"attribute {name} is missing or not a number") from None
    if not number.is_finite():
        raise CorruptItemError(f"attribute {name} is not a finite number")
    return number


def _integer(item: Item, name: str) -> int:
    number = _number(item, name)
    if number != number.to_integral_value():
        raise CorruptItemError(f"attribute {name} is not an integer")
    return int(number)


class DynamoDbSessionRepository:
    """Sessions in a table with pk ``session_id`` (S: the :func:`session_key` of the id, never
    the id itself) and TTL attribute ``expires_at`` (N)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def add(self, session: Session) -> None:
        """PutItem of the hashed record, refusing to overwrite an existing key."""
        stored = session.stored()
        self._client.put_item(
            TableName=self._table,
            Item={
                "session_id": {"S": stored.key},
                "account_id": {"S": stored.account_id},
                "created_at": {"S": format_utc_timestamp(stored.created_at)},
                "expires_at": {"N": str(stored.expires_at)},
            },
            ConditionExpression="attribute_not_exists(session_id)",
        )

    def get(self, session_id: str) -> Session | None:
        """Strongly consistent GetItem by key: a session is readable right after it is created."""
        key = session_key(session_id)
        response = self._client.get_item(
            TableName=self._table,
            Key={"session_id": {"S": key}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None
        if _text(item, "session_id") != key:
            raise CorruptItemError("attribute session_id does not hold the requested key")
        try:
            created_at = parse_utc_timestamp(_text(item, "created_at"))
        except ValueError:
            raise CorruptItemError("attribute created_at is not a timestamp") from None
        stored = StoredSession(
            key=key,
            account_id=_text(item, "account_id"),
            created_at=created_at,
            expires_at=_integer(item, "expires_at"),
        )
        return stored.with_id(session_id)

    def remove_unexpired(self, session_id: str, *, now: datetime) -> bool:
        """Conditional DeleteItem by key: only an existing session with ``expires_at > now``."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"session_id": {"S": session_key(session_id)}},
                ConditionExpression="attribute_exists(session_id) AND expires_at > :now",
                ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}},
            )
        except ClientError as error:
            if _is_conditional_check_failure(error):
                return False
            raise
        return True


class DynamoDbTradeReader:
    """Trades in a table with pk ``trade_id`` and a by-account GSI (``account_id``,
    ``executed_at``) that projects all attributes."""

    def __init__(self, client: DynamoDBClient, table_name: str, by_account_index: str) -> None:
        self._client = client
        self._table = table_name
        self._index = by_account_index

    def get(self, trade_id: str) -> Trade | None:
        """GetItem of the public fields only."""
        response = self._client.get_item(
            TableName=self._table,
            Key={"trade_id": {"S": trade_id}},
            ProjectionExpression=_TRADE_PROJECTION,
            ExpressionAttributeNames=_TRADE_NAMES,
        )
        item = response.get("Item")
        return None if item is None else _trade_from(item)

    def list_for_account(
        self, account_id: str, *, limit: int, after: PageCursor | None
    ) -> TradePage:
        """One Query on the index, newest first."""
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "IndexName": self._index,
            "KeyConditionExpression": "#account_id = :account_id",
            "ExpressionAttributeNames": _TRADE_NAMES,
            "ExpressionAttributeValues": {":account_id": {"S": account_id}},
            "ProjectionExpression": _TRADE_PROJECTION,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = {
                "trade_id": {"S": after.trade_id},
                "account_id": {"S": after.account_id},
                "executed_at": {"S": after.executed_at},
            }
        response = self._client.query(**request)
        items = tuple(_trade_from(item) for item in response.get("Items", []))
        last_key = response.get("LastEvaluatedKey")
        return TradePage(
            items=items, next_cursor=None if last_key is None else _cursor_from(last_key)
        )


def _trade_from(item: Item) -> Trade:
    return Trade(
        trade_id=_text(item, "trade_id"),
        account_id=_text(item, "account_id"),
        symbol=_text(item, "symbol"),
        side=_text(item, "side"),
        quantity=_integer(item, "quantity"),
        price=_number(item, "price"),
        currency=_text(item, "currency"),
        executed_at=_text(item, "executed_at"),
    )


def _cursor_from(last_key: Item) -> PageCursor:
    if set(last_key) != {"trade_id", "account_id", "executed_at"}:
        raise CorruptItemError("unexpected LastEvaluatedKey attributes")
    try:
        return PageCursor(
            account_id=_text(last_key, "account_id"),
            executed_at=_text(last_key, "executed_at"),
            trade_id=_text(last_key, "trade_id"),
        )
    except ValueError:
        raise CorruptItemError("LastEvaluatedKey holds malformed values") from None
