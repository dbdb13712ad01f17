"""tooling.lifecycle.plan_report: the reviewable plan built from `terraform show -json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tooling.lifecycle.plan_report import (
    REPORT_JSON,
    REPORT_MARKDOWN,
    markdown,
    stack_plan,
    summary_lines,
    write_reports,
)


def _change(address: str, *actions: str, **extra: Any) -> dict[str, Any]:
    return {"address": address, "change": {"actions": list(actions), **extra}}


PLAN = {
    "resource_changes": [
        _change("aws_s3_bucket.Data", "create"),
        _change("aws_lambda_function.Processor", "update"),
        _change("aws_dynamodb_table.Trades", "no-op"),
        _change(
            "aws_db_instance.Writer",
            "delete",
            "create",
            replace_paths=[["engine_version"]],
        ),
        _change("aws_sqs_queue.Old", "delete"),
        _change("data.aws_caller_identity.Me", "read"),
    ]
}


def test_replacements_and_deletions_come_first() -> None:
    plan = stack_plan("tap-dev-app", PLAN)
    assert [(c.kind, c.address) for c in plan.changes] == [
        ("replace", "aws_db_instance.Writer"),
        ("destroy", "aws_sqs_queue.Old"),
        ("update", "aws_lambda_function.Processor"),
        ("create", "aws_s3_bucket.Data"),
    ]
    assert plan.changes[0].forcing == ("engine_version",)


def test_counts_leave_out_no_ops_and_reads() -> None:
    counts = stack_plan("s", PLAN).counts
    assert counts == {"replace": 1, "destroy": 1, "update": 1, "create": 1}


def test_the_summary_marks_what_is_lost() -> None:
    lines = summary_lines([stack_plan("tap-dev-app", PLAN), stack_plan("tap-dev-net", {})])
    assert lines[1] == "  tap-dev-app: 1 to add, 1 to change, 1 to replace, 1 to destroy"
    assert lines[2].split() == [
        "!!", "REPLACE", "aws_db_instance.Writer", "(forced", "by", "engine_version)"
    ]  # fmt: skip
    assert lines[3].split()[:2] == ["!!", "DESTROY"]
    assert lines[-1] == "  tap-dev-net: no changes"


def test_the_markdown_report_leads_with_the_danger() -> None:
    text = markdown([stack_plan("tap-dev-app", PLAN)])
    assert "**2 resource(s) replaced or destroyed.**" in text
    assert "| `tap-dev-app` | 1 | 1 | 1 | 1 |" in text
    assert text.index("aws_db_instance.Writer") < text.index("aws_s3_bucket.Data")


def test_both_reports_are_written(tmp_path: Path) -> None:
    json_path, markdown_path = write_reports(tmp_path, [stack_plan("tap-dev-app", PLAN)])
    assert (json_path, markdown_path) == (tmp_path / REPORT_JSON, tmp_path / REPORT_MARKDOWN)
    (stack,) = json.loads(json_path.read_text())["stacks"]
    assert stack["stack"] == "tap-dev-app" and stack["changes"][0]["kind"] == "replace"
    assert markdown_path.read_text().startswith("## Terraform plan")
