"""Compatibility patches of moto's DynamoDB."""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace, undo_all

__all__ = ["PATCHES", "transaction_snapshot_once"]


class _SnapshotOnce:
    """Stands in for the ``copy`` module inside ``moto.dynamodb.models``.

    Outside a transaction of the calling thread it is ``copy.deepcopy``. Inside one it copies
    each object once and hands the same snapshot to the transaction's later requests for it.
    Thread-local, so a transaction never changes what another request's copies are.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def deepcopy(self, obj: Any, memo: dict[int, Any] | None = None) -> Any:
        snapshots: dict[int, Any] | None = getattr(self._local, "snapshots", None)
        if snapshots is None:
            return copy.deepcopy(obj, memo)
        if id(obj) not in snapshots:
            snapshots[id(obj)] = copy.deepcopy(obj, memo)
        return snapshots[id(obj)]

    def transaction(self, run: Callable[[], None]) -> None:
        self._local.snapshots = {}
        try:
            run()
        finally:
            self._local.snapshots = None


@compat_patch("dynamodb-transaction-snapshot-once", gap="10")
def transaction_snapshot_once() -> Undo:
    """docs/emulator.md, gap 10: TransactWriteItems costs one full-table copy per item.

    moto 5.2.5's ``DynamoDBBackend.transact_write_items`` snapshots a table for rollback with
    ``copy.deepcopy(table)`` once per *item* of the transaction, before applying any, so all
    those snapshots are identical: a 100-item transaction into a table of N items copies
    100 x N items. The processor writes trades in 100-item transactions; with a few thousand
    trades stored, each one takes seconds and a deployed function times out. The patch takes
    the snapshot once per table and transaction (the rollback and every result unchanged).
    """
    import moto.dynamodb.models as models

    snapshot_once = _SnapshotOnce()

    def make(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            snapshot_once.transaction(lambda: original(self, transact_items))

        return transact_write_items

    undo_method = replace(models.DynamoDBBackend, "transact_write_items", make)
    undo_module = replace(models, "copy", lambda _original: snapshot_once)
    return undo_all([undo_method, undo_module])


#: DynamoDB's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (transaction_snapshot_once,)
