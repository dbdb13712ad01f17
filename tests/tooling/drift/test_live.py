"""tooling.drift.live: counting drift from plan JSON and the metric it publishes (no terraform)."""

from __future__ import annotations

import json

import pytest
from trading_infra import drift_metric

from tests.tooling.lifecycle import recorded_ui as ui
from tooling.drift.live import (
    StackDrift,
    changed_addresses,
    count_changes,
    format_table,
    metric_datum,
    per_region,
)
from tooling.lifecycle.terraform_events import parse


def _planned(address: str, action: str) -> str:
    """A ``planned_change`` line as ``terraform plan -json`` writes it (the shape of
    tests/tooling/lifecycle/recorded_ui.py's lines, recorded from terraform 1.11.4)."""
    resource = {"addr": address, "module": "", "resource": address}
    body = {"change": {"resource": resource, "action": action}, "type": "planned_change"}
    return json.dumps({"@level": "info", "@message": f"{address}: Plan to {action}", **body})


PLAN = [
    parse(line)
    for line in (
        ui.VERSION,
        _planned("data.aws_caller_identity.c", "read"),
        _planned("aws_lambda_function.f", "update"),
        _planned("aws_s3_bucket.b", "create"),
        _planned("aws_sqs_queue.q", "delete"),
        _planned("aws_kms_key.k", "replace"),
        _planned("aws_route.moved", "move"),
        _planned("aws_iam_role.imported", "import"),
        _planned("aws_sns_topic.forgotten", "remove"),
        ui.PLAN_SUMMARY,
    )
]


def test_counts_what_changes_or_forgets_a_remote_object() -> None:
    assert changed_addresses(PLAN) == [
        "aws_lambda_function.f",
        "aws_s3_bucket.b",
        "aws_sqs_queue.q",
        "aws_kms_key.k",
        "aws_sns_topic.forgotten",
    ]
    assert count_changes(PLAN) == 5


@pytest.mark.parametrize(
    "lines",
    [(), (ui.VERSION, ui.PLAN_SUMMARY), (_planned("data.aws_region.r", "read"),
                                          _planned("aws_vpc.a", "move"))],
)  # fmt: skip
def test_a_plan_without_changes_counts_zero(lines: tuple[str, ...]) -> None:
    assert count_changes(parse(line) for line in lines) == 0


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
