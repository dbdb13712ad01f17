"""``destroy``: every stack before the stacks it reads, then what of the platform is left.

An environment with data protection on is refused before anything runs (:mod:`..protection`).
A stack without a state object (never deployed) is skipped. What the leftover check finds
afterwards (resources no state knows of, e.g. created by an interrupted apply) is deleted
(:func:`..sweep.sweep`) when asked, by default on the local target only: on aws it is listed
with the command that would delete it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from tooling.lifecycle.applied import AppliedRecords
from tooling.lifecycle.backend import backend_spec
from tooling.lifecycle.commands.bootstrap import bootstrap, local_fixtures
from tooling.lifecycle.commands.context import ordered_stacks, session_for
from tooling.lifecycle.commands.hints import NO_HINTS, Hints
from tooling.lifecycle.commands.stack_run import DEFAULT_PARALLEL, StackRun
from tooling.lifecycle.leftovers import Leftover, leftovers
from tooling.lifecycle.outputs import remove_outputs
from tooling.lifecycle.protection import refuse_protected_destroy
from tooling.lifecycle.runs import destroy_stack, has_state
from tooling.lifecycle.scheduler import JobContext, JobResult
from tooling.lifecycle.selection import select_environments

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["destroy_stacks"]


def destroy_stacks(
    ws: Workspace,
    env: str | None,
    *,
    timings: dict[str, float] | None = None,
    parallel: int = DEFAULT_PARALLEL,
    sweep: bool | None = None,
    stop: threading.Event | None = None,
    hints: Hints = NO_HINTS,
) -> list[Leftover]:
    """Destroy every stack (the reverse graph, up to ``parallel`` at a time), then list what
    of the platform is left and sweep it when ``sweep`` (None: on the local target only).

    ``timings`` gets each stack's destroy seconds. Returns what is left after that (empty:
    nothing). A failed stack skips the stacks it reads (and nothing is swept): a
    LifecycleError after the summary.
    """
    config = ws.config()
    refuse_protected_destroy(config, select_environments(config, env), env=env, target=ws.target)
    stacks = ordered_stacks(ws, env)
    session = session_for(ws)
    bootstrap(ws, session, {stack.environment for stack in stacks})
    region = backend_spec(config).region
    run = StackRun(ws, session, "destroy", hints)
    records = AppliedRecords(session)

    def destroy(ctx: JobContext, stack: StackInfo) -> JobResult:
        records.forget(stack)  # the next deploy applies it, whatever this destroy did
        if not has_state(session, stack, region):
            return JobResult(summary="no state, nothing to destroy")
        run.begin(ctx, stack, "destroy")
        result = destroy_stack(session, stack.directory, **run.streams(ctx))
        if timings is not None:
            timings[stack.name] = result.seconds
        return JobResult(destroyed=result.destroyed, summary=f"{result.destroyed} destroyed")

    outcomes = run.over(stacks, destroy, order="reverse", parallel=parallel, stop=stop)
    run.raise_for(outcomes, finish=True)
    left = _after_destroy(ws, session, stacks, sweep=sweep, hints=hints)
    if left:
        ws.echo("destroy: left behind:")
        for item in left:
            ws.echo(f"  {item.kind}: {item.name}")
    else:
        ws.echo("destroy: nothing left")
    return left


def _after_destroy(
    ws: Workspace, session: Session, stacks: list[StackInfo], *, sweep: bool | None, hints: Hints
) -> list[Leftover]:
    """Once every stack is destroyed: the environments' outputs and local account fixtures
    removed, then the leftover check (and its sweep). Returns what is left."""
    config = ws.config()
    spec = backend_spec(config)
    selected = sorted({stack.environment for stack in stacks})
    for environment in selected:
        remove_outputs(ws.root, environment)
    chosen = [e for e in config.environments if e.name in selected]
    regions = {stack.region for stack in stacks}
    cidrs = {str(region.vpc_cidr) for environment in chosen for region in environment.regions}
    local_fixtures(ws, session, selected, remove=True)
    dns_names = [e.dns.api_domain for e in chosen if e.dns is not None]

    def check() -> list[Leftover]:
        return leftovers(
            session, regions, spec, cidrs=cidrs, environments=selected, dns_names=dns_names
        )

    do_sweep = sweep if sweep is not None else session.emulator is not None
    return _sweep_leftovers(ws, session, spec.region, check, sweep=do_sweep, again=hints.sweep)


def _sweep_leftovers(
    ws: Workspace,
    session: Session,
    region: str,
    check: Callable[[], list[Leftover]],
    *,
    sweep: bool,
    again: str | None,
) -> list[Leftover]:
    """The leftover check; with ``sweep``, delete what it finds (:func:`..sweep.sweep`) and
    check again; without, name the command that would (``again``). Returns what is left."""
    left = check()
    if not left:
        return left
    if not sweep:
        then = f", then run {again}" if again else ", then destroy again with the sweep"
        ws.echo(
            f"destroy: {len(left)} resource(s) are in no state; on the aws target nothing outside "
            f"a state is deleted without asking: check the list below{then}"
        )
        return left
    from tooling.lifecycle.sweep import sweep as sweep_leftovers

    ws.echo(f"destroy: {len(left)} resource(s) are in no state (an interrupted run); sweeping:")
    for line in sweep_leftovers(session.client, left, region=region):
        ws.echo(f"  {line}")
    return check()
