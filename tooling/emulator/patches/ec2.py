"""Compatibility patches of moto's EC2: security group rules, route table associations.

Gap 4's ``referenced_security_group_id`` diff is deliberately not patched: moto already answers
like AWS (``ReferencedGroupInfo.UserId`` is the caller's account). The provider writes
``<account>/<sg-id>`` only when its own account id is unknown, i.e. when the provider runs with
``skip_requesting_account_id = true``; the local target must let the provider ask STS (moto
answers GetCallerIdentity), see :func:`tooling.emulator.process.local_provider_config`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tooling.emulator.patches.base import (
    CompatPatch,
    PatchedProperty,
    Undo,
    compat_patch,
    replace,
    undo_all,
)

__all__ = [
    "PATCHES",
    "security_group_rule_descriptions",
    "subnet_associated_once",
    "subnet_association_conflict",
]

_PREFIX_LIST_DESCRIPTION = "_tap_prefix_list_description"


@compat_patch("ec2-security-group-rule-descriptions", gap="4")
def security_group_rule_descriptions() -> Undo:
    """docs/emulator.md, gap 4: security group rule descriptions are
    lost.

    moto's ``moto.ec2.models.security_groups.SecurityGroupRule.description`` (the
    ``Description`` of DescribeSecurityGroupRules) reads only the CIDR range's description. A
    rule that references a security group keeps its description in the request's
    ``UserIdGroupPairs`` entry, and a prefix-list rule in its ``PrefixListIds`` entry, which
    moto reduces to the id; so every ``aws_vpc_security_group_ingress_rule`` /
    ``aws_vpc_security_group_egress_rule`` with ``referenced_security_group_id`` or
    ``prefix_list_id`` shows ``+ description`` on every plan. The patch keeps the prefix-list
    entry's description on the rule and returns, like AWS, the description of whichever
    source the rule has (CIDR range first, as before; ModifySecurityGroupRules still writes
    there).
    """
    from moto.ec2.models.security_groups import SecurityGroupRule

    def make_init(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def __init__(self: SecurityGroupRule, *args: Any, **kwargs: Any) -> None:  # noqa: N807
            original(self, *args, **kwargs)
            entry = kwargs.get("prefix_list_id", args[7] if len(args) > 7 else None)
            description = entry.get("Description") if isinstance(entry, dict) else None
            setattr(self, _PREFIX_LIST_DESCRIPTION, description)

        return __init__

    def make_description(original: property) -> property:
        def description(self: SecurityGroupRule) -> str | None:
            own = original.__get__(self, type(self))
            if own is not None:
                return str(own)
            from_group = (self.source_group or {}).get("Description")
            if from_group is not None:
                return str(from_group)
            return getattr(self, _PREFIX_LIST_DESCRIPTION, None)

        return PatchedProperty(description, doc=original.__doc__)

    return undo_all(
        [
            replace(SecurityGroupRule, "__init__", make_init),
            replace(SecurityGroupRule, "description", make_description),
        ]
    )


def subnet_association_conflict(route_table_id: str) -> str:
    """EC2's message with ``Resource.AlreadyAssociated`` when AssociateRouteTable is asked to
    associate, with ``route_table_id``, a subnet that already has an explicit association."""
    return (
        f"the specified association for route table {route_table_id} conflicts with an "
        "existing association"
    )


@compat_patch("ec2-subnet-associated-once", gap="R9")
def subnet_associated_once() -> Undo:
    """docs/emulator.md, gap R9: a subnet is explicitly associated with one route table at most.

    "A subnet can only be associated with one route table at a time"
    (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-route-tables.html); a subnet
    without an explicit association uses the VPC's main route table implicitly. AWS refuses
    AssociateRouteTable for a subnet that already has an explicit association with 400
    ``Resource.AlreadyAssociated`` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html),
    "the specified association for route table <rtb> conflicts with an existing association",
    whichever table it names; moving a subnet to another table is ReplaceRouteTableAssociation
    (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ReplaceRouteTableAssociation.html),
    or DisassociateRouteTable first. moto's ``RouteBackend.associate_route_table`` answers such
    a request with the subnet's existing association, wherever it is, and changes nothing: two
    ``aws_route_table_association`` of one subnet both deploy locally, sharing one association.
    The patch refuses it after the route table and the subnet are found (an unknown one still
    answers its NotFound error first). A subnet on the main table only implicitly, and gateway
    associations (``GatewayId``), are associated as before; ReplaceRouteTableAssociation and
    DisassociateRouteTable are not changed.
    """
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.route_tables import RouteBackend

    def make_associate(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def associate_route_table(
            self: RouteBackend,
            route_table_id: str,
            gateway_id: str | None = None,
            subnet_id: str | None = None,
        ) -> str:
            if gateway_id is None and subnet_id is not None:
                self.get_route_table(route_table_id)
                self.get_subnet(subnet_id)  # type: ignore[attr-defined]
                if any(
                    subnet_id in table._associations.values()
                    for table in self.route_tables.values()
                ):
                    raise EC2ClientError(
                        "Resource.AlreadyAssociated", subnet_association_conflict(route_table_id)
                    )
            return original(self, route_table_id, gateway_id, subnet_id)

        return associate_route_table

    return replace(RouteBackend, "associate_route_table", make_associate)


#: EC2's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (security_group_rule_descriptions, subnet_associated_once)
