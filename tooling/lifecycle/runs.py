"""Terraform runs of one stack: init, apply, destroy, plan, and whether it has state at all.

Every long run is streamed through :func:`tooling.terraform.stream_terraform` (the one runner),
showing one progress line per finished resource, so that a deploy of several minutes is never
silent. Apply, destroy and plan run with ``-json``: Terraform's machine-readable UI
(https://developer.hashicorp.com/terraform/internals/machine-readable-ui, parsed by
:mod:`.terraform_events`) is the stable interface its human text is not, so the progress, the
counts and the failures are read from its messages. Each run writes to ``out`` and hands every
message, rendered as a human line, to an optional ``on_line``, so that a caller running stacks
side by side can prefix the lines with the stack's name, and reports progress to an optional
``progress(done, last)`` (the scheduler's display) instead.

Crash safety, per run: the state lock is checked and our holder record written first
(:func:`.locks.holding`: a lock whose holder is provably gone is released, any other one is an
error naming the unlock command); a run that hits an orphaned state lock of the local target is
retried once (:mod:`.locks`); an apply that fails because resources exist that its state does
not know (an interrupted earlier apply, or a create retried after its response was lost) adopts
them with import blocks and applies again (:mod:`.adoption_run`); ``stops``
forwards an interruption to terraform (one SIGINT), and the run then ends with
:class:`RunInterruptedError`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tooling.lifecycle import adoption, init_marker
from tooling.lifecycle.adoption_run import adopt_orphans
from tooling.lifecycle.locks import LOCK_FAILURE, holding, locked_error, with_lock_recovery
from tooling.lifecycle.session import DeployError, Session
from tooling.lifecycle.terraform_events import TEXT, Diagnostic, Message, diagnostics, parse
from tooling.terraform import StopSignals, TerraformError

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo

__all__ = [
    "ADOPTION_ROUNDS",
    "PLAN_CHANGES",
    "PLAN_ERROR",
    "PLAN_NO_CHANGES",
    "ApplyResult",
    "LineCallback",
    "ProgressCallback",
    "RunInterruptedError",
    "apply_saved_plan",
    "apply_stack",
    "destroy_stack",
    "has_state",
    "init_stack",
    "plan_stack",
    "show_plan",
]

#: Exit codes of ``terraform plan -detailed-exitcode``.
PLAN_NO_CHANGES = 0
PLAN_ERROR = 1
PLAN_CHANGES = 2

#: Receives each message terraform writes, rendered as human lines (without a newline), as
#: it is written.
LineCallback = Callable[[str], None]
#: Receives the number of resources done so far and the last one's address.
ProgressCallback = Callable[[int, str], None]
#: How many times an apply adopts what exists and applies again: resources that depend on an
#: orphan are only tried (and found to exist too) once the orphan itself is adopted, and an
#: orphan whose import ID is made of a value not known before another one is imported waits
#: for the next round.
ADOPTION_ROUNDS = 4


class RunInterruptedError(DeployError):
    """A run stopped because it was asked to (SIGINT/SIGTERM, or the emulator went away)."""

    code = 130


#: The ``change_summary`` operations whose counts are an :class:`ApplyResult`'s (an apply also
#: prints its plan's summary, operation ``plan``, first).
_APPLIED = ("apply", "destroy")


@dataclass
class ApplyResult:
    """What an apply or destroy did: its counts, duration and the resources it completed."""

    stack: str
    seconds: float
    added: int = 0
    changed: int = 0
    destroyed: int = 0
    completed: list[str] = field(default_factory=list)
    #: Addresses adopted into the state (import blocks) before the apply succeeded.
    adopted: list[str] = field(default_factory=list)

    @property
    def no_changes(self) -> bool:
        """Nothing was added, changed or destroyed."""
        return self.added == self.changed == self.destroyed == 0


def init_stack(session: Session, stack_dir: Path) -> None:
    """``terraform init -input=false -reconfigure`` (the backend address may differ per run),
    unless the stack is initialised for what init depends on as it is now
    (:mod:`.init_marker`): the ``terraform`` block, the binary, the provider sources."""
    command, env = session.terraform_command_env([])
    inputs = init_marker.init_inputs(stack_dir, env, command[0])
    if init_marker.is_current(stack_dir, inputs):
        return
    try:
        session.terraform(["init", "-input=false", "-reconfigure", "-no-color"], stack_dir)
    except TerraformError as exc:
        raise DeployError(f"terraform init failed in {stack_dir}: {exc}") from None
    init_marker.record(stack_dir, inputs)


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
    """Turns terraform's JSON messages into counts and one progress line per completed resource.

    Each message is kept and handed, rendered as human lines, to ``on_line``. With ``report``,
    progress goes there (the scheduler's display); otherwise to ``out``: on a terminal the
    progress line is rewritten in place, elsewhere each is its own line.
    """

    def __init__(
        self,
        stack: str,
        verb: str,
        out: TextIO,
        on_line: LineCallback | None,
        report: ProgressCallback | None = None,
    ) -> None:
        self.result = ApplyResult(stack=stack, seconds=0.0)
        self.messages: list[Message] = []
        self.lines: list[str] = []
        self._verb = verb
        self._out = out
        self._on_line = on_line
        self._report = report
        self._live = report is None and out.isatty()
        self._started = time.monotonic()

    def __call__(self, line: str) -> None:
        message = parse(line)
        self.messages.append(message)
        for text in message.lines():
            self.lines.append(text)
            if self._on_line is not None:
                self._on_line(text)
        if message.completed is not None and message.completed.changed:
            self._completed(message.completed.address)
        changes = message.changes
        if changes is not None and changes.operation in _APPLIED:
            self.result.added, self.result.changed = changes.add, changes.change
            self.result.destroyed = changes.remove

    def _completed(self, address: str) -> None:
        result = self.result
        result.completed.append(address)
        if self._report is not None:
            self._report(len(result.completed), address)
            return
        elapsed = time.monotonic() - self._started
        status = (
            f"{result.stack}: {len(result.completed)} resource(s) {self._verb} "
            f"({elapsed:5.0f} s) last: {address}"
        )
        self._out.write("\r\033[K" + status[:150] if self._live else status + "\n")
        self._out.flush()

    def finish(self) -> ApplyResult:
        if self._live and self.result.completed:
            self._out.write("\n")
        self.result.seconds = time.monotonic() - self._started
        return self.result


def _rendered(errors: Iterable[Diagnostic]) -> list[str]:
    return [line for diagnostic in errors for line in diagnostic.lines()]


def _writer(out: TextIO) -> Callable[[str], None]:
    def write(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    return write


@dataclass
class _Attempt:
    """One run: its exit code, counts, messages, their human lines, whether it was stopped."""

    code: int
    result: ApplyResult
    messages: list[Message]
    lines: list[str]
    interrupted: bool

    @property
    def errors(self) -> list[Diagnostic]:
        return diagnostics(self.messages)

    def failure(self) -> str:
        """What the run failed with: its error diagnostics and any line that was not a JSON
        message (what terraform wrote before its JSON view, a crash); its last lines if none."""
        texts = [m.text for m in self.messages if m.type == TEXT][-25:]
        return "\n".join(_rendered(self.errors) + texts or self.lines[-25:])


def _streamed(
    session: Session,
    stack_dir: Path,
    args: Sequence[str],
    verb: str,
    out: TextIO,
    on_line: LineCallback | None,
    *,
    progress: ProgressCallback | None = None,
    stops: StopSignals | None = None,
) -> _Attempt:
    """Run ``args`` with progress, retried once after an orphaned lock; the last attempt."""
    attempts: list[_Attempt] = []

    def run() -> tuple[int, str]:
        tracker = _Progress(stack_dir.name, verb, out, on_line, progress)
        streamed = session.stream(args, stack_dir, tracker, stops=stops)
        result = tracker.finish()
        attempts.append(
            _Attempt(
                streamed.returncode, result, tracker.messages, tracker.lines, streamed.interrupted
            )
        )
        return streamed.returncode, "\n".join(tracker.lines)

    def run_unless_stopped() -> tuple[int, str]:
        code, output = run()
        if attempts[-1].interrupted:  # no retry of an interrupted run
            return code, ""
        return code, output

    with_lock_recovery(session, stack_dir, out, run_unless_stopped)
    return attempts[-1]


def _lock_failed(errors: Iterable[Diagnostic]) -> bool:
    """Whether terraform could not take the state lock (the summary of its diagnostic)."""
    return any(LOCK_FAILURE in diagnostic.summary for diagnostic in errors)


def _check_failed(session: Session, stack_dir: Path, what: str, attempt: _Attempt) -> None:
    """Raise for an attempt that did not succeed: interrupted, locked, or terraform's error."""
    if attempt.interrupted:
        raise RunInterruptedError(
            f"terraform {what} of {stack_dir.name} was interrupted after "
            f"{attempt.result.seconds:.0f} s ({len(attempt.result.completed)} resource(s) done); "
            "terraform wrote its state and released its lock"
        )
    if _lock_failed(attempt.errors):
        message = locked_error(session, stack_dir)
        if message is not None:
            raise DeployError(message)


def apply_stack(
    session: Session,
    stack_dir: Path,
    *,
    out: TextIO | None = None,
    on_line: LineCallback | None = None,
    extra: Sequence[str] = (),
    progress: ProgressCallback | None = None,
    note: Callable[[str], None] | None = None,
    stops: StopSignals | None = None,
    adopt: bool = True,
) -> ApplyResult:
    """``terraform apply -auto-approve -input=false -json`` with a live progress line.

    Guarded by :func:`.locks.holding`; retried once after an orphaned state lock (local
    target); resources that exist but are missing from the state are adopted (``adopt``) and
    the apply repeated, up to :data:`ADOPTION_ROUNDS` times; a removal repeated after a lost
    response that found nothing left (:func:`.adoption.already_gone`) is followed by one more
    apply per address. ``note`` receives what was done about locks and adoption (default:
    written to ``out``).
    """
    args = ["apply", "-auto-approve", "-input=false", "-json", *extra]
    stream = out if out is not None else sys.stdout
    notes = note if note is not None else _writer(stream)
    adopted: dict[str, str] = {}
    retried: set[str] = set()  # addresses applied again once after a repeated removal
    adoption.remove_import_blocks(stack_dir)  # a crashed adoption's blocks must not linger
    with holding(session, stack_dir, "deploy", notes):
        try:
            for _ in range(ADOPTION_ROUNDS + 1):
                attempt = _streamed(
                    session, stack_dir, args, "created/updated", stream, on_line,
                    progress=progress, stops=stops,
                )  # fmt: skip
                if attempt.code == 0:
                    attempt.result.adopted = sorted(adopted)
                    return attempt.result
                _check_failed(session, stack_dir, "apply", attempt)
                if adopt and adopt_orphans(session, stack_dir, attempt.errors, adopted, notes):
                    continue
                gone = [a for a in adoption.already_gone(attempt.errors) if a not in retried]
                if not gone:
                    break
                retried.update(gone)
                notes(
                    f"{stack_dir.name}: {', '.join(gone)}: a removal was repeated after a lost "
                    "response and found nothing left to remove; applying again"
                )
        finally:
            if adopted:
                adoption.remove_import_blocks(stack_dir)
    raise DeployError(
        f"terraform apply of {stack_dir.name} failed (exit {attempt.code}) after "
        f"{attempt.result.seconds:.0f} s, {len(attempt.result.completed)} resource(s) done:\n"
        f"{attempt.failure()}"
    )


def apply_saved_plan(
    session: Session,
    stack_dir: Path,
    plan_file: Path,
    *,
    out: TextIO | None = None,
    progress: ProgressCallback | None = None,
    note: Callable[[str], None] | None = None,
    stops: StopSignals | None = None,
) -> ApplyResult:
    """``terraform apply -input=false -json <plan_file>``: exactly the saved plan, once.

    A saved plan needs no approval flag (Terraform applies it without asking:
    https://developer.hashicorp.com/terraform/cli/commands/apply#saved-plan-mode). Nothing
    is adopted or applied again after a failure: either would apply something else than the
    plan that was approved, and a saved plan cannot be planned again with import blocks; the
    plan must be made again. Guarded by :func:`.locks.holding`; retried once after an orphaned
    state lock of the local target (the plan is still current then: nothing was applied)."""
    args = ["apply", "-input=false", "-json", str(plan_file)]
    stream = out if out is not None else sys.stdout
    notes = note if note is not None else _writer(stream)
    with holding(session, stack_dir, "deploy", notes):
        attempt = _streamed(
            session, stack_dir, args, "created/updated", stream, None, progress=progress,
            stops=stops,
        )  # fmt: skip
    if attempt.code != 0:
        _check_failed(session, stack_dir, "apply", attempt)
        raise DeployError(
            f"terraform apply of the saved plan of {stack_dir.name} failed (exit {attempt.code})"
            f" after {attempt.result.seconds:.0f} s, {len(attempt.result.completed)} resource(s)"
            f" done:\n{attempt.failure()}"
        )
    return attempt.result


def destroy_stack(
    session: Session,
    stack_dir: Path,
    *,
    out: TextIO | None = None,
    on_line: LineCallback | None = None,
    progress: ProgressCallback | None = None,
    note: Callable[[str], None] | None = None,
    stops: StopSignals | None = None,
) -> ApplyResult:
    """``terraform destroy -auto-approve -input=false -json`` with a live progress line (guarded
    by :func:`.locks.holding`; local target: retried once after an orphaned state lock)."""
    args = ["destroy", "-auto-approve", "-input=false", "-json"]
    stream = out if out is not None else sys.stdout
    notes = note if note is not None else _writer(stream)
    adoption.remove_import_blocks(stack_dir)
    with holding(session, stack_dir, "destroy", notes):
        attempt = _streamed(
            session, stack_dir, args, "destroyed", stream, on_line, progress=progress, stops=stops
        )
    if attempt.code != 0:
        _check_failed(session, stack_dir, "destroy", attempt)
        raise DeployError(
            f"terraform destroy of {stack_dir.name} failed (exit {attempt.code}):\n"
            f"{attempt.failure()}"
        )
    return attempt.result


def plan_stack(
    session: Session,
    stack_dir: Path,
    *,
    out: TextIO | None = None,
    on_line: LineCallback | None = None,
    note: Callable[[str], None] | None = None,
    stops: StopSignals | None = None,
    plan_file: Path | None = None,
    extra: Sequence[str] = (),
) -> tuple[int, str]:
    """``terraform plan -detailed-exitcode -json``: (0 no changes | 1 error | 2 changes, its
    messages rendered as human text); with ``plan_file``, the plan is also saved there (for
    :func:`show_plan`). Guarded by :func:`.locks.holding` (a lock it cannot take is a
    DeployError naming the holder); local target: once more after an orphaned state lock
    (:func:`.locks.recover_orphaned_lock`). An interrupted plan raises
    :class:`RunInterruptedError`. ``extra``: more arguments (``-var``)."""
    args = ["plan", "-detailed-exitcode", "-input=false", "-json", "-lock-timeout=60s", *extra]
    if plan_file is not None:
        args.append(f"-out={plan_file}")
    outputs: list[str] = []
    errors: list[list[Diagnostic]] = []
    interrupted: list[bool] = []

    def run() -> tuple[int, str]:
        messages: list[Message] = []
        lines: list[str] = []

        def collect(line: str) -> None:
            messages.append(parse(line))
            for text in messages[-1].lines():
                lines.append(text)
                if on_line is not None:
                    on_line(text)

        streamed = session.stream(args, stack_dir, collect, stops=stops)
        outputs.append("\n".join(lines) + "\n" if lines else "")
        errors.append(diagnostics(messages))
        interrupted.append(streamed.interrupted)
        return streamed.returncode, "" if streamed.interrupted else outputs[-1]

    stream = out if out is not None else sys.stdout
    notes = note if note is not None else _writer(stream)
    adoption.remove_import_blocks(stack_dir)
    with holding(session, stack_dir, "plan", notes):
        code = with_lock_recovery(session, stack_dir, stream, run)
    if interrupted[-1] and code not in (0, 2):
        raise RunInterruptedError(f"terraform plan of {stack_dir.name} was interrupted")
    if code not in (0, 2) and _lock_failed(errors[-1]):
        message = locked_error(session, stack_dir)
        if message is not None:
            raise DeployError(message)
    return code, outputs[-1]


def show_plan(
    session: Session, stack_dir: Path, plan_file: Path, *, keep: bool = False
) -> dict[str, Any]:
    """``terraform show -json`` of a saved plan; the plan file is removed afterwards (a plan
    can hold sensitive values, so it does not outlive the report made from it) unless ``keep``
    (a plan saved to be applied: :mod:`.saved_plans`)."""
    try:
        result = session.terraform(["show", "-json", "-no-color", str(plan_file)], stack_dir)
        document: dict[str, Any] = json.loads(result.stdout or "{}")
        return document
    finally:
        if not keep:
            plan_file.unlink(missing_ok=True)
