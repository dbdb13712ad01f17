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

from collections.abc import Iterable

from trading_infra.checks.deployed_function import DeployedFunction
from trading_infra.checks.network_paths import NetworkPaths
from trading_infra.checks.reachability_types import (
    Call,
    ReachabilityError,
    RegionStacks,
    UnreadableFunctionError,
    Violation,
)
from trading_infra.checks.service_paths import (
    ENDPOINT_SERVICE_NAMES,
    GATEWAY_SERVICES,
    NETWORK_MODULE,
    PROFILE_ENDPOINT_SERVICES,
    PROFILES_FILE,
    violations_of,
)

__all__ = [
    "ENDPOINT_SERVICE_NAMES",
    "GATEWAY_SERVICES",
    "NETWORK_MODULE",
    "PROFILES_FILE",
    "PROFILE_ENDPOINT_SERVICES",
    "Call",
    "DeployedFunction",
    "ReachabilityError",
    "RegionStacks",
    "UnreadableFunctionError",
    "Violation",
    "functions",
    "require_reachable",
    "unreachable_calls",
]


def require_reachable(regions: Iterable[RegionStacks]) -> None:
    """Raise :class:`ReachabilityError` listing every violation of every region."""
    violations = [v for region in regions for v in unreachable_calls(region)]
    if violations:
        raise ReachabilityError(violations)


def unreachable_calls(region: RegionStacks) -> tuple[Violation, ...]:
    """Every violation of the rule by the functions of ``region``'s application stack."""
    return tuple(v for function in functions(region) for v in violations_of(function))


def functions(region: RegionStacks) -> tuple[DeployedFunction, ...]:
    """The functions of ``region``'s application stack, in the network of its network stack."""
    network = NetworkPaths(region.network)
    return tuple(
        DeployedFunction(region, network, address, body)
        for address, body in region.application.resources("aws_lambda_function").items()
    )
