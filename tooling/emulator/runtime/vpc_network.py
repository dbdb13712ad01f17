"""The networks of one account in one region as plain data, and what a function reaches in
them: the facts :mod:`.reachability` judges, and the verdicts it gives.

Endpoints and rules are IPv4 only. ``Verdict`` and ``Reachability`` are what the runtime asks
of the rules at each invocation (:data:`ReachabilityLookup`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "AVAILABLE",
    "HTTPS_PORT",
    "NOT_IN_A_VPC",
    "Endpoint",
    "NatGateway",
    "Network",
    "PrefixList",
    "Reachability",
    "ReachabilityLookup",
    "Route",
    "RouteTable",
    "Rule",
    "SecurityGroup",
    "Subnet",
    "Verdict",
    "Vpc",
    "VpcConfig",
]

HTTPS_PORT: Final = 443
#: The state of an endpoint or NAT gateway that carries traffic.
AVAILABLE: Final = "available"


@dataclass(frozen=True)
class Rule:
    """One security group rule with one peer: a CIDR range, a security group or a prefix list.

    ``protocol`` is ``tcp``, ``udp``, ``icmp``... or ``-1`` (all traffic, every port).
    """

    protocol: str
    from_port: int | None = None
    to_port: int | None = None
    cidr: str | None = None
    group_id: str | None = None
    prefix_list_id: str | None = None

    def allows_https(self) -> bool:
        if self.protocol == "-1":
            return True
        if self.protocol != "tcp" or self.from_port is None or self.to_port is None:
            return False
        return self.from_port <= HTTPS_PORT <= self.to_port


@dataclass(frozen=True)
class SecurityGroup:
    group_id: str
    vpc_id: str
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()
    default: bool = False


@dataclass(frozen=True)
class Route:
    """``target``: ``local``, ``igw-...``, ``nat-...``, ``vpce-...`` or any other target id."""

    target: str
    destination_cidr: str | None = None
    destination_prefix_list_id: str | None = None


@dataclass(frozen=True)
class RouteTable:
    table_id: str
    vpc_id: str
    routes: tuple[Route, ...] = ()
    subnet_ids: frozenset[str] = frozenset()
    main: bool = False


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    vpc_id: str
    cidr: str


@dataclass(frozen=True)
class Vpc:
    vpc_id: str
    dns_support: bool = True
    dns_hostnames: bool = False


@dataclass(frozen=True)
class Endpoint:
    """A VPC endpoint; ``kind`` is ``gateway`` or ``interface`` (others are not AWS services
    reachable by their default host name). ``prefix_list_id``: a gateway endpoint's
    destination."""

    endpoint_id: str
    vpc_id: str
    service_name: str
    kind: str
    state: str = AVAILABLE
    route_table_ids: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    private_dns: bool = False
    prefix_list_id: str | None = None


@dataclass(frozen=True)
class NatGateway:
    nat_id: str
    subnet_id: str
    public: bool = True
    state: str = AVAILABLE


@dataclass(frozen=True)
class PrefixList:
    """``aws_managed``: the prefix list of an AWS service (its entries are AWS's to know)."""

    prefix_list_id: str
    name: str
    cidrs: tuple[str, ...] = ()
    aws_managed: bool = False


@dataclass(frozen=True)
class Network:
    """What EC2 knows of the networks of one account in one region."""

    region: str
    vpcs: Mapping[str, Vpc] = field(default_factory=dict)
    subnets: Mapping[str, Subnet] = field(default_factory=dict)
    route_tables: tuple[RouteTable, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    nat_gateways: Mapping[str, NatGateway] = field(default_factory=dict)
    security_groups: Mapping[str, SecurityGroup] = field(default_factory=dict)
    prefix_lists: Mapping[str, PrefixList] = field(default_factory=dict)


@dataclass(frozen=True)
class VpcConfig:
    """A function's ``VpcConfig``; empty subnets mean no VPC, as in Lambda's API."""

    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    reachable: bool
    why: str


NOT_IN_A_VPC: Final = Verdict(True, "the function is not attached to a VPC")


@dataclass(frozen=True)
class Reachability:
    """What a function reaches: ``services`` (keyed by the endpoint service name, ``dynamodb``
    for ``com.amazonaws.<region>.dynamodb``) for the services with a VPC endpoint in its VPC,
    ``others`` for every other service."""

    in_vpc: bool
    others: Verdict
    services: Mapping[str, Verdict] = field(default_factory=dict)

    def verdict(self, service: str) -> Verdict:
        return self.services.get(service, self.others)


#: What a function (by ARN, account and region) reaches; the runtime asks at each invocation.
ReachabilityLookup = Callable[[str, str, str], Reachability]
