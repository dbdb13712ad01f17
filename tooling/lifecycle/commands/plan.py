"""``plan``: ``terraform plan -detailed-exitcode`` of every stack, then the plan reports.

A plan only reads the states a stack depends on, so no stack waits for another: up to
``parallel`` plan at the same time. Each saved plan is read back with ``terraform show -json``
for the reports (:mod:`..plan_report`). With ``out``, the plans are kept there for
``deploy --plan`` (:mod:`.saved_plan_files`); otherwise each is removed once read.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from tooling.lifecycle.commands.context import ordered_stacks, session_for
from tooling.lifecycle.commands.hints import NO_HINTS, Hints
from tooling.lifecycle.commands.saved_plan_files import PlanSaver
from tooling.lifecycle.commands.stack_run import DEFAULT_PARALLEL, JobStream, StackRun
from tooling.lifecycle.plan_report import StackPlan, stack_plan, summary_lines, write_reports
from tooling.lifecycle.runs import plan_stack, show_plan
from tooling.lifecycle.scheduler import JobContext, JobResult
from tooling.lifecycle.session import DeployError

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.workspace import Workspace

__all__ = ["PLAN_FILE", "plan_stacks"]

#: Where a stack's saved plan lives between ``terraform plan -out`` and ``terraform show -json``.
PLAN_FILE = "tap.tfplan"
#: The summary of a plan by its exit code (any other code is an error).
_WORDS = {0: "no changes", 2: "changes"}


def plan_stacks(
    ws: Workspace,
    env: str | None,
    *,
    parallel: int = DEFAULT_PARALLEL,
    stop: threading.Event | None = None,
    hints: Hints = NO_HINTS,
    out: Path | None = None,
) -> dict[str, int]:
    """`terraform plan -detailed-exitcode` per stack, up to ``parallel`` at a time:
    {stack: 0 no changes, 1 error (or not run), 2 changes}. Interrupted: a LifecycleError
    (exit 130). ``out``: each plan file, its report and the manifest are saved in that
    directory (the manifest only when every stack planned)."""
    stacks = ordered_stacks(ws, env)
    session = session_for(ws, start=False)
    saver = PlanSaver.start(ws, session, out) if out is not None else None
    run = StackRun(ws, session, "plan", hints)
    codes: dict[str, int] = {stack.name: 1 for stack in stacks}
    plans: dict[str, StackPlan] = {
        stack.name: StackPlan(stack=stack.name, error="not planned") for stack in stacks
    }

    def plan(ctx: JobContext, stack: StackInfo) -> JobResult:
        run.begin(ctx, stack, "plan")
        plan_file = stack.directory / PLAN_FILE if saver is None else saver.plan_file(stack)
        before = saver.before(stack) if saver is not None else None
        code, output = plan_stack(
            session,
            stack.directory,
            out=JobStream(ctx),
            note=ctx.line,
            stops=run.stops(ctx),
            plan_file=plan_file,
        )
        codes[stack.name] = code
        if code != 0:
            ctx.line(output.rstrip())
        if code not in _WORDS:
            plan_file.unlink(missing_ok=True)
            plans[stack.name] = StackPlan(stack=stack.name, error=f"plan failed (exit {code})")
            raise DeployError(f"terraform plan of {stack.name} failed (exit {code})")
        shown = show_plan(session, stack.directory, plan_file, keep=saver is not None)
        plans[stack.name] = stack_plan(stack.name, shown)
        if saver is not None and before is not None:
            saver.saved_stack(stack, before, plans[stack.name], code)
        return JobResult(summary=_WORDS[code])

    outcomes = run.over(stacks, plan, order="none", parallel=parallel, stop=stop)
    if run.stopper.reasons:
        run.raise_for(outcomes)
    ordered = [plans[stack.name] for stack in stacks]
    for line in summary_lines(ordered):
        ws.echo(line)
    json_path, markdown_path = write_reports(ws.root, ordered)
    ws.echo(f"plan reports: {json_path.relative_to(ws.root)}, {markdown_path.relative_to(ws.root)}")
    if saver is not None and saver.finish(stacks, ordered) is None:
        # A plan that could not be recorded cannot be deployed: the run failed for that stack.
        codes.update({name: 1 for name in codes if name not in saver.saved})
    return codes
