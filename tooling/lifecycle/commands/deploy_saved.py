"""``deploy --plan DIR``: apply the plans ``plan --out DIR`` saved, and nothing else.

Every stack is checked before any terraform runs (:mod:`..saved_plans`): a plan directory for
another target, environments or stacks, another terraform version, or any stale plan
(configuration, state, what it reads or the plan file changed since) refuses the whole deploy,
naming each stale stack and why, and nothing is applied. Then each stack is applied from its
plan file (``terraform apply <planfile>``) after the stacks it reads; a stack whose plan has no
changes is skipped. Right before its apply a stack is checked again: an upstream apply of this
run may have changed the outputs it reads, and its plan was made from the old ones (that stack
fails: plan again). Nothing is adopted and no apply is repeated (:func:`..runs.apply_saved_plan`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.applied import AppliedRecords
from tooling.lifecycle.commands.context import ordered_stacks, session_for
from tooling.lifecycle.commands.deploy import local_outputs, write_outputs
from tooling.lifecycle.commands.hints import NO_HINTS, Hints
from tooling.lifecycle.commands.stack_run import DEFAULT_PARALLEL, StackRun
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.outputs import stack_outputs
from tooling.lifecycle.preflight import require_preflight
from tooling.lifecycle.runs import apply_saved_plan
from tooling.lifecycle.saved_plans import (
    PlanManifest,
    SavedStack,
    StackNow,
    mismatches,
    read_manifest,
    refusal,
    sha256_of,
    stale_reasons,
)
from tooling.lifecycle.scheduler import JobContext, JobResult
from tooling.lifecycle.session import DeployError
from tooling.lifecycle.state_snapshot import config_sha256, read_snapshot

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["NO_CHANGES", "check_saved_plans", "deploy_saved_plans", "stack_now"]

#: What ``deploy --plan`` says of a stack whose saved plan changes nothing.
NO_CHANGES = "its saved plan has no changes (skipped)"


def stack_now(session: Session, stack: StackInfo, saved: SavedStack, directory: Path) -> StackNow:
    """What ``stack`` is now, to compare with its saved plan in ``directory``."""
    snapshot = read_snapshot(session, stack.directory)
    plan_file = directory / saved.plan_file
    return StackNow(
        config_sha256=config_sha256(stack.directory),
        lineage=snapshot.lineage,
        serial=snapshot.serial,
        reads_sha256=snapshot.reads_sha256,
        plan_sha256=sha256_of(plan_file) if plan_file.is_file() else None,
    )


def check_saved_plans(
    ws: Workspace,
    session: Session,
    manifest: PlanManifest,
    directory: Path,
    stacks: Sequence[StackInfo],
    *,
    terraform_version: str,
    again: str | None,
) -> None:
    """Refuse (a LifecycleError, exit 1) unless every saved plan of ``directory`` still applies
    to ``stacks`` as they are now; the message names each problem and each stale stack."""
    problems = mismatches(
        manifest,
        target=ws.target,
        stacks=[stack.name for stack in stacks],
        environments=sorted({stack.environment for stack in stacks}),
        terraform_version=terraform_version,
    )
    stale: dict[str, list[str]] = {}
    for stack in stacks:
        saved = manifest.stack(stack.name)
        if saved is None or saved.not_applicable is not None:  # refused as a whole (mismatches)
            continue
        reasons = stale_reasons(saved, stack_now(session, stack, saved, directory))
        if reasons:
            stale[stack.name] = reasons
    if problems or stale:
        raise LifecycleError(refusal(problems, stale, again))


def deploy_saved_plans(
    ws: Workspace,
    env: str | None,
    plan_dir: Path,
    *,
    parallel: int = DEFAULT_PARALLEL,
    stop: threading.Event | None = None,
    hints: Hints = NO_HINTS,
) -> dict[str, Any]:
    """Synth, (aws: preflight), check every saved plan of ``plan_dir`` (refusing before any
    apply), apply each stack's plan after the stacks it reads, write cfn-outputs of the stacks
    done; return the flat outputs. ``hints.again`` is the plan command to run again."""
    from tooling.terraform import terraform_version

    stacks = ordered_stacks(ws, env)
    if ws.target == "aws":
        require_preflight(ws, stacks)
    session = session_for(ws, start=False)
    directory = plan_dir.resolve()
    manifest = read_manifest(directory)
    check_saved_plans(
        ws, session, manifest, directory, stacks,
        terraform_version=terraform_version(), again=hints.again,
    )  # fmt: skip
    run = StackRun(ws, session, "deploy", hints)
    applier = _SavedApply(run, AppliedRecords(session), manifest, directory)
    outcomes = run.over(stacks, applier.apply, order="reads", parallel=parallel, stop=stop)
    done = [(s, applier.collected[s.name]) for s in stacks if s.name in applier.collected]
    flat = write_outputs(ws, done)
    run.raise_for(outcomes)
    return flat


@dataclass
class _SavedApply:
    """The step of one ``deploy --plan``: each stack's saved plan applied, or skipped."""

    run: StackRun
    records: AppliedRecords
    manifest: PlanManifest
    directory: Path
    collected: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, ctx: JobContext, stack: StackInfo) -> JobResult:
        saved = self.manifest.stack(stack.name)
        if saved is None:  # check_saved_plans refused such a run already
            raise DeployError(f"{stack.name}: no saved plan")
        session = self.run.session
        self.run.begin(ctx, stack, "apply")
        if not saved.has_changes:
            ctx.line(NO_CHANGES)
            self._collect(stack)
            return JobResult(summary="no changes (skipped)")
        reasons = stale_reasons(saved, stack_now(session, stack, saved, self.directory))
        if reasons:
            raise DeployError(
                f"{stack.name}: its saved plan is stale: {'; '.join(reasons)}; nothing of it "
                "was applied: plan again"
            )
        verdict = self.records.check(stack)
        self.records.forget(stack)
        result = apply_saved_plan(
            session, stack.directory, self.directory / saved.plan_file,
            out=self.run.streams(ctx)["out"], progress=ctx.progress, note=ctx.line,
            stops=self.run.stops(ctx),
        )  # fmt: skip
        if verdict.fingerprint is not None:
            problem = self.records.remember(stack, verdict.fingerprint)
            if problem is not None:
                ctx.line(problem)
        self._collect(stack)
        return JobResult(
            result.added,
            result.changed,
            result.destroyed,
            f"{result.added} added, {result.changed} changed, {result.destroyed} destroyed",
        )

    def _collect(self, stack: StackInfo) -> None:
        outputs = stack_outputs(self.run.session, stack.directory)
        outputs["aws_region"] = stack.region
        local_outputs(self.run.session, outputs)
        with self.run.lock:
            self.collected[stack.name] = outputs
