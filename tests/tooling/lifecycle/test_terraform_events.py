"""tooling.lifecycle.terraform_events: the JSON UI messages of ``terraform apply/plan/destroy
-json``, read from lines recorded with terraform 1.11.4 (recorded_ui), and once from the real
terraform of this machine (the built-in ``terraform_data``: no provider, no cloud)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.tooling.lifecycle import recorded_ui as ui
from tooling.lifecycle.terraform_events import (
    TEXT,
    Changes,
    Completed,
    Diagnostic,
    Message,
    Planned,
    diagnostics,
    parse,
)
from tooling.terraform import run_terraform


def test_a_resource_done_is_read_from_apply_complete() -> None:
    assert parse(ui.CREATION_COMPLETE) == Message(
        "apply_complete",
        "terraform_data.ok: Creation complete after 0s [id=dd811498-bc40-1f43-85f6-231ff42c414d]",
        completed=Completed("terraform_data.ok", "create", 0.0),
    )
    assert parse(ui.MODIFICATIONS_COMPLETE).completed == Completed(
        "terraform_data.ok", "update", 0.0
    )
    assert parse(ui.DESTRUCTION_COMPLETE).completed == Completed("terraform_data.ok", "delete", 0)


def test_a_data_source_read_during_an_apply_changes_nothing() -> None:
    read = parse(ui.DATA_SOURCE_READ).completed
    assert read == Completed("data.aws_caller_identity.CallerIdentity", "read", 0.0)
    assert not read.changed
    assert parse(ui.CREATION_COMPLETE).completed.changed  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("line", "changes"),
    [
        (ui.PLAN_SUMMARY, Changes("plan", add=2)),
        (ui.APPLY_SUMMARY, Changes("apply", change=1)),
        (ui.APPLY_SUMMARY_WITH_IMPORT, Changes("apply", add=1, imported=1)),
        (ui.DESTROY_SUMMARY, Changes("destroy", remove=2)),
    ],
)
def test_the_counts_are_read_from_change_summary(line: str, changes: Changes) -> None:
    assert parse(line).changes == changes


def test_an_error_about_a_resource_is_a_diagnostic_with_its_address() -> None:
    message = parse(ui.PROVISIONER_ERROR)
    assert message.type == "diagnostic"
    assert message.diagnostic == Diagnostic(
        "error",
        "local-exec provisioner error",
        "Error running command 'exit 3': exit status 3. Output: ",
        "terraform_data.bad",
    )
    # rendered as the human view lays it out, without the source snippet
    assert message.lines() == [
        "Error: local-exec provisioner error",
        "  with terraform_data.bad",
        "Error running command 'exit 3': exit status 3. Output:",
    ]


def test_an_error_about_no_resource_has_no_address() -> None:
    lock = parse(ui.LOCK_ERROR).diagnostic
    assert lock is not None
    assert (lock.severity, lock.summary, lock.address) == (
        "error",
        "Error acquiring the state lock",
        "",
    )
    lines = parse(ui.LOCK_ERROR).lines()
    assert lines[:3] == [
        "Error: Error acquiring the state lock",
        "Error message: resource temporarily unavailable",
        "Lock Info:",
    ]
    assert parse(ui.FLAG_ERROR).lines() == [
        "Error: Failed to parse command-line flags",
        "flag provided but not defined: -badflag",
    ]


def test_a_warning_is_rendered_as_one() -> None:
    warning = Diagnostic("warning", "Argument is deprecated", "Use x instead.", "aws_s3_bucket.b")
    assert warning.lines() == [
        "Warning: Argument is deprecated",
        "  with aws_s3_bucket.b",
        "Use x instead.",
    ]
    assert not warning.is_error


def test_a_planned_change_is_its_address_and_action() -> None:
    assert parse(ui.PLANNED_CREATE).planned == Planned("terraform_data.ok", "create")
    assert parse(ui.UPDATE_RUN[3]).planned == Planned("terraform_data.ok", "update")
    assert parse(ui.PLAN_SUMMARY).planned is None


def test_other_messages_are_their_text() -> None:
    assert parse(ui.VERSION) == Message("version", "Terraform 1.11.4")
    assert parse(ui.APPLY_START).lines() == ["terraform_data.ok: Creating..."]
    assert parse(ui.PLANNED_CREATE).lines() == ["terraform_data.ok: Plan to create"]


@pytest.mark.parametrize(
    "line",
    [
        "There are some problems with the CLI configuration:",
        "",
        "panic: runtime error: invalid memory address",
        '"a JSON string"',
        "[1, 2]",
        '{"no": "type"}',
        "{not json",
    ],
)
def test_a_line_that_is_not_a_message_is_kept_as_text(line: str) -> None:
    assert parse(line) == Message(TEXT, line)
    assert parse(line).lines() == [line]


def test_diagnostics_are_the_errors_unless_warnings_are_asked_for() -> None:
    warning = json.dumps(
        {"type": "diagnostic", "@message": "Warning: w", "diagnostic": {"severity": "warning",
         "summary": "w"}}
    )  # fmt: skip
    messages = [parse(line) for line in (ui.VERSION, warning, ui.PROVISIONER_ERROR, "text")]
    assert [d.summary for d in diagnostics(messages)] == ["local-exec provisioner error"]
    assert [d.summary for d in diagnostics(messages, errors_only=False)] == [
        "w",
        "local-exec provisioner error",
    ]


def test_the_real_terraform_writes_these_shapes(terraform_repo: Path, tmp_path: Path) -> None:
    """GIVEN a configuration of two ``terraform_data`` resources, one whose provisioner fails
    WHEN it is applied with ``-json`` THEN the messages say what was created, what failed (with
    its address) and nothing else went wrong."""
    config: dict[str, Any] = {
        "resource": {
            "terraform_data": {
                "ok": {"input": "hello"},
                "bad": {"input": "x", "provisioner": [{"local-exec": {"command": "exit 3"}}]},
            }
        }
    }
    (tmp_path / "main.tf.json").write_text(json.dumps(config), encoding="utf-8")

    def terraform(*args: str) -> list[Message]:
        result = run_terraform(
            list(args), cwd=tmp_path, repo_root=terraform_repo, capture=True, check=False
        )
        return [parse(line) for line in result.stdout.splitlines()]

    terraform("init", "-input=false")
    messages = terraform("apply", "-auto-approve", "-input=false", "-json")
    assert messages[0].type == "version"
    assert [m.changes for m in messages if m.changes] == [Changes("plan", add=2)]
    assert [m.completed.address for m in messages if m.completed] == ["terraform_data.ok"]
    assert [(d.summary, d.address) for d in diagnostics(messages)] == [
        ("local-exec provisioner error", "terraform_data.bad")
    ]
    assert TEXT not in {m.type for m in messages}
    assert sorted(m.planned for m in messages if m.planned is not None) == [
        Planned("terraform_data.bad", "create"),
        Planned("terraform_data.ok", "create"),
    ]
    # WHEN a resource only moves to another address THEN its planned change keeps the object
    config["resource"]["terraform_data"]["kept"] = config["resource"]["terraform_data"].pop("ok")
    config["moved"] = [{"from": "terraform_data.ok", "to": "terraform_data.kept"}]
    (tmp_path / "main.tf.json").write_text(json.dumps(config), encoding="utf-8")
    planned = terraform("plan", "-input=false", "-json")
    moved = [m.planned for m in planned if m.planned is not None]
    assert sorted(moved) == [
        Planned("terraform_data.bad", "replace"),  # tainted by its failed provisioner
        Planned("terraform_data.kept", "move"),
    ]
    assert [p.changes_remote for p in sorted(moved)] == [True, False]
    destroyed = terraform("destroy", "-auto-approve", "-input=false", "-json")
    assert [m.changes for m in destroyed if m.changes][-1] == Changes("destroy", remove=2)
