"""Terraform runs of one stack: init, apply, destroy, plan, and whether it has state at all.

Every long run is streamed through :func:`tooling.terraform.stream_terraform` (the one runner),
showing one progress line per finished resource, so that a deploy of several minutes is never
silent. Each run writes to ``out`` and hands every terraform line to an optional ``on_line``,
so that a caller running stacks side by side can prefix the lines with the stack's name. A run
that hits an orphaned state lock of the local target is retried once (:mod:`.locks`).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tooling.lifecycle.locks import with_lock_recovery
from tooling.lifecycle.session import DeployError, Session
from tooling.terraform import TerraformError

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo

__all__ = [
    "PLAN_CHANGES",
    "PLAN_ERROR",
    "PLAN_NO_CHANGES",
    "ApplyResult",
    "LineCallback",
    "apply_stack",
    "destroy_stack",
    "has_state",
    "init_stack",
    "plan_stack",
]

#: Exit codes of ``terraform plan -detailed-exitcode``.
PLAN_NO_CHANGES = 0
PLAN_ERROR = 1
PLAN_CHANGES = 2

#: Receives each line terraform writes (without its newline), as it is written.
LineCallback = Callable[[str], None]

_PROGRESS = re.compile(
    r"^(?P<address>\S+): (?P<what>Creation|Modifications|Destruction) complete"
    r"(?: after (?P<after>\S+))?"
)
_SUMMARY = re.compile(
    r"(?:Apply|Destroy) complete! Resources: (?:(?P<added>\d+) added, (?P<changed>\d+) changed, )?"
    r"(?P<destroyed>\d+) destroyed"
)


@dataclass
class ApplyResult:
    """What an apply or destroy did: its counts, duration and the resources it completed."""

    stack: str
    seconds: float
    added: int = 0
    changed: int = 0
    destroyed: int = 0
    completed: list[str] = field(default_factory=list)

    @property
    def no_changes(self) -> bool:
        """Nothing was added, changed or destroyed."""
        return self.added == self.changed == self.destroyed == 0


def init_stack(session: Session, stack_dir: Path) -> None:
    """``terraform init -input=false -reconfigure`` (the backend address may differ per run)."""
    try:
        session.terraform(["init", "-input=false", "-reconfigure", "-no-color"], stack_dir)
    except TerraformError as exc:
        raise DeployError(f"terraform init failed in {stack_dir}: {exc}") from None


def has_state(session: Session, info: StackInfo, region: str) -> bool:
    """Whether the stack's state object exists (False: never deployed, nothing to destroy)."""
    from botocore.exceptions import ClientError

    if info.state is None:
        return True
    bucket, key = info.state
    try:
        session.client("s3", region).head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket"):
            return False
        raise
    return True


class _Progress:
    """Turns terraform's lines into counts and one progress line per completed resource.

    On a terminal the progress line is rewritten in place; otherwise each is its own line.
    """

    def __init__(self, stack: str, verb: str, out: TextIO, on_line: LineCallback | None) -> None:
        self.result = ApplyResult(stack=stack, seconds=0.0)
        self._verb = verb
        self._out = out
        self._on_line = on_line
        self._live = out.isatty()
        self._started = time.monotonic()

    def __call__(self, line: str) -> None:
        if self._on_line is not None:
            self._on_line(line)
        result = self.result
        match = _PROGRESS.match(line)
        if match:
            result.completed.append(match["address"])
            elapsed = time.monotonic() - self._started
            status = (
                f"{result.stack}: {len(result.completed)} resource(s) {self._verb} "
                f"({elapsed:5.0f} s) last: {match['address']}"
            )
            self._out.write("\r\033[K" + status[:150] if self._live else status + "\n")
            self._out.flush()
        summary = _SUMMARY.search(line)
        if summary:
            result.added = int(summary["added"] or 0)
            result.changed = int(summary["changed"] or 0)
            result.destroyed = int(summary["destroyed"])

    def finish(self) -> ApplyResult:
        if self._live and self.result.completed:
            self._out.write("\n")
        self.result.seconds = time.monotonic() - self._started
        return self.result


def _failure_lines(tail: Sequence[str]) -> str:
    start = next((i for i, line in enumerate(tail) if "Error" in line), max(len(tail) - 25, 0))
    return "\n".join(tail[start:])


def _streamed(
    session: Session,
    stack_dir: Path,
    args: Sequence[str],
    verb: str,
    out: TextIO,
    on_line: LineCallback | None,
) -> tuple[int, ApplyResult, tuple[str, ...]]:
    """Run ``args`` with progress, retried once after an orphaned lock; the last attempt's
    exit code, counts and last lines."""
    attempts: list[tuple[ApplyResult, tuple[str, ...]]] = []

    def run() -> tuple[int, str]:
        progress = _Progress(stack_dir.name, verb, out, on_line)
        streamed = session.stream(args, stack_dir, progress)
        attempts.append((progress.finish(), streamed.tail))
        return streamed.returncode, "\n".join(streamed.tail)

    code = with_lock_recovery(session, stack_dir, out, run)
    result, tail = attempts[-1]
    return code, result, tail


def apply_stack(
    session: Session,
    stack_dir: Path,
    *,
    out: TextIO | None = None,
    on_line: LineCallback | None = None,
    extra: Sequence[str] = (),
) -> ApplyResult:
    """``terraform apply -auto-approve -input=false`` with a live progress line (local target:
    retried once after an orphaned state lock, :func:`.locks.recover_orphaned_lock`)."""
    args = ["apply", "-auto-approve", "-input=false", "-no-color", *extra]
    stream = out if out is not None else sys.stdout
    code, result, tail = _streamed(session, stack_dir, args, "created/updated", stream, on_line)
    if code != 0:
        raise DeployError(
            f"terraform apply of {stack_dir.name} failed (exit {code}) after "
            f"{result.seconds:.0f} s, {len(result.completed)} resource(s) done:\n"
            f"{_failure_lines(tail)}"
        )
    return result


def destroy_stack(
    session: Session,
    stack_dir: Path,
    *,
    out: TextIO | None = None,
    on_line: LineCallback | None = None,
) -> ApplyResult:
    """``terraform destroy -auto-approve -input=false`` with a live progress line (local
    target: retried once after an orphaned state lock)."""
    args = ["destroy", "-auto-approve", "-input=false", "-no-color"]
    stream = out if out is not None else sys.stdout
    code, result, tail = _streamed(session, stack_dir, args, "destroyed", stream, on_line)
    if code != 0:
        raise DeployError(
            f"terraform destroy of {stack_dir.name} failed (exit {code}):\n{_failure_lines(tail)}"
        )
    return result


def plan_stack(
    session: Session,
    stack_dir: Path,
    *,
    out: TextIO | None = None,
    on_line: LineCallback | None = None,
) -> tuple[int, str]:
    """``terraform plan -detailed-exitcode``: (0 no changes | 1 error | 2 changes, output).
    Local target: once more after an orphaned state lock (:func:`.locks.recover_orphaned_lock`)."""
    args = ["plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock-timeout=60s"]
    outputs: list[str] = []

    def run() -> tuple[int, str]:
        lines: list[str] = []

        def collect(line: str) -> None:
            lines.append(line)
            if on_line is not None:
                on_line(line)

        streamed = session.stream(args, stack_dir, collect)
        outputs.append("\n".join(lines) + "\n" if lines else "")
        return streamed.returncode, outputs[-1]

    stream = out if out is not None else sys.stdout
    code = with_lock_recovery(session, stack_dir, stream, run)
    return code, outputs[-1]
