"""tooling.lifecycle.commands without a cloud: what needs no synth and no scheduler (the e2e
tests run the commands against the emulator; test_commands_scheduler.py runs them on fakes)."""

from __future__ import annotations

import io
from pathlib import Path

from tooling.lifecycle.commands.drift import static_drift
from tooling.lifecycle.commands.hints import NO_HINTS, Hints
from tooling.lifecycle.commands.stack_run import next_steps
from tooling.lifecycle.jobs import JobOutcome
from tooling.lifecycle.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]

LOCKED = JobOutcome(
    "tap-dev-r-1-app",
    "failed",
    1.0,
    None,
    "the state of tap-dev-r-1-app is locked (lock L-1, in the lock table):\n"
    "  held by ci on runner-7, pid 42, running deploy (terraform apply)\n"
    "  tap unlock --stack tap-dev-r-1-app --lock-id L-1",
)
FAILED = JobOutcome("tap-dev-r-1-network", "failed", 1.0, None, "Error: creating VPC")


def test_static_drift_of_single_region_environments_compares_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    ws = Workspace(root=ROOT, outdir=tmp_path / "cdktf.out", out=out)
    assert static_drift(ws, "dev,prod") == []
    assert out.getvalue() == (
        "drift --static: no multi-region environment in ['dev', 'prod']: nothing to compare\n"
    )
    assert not (tmp_path / "cdktf.out").exists()  # nothing was synthesized


def test_the_next_steps_are_the_unlock_lines_of_the_errors_then_the_command_again() -> None:
    hints = Hints(again="tap deploy --env dev", unlock="tap unlock ")
    assert next_steps([FAILED, LOCKED], hints) == [
        "tap unlock --stack tap-dev-r-1-app --lock-id L-1   (after checking nobody else runs "
        "tap-dev-r-1-app)",
        "tap deploy --env dev   (after fixing what the failed stacks report)",
    ]


def test_an_error_line_is_a_step_only_when_it_begins_as_the_unlock_hint_says() -> None:
    hints = Hints(again="tap deploy", unlock="./other unlock ")
    assert next_steps([LOCKED], hints) == [
        "tap deploy   (after fixing what the failed stacks report)"
    ]


def test_without_hints_there_is_no_next_step() -> None:
    assert next_steps([FAILED, LOCKED], NO_HINTS) == []
