"""``deploy``: apply every stack changed since its last apply, each after the stacks it reads,
then write cfn-outputs of the stacks that succeeded.

A stack unchanged since its last successful apply (:mod:`..applied`: same fingerprint, same
state) whose upstream stacks were not applied in this run either is skipped (no init, no plan;
its outputs are read from its state); ``plan_all`` applies every stack. Each apply deletes the
stack's record first and records its fingerprint after it succeeded.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.applied import AppliedRecords, Verdict
from tooling.lifecycle.commands.bootstrap import bootstrap, local_fixtures
from tooling.lifecycle.commands.context import ordered_stacks, session_for
from tooling.lifecycle.commands.hints import NO_HINTS, Hints
from tooling.lifecycle.commands.stack_run import DEFAULT_PARALLEL, StackRun
from tooling.lifecycle.outputs import (
    merge_stack_outputs,
    multi_region_flat_outputs,
    stack_outputs,
    write_flat_outputs,
)
from tooling.lifecycle.preflight import require_preflight
from tooling.lifecycle.runs import apply_stack
from tooling.lifecycle.scheduler import JobContext, JobResult
from tooling.lifecycle.stack_variables import applying_arguments

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["UNCHANGED", "deploy_stacks", "local_outputs", "write_outputs"]

#: What ``deploy`` says of a stack it skips (:mod:`..applied`).
UNCHANGED = "unchanged since its last apply (skipped; --plan-all plans it)"
#: Outputs ``deploy`` prints per environment after writing cfn-outputs.
_SHOWN_OUTPUTS = (
    "api_endpoint_url",
    "api_local_url",
    "data_bucket_name",
    "trades_table_name",
    "sessions_table_name",
    "database_endpoint",
)


def deploy_stacks(
    ws: Workspace,
    env: str | None,
    *,
    timings: dict[str, float] | None = None,
    parallel: int = DEFAULT_PARALLEL,
    plan_all: bool = False,
    stop: threading.Event | None = None,
    hints: Hints = NO_HINTS,
) -> dict[str, Any]:
    """Build, synth, (aws: preflight), bootstrap, init + apply every stack (each after the
    stacks it reads, up to ``parallel`` at a time), write cfn-outputs of the stacks that
    succeeded; return the flat outputs. ``timings`` gets each applied stack's apply seconds. A
    failed stack skips its dependents, the others finish, then this raises (exit 1; 130 when
    interrupted by a signal or ``stop``)."""
    stacks = ordered_stacks(ws, env)
    if ws.target == "aws":
        require_preflight(ws, stacks)  # read-only checks; a failure stops before any change
    session = session_for(ws)
    bootstrap(ws, session, {stack.environment for stack in stacks})
    local_fixtures(ws, session, sorted({stack.environment for stack in stacks}))
    run = StackRun(ws, session, "deploy", hints)
    deployment = _Deployment(run, AppliedRecords(session), plan_all=plan_all, timings=timings)
    outcomes = run.over(stacks, deployment.deploy, order="reads", parallel=parallel, stop=stop)
    done = [(s, deployment.collected[s.name]) for s in stacks if s.name in deployment.collected]
    flat = write_outputs(ws, done)
    run.raise_for(outcomes, finish=True)
    return flat


def write_outputs(ws: Workspace, done: list[tuple[StackInfo, dict[str, Any]]]) -> dict[str, Any]:
    """cfn-outputs of the stacks in ``done`` (with their outputs), the main ones printed."""
    if not done:
        return {}
    primary = {e.name: e.primary_region.name for e in ws.config().environments}
    flat = multi_region_flat_outputs(done, primary)
    path = write_flat_outputs(ws.root, flat)
    ws.echo(f"outputs: {path.relative_to(ws.root)} ({len(flat)} keys)")
    for environment in merge_stack_outputs(done):
        for name in _SHOWN_OUTPUTS:
            key = f"{environment}_{name}"
            if key in flat:
                ws.echo(f"  {key:32} {flat[key]}")
    return flat


def local_outputs(session: Session, outputs: dict[str, Any]) -> None:
    """Local target: the emulator's endpoint, and the API's URL on it (``api_local_url``)."""
    if session.emulator is None:
        return
    from tooling.emulator.httpapi import stage_url

    outputs["emulator_endpoint"] = session.emulator.endpoint
    if "api_id" in outputs and "api_stage_name" in outputs:
        outputs["api_local_url"] = stage_url(
            session.emulator.endpoint, outputs["api_id"], outputs["api_stage_name"]
        )


def _summary(added: int, changed: int, destroyed: int) -> str:
    if added == changed == destroyed == 0:
        return "no changes"
    return f"{added} added, {changed} changed, {destroyed} destroyed"


def _apply_reason(verdict: Verdict, upstream: Sequence[str], *, plan_all: bool) -> str | None:
    """Why a deploy applies the stack of ``verdict``; None: it skips it (unchanged, and none of
    the ``upstream`` stacks it reads was applied in this run: their outputs may have changed)."""
    if plan_all:
        return "--plan-all"
    if not verdict.unchanged:
        return verdict.reason
    if upstream:
        return f"{', '.join(upstream)} applied in this run"
    return None


@dataclass
class _Deployment:
    """The step of one deploy: each stack skipped when unchanged (:mod:`..applied`), else
    applied with its record deleted first and written after; the outputs of both collected."""

    run: StackRun
    records: AppliedRecords
    plan_all: bool = False
    timings: dict[str, float] | None = None
    collected: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The stacks whose apply started in this run (their dependents are applied too).
    applied: set[str] = field(default_factory=set)

    def collect(self, stack: StackInfo, outputs: dict[str, Any]) -> None:
        outputs["aws_region"] = stack.region
        local_outputs(self.run.session, outputs)
        with self.run.lock:
            self.collected[stack.name] = outputs

    def deploy(self, ctx: JobContext, stack: StackInfo) -> JobResult:
        verdict = self.records.check(stack)
        with self.run.lock:
            upstream = sorted(stack.depends_on & self.applied)
        reason = _apply_reason(verdict, upstream, plan_all=self.plan_all)
        if reason is None:
            ctx.line(UNCHANGED)
            self.collect(stack, dict(verdict.outputs or {}))
            return JobResult(summary="unchanged (skipped)")
        ctx.line(f"applying: {reason}")
        session = self.run.session
        self.run.begin(ctx, stack, "apply")
        self.records.forget(stack)
        with self.run.lock:
            self.applied.add(stack.name)
        result = apply_stack(
            session,
            stack.directory,
            extra=applying_arguments(stack.directory),
            **self.run.streams(ctx),
        )
        if verdict.fingerprint is not None:
            problem = self.records.remember(stack, verdict.fingerprint)
            if problem is not None:
                ctx.line(problem)
        if self.timings is not None:
            self.timings[stack.name] = result.seconds
        self.collect(stack, stack_outputs(session, stack.directory))
        summary = _summary(result.added, result.changed, result.destroyed)
        if result.adopted:
            summary += f", {len(result.adopted)} adopted"
        return JobResult(result.added, result.changed, result.destroyed, summary)
