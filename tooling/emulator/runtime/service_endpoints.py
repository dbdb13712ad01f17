"""Where a worker's SDK sends each AWS service's calls: its ``AWS_ENDPOINT_URL*`` variables.

The SDK takes a client's endpoint from ``AWS_ENDPOINT_URL_<SERVICE>`` before the global
``AWS_ENDPOINT_URL`` (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
A function that is not attached to a VPC gets the emulator as ``AWS_ENDPOINT_URL`` and nothing
else. A function attached to a VPC gets, for what it cannot reach
(:mod:`tooling.emulator.runtime.reachability`), the black hole
(:mod:`tooling.emulator.blackhole`), so that the call hangs as it does on AWS:

* when the function reaches the services without an endpoint in its VPC (a NAT gateway),
  ``AWS_ENDPOINT_URL`` is the emulator and each unreachable service with an endpoint gets a
  variable of its own to the black hole;
* otherwise ``AWS_ENDPOINT_URL`` is the black hole (every service, STS included, is unreachable
  by default) and each reachable service gets a variable of its own to the emulator.

A VPC endpoint's service (``com.amazonaws.<region>.<name>``) is named by the endpoint prefix
of its API; the SDK clients of that API are listed in :data:`CLIENTS_OF_ENDPOINT_SERVICE` when
they are not simply the client called ``<name>``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from botocore.session import Session
from botocore.utils import CLIENT_NAME_TO_HYPHENIZED_SERVICE_ID_OVERRIDES, SERVICE_NAME_ALIASES

from tooling.emulator.runtime.reachability import Reachability

__all__ = [
    "CLIENTS_OF_ENDPOINT_SERVICE",
    "GLOBAL_VARIABLE",
    "Endpoints",
    "clients_of",
    "endpoint_variable",
    "endpoints_for",
]

GLOBAL_VARIABLE: Final = "AWS_ENDPOINT_URL"

#: VPC endpoint service names (the APIs' endpoint prefix) whose botocore clients are not just
#: the client of the same name.
CLIENTS_OF_ENDPOINT_SERVICE: Final[Mapping[str, tuple[str, ...]]] = {
    "apigateway": ("apigateway", "apigatewayv2"),
    "elasticloadbalancing": ("elb", "elbv2"),
    "email": ("ses", "sesv2"),
    "execute-api": ("apigatewaymanagementapi",),
    "monitoring": ("cloudwatch",),
    "rds": ("docdb", "neptune", "rds"),
    "states": ("stepfunctions",),
}


@dataclass(frozen=True)
class Endpoints:
    """``default``: ``AWS_ENDPOINT_URL``; ``services``: ``AWS_ENDPOINT_URL_<SERVICE>`` ->
    URL."""

    default: str
    services: Mapping[str, str] = field(default_factory=dict)

    def key(self) -> tuple[object, ...]:
        """What a warm worker depends on: another network gets other workers."""
        return (self.default, tuple(sorted(self.services.items())))


@functools.cache
def _botocore_clients() -> frozenset[str]:
    return frozenset(Session().get_available_services())


def clients_of(service: str) -> tuple[str, ...]:
    """The botocore clients of the VPC endpoint service ``service`` (``()`` if none)."""
    listed = CLIENTS_OF_ENDPOINT_SERVICE.get(service)
    if listed is not None:
        return listed
    return (service,) if service in _botocore_clients() else ()


def endpoint_variable(client: str) -> str:
    """The variable botocore reads for ``client``'s endpoint (``logs`` ->
    ``AWS_ENDPOINT_URL_CLOUDWATCH_LOGS``), derived from the client name as botocore does."""
    name = SERVICE_NAME_ALIASES.get(client, client)
    hyphenized = CLIENT_NAME_TO_HYPHENIZED_SERVICE_ID_OVERRIDES.get(name, name)
    return f"{GLOBAL_VARIABLE}_{hyphenized.replace('-', '_').upper()}"


def endpoints_for(
    reachability: Reachability, *, emulator_url: str, unreachable_url: Callable[[], str]
) -> Endpoints:
    """The endpoints of a worker of a function that reaches ``reachability``;
    ``unreachable_url`` is only asked for when something is unreachable."""
    if not reachability.in_vpc:
        return Endpoints(emulator_url)
    exceptions = sorted(
        service
        for service, verdict in reachability.services.items()
        if verdict.reachable != reachability.others.reachable
    )
    if reachability.others.reachable:
        default, exception_url = emulator_url, unreachable_url() if exceptions else ""
    else:
        default, exception_url = unreachable_url(), emulator_url
    return Endpoints(
        default,
        {
            endpoint_variable(client): exception_url
            for service in exceptions
            for client in clients_of(service)
        },
    )
