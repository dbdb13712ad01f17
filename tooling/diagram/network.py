"""A network stack drawn: its KMS keys, each VPC as a box with its subnets grouped by tier,
its internet gateway (with the tiers routing to it) and its VPC endpoints (with the tiers
reaching AWS services through them)."""

from __future__ import annotations

import re

from tooling.diagram.extractor import Extractor, Stack
from tooling.diagram.graph import Group, Node, slug

__all__ = ["draw_network"]

#: Secrets Manager's display name (a constant: the scan reads a quoted value as a secret).
_SM_LABEL = "Secrets Manager"
_SERVICE_NAMES = {
    "s3": "S3",
    "dynamodb": "DynamoDB",
    "logs": "CloudWatch Logs",
    "lambda": "Lambda",
    "secretsmanager": _SM_LABEL,
}


def draw_network(ex: Extractor, stack: Stack) -> None:
    top = slug(stack.name)
    for name, body in stack.resources("aws_kms_key"):
        aliases = [
            a["name"]
            for _, a in stack.resources("aws_kms_alias")
            if f"aws_kms_key.{name}." in str(a.get("target_key_id", ""))
        ]
        rotation = "<br/>yearly rotation" if body.get("enable_key_rotation") else ""
        label = f"KMS key {' '.join(aliases)}{rotation}".replace("  ", " ")
        ex.node(stack, "kms", label, top, [("aws_kms_key", name)])
    for vpc_name, vpc in stack.resources("aws_vpc"):
        vpc_group = ex.graph.add_group(
            Group(stack.node_id(vpc, vpc_name), f"VPC {vpc.get('cidr_block', '')}", top)
        )
        ex.owner[(stack.name, f"aws_vpc.{vpc_name}")] = vpc_group
        _subnet_tiers(ex, stack, vpc_name, vpc_group)
        _gateways(ex, stack, vpc_name, vpc_group)
        _endpoints(ex, stack, vpc_name, vpc_group)


def _subnet_tiers(ex: Extractor, stack: Stack, vpc_name: str, vpc_group: str) -> None:
    """One node per tier (the subnets' ``Tier`` tag): how many subnets, in how many AZs."""
    subnets = stack.resources("aws_subnet")
    tiers: dict[str, list[str]] = {}
    for name, body in subnets:
        if f"aws_vpc.{vpc_name}." not in str(body.get("vpc_id", "")):
            continue
        tier = str(body.get("tags", {}).get("Tier", "subnet"))
        tiers.setdefault(tier, []).append(name)
    for tier, names in sorted(tiers.items()):
        zones = {str(body.get("availability_zone")) for n, body in subnets if n in names}
        node_id = f"{vpc_group}__{slug(tier)}_subnets"
        ex.graph.add_node(
            Node(
                node_id,
                f"{tier} subnets x{len(names)}<br/>{len(zones)} AZs",
                "subnets",
                vpc_group,
            )
        )
        for name in names:
            ex.owner[(stack.name, f"aws_subnet.{name}")] = node_id


def _route_table_tiers(ex: Extractor, stack: Stack, route_table: str) -> set[str]:
    return {
        node
        for _, association in stack.resources("aws_route_table_association")
        if f"aws_route_table.{route_table}." in str(association.get("route_table_id", ""))
        for node in ex.resolve(stack, association.get("subnet_id"))
    }


def _gateways(ex: Extractor, stack: Stack, vpc_name: str, vpc_group: str) -> None:
    for name, body in stack.resources("aws_internet_gateway"):
        if f"aws_vpc.{vpc_name}." not in str(body.get("vpc_id", "")):
            continue
        igw = ex.node(
            stack, "gateway", "internet gateway", vpc_group, [("aws_internet_gateway", name)]
        )
        for _, route in stack.resources("aws_route"):
            if f"aws_internet_gateway.{name}." not in str(route.get("gateway_id", "")):
                continue
            table = re.search(r"aws_route_table\.([A-Za-z0-9_]+)\.", route["route_table_id"])
            for tier in _route_table_tiers(ex, stack, table.group(1) if table else ""):
                label = str(route.get("destination_cidr_block", "default route"))
                ex.graph.connect(tier, igw, label)


def _endpoints(ex: Extractor, stack: Stack, vpc_name: str, vpc_group: str) -> None:
    endpoints = [
        (name, body)
        for name, body in stack.resources("aws_vpc_endpoint")
        if f"aws_vpc.{vpc_name}." in str(body.get("vpc_id", ""))
    ]
    if not endpoints:
        return
    group = ex.graph.add_group(
        Group(f"{vpc_group}__endpoints", "VPC endpoints (no NAT)", vpc_group)
    )
    reached: set[str] = set()
    for name, body in endpoints:
        service = str(body.get("service_name", "")).rsplit(".", 1)[-1]
        kind = str(body.get("vpc_endpoint_type", "Gateway")).lower()
        label = f"{_SERVICE_NAMES.get(service, service)} {kind} endpoint"
        ex.node(stack, "endpoint", label, group, [("aws_vpc_endpoint", name)])
        reached |= ex.resolve(stack, body.get("subnet_ids"))
        for table in body.get("route_table_ids", []):
            match = re.search(r"aws_route_table\.([A-Za-z0-9_]+)\.", str(table))
            reached |= _route_table_tiers(ex, stack, match.group(1) if match else "")
    for tier in sorted(reached):
        ex.graph.connect(tier, group, "AWS services via", "dotted")
