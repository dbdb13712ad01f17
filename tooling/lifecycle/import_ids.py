"""The ID ``terraform import`` needs to adopt one resource, from what Terraform planned for it.

Why a saved plan: an import ID is made of attribute values (a bucket's name, a rule's group ID),
and those are often expressions (``tap-data-${data.aws_caller_identity.X.account_id}``, a
group's ``id`` from the state). Terraform evaluates them itself: ``terraform plan
-refresh=false -out=FILE`` after the failed apply, then ``terraform show -json FILE``
(https://developer.hashicorp.com/terraform/internals/json-format), whose ``planned_values``
hold every attribute Terraform could compute (references to the state and to data sources
resolved; a value that depends on a resource not created yet is unknown and left out) and whose
``prior_state`` holds what the state manages. :func:`planned_resources` reads both;
:func:`import_id` applies the type's rule of :data:`.import_rules.IMPORT_RULES` to an orphan's
planned values. Everything here is pure: the plan and the :class:`.Resolver` come in.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tooling.lifecycle.import_lookups import Resolver
from tooling.lifecycle.import_rules import IMPORT_RULES

__all__ = ["PlannedResource", "PlannedResources", "import_id", "planned_resources"]


@dataclass(frozen=True)
class PlannedResource:
    """One managed resource instance of a plan: its address, type and attribute values."""

    address: str
    type: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class PlannedResources:
    """The managed resource instances of a saved plan, by address: ``planned`` (what the plan
    would make of every resource of the configuration) and ``state`` (what the state holds)."""

    planned: Mapping[str, PlannedResource] = field(default_factory=dict)
    state: Mapping[str, PlannedResource] = field(default_factory=dict)


def _module_resources(module: object) -> Iterator[PlannedResource]:
    """The managed resources of a ``values`` module representation and of its child modules
    (each resource carries its full address, module path and index key included)."""
    if not isinstance(module, Mapping):
        return
    for resource in module.get("resources") or []:
        if not isinstance(resource, Mapping) or resource.get("mode") != "managed":
            continue
        address, kind, values = (resource.get(k) for k in ("address", "type", "values"))
        if isinstance(address, str) and isinstance(kind, str) and isinstance(values, Mapping):
            yield PlannedResource(address, kind, values)
    for child in module.get("child_modules") or []:
        yield from _module_resources(child)


def _by_address(values: object) -> dict[str, PlannedResource]:
    root = values.get("root_module") if isinstance(values, Mapping) else None
    return {resource.address: resource for resource in _module_resources(root)}


def planned_resources(document: Mapping[str, Any]) -> PlannedResources:
    """The resources of ``terraform show -json PLANFILE``'s document: ``planned_values`` and
    the ``values`` of ``prior_state`` (absent before the first apply wrote a state)."""
    prior = document.get("prior_state")
    return PlannedResources(
        planned=_by_address(document.get("planned_values")),
        state=_by_address(prior.get("values") if isinstance(prior, Mapping) else None),
    )


def _managed_elsewhere(plan: PlannedResources, resource: PlannedResource, ident: str) -> bool:
    """Whether another address of the state already manages the object ``ident`` (its ``id``,
    same type): the same object configured twice is no orphan, and importing it would make two
    addresses manage it (a security group rule found by its group and peer, for one)."""
    return any(
        other.type == resource.type and other.address != resource.address
        for other in plan.state.values()
        if other.values.get("id") == ident
    )


def import_id(address: str, plan: PlannedResources, *, resolve: Resolver) -> str | None:
    """The ID ``terraform import`` needs for ``address``, made by its type's rule from the
    values ``plan`` holds for it; None when its type has no rule, a value the rule needs is not
    known (it depends on a resource not in the state yet), AWS has no such resource, or another
    address of the state already has it."""
    resource = plan.planned.get(address)
    rule = IMPORT_RULES.get(resource.type) if resource is not None else None
    if resource is None or rule is None:
        return None
    ident = rule(resource.values, resolve)
    if ident is None or _managed_elsewhere(plan, resource, ident):
        return None
    return ident
