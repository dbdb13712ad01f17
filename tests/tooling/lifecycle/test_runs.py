"""tooling.lifecycle.runs: apply, destroy and plan streamed through the one terraform runner with
``-json``, read from Terraform's machine-readable UI (a fake terraform binary printing lines
recorded from terraform 1.11.4, no cloud): progress lines, counts, failures, and the human
lines a caller receives."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.tooling.lifecycle import recorded_ui as ui
from tooling.lifecycle.runs import PLAN_CHANGES, apply_stack, destroy_stack, plan_stack
from tooling.lifecycle.session import DeployError, Session

FAKE_TERRAFORM = """#!/bin/sh
# Prints the recorded messages of its command (a file per command), logs its arguments.
echo "$@" >> "$FAKE_DIR/args"
if [ -n "$FAKE_TERRAFORM_FAILS" ]; then cat "$FAKE_DIR/fails"; exit 1; fi
cat "$FAKE_DIR/$1"
if [ "$1" = "plan" ]; then echo "warning on stderr" >&2; exit 2; fi
"""


def _write(path: Path, lines: Sequence[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Session, Path, Path]:
    """An aws-target session whose terraform is the fake above, a stack directory and the
    fake's directory of recorded runs: an update, a destroy, a plan, a failed apply."""
    fake = tmp_path / "terraform"
    fake.write_text(FAKE_TERRAFORM, encoding="utf-8")
    fake.chmod(0o755)
    runs = tmp_path / "recorded"
    runs.mkdir()
    # an apply that also read a data source (not a change) before its modification
    _write(runs / "apply", [*ui.UPDATE_RUN[:5], ui.DATA_SOURCE_READ, *ui.UPDATE_RUN[5:]])
    _write(runs / "destroy", ui.DESTROY_RUN)
    _write(runs / "plan", [ui.VERSION, ui.PLANNED_CREATE, ui.PLAN_SUMMARY])
    _write(runs / "fails", ["Some text a plugin wrote", ui.VERSION, ui.PROVISIONER_ERROR])
    monkeypatch.setenv("TAP_TERRAFORM", str(fake))
    monkeypatch.setenv("FAKE_DIR", str(runs))
    monkeypatch.delenv("TAP_TF_PROVIDER_MIRROR", raising=False)
    monkeypatch.delenv("FAKE_TERRAFORM_FAILS", raising=False)
    stack_dir = tmp_path / "tap-dev-r-1-app"
    stack_dir.mkdir()
    return Session(root=tmp_path, target="aws"), stack_dir, runs


def test_apply_reads_the_json_messages_for_its_counts_and_progress(
    stack: tuple[Session, Path, Path],
) -> None:
    session, stack_dir, runs = stack
    out, lines = io.StringIO(), list[str]()
    result = apply_stack(session, stack_dir, out=out, on_line=lines.append)
    assert (runs / "args").read_text() == "apply -auto-approve -input=false -json\n"
    # the apply's change_summary, not its plan's; the data source read is no resource done
    assert (result.added, result.changed, result.destroyed) == (0, 1, 0)
    assert result.completed == ["terraform_data.ok"]
    progress = out.getvalue().splitlines()
    assert len(progress) == 1
    assert re.fullmatch(
        r"tap-dev-r-1-app: 1 resource\(s\) created/updated \( +\d+ s\) last: terraform_data\.ok",
        progress[0],
    )
    # every message reaches the caller as the human line terraform would have printed
    assert lines == [
        "Terraform 1.11.4",
        "terraform_data.ok: Refreshing state... [id=9d220489-f518-0ba5-8ab4-8a2e37dc3f63]",
        "terraform_data.ok: Refresh complete [id=9d220489-f518-0ba5-8ab4-8a2e37dc3f63]",
        "terraform_data.ok: Plan to update",
        "Plan: 0 to add, 1 to change, 0 to destroy.",
        "data.aws_caller_identity.CallerIdentity: Refresh complete after 0s [id=123456789012]",
        "terraform_data.ok: Modifying... [id=9d220489-f518-0ba5-8ab4-8a2e37dc3f63]",
        "terraform_data.ok: Modifications complete after 0s "
        "[id=9d220489-f518-0ba5-8ab4-8a2e37dc3f63]",
        "Apply complete! Resources: 0 added, 1 changed, 0 destroyed.",
        "Outputs: 0",
    ]


def test_destroy_counts_what_it_destroyed_with_a_progress_line_each(
    stack: tuple[Session, Path, Path],
) -> None:
    session, stack_dir, runs = stack
    out = io.StringIO()
    result = destroy_stack(session, stack_dir, out=out)
    assert (runs / "args").read_text() == "destroy -auto-approve -input=false -json\n"
    assert (result.destroyed, result.no_changes) == (2, False)
    assert result.completed == ["terraform_data.bad", "terraform_data.ok"]
    assert [line.split(" (")[0] for line in out.getvalue().splitlines()] == [
        "tap-dev-r-1-app: 1 resource(s) destroyed",
        "tap-dev-r-1-app: 2 resource(s) destroyed",
    ]


def test_progress_goes_to_the_reporter_when_there_is_one(
    stack: tuple[Session, Path, Path],
) -> None:
    session, stack_dir, _ = stack
    out, reported = io.StringIO(), list[tuple[int, str]]()
    destroy_stack(session, stack_dir, out=out, progress=lambda n, last: reported.append((n, last)))
    assert reported == [(1, "terraform_data.bad"), (2, "terraform_data.ok")]
    assert out.getvalue() == ""


def test_a_failed_apply_names_the_stack_and_shows_the_diagnostic_readably(
    stack: tuple[Session, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, stack_dir, _ = stack
    monkeypatch.setenv("FAKE_TERRAFORM_FAILS", "1")
    with pytest.raises(DeployError, match="apply of tap-dev-r-1-app failed \\(exit 1\\)") as error:
        apply_stack(session, stack_dir, out=io.StringIO())
    assert str(error.value).splitlines()[1:] == [
        "Error: local-exec provisioner error",
        "  with terraform_data.bad",
        "Error running command 'exit 3': exit status 3. Output:",
        "Some text a plugin wrote",  # a line that is not JSON is kept as it was
    ]


def test_a_failed_destroy_shows_the_diagnostic(
    stack: tuple[Session, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, stack_dir, _ = stack
    monkeypatch.setenv("FAKE_TERRAFORM_FAILS", "1")
    with pytest.raises(DeployError, match="destroy of tap-dev-r-1-app failed") as error:
        destroy_stack(session, stack_dir, out=io.StringIO())
    assert "Error: local-exec provisioner error\n  with terraform_data.bad" in str(error.value)


def test_a_failure_without_diagnostics_shows_the_last_lines(
    stack: tuple[Session, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, stack_dir, runs = stack
    _write(runs / "fails", [ui.VERSION, ui.APPLY_START])
    monkeypatch.setenv("FAKE_TERRAFORM_FAILS", "1")
    with pytest.raises(DeployError) as error:
        apply_stack(session, stack_dir, out=io.StringIO())
    assert str(error.value).splitlines()[1:] == [
        "Terraform 1.11.4",
        "terraform_data.ok: Creating...",
    ]


def test_plan_returns_its_code_and_its_messages_as_human_text(
    stack: tuple[Session, Path, Path],
) -> None:
    session, stack_dir, runs = stack
    lines: list[str] = []
    code, output = plan_stack(session, stack_dir, out=io.StringIO(), on_line=lines.append)
    assert (runs / "args").read_text() == (
        "plan -detailed-exitcode -input=false -json -lock-timeout=60s\n"
    )
    assert code == PLAN_CHANGES
    assert output == (
        "Terraform 1.11.4\n"
        "terraform_data.ok: Plan to create\n"
        "Plan: 2 to add, 0 to change, 0 to destroy.\n"
        "warning on stderr\n"
    )
    assert lines == output.splitlines()


def test_plan_saves_its_plan_when_asked(stack: tuple[Session, Path, Path]) -> None:
    session, stack_dir, runs = stack
    plan_stack(session, stack_dir, out=io.StringIO(), plan_file=stack_dir / "p.tfplan")
    assert (runs / "args").read_text().split()[-1] == f"-out={stack_dir / 'p.tfplan'}"
