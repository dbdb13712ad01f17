"""Which deployed functions run which zip: :data:`SERVICE_FUNCTIONS`, and the functions of a
deployment read from its flat outputs (``<prefix>_<function>_function_name``,
``<prefix>_aws_region``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tooling.sync.errors import SyncError

__all__ = ["SERVICE_FUNCTIONS", "DeployedFunction", "deployed_functions", "output_prefixes"]

#: Service (its zip, ``dist/<service>.zip``) -> the functions running it, by output key.
SERVICE_FUNCTIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "processor": ("processor",),
    "api_handler": ("api_handler", "api_authorizer"),
}


@dataclass(frozen=True)
class DeployedFunction:
    """A deployed function: its name and region."""

    name: str
    region: str


def output_prefixes(environment: str, regions: Sequence[str], only: str | None) -> list[str]:
    """The flat outputs' prefixes of ``environment`` (its regions in order, primary first):
    the environment itself when it has one region, else ``<environment>_<region>`` for each
    region, or for ``only``."""
    if only is not None and only not in regions:
        raise SyncError(f"--region {only}: {environment} runs in {', '.join(regions)}.", 2)
    if len(regions) == 1:
        return [environment]
    chosen = [only] if only is not None else list(regions)
    return [f"{environment}_{region.replace('-', '_')}" for region in chosen]


def deployed_functions(
    outputs: Mapping[str, Any],
    prefixes: Sequence[str],
    *,
    mapping: Mapping[str, Sequence[str]] = SERVICE_FUNCTIONS,
    deploy_hint: str = "./tap deploy",
) -> dict[str, tuple[DeployedFunction, ...]]:
    """Service -> its deployed functions, from the flat outputs (``<prefix>_<key>_function_name``
    and ``<prefix>_aws_region``)."""
    missing = [
        f"{prefix}_{name}"
        for prefix in prefixes
        for name in [
            "aws_region",
            *(f"{key}_function_name" for keys in mapping.values() for key in keys),
        ]
        if not outputs.get(f"{prefix}_{name}")
    ]
    if missing:
        environment = prefixes[0].split("_", 1)[0]
        raise SyncError(
            f"cfn-outputs/flat-outputs.json has no {', '.join(missing)}: deploy it first "
            f"(`{deploy_hint} --env {environment}`)."
        )
    return {
        service: tuple(
            DeployedFunction(
                str(outputs[f"{prefix}_{key}_function_name"]),
                str(outputs[f"{prefix}_aws_region"]),
            )
            for prefix in prefixes
            for key in keys
        )
        for service, keys in mapping.items()
    }
