"""Live drift: what a deploy would change now, per stack and region, published as a metric.

``invoke drift`` (default, live) runs for every stack of a deployment, in deploy order,
``terraform plan -detailed-exitcode -lock=false -json`` and counts the resources the plan would
change from its ``planned_change`` messages (:func:`changed_addresses`; Terraform's
machine-readable UI, :mod:`tooling.lifecycle.terraform_events`: no saved plan and no
``terraform show``, which would start the provider once more per stack), sums them per region
and publishes the sum to CloudWatch in that region as ``trading_infra.drift_metric.NAMESPACE`` /
``METRIC_NAME`` with the deployment and region as dimensions; each region's ``TAP/Drift
ResourcesToChange`` alarm watches it. Drift is reported through the metric and alarm, not the
exit code.

The counting is pure (messages in, counts out) and tested without terraform.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from trading_infra import drift_metric

from tooling.lifecycle.terraform_events import Message, diagnostics, parse

__all__ = [
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


def changed_addresses(messages: Iterable[Message]) -> list[str]:
    """Addresses of the ``planned_change`` messages among ``messages`` whose action changes a
    remote object (create, update, replace, delete, forget; not a read, a move or an import
    alone), in the order of the plan."""
    return [
        m.planned.address for m in messages if m.planned is not None and m.planned.changes_remote
    ]


def count_changes(messages: Iterable[Message]) -> int:
    """How many resources the plan of ``messages`` would change (:func:`changed_addresses`)."""
    return len(changed_addresses(messages))


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
    result = session.terraform(
        ["plan", "-detailed-exitcode", "-input=false", "-lock=false", "-json"],
        stack.directory,
        check=False,
    )
    messages = [parse(line) for line in (result.stdout or "").splitlines() if line.strip()]
    if result.returncode not in (0, 2):
        errors = [line for d in diagnostics(messages) for line in d.lines()]
        text = errors or (result.stderr or "").rstrip().splitlines()
        raise DriftError(
            f"terraform plan of {stack.name} failed (exit {result.returncode}):\n"
            + "\n".join(text[-25:])
        )
    return StackDrift(
        stack.name, stack.environment, stack.region, tuple(changed_addresses(messages))
    )


def publish(session: Any, drifts: Sequence[StackDrift]) -> dict[tuple[str, str], int]:
    """Put each region's total into CloudWatch in that region; return the totals."""
    totals = per_region(drifts)
    for (environment, region), changes in totals.items():
        session.client("cloudwatch", region).put_metric_data(
            Namespace=drift_metric.NAMESPACE,
            MetricData=[metric_datum(environment, region, changes)],
        )
    return totals
