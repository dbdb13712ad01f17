"""The items of one DynamoDB table without a sort key, kept on disk instead of in the heap.

moto keeps each item as a tree of Python objects (an ``Item``, a dict, one ``DynamoType`` per
attribute): about 2 KB for one of the platform's trades, so a trading day of 1,000,000 trades
would hold over 2 GB of the emulator's memory. :class:`ItemStore` is the mapping moto's
``Table.items`` is for such a table (partition key value -> ``Item``), backed by a private
temporary SQLite database (``sqlite3.connect("")``: on disk, deleted when the connection
closes, its page cache bounded by SQLite's default ``cache_size``), so the emulator's memory
no longer grows with the data it holds.

Reads return a new ``Item`` decoded from its row: a caller that changes an item in place
(moto's UpdateItem does) must store it again (``store[key] = item``), which the patch in
:mod:`tooling.emulator.patches.dynamodb` does after every UpdateItem.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
from collections.abc import Iterable, Iterator, MutableMapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["ItemStore", "decode_item", "encode_item", "key_of"]

#: A DynamoType as plain data: (type, value), where a list (L) or map (M) value holds plain
#: DynamoTypes in turn, and every other value is moto's own (str, bytes, bool, list of str).
Plain = tuple[str, Any]

#: Rows read per query while iterating: bounds the memory of a Scan of a large table.
_PAGE_ROWS = 1000


def key_of(value: Any) -> str:
    """The row key of a partition key value (a moto ``DynamoType``): equal values, equal keys.

    moto compares numbers by value (``1`` equals ``1.0``), so a number is written in one
    canonical form; strings and binaries are compared as they are.
    """
    if value.type == "N":
        try:
            number = Decimal(value.value)
        except InvalidOperation:
            return f"N:{value.value}"
        return "N:0" if number == 0 else f"N:{number.normalize()}"
    raw = value.value
    if isinstance(raw, bytes):
        return "B:" + raw.hex()
    return f"{value.type}:{raw}"


def _plain(value: Any) -> Plain:
    if value.type == "L":
        return ("L", [_plain(member) for member in value.value])
    if value.type == "M":
        return ("M", {name: _plain(member) for name, member in value.value.items()})
    return (value.type, value.value)


def _dynamo(plain: Plain) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    kind, raw = plain
    value = DynamoType.__new__(DynamoType)
    value.type = kind
    if kind == "L":
        value.value = [_dynamo(member) for member in raw]
    elif kind == "M":
        value.value = {name: _dynamo(member) for name, member in raw.items()}
    else:
        value.value = raw
    return value


def encode_item(item: Any) -> bytes:
    """A moto ``Item`` of a table without a sort key as bytes (see :func:`decode_item`)."""
    attributes = {name: _plain(value) for name, value in item.attrs.items()}
    return pickle.dumps((_plain(item.hash_key), attributes), protocol=pickle.HIGHEST_PROTOCOL)


def decode_item(data: bytes) -> Any:
    """The moto ``Item`` :func:`encode_item` wrote, built the way moto copies one (the item was
    validated when it was written, so its size is not checked again)."""
    from moto.dynamodb.models.dynamo_type import Item, LimitedSizeDict

    hash_key, attributes = pickle.loads(data)  # noqa: S301 - rows this module wrote itself
    item: Any = Item.__new__(Item)
    item.hash_key = _dynamo(hash_key)
    item.range_key = None
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)
    for name, value in attributes.items():
        dict.__setitem__(attrs, name, _dynamo(value))
    item.attrs = attrs
    return item


def _refs(row_key: str, item: Any, names: set[str]) -> list[tuple[str, str, str]]:
    """The ``refs`` rows of an item: one per attribute in ``names`` it has, as a key."""
    return [
        (row_key, name, key_of(value))
        for name in sorted(names)
        if (value := item.attrs.get(name)) is not None and value.type in {"S", "N", "B"}
    ]


class ItemStore(MutableMapping[Any, Any]):
    """Partition key value -> ``Item`` of one table without a sort key, on disk.

    Iteration (``values()``, which moto's Scan and Query use) yields the items in key order,
    decoded one at a time. Thread-safe: one connection, used under a lock.

    ``indexed`` names the attributes that are partition keys of the table's indexes: each
    write records them, as DynamoDB maintains an index on write, so that the first Query of an
    index costs what the later ones do. Recording an attribute at its first Query instead
    decodes every item of the table then: seconds for a trading day, inside an API request.
    """

    def __init__(self, indexed: Iterable[str] = ()) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE items (key TEXT PRIMARY KEY, item BLOB NOT NULL) WITHOUT ROWID"
        )
        # attribute values of the items, for the attributes an index query has asked for
        self._db.execute(
            "CREATE TABLE refs (key TEXT, name TEXT, value TEXT, PRIMARY KEY (key, name))"
            " WITHOUT ROWID"
        )
        self._db.execute("CREATE INDEX refs_by_value ON refs (name, value)")
        self._indexed: set[str] = set(indexed)
        self._count = 0

    def __getitem__(self, key: Any) -> Any:
        with self._lock:
            row = self._db.execute(
                "SELECT item FROM items WHERE key = ?", (key_of(key),)
            ).fetchone()
        if row is None:
            raise KeyError(key)
        return decode_item(row[0])

    def __setitem__(self, key: Any, item: Any) -> None:
        data = encode_item(item)
        row_key = key_of(key)
        with self._lock:
            existed = self._db.execute("SELECT 1 FROM items WHERE key = ?", (row_key,)).fetchone()
            self._db.execute(
                "INSERT OR REPLACE INTO items (key, item) VALUES (?, ?)", (row_key, data)
            )
            if self._indexed:
                self._db.execute("DELETE FROM refs WHERE key = ?", (row_key,))
                self._db.executemany(
                    "INSERT INTO refs (key, name, value) VALUES (?, ?, ?)",
                    _refs(row_key, item, self._indexed),
                )
            self._count += 0 if existed else 1

    def __delitem__(self, key: Any) -> None:
        row_key = key_of(key)
        with self._lock:
            cursor = self._db.execute("DELETE FROM items WHERE key = ?", (row_key,))
            if cursor.rowcount == 0:
                raise KeyError(key)
            self._db.execute("DELETE FROM refs WHERE key = ?", (row_key,))
            self._count -= 1

    def having(self, name: str, value: Any) -> list[Any]:
        """Every item whose attribute ``name`` equals ``value`` (a ``DynamoType``), in key order:
        what a Query of an index whose partition key is ``name`` reads. The first call for a
        ``name`` that is not in ``indexed`` (an index added by UpdateTable) records that
        attribute of every stored item; later writes keep it current."""
        with self._lock:
            if name not in self._indexed:
                self._indexed.add(name)
                for item in list(self._rows()):
                    self._db.executemany(
                        "INSERT INTO refs (key, name, value) VALUES (?, ?, ?)",
                        _refs(key_of(item.hash_key), item, {name}),
                    )
            rows = self._db.execute(
                "SELECT items.item FROM refs JOIN items ON items.key = refs.key"
                " WHERE refs.name = ? AND refs.value = ? ORDER BY refs.key",
                (name, key_of(value)),
            ).fetchall()
        return [decode_item(data) for (data,) in rows]

    def __contains__(self, key: object) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM items WHERE key = ?", (key_of(key),)).fetchone()
        return row is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Any]:
        for item in self._rows():
            yield item.hash_key

    def _rows(self) -> Iterator[Any]:
        """Every item in key order, read a page of rows at a time (never the whole table)."""
        after = ""
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT key, item FROM items WHERE key > ? ORDER BY key LIMIT ?",
                    (after, _PAGE_ROWS),
                ).fetchall()
            for _, data in rows:
                yield decode_item(data)
            if len(rows) < _PAGE_ROWS:
                return
            after = rows[-1][0]

    def values(self) -> Any:  # a generator, not a view: nothing moto does needs more
        return self._rows()

    def items(self) -> Any:
        return ((item.hash_key, item) for item in self._rows())

    def __deepcopy__(self, memo: dict[int, Any]) -> ItemStore:
        """A backup or a restored table: the same rows in a store of its own."""
        copy = ItemStore()
        with self._lock:
            items = self._db.execute("SELECT key, item FROM items").fetchall()
            refs = self._db.execute("SELECT key, name, value FROM refs").fetchall()
            indexed = set(self._indexed)
        with copy._lock:
            copy._db.executemany("INSERT INTO items (key, item) VALUES (?, ?)", items)
            copy._db.executemany("INSERT INTO refs (key, name, value) VALUES (?, ?, ?)", refs)
            copy._indexed = indexed
            copy._count = len(items)
        return copy
