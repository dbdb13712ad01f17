"""The paths from a function's subnets to the AWS services its code calls: an interface
endpoint, a gateway endpoint or a NAT route, each with its security groups and policies
(the rule: trading_infra.checks.reachability)."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from trading_infra.checks.deployed_function import DeployedFunction
from trading_infra.checks.endpoint_policy import refusal
from trading_infra.checks.network_paths import ANYWHERE, Endpoint, NetworkPaths, Peer
from trading_infra.checks.policies import UnreadablePolicyError
from trading_infra.checks.reachability_types import Call, UnreadableFunctionError, Violation
from trading_infra.checks.synthesized import as_list
from trading_infra.config import EnvironmentProfile

NETWORK_MODULE = "infra/src/trading_infra/components/network.py"
PROFILES_FILE = "infra/src/trading_infra/profiles.toml"
GATEWAY_SERVICES = frozenset({"s3", "dynamodb"})
#: IAM service prefixes whose VPC endpoint service has another name
#: (https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html).
ENDPOINT_SERVICE_NAMES = {
    "cloudwatch": "monitoring",
    "ecr": "ecr.api",
    "firehose": "kinesis-firehose",
    "kinesis": "kinesis-streams",
    "ses": "email",
}


def _profile_endpoint_services() -> frozenset[str]:
    """The interface endpoints an environment profile may list (``interface_endpoints``)."""
    annotation = EnvironmentProfile.model_fields["interface_endpoints"].annotation
    (member, *_) = typing.get_args(annotation)
    return frozenset(str(name) for name in typing.get_args(member))


PROFILE_ENDPOINT_SERVICES = _profile_endpoint_services()


def violations_of(function: DeployedFunction) -> Iterator[Violation]:
    """Every call of ``function``'s code that its subnets cannot make."""
    vpc_config = function.body.get("vpc_config") or {}
    if not as_list(vpc_config.get("subnet_ids")):
        return  # Lambda's own VPC, with access to AWS services (configuration-vpc-internet)
    try:
        subnets = function.network_addresses(vpc_config.get("subnet_ids"), "aws_subnet")
        groups = function.network_addresses(vpc_config.get("security_group_ids"), None)
        code_calls = function.code_calls()
    except UnreadableFunctionError as error:
        yield function.violation(None, (), error.problem, error.fix)
        return
    if function.network.acls:
        yield function.violation(
            None,
            (),
            f"its network {function.network.stack.name} has network ACLs "
            f"({', '.join(function.network.acls)}), which the rule does not evaluate",
            "evaluate them in trading_infra/checks/network_paths.py before adding them",
        )
        return
    path = ServicePaths(function, subnets, frozenset(groups))
    for service, calls in sorted(code_calls.items()):
        yield from path.violations(service, calls)


@dataclass(frozen=True)
class _Problem:
    """Why ``calls`` do not reach their service, and what to change."""

    problem: str
    fix: str
    calls: tuple[Call, ...]


@dataclass(frozen=True)
class ServicePaths:
    """How each service a function calls is reached from the function's subnets."""

    function: DeployedFunction
    subnets: list[str]
    groups: frozenset[str]

    @property
    def network(self) -> NetworkPaths:
        return self.function.network

    def violations(self, service: str, calls: tuple[Call, ...]) -> Iterator[Violation]:
        endpoint_service = ENDPOINT_SERVICE_NAMES.get(service, service)
        vpcs = {self.network.vpc_of(subnet) for subnet in self.subnets}
        vpc = vpcs.pop() if len(vpcs) == 1 else None
        for found in self._problems(endpoint_service, calls, vpc):
            yield self.function.violation(service, found.calls, found.problem, found.fix)

    def _problems(self, service: str, calls: tuple[Call, ...], vpc: str | None) -> list[_Problem]:
        interface = None if vpc is None else self.network.endpoint(service, "Interface", vpc)
        if interface is not None and interface.private_dns and self._resolves(vpc):
            return self._through_interface(service, interface, calls)
        gateway = None if vpc is None else self.network.endpoint(service, "Gateway", vpc)
        problems: list[_Problem] = []
        remaining = list(self.subnets)
        if gateway is not None:
            routed = [
                s for s in remaining if self.network.route_table_of(s) in gateway.route_tables
            ]
            remaining = [s for s in remaining if s not in routed]
            if routed:
                problems += self._through_gateway(service, gateway, calls)
        nat = [s for s in remaining if self.network.has_nat_route(s)]
        remaining = [s for s in remaining if s not in nat]
        if nat and not self.network.allows(self.groups, Peer(ranges=(ANYWHERE,)), egress=True):
            problems.append(
                self._missing_egress(f"0.0.0.0/0 for the NAT route of {self._which(nat)}", calls)
            )
        if remaining:
            problems.append(self._no_path(service, remaining, interface, calls))
        return problems

    def _resolves(self, vpc: str | None) -> bool:
        return vpc is not None and self.network.resolves_private_dns(vpc)

    def _through_interface(
        self, service: str, endpoint: Endpoint, calls: tuple[Call, ...]
    ) -> list[_Problem]:
        problems = []
        endpoint_groups = self._labels(endpoint.groups)
        to_endpoint = Peer(
            groups=endpoint.groups, ranges=self.network.subnet_ranges(endpoint.subnets) or ()
        )
        if not self.network.allows(self.groups, to_endpoint, egress=True):
            where = f"the {service} endpoint's security group {endpoint_groups}"
            problems.append(self._missing_egress(where, calls))
        from_function = Peer(
            groups=self.groups, ranges=self.network.subnet_ranges(self.subnets) or ()
        )
        if not self.network.allows(endpoint.groups, from_function, egress=False):
            problems.append(
                _Problem(
                    f"the {service} endpoint's security group {endpoint_groups} admits no "
                    f"TCP 443 from its security group {self._labels(self.groups)}",
                    f"add that ingress rule ({NETWORK_MODULE})",
                    calls,
                )
            )
        return problems + self._policy_problems(service, endpoint, calls)

    def _through_gateway(
        self, service: str, endpoint: Endpoint, calls: tuple[Call, ...]
    ) -> list[_Problem]:
        problems = []
        to_prefix_list = Peer(ranges=(ANYWHERE,), prefix_list=endpoint.prefix_list)
        if not self.network.allows(self.groups, to_prefix_list, egress=True):
            where = f"the prefix list of the {service} gateway endpoint"
            problems.append(self._missing_egress(where, calls))
        return problems + self._policy_problems(service, endpoint, calls)

    def _missing_egress(self, where: str, calls: tuple[Call, ...]) -> _Problem:
        return _Problem(
            f"its security group {self._labels(self.groups)} allows no TCP 443 egress to {where}",
            f"add that egress rule ({NETWORK_MODULE})",
            calls,
        )

    def _policy_problems(
        self, service: str, endpoint: Endpoint, calls: tuple[Call, ...]
    ) -> list[_Problem]:
        problems = []
        for call in calls:
            try:
                reasons = [refusal(endpoint.policy, call.action, r) for r in call.resources]
            except UnreadablePolicyError as error:
                reasons = [f"it cannot be read: {error}"]
            for reason in dict.fromkeys(r for r in reasons if r is not None):
                problems.append(
                    _Problem(
                        f"the {service} endpoint's policy refuses it: {reason}",
                        f"allow the call in the endpoint's policy ({NETWORK_MODULE})",
                        (call,),
                    )
                )
        return problems

    def _no_path(
        self, service: str, subnets: list[str], interface: Endpoint | None, calls: tuple[Call, ...]
    ) -> _Problem:
        problem = f"{self._which(subnets)} reach {service} through no endpoint and no NAT"
        if interface is not None:
            problem += (
                f" (its interface endpoint has private DNS off, or the VPC's DNS support or DNS "
                f"hostnames, so {service}'s default DNS name does not resolve to it)"
            )
        return _Problem(problem, self._fix(service), calls)

    def _fix(self, service: str) -> str:
        environment = self.function.region.environment
        if service in PROFILE_ENDPOINT_SERVICES:
            return (
                f'add "{service}" to interface_endpoints of environment {environment} (its '
                f"profile in {PROFILES_FILE}, or [environments.{environment}.overrides] in "
                "platform.toml)"
            )
        if service in GATEWAY_SERVICES:
            return (
                f"put the {service} gateway endpoint on those subnets' route table "
                f"({NETWORK_MODULE})"
            )
        return (
            f"add a {service} interface endpoint with private DNS (PLATFORM_INTERFACE_ENDPOINTS "
            f"in {NETWORK_MODULE}), or a NAT route to those subnets"
        )

    def _which(self, subnets: list[str]) -> str:
        if len(subnets) == len(self.subnets):
            return "its subnets"
        return f"its subnets {self._labels(subnets)}"

    def _labels(self, addresses: Iterable[str]) -> str:
        return ", ".join(sorted(self.network.stack.label(a) for a in addresses))
