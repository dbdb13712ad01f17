"""Which AWS services a Lambda function attached to a VPC can reach, as AWS routes its traffic.

A function without a VPC configuration runs in a VPC that Lambda owns and reaches every AWS
service. A function attached to a VPC of the account (``VpcConfig``: subnets and security
groups) can't reach the internet unless the VPC provides a path, and a public subnet doesn't
give it a public IP address
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html). Its calls to a
service take, for each of its subnets (Lambda may run it in any of them, so every one must
have the path):

1. An **interface endpoint** of the service in the VPC with private DNS: the service's default
   host name then resolves, in the whole VPC, to the endpoint's network interfaces, so that is
   the only path to the service. Private DNS needs the VPC attributes ``enableDnsSupport`` and
   ``enableDnsHostnames``. The endpoint's security groups (the VPC's default group when it
   was given none) must allow inbound HTTPS (TCP 443) from the function, and the function's
   groups must allow it outbound to the endpoint
   (https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html,
   https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html).
2. A **gateway endpoint** (S3, DynamoDB) associated with the subnet's route table (its explicit
   association, else the VPC's main table): its route to the service's AWS-managed prefix list
   is more specific than a default route. The function's groups must allow TCP 443 outbound to
   that prefix list (or to ``0.0.0.0/0``); subnets whose table is not associated do not use the
   endpoint (https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html).
3. The subnet's **default route** ``0.0.0.0/0`` to a public NAT gateway, itself in a subnet
   whose default route goes to an internet gateway, with TCP 443 outbound to ``0.0.0.0/0``
   allowed (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html: a private
   NAT gateway's traffic to an internet gateway is dropped). A default route straight to an
   internet gateway leads nowhere: the function has no public IP address.

Security groups are stateful (replies need no rule) and allow only what a rule allows
(https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html); a rule allows a
peer by security group, by CIDR range or by prefix list. The public addresses of a service are
not known here: only ``0.0.0.0/0`` or a rule naming the service's AWS-managed prefix list
covers them (moto's entries of AWS-managed prefix lists are not AWS's, so they are never
used). Interface endpoint addresses are taken as their whole subnets; the function's as its
subnets. Endpoints and rules are IPv4 only, as is the function's traffic here.

Not modelled, and therefore unreachable when they are the only path: routes to other targets
(NAT instances, peering, transit or virtual private gateways). Not modelled at all: network
ACLs and endpoint policies (IAM, enforced by the service, not by the network).

:func:`reachability` is a pure function over plain data (:class:`Network`, in
:mod:`.vpc_network`); :func:`from_moto` (:mod:`.moto_network`) reads that data from moto's EC2
backend, and :func:`moto_reachability` the function's ``VpcConfig`` from moto's Lambda.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from tooling.emulator.runtime.moto_network import from_moto
from tooling.emulator.runtime.vpc_network import (
    AVAILABLE,
    HTTPS_PORT,
    NOT_IN_A_VPC,
    Endpoint,
    NatGateway,
    Network,
    PrefixList,
    Reachability,
    ReachabilityLookup,
    Route,
    RouteTable,
    Rule,
    SecurityGroup,
    Subnet,
    Verdict,
    Vpc,
    VpcConfig,
)

__all__ = [
    "ENFORCEMENT_ENV",
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
    "enforced",
    "from_moto",
    "moto_reachability",
    "reachability",
]

#: ``off`` makes the emulator more lenient than AWS: every function then reaches every service
#: as if it had no VPC configuration. For debugging only; the default is ``on``.
ENFORCEMENT_ENV: Final = "TAP_EMULATOR_VPC_REACHABILITY"
_ANYWHERE: Final = ipaddress.IPv4Network("0.0.0.0/0")


# --------------------------------------------------------------------------- the rules


def reachability(network: Network, vpc_config: VpcConfig | None) -> Reachability:
    """What a function with ``vpc_config`` reaches in ``network``."""
    if vpc_config is None or not vpc_config.subnet_ids:
        return Reachability(in_vpc=False, others=NOT_IN_A_VPC)
    subnets = [network.subnets.get(subnet_id) for subnet_id in vpc_config.subnet_ids]
    missing = [s for s, found in zip(vpc_config.subnet_ids, subnets, strict=True) if not found]
    if missing:
        nowhere = Verdict(False, f"subnet {missing[0]} does not exist")
        return Reachability(in_vpc=True, others=nowhere)
    known = [subnet for subnet in subnets if subnet is not None]
    function = _Function(network, known, vpc_config.security_group_ids)
    services = {
        service
        for endpoint in network.endpoints
        if endpoint.vpc_id == function.vpc_id
        and (service := _service_of(endpoint.service_name, network.region)) is not None
    }
    return Reachability(
        in_vpc=True,
        others=function.verdict(None),
        services={service: function.verdict(service) for service in sorted(services)},
    )


def _service_of(service_name: str, region: str) -> str | None:
    prefix = f"com.amazonaws.{region}."
    return service_name[len(prefix) :] if service_name.startswith(prefix) else None


@dataclass(frozen=True)
class _Peer:
    """The other end of a connection, as security group rules see it: its groups, the address
    ranges it may use (each must be allowed) and the AWS-managed prefix list naming it."""

    what: str
    groups: frozenset[str] = frozenset()
    cidrs: tuple[ipaddress.IPv4Network, ...] = (_ANYWHERE,)
    prefix_list_id: str | None = None


class _Function:
    def __init__(self, network: Network, subnets: list[Subnet], group_ids: tuple[str, ...]):
        self.network = network
        self.subnets = subnets
        self.vpc_id = subnets[0].vpc_id
        self.vpc = network.vpcs.get(self.vpc_id, Vpc(self.vpc_id))
        self.groups = [
            network.security_groups[g] for g in group_ids if g in network.security_groups
        ]
        self.as_peer = _Peer(
            "the function",
            groups=frozenset(group_ids),
            cidrs=tuple(ipaddress.IPv4Network(subnet.cidr) for subnet in subnets),
        )

    def verdict(self, service: str | None) -> Verdict:
        """``service``'s verdict; ``None`` for a service with no endpoint in the VPC."""
        interface = self._private_dns_endpoint(service)
        if interface is not None:
            return self._through_interface(interface)
        reasons = []
        for subnet in self.subnets:
            verdict = self._from_subnet(subnet, service)
            if not verdict.reachable:
                return verdict
            reasons.append(verdict.why)
        return Verdict(True, "; ".join(dict.fromkeys(reasons)))

    # --- 1. interface endpoints (the whole VPC, through private DNS)

    def _private_dns_endpoint(self, service: str | None) -> Endpoint | None:
        if service is None or not (self.vpc.dns_support and self.vpc.dns_hostnames):
            return None
        for endpoint in self._endpoints(service, "interface"):
            if endpoint.private_dns:
                return endpoint
        return None

    def _through_interface(self, endpoint: Endpoint) -> Verdict:
        name = f"interface endpoint {endpoint.endpoint_id}"
        group_ids = endpoint.security_group_ids or self._default_group_ids()
        subnets = [
            self.network.subnets[s] for s in endpoint.subnet_ids if s in self.network.subnets
        ]
        if endpoint.state != AVAILABLE:
            return Verdict(False, f"{name} is {endpoint.state}")
        if not subnets:
            return Verdict(False, f"{name} has no network interface (no subnet)")
        target = _Peer(
            name,
            groups=frozenset(group_ids),
            cidrs=tuple(ipaddress.IPv4Network(subnet.cidr) for subnet in subnets),
        )
        refusal = self._egress_refusal(target)
        if refusal is not None:
            return Verdict(False, refusal)
        groups = [
            self.network.security_groups[g] for g in group_ids if g in self.network.security_groups
        ]
        if not _allows(
            [rule for group in groups for rule in group.ingress], self.as_peer, self.network
        ):
            return Verdict(
                False,
                f"the security groups of {name} ({', '.join(group_ids) or 'none'}) allow no "
                "inbound TCP 443 from the function",
            )
        return Verdict(True, f"through {name} (private DNS)")

    def _default_group_ids(self) -> tuple[str, ...]:
        return tuple(
            group.group_id
            for group in self.network.security_groups.values()
            if group.vpc_id == self.vpc_id and group.default
        )

    # --- 2 and 3. per subnet: its route table

    def _from_subnet(self, subnet: Subnet, service: str | None) -> Verdict:
        table = self._route_table(subnet)
        if table is None:
            return Verdict(False, f"subnet {subnet.subnet_id} has no route table")
        for endpoint in self._endpoints(service, "gateway"):
            if table.table_id in endpoint.route_table_ids and endpoint.state == AVAILABLE:
                return self._through_gateway(endpoint, table)
        return self._through_default_route(subnet, table, service)

    def _route_table(self, subnet: Subnet) -> RouteTable | None:
        tables = self.network.route_tables
        explicit = [t for t in tables if subnet.subnet_id in t.subnet_ids]
        if explicit:
            return explicit[0]
        main = [t for t in tables if t.vpc_id == subnet.vpc_id and t.main]
        return main[0] if main else None

    def _through_gateway(self, endpoint: Endpoint, table: RouteTable) -> Verdict:
        name = f"gateway endpoint {endpoint.endpoint_id} (route table {table.table_id})"
        target = _Peer(
            f"prefix list {endpoint.prefix_list_id}", prefix_list_id=endpoint.prefix_list_id
        )
        refusal = self._egress_refusal(target)
        if refusal is not None:
            return Verdict(False, f"{name}: {refusal}")
        return Verdict(True, f"through {name}")

    def _through_default_route(
        self, subnet: Subnet, table: RouteTable, service: str | None
    ) -> Verdict:
        where = f"subnet {subnet.subnet_id} (route table {table.table_id})"
        route = _default_route(table)
        if route is None:
            return Verdict(False, f"{where} has no route to the service")
        if route.target.startswith("igw-"):
            return Verdict(
                False,
                f"{where} routes 0.0.0.0/0 to internet gateway {route.target}, but a Lambda "
                "function has no public IP address",
            )
        nat = self.network.nat_gateways.get(route.target)
        if nat is None:
            return Verdict(
                False, f"{where} routes 0.0.0.0/0 to {route.target}, not to a NAT gateway"
            )
        problem = self._nat_problem(nat)
        if problem is not None:
            return Verdict(False, f"{where}: {problem}")
        target = _Peer(
            "the service's public addresses", prefix_list_id=self._aws_prefix_list_id(service)
        )
        refusal = self._egress_refusal(target)
        if refusal is not None:
            return Verdict(False, f"{where} through NAT gateway {nat.nat_id}: {refusal}")
        return Verdict(True, f"through NAT gateway {nat.nat_id}")

    def _nat_problem(self, nat: NatGateway) -> str | None:
        name = f"NAT gateway {nat.nat_id}"
        if nat.state != AVAILABLE:
            return f"{name} is {nat.state}"
        if not nat.public:
            return f"{name} is private: it does not reach the internet"
        subnet = self.network.subnets.get(nat.subnet_id)
        table = self._route_table(subnet) if subnet is not None else None
        route = _default_route(table) if table is not None else None
        if route is None or not route.target.startswith("igw-"):
            return f"the subnet of {name} has no 0.0.0.0/0 route to an internet gateway"
        return None

    def _aws_prefix_list_id(self, service: str | None) -> str | None:
        if service is None:
            return None
        name = f"com.amazonaws.{self.network.region}.{service}"
        for prefix_list in self.network.prefix_lists.values():
            if prefix_list.aws_managed and prefix_list.name == name:
                return prefix_list.prefix_list_id
        return None

    # --- shared

    def _endpoints(self, service: str | None, kind: str) -> Iterable[Endpoint]:
        if service is None:
            return ()
        return (
            endpoint
            for endpoint in self.network.endpoints
            if endpoint.vpc_id == self.vpc_id
            and endpoint.kind == kind
            and _service_of(endpoint.service_name, self.network.region) == service
        )

    def _egress_refusal(self, target: _Peer) -> str | None:
        rules = [rule for group in self.groups for rule in group.egress]
        if _allows(rules, target, self.network):
            return None
        group_ids = ", ".join(group.group_id for group in self.groups) or "none"
        return (
            f"the function's security groups ({group_ids}) allow no outbound TCP 443 to "
            f"{target.what}"
        )


def _default_route(table: RouteTable) -> Route | None:
    for route in table.routes:
        if route.destination_cidr == str(_ANYWHERE):
            return route
    return None


def _allows(rules: Iterable[Rule], peer: _Peer, network: Network) -> bool:
    """Whether ``rules`` (of one direction) allow TCP 443 with ``peer``."""
    ranges: list[ipaddress.IPv4Network] = []
    for rule in rules:
        if not rule.allows_https():
            continue
        if rule.group_id is not None and rule.group_id in peer.groups:
            return True
        if rule.prefix_list_id is not None:
            if rule.prefix_list_id == peer.prefix_list_id:
                return True
            prefix_list = network.prefix_lists.get(rule.prefix_list_id)
            if prefix_list is not None and not prefix_list.aws_managed:
                ranges.extend(_ipv4(prefix_list.cidrs))
        if rule.cidr is not None:
            ranges.extend(_ipv4([rule.cidr]))
    allowed = list(ipaddress.collapse_addresses(ranges))
    return all(any(cidr.subnet_of(a) for a in allowed) for cidr in peer.cidrs)


def _ipv4(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network]:
    networks = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=False)
        if isinstance(network, ipaddress.IPv4Network):
            networks.append(network)
    return networks


# --------------------------------------------------------------------------- the switch


def enforced(environ: Mapping[str, str]) -> bool:
    """Whether :data:`ENFORCEMENT_ENV` leaves the rule on (``on``, the default) or not."""
    value = environ.get(ENFORCEMENT_ENV, "").strip().lower() or "on"
    if value not in {"on", "off"}:
        raise ValueError(f"{ENFORCEMENT_ENV}={value!r}: use 'on' (the default) or 'off'")
    return value == "on"


# --------------------------------------------------------------------------- moto


def moto_reachability(function_arn: str, account_id: str, region: str) -> Reachability:
    """What the function ``function_arn`` of moto's Lambda reaches in moto's EC2.

    A function moto does not know (a runtime used without the emulator) has no VPC
    configuration.
    """
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.utils import get_backend

    try:
        function = get_backend(account_id, region).get_function(function_arn)
    except UnknownFunctionException:
        return Reachability(in_vpc=False, others=NOT_IN_A_VPC)
    config = function.get_configuration().get("VpcConfig") or {}
    vpc_config = VpcConfig(
        subnet_ids=tuple(config.get("SubnetIds") or ()),
        security_group_ids=tuple(config.get("SecurityGroupIds") or ()),
    )
    if not vpc_config.subnet_ids:
        return Reachability(in_vpc=False, others=NOT_IN_A_VPC)
    return reachability(from_moto(account_id, region), vpc_config)
