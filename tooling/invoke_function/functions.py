"""The platform's functions, and the function ``FUNCTION`` names in a deployment's outputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from api_handler import samples as api_samples
from processor import samples as processor_samples

from tooling.invoke_function.errors import InvokeError


class SampleInfo(Protocol):
    """What the tool reads of a service package's ``Sample``."""

    @property
    def name(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def handler(self) -> str: ...


@dataclass(frozen=True)
class FunctionKind:
    """A function of the platform: its name in the outputs, its handler and its samples."""

    service: str
    #: The service package (its folder under services/) the function's code comes from.
    package: str
    handler: str
    samples: Mapping[str, SampleInfo]
    build: Callable[..., dict[str, Any]]

    def sample_names(self) -> tuple[str, ...]:
        return tuple(name for name, s in self.samples.items() if s.handler == self.handler)


FUNCTIONS: Mapping[str, FunctionKind] = {
    "processor": FunctionKind(
        "processor",
        "processor",
        processor_samples.HANDLER,
        processor_samples.SAMPLES,
        processor_samples.sample,
    ),
    "api_handler": FunctionKind(
        "api_handler", "api_handler", api_samples.HANDLER, api_samples.SAMPLES, api_samples.sample
    ),
    "api_authorizer": FunctionKind(
        "api_authorizer",
        "api_handler",
        api_samples.AUTHORIZER_HANDLER,
        api_samples.SAMPLES,
        api_samples.sample,
    ),
}


@dataclass(frozen=True)
class Target:
    """The function to invoke, where it runs, and (for the platform's own) what it is."""

    function_name: str
    region: str
    kind: FunctionKind | None

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"


def resolve(
    outputs: Mapping[str, Any], prefix: str, function: str, region: str | None = None
) -> Target:
    """The function ``function`` names in the deployment whose flat outputs start with
    ``prefix`` (``dev``, ``global_us_east_1``): a short name, or a full name (matched against
    the outputs to know its samples; any other is invoked as given)."""
    kind = FUNCTIONS.get(function)
    if kind is not None:
        key = f"{prefix}_{kind.service}_function_name"
        name = outputs.get(key)
        if not name:
            environment = prefix.split("_", 1)[0]
            raise InvokeError(
                f"cfn-outputs/flat-outputs.json has no {key}: deploy it first "
                f"(`./tap deploy --env {environment}`)."
            )
        function_name = str(name)
    else:
        function_name = function
        kind = next(
            (
                known
                for known in FUNCTIONS.values()
                if outputs.get(f"{prefix}_{known.service}_function_name") == function
            ),
            None,
        )
    found_region = str(outputs.get(f"{prefix}_aws_region") or region or "")
    if not found_region:
        raise InvokeError(f"no {prefix}_aws_region in the outputs: name the region (--region).", 2)
    return Target(function_name, found_region, kind)
