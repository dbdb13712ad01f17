"""tooling.lifecycle.runs: apply, destroy and plan streamed through the one terraform runner,
with progress lines and a per-line callback (a fake terraform binary, no cloud)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tooling.lifecycle.runs import PLAN_CHANGES, apply_stack, destroy_stack, plan_stack
from tooling.lifecycle.session import DeployError, Session

FAKE_TERRAFORM = """#!/bin/sh
if [ -n "$FAKE_TERRAFORM_FAILS" ]; then echo "Error: creating bucket: boom"; exit 1; fi
case "$1" in
apply)
  echo "aws_s3_bucket.a: Creating..."
  echo "aws_s3_bucket.a: Creation complete after 1s [id=a]"
  echo "aws_sqs_queue.q: Modifications complete after 2s [id=q]"
  echo "Apply complete! Resources: 1 added, 1 changed, 0 destroyed."
  ;;
destroy)
  echo "aws_s3_bucket.a: Destruction complete after 1s"
  echo "Destroy complete! Resources: 1 destroyed."
  ;;
plan)
  echo "Plan: 1 to add, 0 to change, 0 to destroy."
  echo "warning on stderr" >&2
  exit 2
  ;;
esac
"""


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Session, Path]:
    """An aws-target session whose terraform is the fake above, and a stack directory."""
    fake = tmp_path / "terraform"
    fake.write_text(FAKE_TERRAFORM, encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("TAP_TERRAFORM", str(fake))
    monkeypatch.delenv("TAP_TF_PROVIDER_MIRROR", raising=False)
    monkeypatch.delenv("FAKE_TERRAFORM_FAILS", raising=False)
    stack_dir = tmp_path / "tap-dev-r-1-app"
    stack_dir.mkdir()
    return Session(root=tmp_path, target="aws"), stack_dir


def test_apply_counts_and_shows_one_progress_line_per_resource(
    stack: tuple[Session, Path],
) -> None:
    session, stack_dir = stack
    out, lines = io.StringIO(), list[str]()
    result = apply_stack(session, stack_dir, out=out, on_line=lines.append)
    assert (result.added, result.changed, result.destroyed) == (1, 1, 0)
    assert result.completed == ["aws_s3_bucket.a", "aws_sqs_queue.q"]
    progress = out.getvalue().splitlines()
    assert len(progress) == 2
    assert re.fullmatch(
        r"tap-dev-r-1-app: 2 resource\(s\) created/updated \( +\d+ s\) last: aws_sqs_queue\.q",
        progress[1],
    )
    assert lines[0] == "aws_s3_bucket.a: Creating..."  # every line, for a caller's own prefix
    assert len(lines) == 4


def test_destroy_counts_what_it_destroyed(stack: tuple[Session, Path]) -> None:
    session, stack_dir = stack
    out = io.StringIO()
    result = destroy_stack(session, stack_dir, out=out)
    assert (result.destroyed, result.no_changes) == (1, False)
    assert "1 resource(s) destroyed" in out.getvalue()


def test_a_failed_apply_names_the_stack_and_the_error(
    stack: tuple[Session, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, stack_dir = stack
    monkeypatch.setenv("FAKE_TERRAFORM_FAILS", "1")
    with pytest.raises(DeployError, match="apply of tap-dev-r-1-app failed \\(exit 1\\)") as error:
        apply_stack(session, stack_dir, out=io.StringIO())
    assert "Error: creating bucket: boom" in str(error.value)


def test_plan_returns_its_code_and_whole_output(stack: tuple[Session, Path]) -> None:
    session, stack_dir = stack
    lines: list[str] = []
    code, output = plan_stack(session, stack_dir, out=io.StringIO(), on_line=lines.append)
    assert code == PLAN_CHANGES
    assert output == "Plan: 1 to add, 0 to change, 0 to destroy.\nwarning on stderr\n"
    assert lines == output.splitlines()
