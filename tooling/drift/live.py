"""Live drift: what a deploy would change now, per stack and region, published as a metric.

``invoke drift`` (default, live) runs for every stack of a deployment, in deploy order,
``terraform plan -detailed-exitcode -lock=false -out=<file>`` and ``terraform show -json
<file>``, counts the resources the plan would change (:func:`count_changes`), sums them per
region and publishes the sum to CloudWatch in that region as
``trading_infra.drift_metric.NAMESPACE`` / ``METRIC_NAME`` with the deployment and region as
dimensions; each region's ``TAP/Drift ResourcesToChange`` alarm watches it (a check that stops
reporting alarms too). Drift is reported through the metric and alarm, not the exit code.

The counting is pure (plan JSON in, counts out) and tested without terraform.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trading_infra import drift_metric

__all__ = [
    "UNCHANGED_ACTIONS",
    "DriftError",
    "StackDrift",
    "changed_addresses",
    "count_changes",
    "format_table",
    "metric_datum",
    "per_region",
    "plan_drift",
    "publish",
]

#: Plan actions that change nothing: a resource left as it is, or a data source read.
UNCHANGED_ACTIONS: tuple[tuple[str, ...], ...] = (("no-op",), ("read",))


class DriftError(RuntimeError):
    """The plan of a stack failed: drift is unknown (not zero)."""


@dataclass(frozen=True)
class StackDrift:
    """One stack's drift: the resources its plan would change."""

    stack: str
    environment: str
    region: str
    addresses: tuple[str, ...]

    @property
    def changes(self) -> int:
        return len(self.addresses)


def changed_addresses(plan: Mapping[str, Any]) -> list[str]:
    """Addresses of ``plan``'s (``terraform show -json``) ``resource_changes`` whose actions
    are not ``["no-op"]`` or ``["read"]`` (create, update, delete, replace...)."""
    found = []
    for change in plan.get("resource_changes") or []:
        actions = tuple((change.get("change") or {}).get("actions") or ())
        if actions and actions not in UNCHANGED_ACTIONS:
            found.append(str(change.get("address", "?")))
    return found


def count_changes(plan: Mapping[str, Any]) -> int:
    """How many resources ``plan`` would change (see :func:`changed_addresses`)."""
    return len(changed_addresses(plan))


def per_region(drifts: Iterable[StackDrift]) -> dict[tuple[str, str], int]:
    """{(environment, region): changes summed over that region's stacks}."""
    totals: dict[tuple[str, str], int] = {}
    for drift in drifts:
        key = (drift.environment, drift.region)
        totals[key] = totals.get(key, 0) + drift.changes
    return totals


def metric_datum(environment: str, region: str, changes: int) -> dict[str, Any]:
    """The CloudWatch ``MetricData`` entry of one region's drift count."""
    return {
        "MetricName": drift_metric.METRIC_NAME,
        "Dimensions": [
            {"Name": drift_metric.DEPLOYMENT_DIMENSION, "Value": environment},
            {"Name": drift_metric.REGION_DIMENSION, "Value": region},
        ],
        "Value": float(changes),
        "Unit": "Count",
    }


def format_table(drifts: Sequence[StackDrift]) -> str:
    """A plain-text table: region, stack, changes (and a total per region)."""
    rows = [("region", "stack", "changes")]
    rows += [(d.region, d.stack, str(d.changes)) for d in drifts]
    rows += [(region, "(total)", str(n)) for (_env, region), n in per_region(drifts).items()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        f"{row[0]:{widths[0]}}  {row[1]:{widths[1]}}  {row[2]:>{widths[2]}}" for row in rows
    )


def plan_drift(session: Any, stack: Any) -> StackDrift:
    """Plan one stack (a ``tooling.lifecycle.graph.StackInfo``, initialized) without locking
    its state, and count what would change."""
    with tempfile.TemporaryDirectory(prefix="tap-drift-") as scratch:
        plan_file = Path(scratch) / "drift.tfplan"
        result = session.terraform(
            [
                "plan",
                "-detailed-exitcode",
                "-input=false",
                "-no-color",
                "-lock=false",
                f"-out={plan_file}",
            ],
            stack.directory,
            check=False,
        )
        if result.returncode not in (0, 2):
            raise DriftError(
                f"terraform plan of {stack.name} failed (exit {result.returncode}):\n"
                + "\n".join((result.stderr or result.stdout).rstrip().splitlines()[-25:])
            )
        shown = session.terraform(["show", "-json", "-no-color", str(plan_file)], stack.directory)
    addresses = changed_addresses(json.loads(shown.stdout or "{}"))
    return StackDrift(stack.name, stack.environment, stack.region, tuple(addresses))


def publish(session: Any, drifts: Sequence[StackDrift]) -> dict[tuple[str, str], int]:
    """Put each region's total into CloudWatch in that region; return the totals."""
    totals = per_region(drifts)
    for (environment, region), changes in totals.items():
        session.client("cloudwatch", region).put_metric_data(
            Namespace=drift_metric.NAMESPACE,
            MetricData=[metric_datum(environment, region, changes)],
        )
    return totals
