"""Delete what a destroy left behind (the items the leftover check names).

Why: after an interrupted deploy, resources exist that no state knows of; ``terraform destroy``
cannot remove them and ``./tap destroy`` reports them as leftovers (kinds like ``"s3 bucket"``,
``"<region> vpc"``, ``"<region> lambda function"``, ``"global iam role"``). :func:`sweep`
deletes exactly those items, in an order AWS accepts: what uses a resource goes before it
(functions and APIs before roles; DB instances before clusters before subnet groups; members
before their global cluster; VPC endpoints, flow logs, subnets, route tables, internet gateways
and security groups before the VPC), buckets are emptied of every version and delete marker
first, KMS keys are scheduled for deletion with the shortest window AWS allows, and roles lose
their inline and attached policies first. One item that cannot be deleted never stops the
others: it is reported with its error, and an item already gone is reported as such.

How each kind is deleted, and the order, is the registry's (:mod:`.resource_kinds`), which the
leftover check finds them by. ``clients(service, region)`` returns a boto3 client (for the
local target, one pointed at the emulator), so this module needs no session of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from tooling.lifecycle.resource_kinds import KINDS, kind_named
from tooling.lifecycle.resource_kinds.keys import KMS_PENDING_WINDOW_DAYS
from tooling.lifecycle.resource_kinds.model import Clients, GoneError, Item, Scope

__all__ = ["KMS_PENDING_WINDOW_DAYS", "Clients", "LeftoverLike", "sweep", "sweep_order"]

#: Kinds the leftover check names without a region (global services, or any region's buckets).
_GLOBAL_KINDS = frozenset(kind.name for kind in KINDS if kind.scope is not Scope.REGIONAL)
_RANK = {kind.name: rank for rank, kind in enumerate(KINDS)}


class LeftoverLike(Protocol):
    """What the leftover check reports (:class:`~tooling.lifecycle.leftovers.Leftover` has
    these fields)."""

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...


def _code(exc: BaseException) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


def _is_not_found(exc: BaseException) -> bool:
    code = _code(exc)
    markers = ("NotFound", "NoSuch", "NonExistent", "DoesNotExist")
    return any(marker in code for marker in markers) or code in ("404", "InvalidParameterValue")


def _item(leftover: LeftoverLike, default_region: str) -> Item:
    label = f"{leftover.kind} {leftover.name}"
    if leftover.kind in _GLOBAL_KINDS:
        return Item(leftover.kind, default_region, leftover.name, label)
    region, _, kind = leftover.kind.partition(" ")
    return Item(kind, region, leftover.name, label)


def _in_order(leftovers: Iterable[LeftoverLike], region: str) -> list[Item]:
    """The items in the registry's order; kinds it does not know last."""
    items = [_item(leftover, region) for leftover in leftovers]
    return sorted(items, key=lambda i: _RANK.get(i.kind, len(_RANK)))


def sweep_order(leftovers: Iterable[LeftoverLike], region: str = "us-east-1") -> list[str]:
    """``"<kind> <name>"`` of ``leftovers`` in the order :func:`sweep` deletes them."""
    return [item.label for item in _in_order(leftovers, region)]


def _delete_one(clients: Clients, item: Item) -> str:
    kind = kind_named(item.kind)
    if kind is None:
        return f"{item.label}: NOT deleted: no sweeper for the kind {item.kind!r}"
    try:
        return f"{item.label}: {kind.delete(clients, item.region, item.name)}"
    except GoneError:
        return f"{item.label}: already gone"
    except Exception as exc:
        if _is_not_found(exc):
            return f"{item.label}: already gone"
        return f"{item.label}: NOT deleted: {type(exc).__name__}: {exc}"


def sweep(
    clients: Clients, leftovers: Sequence[LeftoverLike], *, region: str = "us-east-1"
) -> list[str]:
    """Delete each of ``leftovers``; one line per item: what was done, or why not.

    ``region`` is where the global services (IAM, Route 53, the bucket location lookup) are
    called. Never raises for one item: its line says ``NOT deleted`` with the error (or
    ``already gone``), and the sweep goes on; run it again once the cause is fixed.
    """
    items = _in_order(leftovers, region)
    lines: list[str] = []
    for name in dict.fromkeys(i.kind for i in items):
        group = [i for i in items if i.kind == name]
        kind = kind_named(name)
        if kind is not None and kind.before is not None:
            kind.before(clients, group)
        lines += [_delete_one(clients, item) for item in group]
        if kind is not None and kind.after is not None:
            kind.after(clients, group)
    return lines
