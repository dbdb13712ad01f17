"""Compatibility patches of moto's DynamoDB: requests isolated, transactions undone item by item.

Two properties of DynamoDB the platform's writers rely on, and moto's server lacks:

* **Isolation.** moto's server answers requests on threads and its backend takes no lock, so a
  GetItem or a second TransactWriteItems can run between two items of a transaction: it sees a
  write that is rolled back a moment later, or both of two racing conditional Puts succeed.
  :func:`requests_isolated` runs each DynamoDB request of one account and region alone.
* **Cost.** moto snapshots every table a transaction touches (``copy.deepcopy(table)``) for
  its rollback, so a transaction into a table of N items copies N items, and ingesting a file is
  quadratic in the table's size. :func:`transaction_journal` keeps, instead, what each touched
  item was before the transaction and puts exactly those back when it is cancelled.
"""

from __future__ import annotations

import collections
import copy
import functools
import inspect
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tooling.emulator.dynamodb_items import ItemStore
from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace, undo_all

__all__ = ["PATCHES", "items_on_disk", "requests_isolated", "transaction_journal"]


@compat_patch("dynamodb-requests-isolated", gap="10")
def requests_isolated() -> Undo:
    """docs/emulator.md, gap 10: moto applies a transaction's items one by one while other
    requests run.

    DynamoDB documents serializable isolation between a TransactWriteItems and any other write
    of its items, and read-committed isolation for reads: a GetItem, BatchGetItem or Query
    never returns a value of a transaction that did not succeed
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation).
    moto's threaded server applies a transaction's writes one after another, checks each
    condition just before its write, and rolls back at the end: a concurrent reader sees writes
    that are then undone, and a concurrent transaction can pass a condition on an item the
    first one is about to write. The patch holds one lock per account and region around each
    DynamoDB request (parsing, the backend call and the serialized response), so every request,
    a transaction included, takes effect as one step. The server's Python work runs under one
    interpreter lock anyway; what is given up is only the interleaving AWS rules out.
    """
    from moto.dynamodb.responses import DynamoHandler

    locks: dict[tuple[str, str], threading.RLock] = {}
    guard = threading.Lock()

    def lock_of(account: str, region: str) -> threading.RLock:
        with guard:
            return locks.setdefault((account, region), threading.RLock())

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def call_action(self: Any) -> Any:
            with lock_of(str(self.current_account), str(self.region)):
                return original(self)

        return call_action

    return replace(DynamoHandler, "call_action", make)


@dataclass(frozen=True)
class _Before:
    """What one item of a table was before a transaction wrote it (None: it did not exist)."""

    table: Any
    hash_key: Any
    range_key: Any
    item: Any
    stream_length: int | None

    def restore(self) -> None:
        items = self.table.items
        if self.range_key is None:
            if self.item is None:
                items.pop(self.hash_key, None)
            else:
                items[self.hash_key] = self.item
        elif self.item is None:
            items.get(self.hash_key, {}).pop(self.range_key, None)
            if self.hash_key in items and not items[self.hash_key]:
                del items[self.hash_key]
        else:
            items[self.hash_key][self.range_key] = self.item
        shard = self.table.stream_shard
        if shard is not None and self.stream_length is not None:
            del shard.items[self.stream_length :]


def _before(backend: Any, operation: dict[str, Any]) -> _Before | None:
    """The state of the item ``operation`` (one TransactItems member) would write, or None when
    it writes nothing (ConditionCheck) or names no item moto could find (moto then cancels)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if len(operation) != 1:
        return None
    kind, request = next(iter(operation.items()))
    if kind not in {"Put", "Update", "Delete"}:
        return None
    table = backend.tables.get(request.get("TableName"))
    if table is None:
        return None
    key = request.get("Item") if kind == "Put" else request.get("Key")
    if not isinstance(key, dict) or table.hash_key_attr not in key:
        return None
    if table.range_key_attr is not None and table.range_key_attr not in key:
        return None
    try:
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        current = table.get_item(hash_key, range_key)
    except Exception:  # an invalid key: moto's own validation cancels the transaction
        return None
    # A Put or a Delete replaces the stored Item object; an Update changes it in place.
    item = copy.deepcopy(current) if kind == "Update" and current is not None else current
    shard = table.stream_shard
    return _Before(table, hash_key, range_key, item, None if shard is None else len(shard.items))


class _TableCopies:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``: inside a journalled
    transaction of the calling thread, the table "copy" moto takes for its rollback is the table
    itself (the journal undoes the items instead); everything else is ``copy.deepcopy``."""

    def __init__(self) -> None:
        self._local = threading.local()

    def deepcopy(self, obj: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if getattr(self._local, "journalled", False) and isinstance(obj, Table):
            return obj
        return copy.deepcopy(obj, memo)

    def journalled(self, run: Callable[[], None]) -> None:
        self._local.journalled = True
        try:
            run()
        finally:
            self._local.journalled = False


@compat_patch("dynamodb-transaction-journal", gap="10")
def transaction_journal() -> Undo:
    """docs/emulator.md, gap 10: a TransactWriteItems costs a copy of every table it touches.

    moto's ``DynamoDBBackend.transact_write_items`` deep-copies each table named in the
    transaction before applying it (once per item of the transaction), so that a cancelled
    transaction can put the copy back: the cost grows with the table, not with the 1-100 items
    the transaction writes, and ingesting a file into the trades table is quadratic. The patch
    records, before moto applies the transaction, each written item as it was (a reference for
    a Put or a Delete, which replace the stored object; a copy for an Update, which changes it
    in place; "absent" for a new item) and hands moto the table itself as its "copy"; when moto
    cancels the transaction (a condition failed, a validation error), the recorded items are put
    back, and any stream records the transaction added are dropped. The result of every
    transaction, committed or cancelled, is what moto returns without the patch.
    """
    import moto.dynamodb.models as models

    table_copies = _TableCopies()

    def make(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            journal = [entry for item in transact_items if (entry := _before(self, item))]
            try:
                table_copies.journalled(lambda: original(self, transact_items))
            except BaseException:
                for entry in reversed(journal):
                    entry.restore()
                raise

        return transact_write_items

    undo_method = replace(models.DynamoDBBackend, "transact_write_items", make)
    undo_module = replace(models, "copy", lambda _original: table_copies)
    return undo_all([undo_method, undo_module])


class _QueryCandidates:
    """Which items a Query of the calling thread can match, for ``Table.all_items``: moto's
    Query reads every item of the table and keeps those with the queried partition key."""

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self) -> list[Any] | None:
        candidates: list[Any] | None = getattr(self._local, "candidates", None)
        return candidates

    def during(self, candidates: list[Any], run: Callable[[], Any]) -> Any:
        self._local.candidates = candidates
        try:
            return run()
        finally:
            self._local.candidates = None


def _partition_of(table: Any, arguments: inspect.BoundArguments) -> tuple[str, Any] | None:
    """The attribute and value of the queried partition key (the index's or the table's)."""
    conditions = arguments.arguments.get("hash_key_conditions") or []
    if conditions:
        name, value = conditions[0]
        return str(name), value
    hash_key = arguments.arguments.get("hash_key")
    if hash_key is not None and not arguments.arguments.get("index_name"):
        return str(table.hash_key_attr), hash_key
    return None


@compat_patch("dynamodb-items-on-disk", gap="13")
def items_on_disk() -> Undo:
    """docs/emulator.md, gap 13: moto holds every item in memory as Python objects.

    A trade is ~2 KB of moto objects (an ``Item``, its dict, one ``DynamoType`` per
    attribute), so a day of 1,000,000 trades holds over 2 GB of the emulator's memory, and a
    Query of an index reads every item of the table. The patch gives each table without a sort
    key (every table of the platform, and Terraform's lock table) an
    :class:`~tooling.emulator.dynamodb_items.ItemStore` for moto's ``Table.items``: the items
    live in a private temporary SQLite database on disk, the emulator's memory stays flat as
    tables grow, and a Query of an index or of the table reads only the items with the queried
    partition key. Everything else (conditions, updates, projections, paging, sort order,
    transactions) is moto's own code, run on those items. Because a read decodes a new
    ``Item``, an UpdateItem (which changes the item it read in place) is stored again after
    moto applies it. Tables with a sort key keep moto's in-memory dicts.
    """
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    query_candidates = _QueryCandidates()
    return undo_all(
        [
            replace(Table, "__init__", _with_item_store),
            replace(Table, "__len__", _store_length),
            replace(Table, "all_items", lambda original: _all_items(original, query_candidates)),
            replace(Table, "query", lambda original: _query(original, query_candidates)),
            replace(models.DynamoDBBackend, "update_item", _update_item_stored),
        ]
    )


def _with_item_store(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.range_key_attr is None:
            self.items = ItemStore(indexed=self.hash_key_names[1:])

    return init


def _store_length(original: Callable[[Any], int]) -> Callable[[Any], int]:
    @functools.wraps(original)
    def length(self: Any) -> int:
        return len(self.items) if isinstance(self.items, ItemStore) else original(self)

    return length


def _all_items(
    original: Callable[[Any], list[Any]], query_candidates: _QueryCandidates
) -> Callable[[Any], list[Any]]:
    @functools.wraps(original)
    def all_items(self: Any) -> list[Any]:
        candidates = query_candidates.get()
        return list(candidates) if candidates is not None else original(self)

    return all_items


def _query(original: Callable[..., Any], query_candidates: _QueryCandidates) -> Callable[..., Any]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        store = self.items
        partition = _partition_of(self, signature.bind(self, *args, **kwargs))
        if not isinstance(store, ItemStore) or partition is None:
            return original(self, *args, **kwargs)
        name, value = partition
        if name == self.hash_key_attr:
            candidates = [store[value]] if value in store else []
        else:
            candidates = store.having(name, value)
        return query_candidates.during(candidates, lambda: original(self, *args, **kwargs))

    return query


def _update_item_stored(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = original(self, table_name, *args, **kwargs)
        table = self.get_table(table_name)
        if isinstance(table.items, ItemStore):
            table.items[item.hash_key] = item
        return item

    return update_item


@compat_patch("dynamodb-conditions-parsed-once", gap="10")
def conditions_parsed_once() -> Undo:
    """docs/emulator.md, gap 10: moto parses a write's condition expression three times per item.

    A conditional Put of a TransactWriteItems has its ``ConditionExpression`` parsed to validate
    the request, by the transaction and by the table's put (~170 us each): with the item's size
    check below, most of what a 100-item transaction costs. The patch keeps what parsing the
    last 256 distinct (expression, names, values) gave: the expression's tree of operators
    (which evaluating it never changes) and the names and values it uses (which the request
    validation reads from the parser). An expression that does not parse is parsed, and
    refused, every time, as before.
    """
    from moto.dynamodb.comparisons import ConditionExpressionParser

    def make(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
        cache: collections.OrderedDict[str, tuple[Any, list[str], list[str]]] = (
            collections.OrderedDict()
        )
        guard = threading.Lock()

        @functools.wraps(original)
        def parse(self: Any) -> Any:
            try:
                key = json.dumps(
                    [
                        self.condition_expression,
                        self.expression_attribute_names,
                        self.expression_attribute_values,
                    ],
                    sort_keys=True,
                )
            except (TypeError, ValueError):  # a binary value: not worth a key of its own
                return original(self)
            with guard:
                hit = cache.get(key)
                if hit is not None:
                    cache.move_to_end(key)
            if hit is None:
                names_before = len(self.expr_attr_names_found)
                values_before = len(self.expr_attr_values_found)
                tree = original(self)
                hit = (
                    tree,
                    self.expr_attr_names_found[names_before:],
                    self.expr_attr_values_found[values_before:],
                )
                with guard:
                    cache[key] = hit
                    if len(cache) > _PARSED_CONDITIONS_KEPT:
                        cache.popitem(last=False)
                return tree
            tree, names, values = hit
            self.expr_attr_names_found.extend(names)
            self.expr_attr_values_found.extend(values)
            return tree

        return parse

    return replace(ConditionExpressionParser, "parse", make)


#: How many distinct parsed condition expressions the emulator keeps.
_PARSED_CONDITIONS_KEPT = 256


@compat_patch("dynamodb-item-size-summed-once", gap="10")
def item_size_summed_once() -> Undo:
    """docs/emulator.md, gap 10: moto sums an item's whole size again for each attribute it adds.

    ``Item.__init__`` adds attributes one by one to a ``LimitedSizeDict``, whose
    ``__setitem__`` sums the size of every attribute already there to refuse an item over
    DynamoDB's 400 KB limit: quadratic in the attributes, ~400 us for a 12-attribute trade. The
    patch builds the same dict with a running sum and refuses at the same attribute: sizes are
    never negative, so the first prefix over the limit is where moto refuses too.
    """
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    def make(_original: Callable[..., None]) -> Callable[..., None]:
        def init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
            self.hash_key = hash_key
            self.range_key = range_key
            checked = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.__init__(checked)
            total = 0
            for name, value in attrs.items():
                typed = DynamoType(value)
                total += bytesize(name) + typed.size()
                if total > _MOTO_ITEM_SIZE_LIMIT:
                    raise ItemSizeTooLarge
                dict.__setitem__(checked, name, typed)
            self.attrs = checked

        return init

    return replace(Item, "__init__", make)


#: moto's item size limit (``LimitedSizeDict``): DynamoDB's 400 KB, as moto measured it.
_MOTO_ITEM_SIZE_LIMIT = 405000

#: DynamoDB's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (
    requests_isolated,
    transaction_journal,
    items_on_disk,
    conditions_parsed_once,
    item_size_summed_once,
)
