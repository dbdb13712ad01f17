"""Terraform runs of one stack: init, apply, destroy, plan, and whether it has state at all.

Every long run is streamed through :func:`tooling.terraform.stream_terraform` (the one runner),
showing one progress line per finished resource, so that a deploy of several minutes is never
silent. Each run writes to ``out`` and hands every terraform line to an optional ``on_line``,
so that a caller running stacks side by side can prefix the lines with the stack's name, and
reports progress to an optional ``progress(done, last)`` (the scheduler's display) instead.

Crash safety, per run: the state lock is checked and our holder record written first
(:func:`.locks.holding`: a lock whose holder is provably gone is released, any other one is an
error naming the unlock command); a run that hits an orphaned state lock of the local target is
retried once (:mod:`.locks`); an apply that fails because resources exist that its state does
not know (an interrupted earlier apply, or a create retried after its response was lost) adopts
them with import blocks and applies again (:mod:`.adoption`, :mod:`.import_ids`); ``stops``
forwards an interruption to terraform (one SIGINT), and the run then ends with
:class:`RunInterruptedError`.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tooling.lifecycle import adoption, import_ids
from tooling.lifecycle.locks import LOCK_FAILURE, holding, locked_error, with_lock_recovery
from tooling.lifecycle.session import DeployError, Session
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

#: Receives each line terraform writes (without its newline), as it is written.
LineCallback = Callable[[str], None]
#: Receives the number of resources done so far and the last one's address.
ProgressCallback = Callable[[int, str], None]
#: How many times an apply adopts what exists and applies again: resources that depend on an
#: orphan are only tried (and found to exist too) once the orphan itself is adopted.
ADOPTION_ROUNDS = 4


class RunInterruptedError(DeployError):
    """A run stopped because it was asked to (SIGINT/SIGTERM, or the emulator went away)."""

    code = 130


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
    #: Addresses adopted into the state (import blocks) before the apply succeeded.
    adopted: list[str] = field(default_factory=list)

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

    With ``report``, progress goes there (the scheduler's display); otherwise to ``out``: on a
    terminal the progress line is rewritten in place, elsewhere each is its own line.
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
        self.lines: list[str] = []
        self._verb = verb
        self._out = out
        self._on_line = on_line
        self._report = report
        self._live = report is None and out.isatty()
        self._started = time.monotonic()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if self._on_line is not None:
            self._on_line(line)
        result = self.result
        match = _PROGRESS.match(line)
        if match:
            result.completed.append(match["address"])
            if self._report is not None:
                self._report(len(result.completed), match["address"])
            else:
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


def _writer(out: TextIO) -> Callable[[str], None]:
    def write(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    return write


@dataclass
class _Attempt:
    code: int
    result: ApplyResult
    tail: tuple[str, ...]
    lines: list[str]
    interrupted: bool


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
        attempts.append(
            _Attempt(
                streamed.returncode,
                tracker.finish(),
                streamed.tail,
                tracker.lines,
                streamed.interrupted,
            )
        )
        return streamed.returncode, "\n".join(streamed.tail)

    def run_unless_stopped() -> tuple[int, str]:
        code, output = run()
        if attempts[-1].interrupted:  # no retry of an interrupted run
            return code, ""
        return code, output

    with_lock_recovery(session, stack_dir, out, run_unless_stopped)
    return attempts[-1]


def _check_failed(session: Session, stack_dir: Path, what: str, attempt: _Attempt) -> None:
    """Raise for an attempt that did not succeed: interrupted, locked, or terraform's error."""
    if attempt.interrupted:
        raise RunInterruptedError(
            f"terraform {what} of {stack_dir.name} was interrupted after "
            f"{attempt.result.seconds:.0f} s ({len(attempt.result.completed)} resource(s) done); "
            "terraform wrote its state and released its lock"
        )
    if LOCK_FAILURE in "\n".join(attempt.tail):
        message = locked_error(session, stack_dir)
        if message is not None:
            raise DeployError(message)


def _stack_region(document: Mapping[str, Any]) -> str:
    providers = (document.get("provider") or {}).get("aws") or [{}]
    provider = providers[0] if isinstance(providers, list) else providers
    return str(provider.get("region") or "us-east-1")


def _state_attributes(
    session: Session, stack_dir: Path, note: Callable[[str], None]
) -> import_ids.StateAttributes:
    """The attributes of the stack's resources in its current state (``terraform state pull``:
    no lock, no provider), for the import IDs made of what only the state knows (a security
    group rule's group ID). A state that cannot be read leaves them to the configuration alone,
    with a note saying so."""
    pulled = session.terraform(["state", "pull"], stack_dir, check=False)
    if pulled.returncode == 0:
        try:
            return import_ids.state_attributes(pulled.stdout or "")
        except ValueError as error:
            reason = f"not a state ({error})"
    else:
        last = (pulled.stderr or "").strip().splitlines()[-1:]
        reason = last[0] if last else f"exit {pulled.returncode}"
    note(
        f"{stack_dir.name}: could not read the state (terraform state pull: {reason}); "
        "import IDs are computed from the configuration alone"
    )
    return {}


def _adopt(
    session: Session,
    stack_dir: Path,
    output: str,
    adopted: dict[str, str],
    note: Callable[[str], None],
) -> bool:
    """Write import blocks for what the failed apply found existing (beside those already
    adopted); True if there is something new to apply again with. What cannot be adopted is a
    DeployError naming each resource and the command that fixes it."""
    orphans = [o for o in adoption.orphans_from_apply_output(output) if o.address not in adopted]
    if not orphans:
        return False
    document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    region = _stack_region(document)
    resolver = import_ids.Boto3Resolver(lambda service: session.client(service, region))
    state = _state_attributes(session, stack_dir, note)
    ids = {
        o.address: import_ids.import_id(o.address, document, resolve=resolver, state=state)
        for o in orphans
    }
    unadoptable = [o for o in orphans if ids[o.address] is None]
    if unadoptable:
        raise DeployError(
            f"terraform apply of {stack_dir.name} failed: "
            + adoption.unadoptable_message(unadoptable, stack_dir)
        )
    for orphan in orphans:
        adopted[orphan.address] = str(ids[orphan.address])
    adoption.write_import_blocks(stack_dir, adopted)
    names = ", ".join(o.name or o.address for o in orphans)
    note(
        f"{stack_dir.name}: {len(orphans)} resource(s) exist but are missing from the state "
        f"(an interrupted apply or a lost response): adopting them with import blocks ({names}); "
        "applying again"
    )
    return True


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
    """``terraform apply -auto-approve -input=false`` with a live progress line.

    Guarded by :func:`.locks.holding`; retried once after an orphaned state lock (local
    target); resources that exist but are missing from the state are adopted (``adopt``) and
    the apply repeated, up to :data:`ADOPTION_ROUNDS` times; a removal repeated after a lost
    response that found nothing left (:func:`.adoption.already_gone_from_apply_output`) is
    followed by one more apply per address. ``note`` receives what was done
    about locks and adoption (default: written to ``out``).
    """
    args = ["apply", "-auto-approve", "-input=false", "-no-color", *extra]
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
                output = "\n".join(attempt.lines)
                if adopt and _adopt(session, stack_dir, output, adopted, notes):
                    continue
                gone = [
                    a for a in adoption.already_gone_from_apply_output(output) if a not in retried
                ]
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
        f"{_failure_lines(attempt.tail)}"
    )


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
    """``terraform destroy -auto-approve -input=false`` with a live progress line (guarded by
    :func:`.locks.holding`; local target: retried once after an orphaned state lock)."""
    args = ["destroy", "-auto-approve", "-input=false", "-no-color"]
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
            f"{_failure_lines(attempt.tail)}"
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
) -> tuple[int, str]:
    """``terraform plan -detailed-exitcode``: (0 no changes | 1 error | 2 changes, output);
    with ``plan_file``, the plan is also saved there (for :func:`show_plan`).
    Guarded by :func:`.locks.holding` (a lock it cannot take is a DeployError naming the
    holder); local target: once more after an orphaned state lock
    (:func:`.locks.recover_orphaned_lock`). An interrupted plan raises
    :class:`RunInterruptedError`."""
    args = ["plan", "-detailed-exitcode", "-input=false", "-no-color", "-lock-timeout=60s"]
    if plan_file is not None:
        args.append(f"-out={plan_file}")
    outputs: list[str] = []
    interrupted: list[bool] = []

    def run() -> tuple[int, str]:
        lines: list[str] = []

        def collect(line: str) -> None:
            lines.append(line)
            if on_line is not None:
                on_line(line)

        streamed = session.stream(args, stack_dir, collect, stops=stops)
        outputs.append("\n".join(lines) + "\n" if lines else "")
        interrupted.append(streamed.interrupted)
        return streamed.returncode, "" if streamed.interrupted else outputs[-1]

    stream = out if out is not None else sys.stdout
    notes = note if note is not None else _writer(stream)
    adoption.remove_import_blocks(stack_dir)
    with holding(session, stack_dir, "plan", notes):
        code = with_lock_recovery(session, stack_dir, stream, run)
    if interrupted[-1] and code not in (0, 2):
        raise RunInterruptedError(f"terraform plan of {stack_dir.name} was interrupted")
    if code not in (0, 2) and LOCK_FAILURE in outputs[-1]:
        message = locked_error(session, stack_dir)
        if message is not None:
            raise DeployError(message)
    return code, outputs[-1]


def show_plan(session: Session, stack_dir: Path, plan_file: Path) -> dict[str, Any]:
    """``terraform show -json`` of a saved plan; the plan file is removed afterwards (a plan
    can hold sensitive values, so it does not outlive the report made from it)."""
    try:
        result = session.terraform(["show", "-json", "-no-color", str(plan_file)], stack_dir)
        document: dict[str, Any] = json.loads(result.stdout or "{}")
        return document
    finally:
        plan_file.unlink(missing_ok=True)
