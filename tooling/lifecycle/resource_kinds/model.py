"""What every resource kind is made of: how to find it, how to delete it, and the two records
those steps pass around (a :class:`Leftover` found, an :class:`Item` to delete).

A kind is listed either in each region (its leftovers are named ``"<region> <kind>"``) or, for
the global services, once in the home region (named ``"<kind>"``); see :class:`Scope`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from tooling.lifecycle.account_clients import Clients

if TYPE_CHECKING:
    from tooling.lifecycle.backend import BackendSpec

__all__ = [
    "Batch",
    "Clients",
    "Deleter",
    "Finder",
    "GoneError",
    "Item",
    "Kind",
    "Leftover",
    "Owner",
    "Scan",
    "Scope",
    "named_like_the_platform",
]

_T = TypeVar("_T")


@dataclass(frozen=True)
class Leftover:
    """A resource of the platform still there: its kind (with its region) and its name or id."""

    kind: str
    name: str


@dataclass(frozen=True)
class Owner:
    """Which resources count as the platform's: its name prefix, cost center, environments."""

    spec: BackendSpec
    environments: frozenset[str]

    def named(self, name: str | None) -> bool:
        """``<platform>-...`` names, also as a path part (``/aws/lambda/tap-x-dev``,
        ``/tap/dev/api-access``), of one of the environments (a ``-``/``/`` separated token)."""
        if not name:
            return False
        platform = self.spec.platform
        parts = [part for part in str(name).split("/") if part]
        if not any(part == platform or part.startswith(f"{platform}-") for part in parts):
            return False
        return not self.environments or bool(self.environments & set(re.split(r"[/\-]", str(name))))

    def tagged(
        self, tags: Iterable[Mapping[str, str]], key: str = "Key", value: str = "Value"
    ) -> bool:
        """``CostCenter`` of the platform and ``Environment`` one of the environments."""
        found = {tag[key]: tag[value] for tag in tags}
        if found.get("CostCenter") != self.spec.cost_center:
            return False
        return not self.environments or found.get("Environment") in self.environments


@dataclass
class Scan:
    """One leftover check: the account's clients, whose resources count, and what the
    deployment configured (its VPC CIDRs, its DNS names).

    Several kinds read the same listing (a VPC's parts need the VPCs found; aliases and keys
    both need the aliases): :meth:`once` keeps a listing for the rest of the check, so each is
    asked of AWS once per region.
    """

    clients: Clients
    owner: Owner
    cidrs: frozenset[str] = frozenset()
    dns_names: frozenset[str] = frozenset()
    _kept: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False)

    def once(self, what: str, region: str, compute: Callable[[], _T]) -> _T:
        """``compute()``, the first time ``what`` is asked for in ``region``."""
        key = (what, region)
        if key not in self._kept:
            self._kept[key] = compute()
        kept: _T = self._kept[key]
        return kept


@dataclass(frozen=True)
class Item:
    """One leftover to delete: its kind without the region (``"vpc"``, ``"s3 bucket"``), the
    region its API is called in, its name or id, and the leftover check's ``"<kind> <name>"``."""

    kind: str
    region: str
    name: str
    label: str


class GoneError(Exception):
    """The item does not exist (any more)."""


class Scope(Enum):
    """Where a kind is listed, and whether its leftovers' kind carries the region."""

    #: Listed in each region; named ``"<region> <kind>"`` and deleted in that region.
    REGIONAL = "regional"
    #: A global service's (IAM, Route 53): listed once, through the home region; named
    #: ``"<kind>"`` and deleted through the home region.
    GLOBAL = "global"
    #: S3 buckets: one namespace for every region, so named ``"<kind>"``, yet listed through
    #: each region's client. ListBuckets answers with every bucket of the account whichever
    #: region is asked: the leftover check keeps each bucket once.
    GLOBAL_LISTED_PER_REGION = "global, listed per region"


#: ``find(scan, region)``: the names (or ids) of the owner's resources of a kind in ``region``.
Finder = Callable[[Scan, str], Iterable[str]]
#: ``delete(clients, region, name)``: what was done (raises :class:`GoneError` if not there).
Deleter = Callable[[Clients, str, str], str]
#: Run on all the items of a kind before or after each of them is deleted.
Batch = Callable[[Clients, Sequence[Item]], None]


@dataclass(frozen=True)
class Kind:
    """A resource kind the platform creates: ``name`` as the leftover check writes it, how to
    find the owner's resources of it, how to delete one, and what to do for all of them
    around the deletions (``before``: e.g. revoke the rules of security groups that refer to
    each other; ``after``: e.g. wait for asynchronous deletions)."""

    name: str
    find: Finder
    delete: Deleter
    scope: Scope = Scope.REGIONAL
    before: Batch | None = None
    after: Batch | None = None


def named_like_the_platform(names: Callable[[Clients, str], Iterable[str]]) -> Finder:
    """A finder of the names ``names(clients, region)`` lists that the owner's naming covers."""

    def find(scan: Scan, region: str) -> list[str]:
        return [name for name in names(scan.clients, region) if scan.owner.named(name)]

    return find
