"""Synth-time rule: every AWS API a function's code calls is reachable from its subnets.

A function attached to a VPC has no access to the internet, or to AWS's public endpoints,
unless its VPC provides it (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html):
a call to a service without a VPC endpoint or a NAT route times out, on every retry, while
every policy allows it. The platform's private subnets have no NAT, so each service the code
calls needs an endpoint.

What the code calls is read off the function's execution role, never from a list kept beside
it: every action the role allows, except the statements Lambda itself uses on the function's
behalf (:mod:`trading_infra.checks.lambda_service_calls`). For each such service, every subnet
of the function must reach it, through (in the order AWS resolves it)

1. an interface endpoint of the service with private DNS in the function's VPC: the function's
   security groups allow TCP 443 egress to the endpoint's groups (or a CIDR covering its
   subnets), the endpoint's groups admit TCP 443 from the function's groups (or its subnets),
   and the endpoint policy allows each call;
2. a gateway endpoint on the subnet's route table: egress to the endpoint's prefix list (or
   0.0.0.0/0), and the endpoint policy allows each call;
3. a NAT route to the internet: egress TCP 443 to 0.0.0.0/0.

The rule runs over the synthesized JSON of the two stacks of an environment in a region
(``synthesize`` in trading_infra.app, on every synth and both targets). The application stack
names the network's subnets and security groups through ``terraform_remote_state`` outputs; the
rule follows those whose state is the network stack's (same backend bucket and key) to the
network's resources. A violation fails synth with the function, the service, the calls and the
fix. What the rule cannot read (a policy that is an expression, attached managed policies,
network ACLs) fails it too: an unproven path is not a path.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from trading_infra.checks.endpoint_policy import refusal
from trading_infra.checks.lambda_service_calls import LambdaManaged, lambda_use
from trading_infra.checks.network_paths import ANYWHERE, Endpoint, NetworkPaths, Peer
from trading_infra.checks.policies import (
    Statement,
    UnreadablePolicyError,
    service_of,
    statements,
)
from trading_infra.checks.synthesized import SynthesizedStack, as_list, reference
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


@dataclass(frozen=True)
class RegionStacks:
    """The synthesized network and application stacks of one environment in one region."""

    environment: str
    network: SynthesizedStack
    application: SynthesizedStack


@dataclass(frozen=True)
class Call:
    """An action the code may call, the statement that allows it and that statement's
    resources."""

    action: str
    statement: str
    resources: tuple[str, ...]


@dataclass(frozen=True)
class Violation:
    """A call of ``function`` (in ``stack``) to ``service`` that has no working path."""

    stack: str
    function: str
    service: str | None
    calls: tuple[Call, ...]
    problem: str
    fix: str

    @property
    def message(self) -> str:
        if self.service is None:
            return f"function {self.function}: {self.problem}: {self.fix}"
        return (
            f"function {self.function} calls {self.service} ({_calls(self.calls)}) "
            f"but {self.problem}: {self.fix}"
        )


class ReachabilityError(ValueError):
    """Synth refused: a function's code calls an AWS API its subnets cannot reach."""

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations = tuple(violations)
        lines = [f"  - {v.stack}: {v.message}" for v in self.violations]
        super().__init__(
            "synth refused: the code of a function calls an AWS API that its subnets cannot "
            "reach (trading_infra/checks/reachability.py):\n" + "\n".join(lines)
        )


def require_reachable(regions: Iterable[RegionStacks]) -> None:
    """Raise :class:`ReachabilityError` listing every violation of every region."""
    violations = [v for region in regions for v in unreachable_calls(region)]
    if violations:
        raise ReachabilityError(violations)


def unreachable_calls(region: RegionStacks) -> tuple[Violation, ...]:
    """Every violation of the rule by the functions of ``region``'s application stack."""
    return tuple(v for function in functions(region) for v in function.violations())


def functions(region: RegionStacks) -> tuple[DeployedFunction, ...]:
    """The functions of ``region``'s application stack, in the network of its network stack."""
    network = NetworkPaths(region.network)
    return tuple(
        DeployedFunction(region, network, address, body)
        for address, body in region.application.resources("aws_lambda_function").items()
    )


# --- one function ------------------------------------------------------------------------------


@dataclass
class DeployedFunction:
    """A synthesized ``aws_lambda_function``, its role's statements and its network."""

    region: RegionStacks
    network: NetworkPaths
    address: str
    body: Mapping[str, Any]
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = str(self.body.get("function_name", self.address))

    def violations(self) -> Iterator[Violation]:
        vpc_config = self.body.get("vpc_config") or {}
        if not as_list(vpc_config.get("subnet_ids")):
            return  # Lambda's own VPC, with access to AWS services (configuration-vpc-internet)
        try:
            subnets = self._network_addresses(vpc_config.get("subnet_ids"), "aws_subnet")
            groups = self._network_addresses(vpc_config.get("security_group_ids"), None)
            code_calls = self.code_calls()
        except UnreadableFunctionError as error:
            yield self.violation(None, (), error.problem, error.fix)
            return
        if self.network.acls:
            yield self.violation(
                None,
                (),
                f"its network {self.network.stack.name} has network ACLs "
                f"({', '.join(self.network.acls)}), which the rule does not evaluate",
                "evaluate them in trading_infra/checks/network_paths.py before adding them",
            )
            return
        path = _Paths(self, subnets, frozenset(groups))
        for service, calls in sorted(code_calls.items()):
            yield from path.violations(service, calls)

    def violation(
        self, service: str | None, calls: tuple[Call, ...], problem: str, fix: str
    ) -> Violation:
        return Violation(
            stack=self.region.application.name,
            function=self.name,
            service=service,
            calls=calls,
            problem=problem,
            fix=fix,
        )

    # --- the role's statements --------------------------------------------------------------

    def lambda_statements(self) -> tuple[tuple[Statement, str], ...]:
        """The role's statements that Lambda uses for the function, each with that use."""
        managed = self._lambda_managed()
        return tuple(
            (statement, use)
            for statement in self._role_statements()
            if (use := lambda_use(statement, managed)) is not None
        )

    def code_calls(self) -> dict[str, tuple[Call, ...]]:
        """The code's calls by service (the IAM prefix); Lambda's own statements left out.

        Raises :class:`UnreadableFunctionError` when the role cannot be read."""
        managed = self._lambda_managed()
        by_service: dict[str, list[Call]] = {}
        for statement in self._role_statements():
            if statement.effect != "Allow" or lambda_use(statement, managed) is not None:
                continue
            for action in statement.actions:
                service = service_of(action)
                if service is None or "NotAction" in statement.negated:
                    raise UnreadableFunctionError(
                        f"its role allows {action!r} (statement {statement.name}), so which "
                        "services its code calls cannot be told",
                        "allow the actions it calls by name",
                    )
                call = Call(action, statement.name, statement.resources)
                by_service.setdefault(service, []).append(call)
        return {service: tuple(calls) for service, calls in by_service.items()}

    def _role_statements(self) -> Iterator[Statement]:
        role = reference(self.body.get("role"))
        application = self.region.application
        if role is None or role.resource_type != "aws_iam_role":
            raise UnreadableFunctionError(
                f"its role {self.body.get('role')!r} is not a role of {application.name}",
                "give it a role of the stack",
            )
        self._refuse_attached_policies(role.address)
        for address, body in application.resources("aws_iam_role_policy").items():
            owner = reference(body.get("role"))
            if owner is not None and owner.address == role.address:
                yield from _read(body.get("policy"), address)
        role_body = application.body(role.address) or {}
        for inline in as_list(role_body.get("inline_policy")):
            yield from _read(inline.get("policy"), role.address)

    def _refuse_attached_policies(self, role: str) -> None:
        application = self.region.application
        attached = [
            address
            for kind in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment")
            for address, body in application.resources(kind).items()
            if role in {getattr(reference(r), "address", None) for r in _roles_of(body)}
        ]
        if attached or as_list((application.body(role) or {}).get("managed_policy_arns")):
            raise UnreadableFunctionError(
                f"its role has attached managed policies ({', '.join(attached) or role}), "
                "whose statements the rule cannot read",
                "grant the role inline statements instead",
            )

    def _lambda_managed(self) -> LambdaManaged:
        application = self.region.application
        logging = self.body.get("logging_config") or {}
        log_group = logging.get("log_group", f"/aws/lambda/{self.name}")
        found = reference(log_group)
        log_group_address = found.address if found is not None else None
        if log_group_address is None:
            log_group_address = next(
                (
                    address
                    for address, group in application.resources("aws_cloudwatch_log_group").items()
                    if group.get("name") == log_group
                ),
                None,
            )
        named = (application.body(log_group_address) or {}) if log_group_address else {}
        targets = {(self.body.get("dead_letter_config") or {}).get("target_arn")}
        for config in application.resources("aws_lambda_function_event_invoke_config").values():
            if self._is_this_function(config.get("function_name")):
                destinations = config.get("destination_config") or {}
                for outcome in ("on_failure", "on_success"):
                    targets.add((destinations.get(outcome) or {}).get("destination"))
        return LambdaManaged(
            in_vpc=bool(as_list((self.body.get("vpc_config") or {}).get("subnet_ids"))),
            log_group_address=log_group_address,
            log_group_name=str(named.get("name", log_group)),
            delivery_targets=frozenset(t for t in targets if isinstance(t, str)),
        )

    def _is_this_function(self, value: object) -> bool:
        found = reference(value)
        return value == self.name or (found is not None and found.address == self.address)

    # --- the network it is in ---------------------------------------------------------------

    def _network_addresses(self, value: object, resource_type: str | None) -> list[str]:
        """The network stack's resources that ``value`` (remote-state outputs) names."""
        resolved = self._through_remote_state(value)
        if resolved is None:
            raise UnreadableFunctionError(
                f"its VPC configuration {value!r} does not name outputs of the network stack "
                f"{self.network.stack.name}",
                "pass the network stack's outputs (terraform_remote_state) to it",
            )
        addresses = []
        for item in resolved:
            found = reference(item)
            wanted = (
                (resource_type,)
                if resource_type
                else ("aws_security_group", "aws_default_security_group")
            )
            if found is None or found.attribute != "id" or found.resource_type not in wanted:
                raise UnreadableFunctionError(
                    f"its VPC configuration names {item!r}, not a resource of the network stack "
                    f"{self.network.stack.name}",
                    "output the network's resources themselves",
                )
            addresses.append(found.address)
        return addresses

    def _through_remote_state(self, value: object) -> list[Any] | None:
        if isinstance(value, list):
            values = [self._through_remote_state(item) for item in value]
            if any(v is None or len(v) != 1 for v in values):
                return None
            return [v[0] for v in values if v is not None]
        found = reference(value)
        if found is None or not found.address.startswith("data.terraform_remote_state."):
            return None
        source = self.region.application.body(found.address) or {}
        config = source.get("config") or {}
        backend = self.network.stack.backend
        if (config.get("bucket"), config.get("key")) != (backend.get("bucket"), backend.get("key")):
            return None
        output = found.attribute.removeprefix("outputs.")
        if output == found.attribute:
            return None
        resolved = self.network.stack.output(output)
        return None if resolved is None else as_list(resolved)


class UnreadableFunctionError(Exception):
    """What the rule cannot read of a function (its role or its VPC configuration)."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


def _read(policy: object, owner: str) -> tuple[Statement, ...]:
    try:
        return statements(policy)
    except UnreadablePolicyError as error:
        raise UnreadableFunctionError(
            f"a policy of its role ({owner}) cannot be read: {error}",
            "write the policy as a literal JSON document",
        ) from error


def _roles_of(attachment: Mapping[str, Any]) -> list[Any]:
    return [attachment.get("role"), *as_list(attachment.get("roles"))]


def _calls(calls: Iterable[Call]) -> str:
    by_statement: dict[str, list[str]] = {}
    for call in calls:
        by_statement.setdefault(call.statement, []).append(call.action)
    return "; ".join(
        f"{', '.join(actions)}, statement {statement}"
        for statement, actions in by_statement.items()
    )


# --- the paths of one function's subnets -------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """Why ``calls`` do not reach their service, and what to change."""

    problem: str
    fix: str
    calls: tuple[Call, ...]


@dataclass(frozen=True)
class _Paths:
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
