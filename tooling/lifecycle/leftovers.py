"""What of the platform is still there after a destroy: the leftover check.

Terraform's own "Destroy complete!" only speaks for what is in its state; a resource created
outside it, or one whose delete silently failed, would stay and cost money or collide with the
next deploy. So every resource kind the platform creates is in the registry the sweep deletes
by (:mod:`.resource_kinds`), and matched here by the platform's names and tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from tooling.lifecycle.resource_kinds import KINDS
from tooling.lifecycle.resource_kinds.model import Leftover, Owner, Scan, Scope

if TYPE_CHECKING:
    from tooling.lifecycle.backend import BackendSpec
    from tooling.lifecycle.session import Session

__all__ = ["Leftover", "Owner", "leftovers"]


def leftovers(
    session: Session,
    regions: Iterable[str],
    spec: BackendSpec,
    *,
    cidrs: Iterable[str] = (),
    environments: Iterable[str] = (),
    dns_names: Iterable[str] = (),
) -> list[Leftover]:
    """Everything of the platform's ``environments`` (all when empty) still in ``regions``.

    Empty: nothing left. Checks every resource type the platform creates (the owned parts of a
    resource, e.g. bucket settings, table indexes, routes, rules and policies, go with it):
    VPCs (by CIDR, ``Name`` or tags; never the default VPC) with their subnets, security groups,
    internet gateways, route tables, VPC endpoints and flow logs; KMS keys (not pending
    deletion) and aliases (not the state keys); buckets (not the state buckets); DynamoDB
    tables (not the lock table);
    Lambda functions; RDS clusters, instances, subnet groups, cluster parameter groups and
    parameter groups;
    secrets (including the RDS-managed master user secret); SQS queues; SNS topics; alarms;
    HTTP APIs; log groups; IAM roles; Aurora global clusters, API custom domain names and ACM
    certificates (by tags), Route 53 health checks (by tags) and the records of ``dns_names``
    (e.g. ``api.<zone>``, and names under it) in every hosted zone. A resource is the
    platform's by its ``<platform>-`` name (an environment's name is one of its ``-``/``/``
    separated tokens) or its ``CostCenter`` and ``Environment`` tags.

    In the order the sweep deletes them (:data:`.resource_kinds.KINDS`): each region's, then
    what the global services hold.
    """
    scan = Scan(
        session.client,
        Owner(spec, frozenset(environments)),
        cidrs=frozenset(cidrs),
        dns_names=frozenset(dns_names),
    )
    found: list[Leftover] = []
    for region in sorted(set(regions)):
        for kind in KINDS:
            if kind.scope is Scope.REGIONAL:
                found += [Leftover(f"{region} {kind.name}", n) for n in kind.find(scan, region)]
            elif kind.scope is Scope.GLOBAL_LISTED_PER_REGION:
                listed = [Leftover(kind.name, name) for name in kind.find(scan, region)]
                found += [leftover for leftover in listed if leftover not in found]
    for kind in KINDS:
        if kind.scope is Scope.GLOBAL:
            found += [Leftover(kind.name, name) for name in kind.find(scan, spec.region)]
    return found
