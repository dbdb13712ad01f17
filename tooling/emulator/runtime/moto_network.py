"""The plain data of :mod:`.vpc_network` read from moto's EC2 backend: what the reachability
rules judge when the emulator runs a function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tooling.emulator.runtime.vpc_network import (
    Endpoint,
    NatGateway,
    Network,
    PrefixList,
    Route,
    RouteTable,
    Rule,
    SecurityGroup,
    Subnet,
    Vpc,
)

__all__ = ["from_moto"]


def from_moto(account_id: str, region: str) -> Network:
    """The plain data of moto's EC2 backend of ``account_id`` in ``region``.

    The server's threads change the backend meanwhile: each collection is copied first
    (``list()`` of a dict holds the interpreter lock throughout).
    """
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account_id][region]
    subnets = [s for zone in list(backend.subnets.values()) for s in list(zone.values())]
    groups = [g for vpc in list(backend.groups.values()) for g in list(vpc.values())]
    return Network(
        region=region,
        vpcs={vpc.id: _vpc(vpc) for vpc in list(backend.vpcs.values())},
        subnets={s.id: Subnet(s.id, s.vpc_id, str(s.cidr_block)) for s in subnets},
        route_tables=tuple(_route_table(t) for t in list(backend.route_tables.values())),
        endpoints=tuple(_endpoint(e) for e in list(backend.vpc_end_points.values())),
        nat_gateways={n.id: _nat(n) for n in list(backend.nat_gateways.values())},
        security_groups={g.id: _group(g) for g in groups},
        prefix_lists={p.id: _prefix_list(p) for p in list(backend.managed_prefix_lists.values())},
    )


def _true(value: Any) -> bool:
    """moto keeps attributes as given: ``True`` or the query string ``"true"``."""
    return str(value).lower() == "true"


def _vpc(vpc: Any) -> Vpc:
    return Vpc(
        vpc.id,
        dns_support=_true(vpc.enable_dns_support),
        dns_hostnames=_true(vpc.enable_dns_hostnames),
    )


def _route_table(table: Any) -> RouteTable:
    return RouteTable(
        table.id,
        table.vpc_id,
        routes=tuple(_route(route) for route in list(table.routes)),
        subnet_ids=frozenset(
            target for target in list(table._associations.values()) if target.startswith("subnet-")
        ),
        main=table.main_association_id is not None,
    )


def _route(route: Any) -> Route:
    targets = (
        route.gateway,
        route.nat_gateway,
        route.instance,
        route.transit_gateway,
        route.interface,
        route.vpc_pcx,
        route.egress_only_igw,
        route.carrier_gateway,
    )
    target = "local" if route.local else route.vpc_endpoint_id
    for candidate in targets:
        if candidate is not None:
            target = candidate.id
    prefix_list = route.destination_prefix_list
    return Route(
        target=str(target or "unknown"),
        destination_cidr=route.destination_cidr_block,
        destination_prefix_list_id=prefix_list.id if prefix_list is not None else None,
    )


def _endpoint(endpoint: Any) -> Endpoint:
    # CreateVpcEndpoint's VpcEndpointType defaults to Gateway.
    kind = str(endpoint.vpc_endpoint_type or "Gateway").lower()
    return Endpoint(
        endpoint_id=endpoint.id,
        vpc_id=endpoint.vpc_id,
        service_name=endpoint.service_name,
        kind=kind,
        state=str(endpoint.state),
        route_table_ids=tuple(endpoint.route_table_ids or ()),
        subnet_ids=tuple(endpoint.subnet_ids or ()),
        security_group_ids=tuple(endpoint.security_group_ids or ()),
        private_dns=kind == "interface" and _true(endpoint.private_dns_enabled),
        prefix_list_id=endpoint.destination_prefix_list_id,
    )


def _nat(nat: Any) -> NatGateway:
    # CreateNatGateway's ConnectivityType defaults to public.
    return NatGateway(
        nat.id,
        nat.subnet_id,
        public=str(nat.connectivity_type or "public") == "public",
        state=str(nat.state),
    )


_PROTOCOLS: Final = {"6": "tcp", "17": "udp", "1": "icmp", "all": "-1"}


def _rule(rule: Any) -> Rule:
    protocol = str(rule.ip_protocol or "-1").lower()
    return Rule(
        protocol=_PROTOCOLS.get(protocol, protocol),
        from_port=None if rule.from_port is None else int(rule.from_port),
        to_port=None if rule.to_port is None else int(rule.to_port),
        cidr=(rule.ip_range or {}).get("CidrIp") or (rule.ip_range or {}).get("CidrIpv6"),
        group_id=(rule.source_group or {}).get("GroupId"),
        prefix_list_id=rule.prefix_list_id,
    )


def _group(group: Any) -> SecurityGroup:
    return SecurityGroup(
        group.id,
        str(group.vpc_id),
        ingress=tuple(_rule(rule) for rule in list(group.ingress_rules)),
        egress=tuple(_rule(rule) for rule in list(group.egress_rules)),
        default=bool(group.is_default),
    )


def _prefix_list(prefix_list: Any) -> PrefixList:
    entries: Mapping[Any, list[dict[str, str]]] = prefix_list.entries or {}
    latest = entries[max(entries, key=lambda v: v or 0)] if entries else []
    return PrefixList(
        prefix_list.id,
        str(prefix_list.prefix_list_name),
        cidrs=tuple(entry["Cidr"] for entry in latest),
        aws_managed=str(prefix_list.owner_id) == "AWS",
    )
