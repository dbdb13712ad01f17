"""In-memory adapters with the same contracts as the AWS ones (unit tests, local dry runs)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO

from processor.domain.errors import ObjectNotFoundError
from processor.domain.model import TradeRecord
from processor.domain.ports import ObjectRef, Readable


class _Body(io.BytesIO):
    etag: str | None = None


class ContinuationRecorder:
    """A ContinuationSink that keeps the events it was given (tests, local dry runs)."""

    def __init__(self) -> None:
        self.events: list[Mapping[str, object]] = []

    def send(self, event: Mapping[str, object]) -> None:
        self.events.append(event)


class InMemoryObjectStore:
    """An ObjectSource and QuarantineSink over a dict of (bucket, key) -> bytes."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.opened: list[ObjectRef] = []
        self.reads: list[tuple[str, int]] = []  # (key, first byte) of every open

    def add(self, bucket: str, key: str, data: bytes) -> None:
        self.objects[(bucket, key)] = data

    @staticmethod
    def etag_of(data: bytes) -> str:
        return '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'

    @contextmanager
    def open(
        self, ref: ObjectRef, *, start: int = 0, etag: str | None = None
    ) -> Iterator[Readable]:
        self.opened.append(ref)
        self.reads.append((ref.key, start))
        try:
            data = self.objects[(ref.bucket, ref.key)]
        except KeyError:
            raise ObjectNotFoundError(f"s3://{ref.bucket}/{ref.key}: NoSuchKey") from None
        if etag is not None and etag != self.etag_of(data):
            raise ObjectNotFoundError(f"s3://{ref.bucket}/{ref.key}: PreconditionFailed")
        stream = _Body(data[start:])
        stream.etag = self.etag_of(data)
        yield stream

    def put(self, bucket: str, key: str, body: IO[bytes], length: int) -> None:
        data = body.read(length)
        if len(data) != length:
            raise ValueError(f"body has {len(data)} bytes, expected {length}")
        self.objects[(bucket, key)] = data


class InMemoryTradeRepository:
    """A TradeRepository over a dict; ``before_insert`` can play a concurrent writer."""

    def __init__(self) -> None:
        self.items: dict[str, TradeRecord] = {}
        self.foreign_hashes: dict[str, str | None] = {}
        self.lookups: list[list[str]] = []
        self.inserts: list[list[str]] = []
        self.before_insert: Callable[[Sequence[TradeRecord]], None] | None = None

    def stored_hash(self, trade_id: str) -> str | None:
        if trade_id in self.items:
            return self.items[trade_id].record_hash
        return self.foreign_hashes.get(trade_id)

    def existing_hashes(self, trade_ids: Collection[str]) -> dict[str, str | None]:
        self.lookups.append(list(trade_ids))
        return {
            trade_id: self.stored_hash(trade_id)
            for trade_id in trade_ids
            if trade_id in self.items or trade_id in self.foreign_hashes
        }

    def insert_new(self, records: Sequence[TradeRecord]) -> dict[str, str | None]:
        ids = [record.trade.trade_id for record in records]
        if len(set(ids)) != len(ids):
            raise ValueError("insert_new needs distinct trade_ids")
        if self.before_insert is not None:
            self.before_insert(records)
        self.inserts.append(ids)
        already_stored: dict[str, str | None] = {}
        for record in records:
            trade_id = record.trade.trade_id
            if trade_id in self.items or trade_id in self.foreign_hashes:
                already_stored[trade_id] = self.stored_hash(trade_id)
            else:
                self.items[trade_id] = record
        return already_stored
