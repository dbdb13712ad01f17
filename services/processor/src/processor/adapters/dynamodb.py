"""DynamoDB adapter of the trades table (low-level client: numbers travel as exact text).

Idempotent, batched, race-safe writes:

* ``existing_hashes``: BatchGetItem (<= 100 keys per call, ConsistentRead, projection
  ``trade_id, record_hash``), retrying UnprocessedKeys with jittered exponential backoff.
* ``insert_new``: TransactWriteItems in chunks of <= 100 Puts, each conditional on
  ``attribute_not_exists(trade_id)`` with ``ReturnValuesOnConditionCheckFailure=ALL_OLD``.
  If the transaction is cancelled (another writer stored one of the ids after our
  BatchGetItem, or a concurrent transaction touched one of the items), the cancellation
  reasons say which Put failed its condition, with the stored item: those ids are reported
  back with their stored record_hash and never written; the remaining Puts are retried as a
  new transaction (after a backoff when the reason was a conflict or throttling). A stored
  item is therefore never overwritten, and every record ends up either written by us or
  reported as already stored.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from botocore.exceptions import ClientError

from processor.adapters.errors import TRANSPORT_ERRORS, aws_call, error_code, translate
from processor.domain.errors import DependencyError
from processor.domain.model import TradeRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        KeysAndAttributesUnionTypeDef,
        TransactWriteItemTypeDef,
        UniversalAttributeValueTypeDef,
    )

MAX_BATCH_GET: Final = 100
MAX_TRANSACTION: Final = 100
RETRY_LATER_REASONS: Final = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def item_of(record: TradeRecord) -> dict[str, UniversalAttributeValueTypeDef]:
    """The table item of a record (attribute names as documented in the README)."""
    trade = record.trade
    return {
        "trade_id": {"S": trade.trade_id},
        "account_id": {"S": trade.account_id},
        "symbol": {"S": trade.symbol},
        "side": {"S": trade.side.value},
        "quantity": {"N": str(trade.quantity)},
        "price": {"N": trade.price_text},
        "currency": {"S": trade.currency},
        "executed_at": {"S": trade.executed_at_text},
        "record_hash": {"S": record.record_hash},
        "source_key": {"S": record.source_key},
        "source_line": {"N": str(record.source_line)},
        "ingested_at": {"S": record.ingested_at},
    }


def _stored_hash(item: Mapping[str, Any] | None) -> str | None:
    value = (item or {}).get("record_hash")
    if isinstance(value, Mapping) and isinstance(value.get("S"), str):
        return cast(str, value["S"])
    return None


class DynamoDBTradeRepository:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        max_attempts: int = 8,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table_name
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep

    def _back_off(self, attempt: int) -> None:
        """Full-jitter exponential backoff (jitter de-synchronises concurrent writers)."""
        ceiling = min(self._max_delay, self._base_delay * 2**attempt)
        self._sleep(random.uniform(0, ceiling))  # noqa: S311 - timing jitter, not cryptography

    # -- reads --------------------------------------------------------------------------

    def existing_hashes(self, trade_ids: Collection[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for chunk in _chunks(list(dict.fromkeys(trade_ids)), MAX_BATCH_GET):
            self._batch_get(chunk, found)
        return found

    def _batch_get(self, trade_ids: Sequence[str], found: dict[str, str | None]) -> None:
        request: Mapping[str, KeysAndAttributesUnionTypeDef] = {
            self._table: {
                "Keys": [{"trade_id": {"S": trade_id}} for trade_id in trade_ids],
                "ProjectionExpression": "trade_id, record_hash",
                "ConsistentRead": True,
            }
        }
        for attempt in range(self._max_attempts):
            with aws_call(f"dynamodb:BatchGetItem {self._table}"):
                response = self._client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table, []):
                found[str(item["trade_id"]["S"])] = _stored_hash(item)
            unprocessed = response.get("UnprocessedKeys", {})
            remaining = unprocessed.get(self._table)
            if remaining is None or not remaining.get("Keys"):
                return
            request = unprocessed
            self._back_off(attempt)
        raise DependencyError(
            f"dynamodb:BatchGetItem {self._table}: keys still unprocessed after "
            f"{self._max_attempts} attempts"
        )

    # -- writes -------------------------------------------------------------------------

    def insert_new(self, records: Sequence[TradeRecord]) -> dict[str, str | None]:
        already_stored: dict[str, str | None] = {}
        for chunk in _chunks(records, MAX_TRANSACTION):
            self._insert_chunk(list(chunk), already_stored)
        return already_stored

    def _put(self, record: TradeRecord) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self._table,
                "Item": item_of(record),
                "ConditionExpression": "attribute_not_exists(trade_id)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _insert_chunk(
        self, pending: list[TradeRecord], already_stored: dict[str, str | None]
    ) -> None:
        backoffs = 0
        while pending:
            reasons = self._transact(pending)
            if reasons is None:
                return
            pending, must_wait = self._sort_out(pending, reasons, already_stored)
            if must_wait:
                if backoffs >= self._max_attempts:
                    raise DependencyError(
                        f"dynamodb:TransactWriteItems {self._table}: still cancelled after "
                        f"{self._max_attempts} retries"
                    )
                self._back_off(backoffs)
                backoffs += 1

    def _transact(self, pending: list[TradeRecord]) -> list[Mapping[str, Any]] | None:
        """Run one transaction; None if it committed, else its cancellation reasons."""
        action = f"dynamodb:TransactWriteItems {self._table}"
        try:
            self._client.transact_write_items(TransactItems=[self._put(r) for r in pending])
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise translate(exc, action) from exc
            reasons = cast(list[Mapping[str, Any]], exc.response.get("CancellationReasons", []))
            if len(reasons) != len(pending):
                raise DependencyError(f"{action}: cancelled without usable reasons") from exc
            return reasons
        except TRANSPORT_ERRORS as exc:
            raise translate(exc, action) from exc
        return None

    def _sort_out(
        self,
        pending: list[TradeRecord],
        reasons: list[Mapping[str, Any]],
        already_stored: dict[str, str | None],
    ) -> tuple[list[TradeRecord], bool]:
        """Split a cancelled transaction: ids found stored, Puts to retry, whether to wait."""
        retry: list[TradeRecord] = []
        must_wait = False
        unknown: list[TradeRecord] = []
        for record, reason in zip(pending, reasons, strict=True):
            code = str(reason.get("Code") or "None")
            if code == "ConditionalCheckFailed":
                if "Item" in reason:
                    already_stored[record.trade.trade_id] = _stored_hash(reason["Item"])
                else:
                    unknown.append(record)
            elif code == "None":
                retry.append(record)
            elif code in RETRY_LATER_REASONS:
                retry.append(record)
                must_wait = True
            else:
                message = reason.get("Message", "")
                raise DependencyError(
                    f"dynamodb:TransactWriteItems {self._table}: {code}: {message}"
                )
        if unknown:
            found = self.existing_hashes([r.trade.trade_id for r in unknown])
            for record in unknown:
                if record.trade.trade_id in found:
                    already_stored[record.trade.trade_id] = found[record.trade.trade_id]
                else:
                    retry.append(record)
        return retry, must_wait or len(retry) == len(pending)
