"""The deployed stacks' outputs, flattened into ``cfn-outputs/flat-outputs.json``.

That file is the contract with everything that uses a deployment (the e2e tests, ``./tap logs``,
``./tap bench --emulator``): ``<environment>_<output>`` keys, plus
``<environment>_<region>_<output>`` for an environment that spans regions. ``TAP_OUTPUTS_FILE``
(relative to the repository) puts it elsewhere, so that runs side by side (the e2e lanes, each
on an emulator of its own) never merge their deployments into one file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.errors import LifecycleError

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session

__all__ = [
    "OUTPUTS_ENV",
    "OUTPUTS_FILE",
    "flat_outputs",
    "merge_stack_outputs",
    "multi_region_flat_outputs",
    "outputs_path",
    "read_outputs",
    "region_key",
    "remove_outputs",
    "stack_outputs",
    "write_flat_outputs",
]

#: Relative to the repository: where the flat outputs are unless ``TAP_OUTPUTS_FILE`` says.
OUTPUTS_FILE = Path("cfn-outputs") / "flat-outputs.json"
OUTPUTS_ENV = "TAP_OUTPUTS_FILE"


def outputs_path(root: Path) -> Path:
    """The flat outputs file of ``root``: ``TAP_OUTPUTS_FILE`` (relative to it), else
    :data:`OUTPUTS_FILE`."""
    return root / (os.environ.get(OUTPUTS_ENV, "").strip() or OUTPUTS_FILE)


def stack_outputs(session: Session, stack_dir: Path) -> dict[str, Any]:
    """``terraform output -json`` as name -> value."""
    result = session.terraform(["output", "-json", "-no-color"], stack_dir)
    raw: dict[str, Any] = json.loads(result.stdout or "{}")
    return {name: entry.get("value") for name, entry in raw.items()}


def flat_outputs(outputs_by_environment: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{"<environment>_<output>": value}`` (lists stay lists)."""
    flat: dict[str, Any] = {}
    for environment, outputs in outputs_by_environment.items():
        for name, value in outputs.items():
            flat[f"{environment}_{name}"] = value
    return flat


def merge_stack_outputs(
    outputs_by_stack: Iterable[tuple[StackInfo, Mapping[str, Any]]],
) -> dict[str, dict[str, Any]]:
    """Outputs of every stack of an environment merged into one mapping per environment.

    ``outputs_by_stack`` comes in deploy order (:func:`.graph.read_stacks`), so when two stacks
    of an environment have an output of the same name, the stack that depends on the other (the
    application stack, not the network stack it reads) wins.
    """
    merged: dict[str, dict[str, Any]] = {}
    for info, outputs in outputs_by_stack:
        merged.setdefault(info.environment, {}).update(outputs)
    return merged


def region_key(region: str) -> str:
    """A region as part of an output key: ``us-east-1`` -> ``us_east_1``."""
    return region.replace("-", "_")


def multi_region_flat_outputs(
    outputs_by_stack: Iterable[tuple[StackInfo, Mapping[str, Any]]],
    primary_regions: Mapping[str, str],
) -> dict[str, Any]:
    """Flat outputs of environments that may span regions.

    ``<environment>_<output>``: the primary region's stacks merged (``primary_regions`` names it
    per environment; a single-region environment's only region). An environment with stacks in
    more than one region also gets ``<environment>_<region>_<output>`` for every region
    (``region`` with ``_`` for ``-``, :func:`region_key`), e.g. ``global_us_east_2_vpc_id``.
    Within a region, the stack that depends on the other wins a clash (deploy order).
    """
    by_region: dict[str, dict[str, dict[str, Any]]] = {}
    for info, outputs in outputs_by_stack:
        by_region.setdefault(info.environment, {}).setdefault(info.region, {}).update(outputs)
    flat: dict[str, Any] = {}
    for environment, regions in by_region.items():
        primary = primary_regions.get(environment) or next(iter(regions))
        for name, value in regions.get(primary, {}).items():
            flat[f"{environment}_{name}"] = value
        if len(regions) > 1:
            for region, outputs in regions.items():
                for name, value in outputs.items():
                    flat[f"{environment}_{region_key(region)}_{name}"] = value
    return flat


def write_flat_outputs(root: Path, flat: Mapping[str, Any]) -> Path:
    """Merge ``flat`` into the outputs file (:func:`outputs_path`; other environments' keys are
    kept)."""
    path = outputs_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    current: dict[str, Any] = {}
    if path.is_file():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            current = {}
    current.update(flat)
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def remove_outputs(root: Path, environment: str) -> None:
    """Drop an environment's keys from the outputs file (after its destroy)."""
    path = outputs_path(root)
    if not path.is_file():
        return
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return
    kept = {k: v for k, v in current.items() if not k.startswith(f"{environment}_")}
    path.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_outputs(root: Path, environment: str) -> dict[str, Any]:
    """The flat outputs of the last deploys (missing: a LifecycleError naming ``environment``)."""
    path = outputs_path(root)
    try:
        outputs: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise LifecycleError(
            f"{path.relative_to(root)} is missing: run `./tap deploy --env {environment}`."
        ) from None
    return outputs
