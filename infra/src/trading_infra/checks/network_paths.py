"""The network stack as the paths it gives: routes, NAT, VPC endpoints and security group rules.

Read off a synthesized network stack. What AWS does with each piece:

* A subnet uses the route table associated with it, else its VPC's main route table
  (https://docs.aws.amazon.com/vpc/latest/userguide/VPC_Route_Tables.html).
* A gateway endpoint is a route to the service's prefix list in the route tables it is
  associated with: "Each subnet that's associated with one of these route tables has access to
  the endpoint" (https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html).
* An interface endpoint with private DNS makes the service's default DNS name resolve to the
  endpoint's network interfaces in the VPC, which is what an SDK calls
  (https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html);
  its security groups must admit the clients on HTTPS
  (https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html). Without
  security groups, the VPC's default group is associated.
* A NAT gateway reaches AWS's public endpoints only when it is public and its own subnet routes
  to an internet gateway (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html).
  A Lambda function's network interfaces never get a public IP address, so an internet gateway
  route in the function's own subnet gives it nothing
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html).
* Security group rules allow; there are no deny rules, and the egress rules of every group of
  an interface apply together (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
  Terraform's ``aws_security_group`` removes AWS's default allow-all egress rule, so a group
  allows only the egress its rules state.

Network ACLs are not modelled: :attr:`NetworkPaths.acls` lists them so that a rule can refuse
what it cannot evaluate.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from trading_infra.checks.synthesized import SynthesizedStack, as_list, reference

HTTPS_PORT = 443
ANYWHERE = ipaddress.IPv4Network("0.0.0.0/0")
_ACL_TYPES = (
    "aws_network_acl",
    "aws_default_network_acl",
    "aws_network_acl_rule",
    "aws_network_acl_association",
)


@dataclass(frozen=True)
class Endpoint:
    """A VPC endpoint: ``groups`` are its security groups (interface), ``route_tables`` the
    route tables it is on (gateway)."""

    address: str
    service_name: str
    kind: str
    vpc: str
    private_dns: bool
    subnets: tuple[str, ...]
    groups: frozenset[str]
    route_tables: frozenset[str]
    policy: Any

    @property
    def prefix_list(self) -> str:
        return "${" + self.address + ".prefix_list_id}"


@dataclass(frozen=True)
class Rule:
    """One security group rule, from whichever resource or block declares it."""

    group: str
    egress: bool
    protocol: str
    from_port: int | None
    to_port: int | None
    peer_groups: frozenset[str]
    cidrs: tuple[str, ...]
    prefix_lists: tuple[str, ...]

    def allows_https(self) -> bool:
        if self.protocol in ("-1", "all"):
            return True
        if self.protocol not in ("tcp", "6") or self.from_port is None or self.to_port is None:
            return False
        return self.from_port <= HTTPS_PORT <= self.to_port


@dataclass(frozen=True)
class Peer:
    """What traffic goes to (egress) or comes from (ingress): security groups, or address
    ranges that a CIDR rule must cover entirely, or a prefix list."""

    groups: frozenset[str] = frozenset()
    ranges: tuple[ipaddress.IPv4Network, ...] = ()
    prefix_list: str | None = None


class NetworkPaths:
    """The routes, endpoints and security group rules of one network stack."""

    def __init__(self, stack: SynthesizedStack) -> None:
        self.stack = stack
        self.region = stack.region
        self.endpoints = tuple(self._endpoints())
        self.rules = tuple(_rules(stack))
        self.acls = tuple(address for kind in _ACL_TYPES for address in stack.resources(kind))

    # --- subnets and routes ------------------------------------------------------------------

    def vpc_of(self, subnet: str) -> str | None:
        body = self.stack.body(subnet)
        return None if body is None else str(body.get("vpc_id"))

    def cidr_of(self, subnet: str) -> ipaddress.IPv4Network | None:
        body = self.stack.body(subnet) or {}
        try:
            return ipaddress.IPv4Network(str(body.get("cidr_block")))
        except ValueError:
            return None

    def route_table_of(self, subnet: str) -> str | None:
        for body in self.stack.resources("aws_route_table_association").values():
            if _address(body.get("subnet_id")) == subnet:
                return _address(body.get("route_table_id"))
        vpc = self.vpc_of(subnet)
        for body in self.stack.resources("aws_main_route_table_association").values():
            if str(body.get("vpc_id")) == vpc:
                return _address(body.get("route_table_id"))
        for address, body in self.stack.resources("aws_default_route_table").items():
            if _address(body.get("default_route_table_id")) == _vpc_address(vpc):
                return address
        return None

    def routes(self, table: str) -> Iterator[Mapping[str, Any]]:
        for body in self.stack.resources("aws_route").values():
            if _address(body.get("route_table_id")) == table:
                yield body
        yield from as_list((self.stack.body(table) or {}).get("route"))

    def has_nat_route(self, subnet: str) -> bool:
        """Whether ``subnet`` sends 0.0.0.0/0 to a public NAT gateway that reaches the
        internet through its own subnet's internet gateway route."""
        table = self.route_table_of(subnet)
        if table is None:
            return False
        for route in self.routes(table):
            nat = _address(route.get("nat_gateway_id"))
            if route.get("destination_cidr_block") == str(ANYWHERE) and nat is not None:
                body = self.stack.body(nat) or {}
                public = body.get("connectivity_type", "public") == "public"
                if public and self._to_internet_gateway(_address(body.get("subnet_id"))):
                    return True
        return False

    def _to_internet_gateway(self, subnet: str | None) -> bool:
        table = None if subnet is None else self.route_table_of(subnet)
        if table is None:
            return False
        return any(
            route.get("destination_cidr_block") == str(ANYWHERE)
            and (_address(route.get("gateway_id")) or "").startswith("aws_internet_gateway.")
            for route in self.routes(table)
        )

    def resolves_private_dns(self, vpc: str) -> bool:
        """Whether private DNS of interface endpoints works in ``vpc``: it needs the VPC's
        ``enableDnsSupport`` (on by default) and ``enableDnsHostnames`` (off by default)
        (https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html)."""
        address = _vpc_address(vpc)
        body = (self.stack.body(address) if address else None) or {}
        return body.get("enable_dns_support", True) is True and (
            body.get("enable_dns_hostnames") is True
        )

    # --- endpoints ---------------------------------------------------------------------------

    def endpoint(self, service: str, kind: str, vpc: str) -> Endpoint | None:
        """The ``kind`` (Interface / Gateway) endpoint of ``service`` in ``vpc``, if any."""
        name = f"com.amazonaws.{self.region}.{service}"
        for endpoint in self.endpoints:
            if (endpoint.service_name, endpoint.kind, endpoint.vpc) == (name, kind, vpc):
                return endpoint
        return None

    def _endpoints(self) -> Iterator[Endpoint]:
        associations = [
            (_address(b.get("vpc_endpoint_id")), _address(b.get("route_table_id")))
            for b in self.stack.resources("aws_vpc_endpoint_route_table_association").values()
        ]
        for address, body in self.stack.resources("aws_vpc_endpoint").items():
            tables = {_address(t) for t in as_list(body.get("route_table_ids"))}
            tables |= {table for owner, table in associations if owner == address}
            yield Endpoint(
                address=address,
                service_name=str(body.get("service_name")),
                kind=str(body.get("vpc_endpoint_type", "Gateway")),
                vpc=str(body.get("vpc_id")),
                private_dns=body.get("private_dns_enabled") is True,
                subnets=tuple(a for a in map(_address, as_list(body.get("subnet_ids"))) if a),
                groups=self._endpoint_groups(body),
                route_tables=frozenset(t for t in tables if t is not None),
                policy=body.get("policy"),
            )

    def _endpoint_groups(self, body: Mapping[str, Any]) -> frozenset[str]:
        groups = {_address(g) for g in as_list(body.get("security_group_ids"))}
        if not groups:
            vpc = _vpc_address(str(body.get("vpc_id")))
            groups = {
                address
                for address, group in self.stack.resources("aws_default_security_group").items()
                if _address(group.get("vpc_id")) == vpc
            }
        return frozenset(g for g in groups if g is not None)

    # --- security groups ---------------------------------------------------------------------

    def allows(self, groups: Iterable[str], peer: Peer, *, egress: bool) -> bool:
        """Whether a rule of one of ``groups`` allows HTTPS to (or from) ``peer``."""
        members = set(groups)
        return any(
            rule.group in members and rule.egress == egress and _reaches(rule, peer)
            for rule in self.rules
            if rule.allows_https()
        )

    def subnet_ranges(self, subnets: Iterable[str]) -> tuple[ipaddress.IPv4Network, ...] | None:
        """The address ranges of ``subnets``; None when one is not a literal CIDR."""
        ranges = [self.cidr_of(subnet) for subnet in subnets]
        if any(r is None for r in ranges):
            return None
        return tuple(r for r in ranges if r is not None)


def _reaches(rule: Rule, peer: Peer) -> bool:
    if rule.peer_groups & peer.groups:
        return True
    if peer.prefix_list is not None and peer.prefix_list in rule.prefix_lists:
        return True
    if not peer.ranges:
        return False
    covering = [_network(c) for c in rule.cidrs]
    return all(
        any(c is not None and target.subnet_of(c) for c in covering) for target in peer.ranges
    )


def _network(cidr: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(cidr)
    except ValueError:
        return None


def _address(value: object) -> str | None:
    found = reference(value)
    return None if found is None else found.address


def _vpc_address(vpc: str | None) -> str | None:
    return _address(vpc)


def _port(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _rules(stack: SynthesizedStack) -> Iterator[Rule]:
    for kind, egress in (
        ("aws_vpc_security_group_egress_rule", True),
        ("aws_vpc_security_group_ingress_rule", False),
    ):
        for body in stack.resources(kind).values():
            yield Rule(
                group=_address(body.get("security_group_id")) or "",
                egress=egress,
                protocol=str(body.get("ip_protocol", "")).lower(),
                from_port=_port(body.get("from_port")),
                to_port=_port(body.get("to_port")),
                peer_groups=_groups(as_list(body.get("referenced_security_group_id"))),
                cidrs=tuple(str(c) for c in as_list(body.get("cidr_ipv4"))),
                prefix_lists=tuple(str(p) for p in as_list(body.get("prefix_list_id"))),
            )
    for body in stack.resources("aws_security_group_rule").values():
        group = _address(body.get("security_group_id")) or ""
        peers = as_list(body.get("source_security_group_id"))
        yield _block_rule(group, body, egress=body.get("type") == "egress", peers=peers)
    for kind in ("aws_security_group", "aws_default_security_group"):
        for group, body in stack.resources(kind).items():
            for egress, blocks in ((True, body.get("egress")), (False, body.get("ingress"))):
                for block in as_list(blocks):
                    peers = as_list(block.get("security_groups"))
                    yield _block_rule(group, block, egress=egress, peers=peers)


def _block_rule(group: str, block: Mapping[str, Any], *, egress: bool, peers: list[Any]) -> Rule:
    """A rule in the classic shape (``protocol``, ``cidr_blocks``, ``self``)."""
    peer_groups = _groups(peers) | ({group} if block.get("self") is True else set())
    return Rule(
        group=group,
        egress=egress,
        protocol=str(block.get("protocol", "")).lower(),
        from_port=_port(block.get("from_port")),
        to_port=_port(block.get("to_port")),
        peer_groups=frozenset(peer_groups),
        cidrs=tuple(str(c) for c in as_list(block.get("cidr_blocks"))),
        prefix_lists=tuple(str(p) for p in as_list(block.get("prefix_list_ids"))),
    )


def _groups(values: Iterable[Any]) -> frozenset[str]:
    return frozenset(a for a in map(_address, values) if a is not None)
