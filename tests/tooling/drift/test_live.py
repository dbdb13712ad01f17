"""tooling.drift.live: counting drift from plan JSON and the metric it publishes (no terraform)."""

from __future__ import annotations

from typing import Any

import pytest
from trading_infra import drift_metric

from tooling.drift.live import (
    StackDrift,
    changed_addresses,
    count_changes,
    format_table,
    metric_datum,
    per_region,
)


def _change(address: str, *actions: str) -> dict[str, Any]:
    return {"address": address, "change": {"actions": list(actions)}}


PLAN = {
    "format_version": "1.2",
    "resource_changes": [
        _change("aws_vpc.a", "no-op"),
        _change("data.aws_caller_identity.c", "read"),
        _change("aws_lambda_function.f", "update"),
        _change("aws_s3_bucket.b", "create"),
        _change("aws_sqs_queue.q", "delete"),
        _change("aws_kms_key.k", "delete", "create"),
        _change("aws_iam_role.r", "create", "delete"),
    ],
}


def test_counts_every_action_but_no_op_and_read() -> None:
    assert changed_addresses(PLAN) == [
        "aws_lambda_function.f",
        "aws_s3_bucket.b",
        "aws_sqs_queue.q",
        "aws_kms_key.k",
        "aws_iam_role.r",
    ]
    assert count_changes(PLAN) == 5


@pytest.mark.parametrize(
    "plan",
    [{}, {"resource_changes": None}, {"resource_changes": []}, {"resource_changes": [
        _change("aws_vpc.a", "no-op"), _change("data.aws_region.r", "read")
    ]}],
)  # fmt: skip
def test_a_plan_without_changes_counts_zero(plan: dict[str, Any]) -> None:
    assert count_changes(plan) == 0


def test_per_region_sums_the_stacks_of_a_region() -> None:
    drifts = [
        StackDrift("g-a-network", "global", "ap-southeast-1", ()),
        StackDrift("g-a-app", "global", "ap-southeast-1", ("x",)),
        StackDrift("g-b-network", "global", "us-east-2", ("y", "z")),
        StackDrift("g-b-app", "global", "us-east-2", ("w",)),
        StackDrift("g-c-app", "global", "us-east-1", ()),
    ]
    assert per_region(drifts) == {
        ("global", "ap-southeast-1"): 1,
        ("global", "us-east-2"): 3,
        ("global", "us-east-1"): 0,
    }
    table = format_table(drifts)
    assert "g-b-network" in table and table.splitlines()[0].split() == [
        "region",
        "stack",
        "changes",
    ]


def test_the_metric_is_the_alarms_metric() -> None:
    datum = metric_datum("global", "us-east-2", 3)
    assert datum["MetricName"] == drift_metric.METRIC_NAME
    assert datum["Value"] == 3.0
    assert {d["Name"]: d["Value"] for d in datum["Dimensions"]} == {
        drift_metric.DEPLOYMENT_DIMENSION: "global",
        drift_metric.REGION_DIMENSION: "us-east-2",
    }


def test_the_alarm_watches_the_same_metric() -> None:
    """The Alarms construct's drift alarm uses the same namespace, name and dimensions."""
    import inspect

    from trading_infra.components import monitoring

    source = inspect.getsource(monitoring)
    assert "drift_metric.NAMESPACE" in source and "drift_metric.METRIC_NAME" in source
