"""``plan``: ``terraform plan -detailed-exitcode`` of every stack, then the plan reports.

A plan only reads the states a stack depends on, so no stack waits for another: up to
``parallel`` plan at the same time. Each saved plan is read back with ``terraform show -json``
for the reports (:mod:`..plan_report`). With ``out``, the plans are kept there for
``deploy --plan`` (:mod:`.saved_plan_files`); otherwise each is removed once read.

A stack that does not exist yet is planned as :mod:`..first_plans` decides: a stack whose state
bucket does not exist is planned against an empty state in a scratch copy (nothing is written
to any backend), and a stack that reads the state of a stack not deployed yet is not planned but
reported waiting; neither is an error, and neither has a plan ``deploy --plan`` may apply.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.commands.context import ordered_stacks, session_for
from tooling.lifecycle.commands.hints import NO_HINTS, Hints
from tooling.lifecycle.commands.saved_plan_files import PlanSaver
from tooling.lifecycle.commands.stack_run import DEFAULT_PARALLEL, JobStream, StackRun
from tooling.lifecycle.first_plans import (
    EMPTY_STATE,
    WAITING,
    BackendProbe,
    PlanBasis,
    S3Probe,
    empty_state_note,
    not_applicable_reason,
    plan_basis,
    scratch_copy,
    waiting_note,
)
from tooling.lifecycle.plan_report import StackPlan, stack_plan, summary_lines, write_reports
from tooling.lifecycle.runs import PLAN_CHANGES, plan_stack, show_plan
from tooling.lifecycle.scheduler import JobContext, JobResult
from tooling.lifecycle.session import DeployError
from tooling.lifecycle.stack_variables import applying_arguments

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["PLAN_FILE", "WAITING_CODE", "plan_stacks"]

#: Where a stack's saved plan lives between ``terraform plan -out`` and ``terraform show -json``.
PLAN_FILE = "tap.tfplan"
#: The summary of a plan by its exit code (any other code is an error).
_WORDS = {0: "no changes", 2: "changes"}
#: The code of a stack waiting for a stack it reads: not an error, and a deploy changes it
#: (it is deployed once what it reads is).
WAITING_CODE = PLAN_CHANGES


def plan_stacks(
    ws: Workspace,
    env: str | None,
    *,
    parallel: int = DEFAULT_PARALLEL,
    stop: threading.Event | None = None,
    hints: Hints = NO_HINTS,
    out: Path | None = None,
    bootstrap: str | None = None,
) -> dict[str, int]:
    """`terraform plan -detailed-exitcode` per stack, up to ``parallel`` at a time:
    {stack: 0 no changes, 1 error (or not run), 2 changes (or waiting: :data:`WAITING_CODE`)}.
    Interrupted: a LifecycleError (exit 130). ``out``: each plan file, its report and the
    manifest are saved in that directory (the manifest only when every stack planned or
    waits). ``bootstrap``: the command that creates the state backends of ``env``, as the
    caller spells it, named by the note of a stack planned against an empty state."""
    stacks = ordered_stacks(ws, env)
    session = session_for(ws, start=False)
    saver = PlanSaver.start(ws, session, out) if out is not None else None
    planner = _Planner(
        StackRun(ws, session, "plan", hints), stacks, S3Probe(session), saver, bootstrap
    )
    outcomes = planner.run.over(stacks, planner.step, order="none", parallel=parallel, stop=stop)
    if planner.run.stopper.reasons:
        planner.run.raise_for(outcomes)
    ordered = [planner.plans[stack.name] for stack in stacks]
    for line in summary_lines(ordered):
        ws.echo(line)
    json_path, markdown_path = write_reports(ws.root, ordered)
    ws.echo(f"plan reports: {json_path.relative_to(ws.root)}, {markdown_path.relative_to(ws.root)}")
    codes = planner.codes
    if saver is not None and saver.finish(stacks, ordered) is None:
        # A plan that could not be recorded cannot be deployed: the run failed for that stack.
        codes.update({name: 1 for name in codes if name not in saver.saved})
    return codes


@dataclass
class _Planner:
    """The step of one ``plan`` run per stack, and what it found: exit codes and plans."""

    run: StackRun
    stacks: Sequence[StackInfo]
    probe: BackendProbe
    saver: PlanSaver | None
    bootstrap: str | None
    codes: dict[str, int] = field(default_factory=dict)
    plans: dict[str, StackPlan] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.codes = {stack.name: 1 for stack in self.stacks}
        self.plans = {s.name: StackPlan(stack=s.name, error="not planned") for s in self.stacks}

    @property
    def session(self) -> Session:
        return self.run.session

    def step(self, ctx: JobContext, stack: StackInfo) -> JobResult:
        """Plan ``stack`` on the basis :func:`..first_plans.plan_basis` finds."""
        basis = plan_basis(stack, self.stacks, self.probe)
        if basis.kind == WAITING:
            return self._waiting(ctx, stack, basis)
        if basis.kind == EMPTY_STATE:
            return self._against_empty_state(ctx, stack, basis)
        return self._against_state(ctx, stack)

    def _against_state(self, ctx: JobContext, stack: StackInfo) -> JobResult:
        self.run.begin(ctx, stack, "plan")
        saver = self.saver
        plan_file = stack.directory / PLAN_FILE if saver is None else saver.plan_file(stack)
        before = saver.before(stack) if saver is not None else None
        code, shown = self._plan(ctx, stack, stack.directory, plan_file, keep=saver is not None)
        self.plans[stack.name] = stack_plan(stack.name, shown)
        if saver is not None and before is not None:
            saver.saved_stack(stack, before, self.plans[stack.name], code)
        return JobResult(summary=_WORDS[code])

    def _against_empty_state(
        self, ctx: JobContext, stack: StackInfo, basis: PlanBasis
    ) -> JobResult:
        """Plan a scratch copy of ``stack`` whose backend is local and empty; nothing of the
        copy (its plan file included: it is no plan to apply) outlives the report."""
        with tempfile.TemporaryDirectory(prefix="tap-plan-") as temporary:
            scratch = scratch_copy(stack.directory, Path(temporary) / stack.name)
            self.run.begin(ctx, replace(stack, directory=scratch), "plan")
            code, shown = self._plan(ctx, stack, scratch, scratch / PLAN_FILE, keep=False)
        note = empty_state_note(self.bootstrap)
        plan = replace(stack_plan(stack.name, shown), basis=EMPTY_STATE, note=note)
        self.plans[stack.name] = plan
        ctx.line(note)
        if self.saver is not None:
            reason = not_applicable_reason(basis, self.bootstrap)
            self.saver.not_applicable(stack, plan, has_changes=code == 2, reason=reason)
        return JobResult(summary=f"{_WORDS[code]} (against an empty state)")

    def _waiting(self, ctx: JobContext, stack: StackInfo, basis: PlanBasis) -> JobResult:
        note = waiting_note(basis.waiting_for)
        plan = StackPlan(stack=stack.name, basis=WAITING, note=note)
        self.plans[stack.name], self.codes[stack.name] = plan, WAITING_CODE
        ctx.line(note)
        if self.saver is not None:
            reason = not_applicable_reason(basis, self.bootstrap)
            self.saver.not_applicable(stack, plan, has_changes=True, reason=reason)
        return JobResult(summary=note)

    def _plan(
        self, ctx: JobContext, stack: StackInfo, directory: Path, plan_file: Path, *, keep: bool
    ) -> tuple[int, dict[str, Any]]:
        """``terraform plan`` of ``stack`` in ``directory`` into ``plan_file``, then its
        ``terraform show -json``: (exit code, the shown plan); a failed plan is a DeployError."""
        code, output = plan_stack(
            self.session,
            directory,
            out=JobStream(ctx),
            note=ctx.line,
            stops=self.run.stops(ctx),
            plan_file=plan_file,
            # A plan kept to be applied opens what its apply needs; a review plan does not.
            extra=applying_arguments(directory) if keep else (),
        )
        self.codes[stack.name] = code
        if code != 0:
            ctx.line(output.rstrip())
        if code not in _WORDS:
            plan_file.unlink(missing_ok=True)
            self.plans[stack.name] = StackPlan(stack=stack.name, error=f"plan failed (exit {code})")
            raise DeployError(f"terraform plan of {stack.name} failed (exit {code})")
        return code, show_plan(self.session, directory, plan_file, keep=keep)
