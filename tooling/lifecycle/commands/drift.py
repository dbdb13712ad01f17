"""``drift``: live (plan every stack, publish each region's change count to CloudWatch) or
static (compare the synthesized regions of each multi-region environment, no cloud touched)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from tooling.lifecycle.commands.context import ordered_stacks, session_for
from tooling.lifecycle.commands.hints import NO_HINTS, Hints
from tooling.lifecycle.commands.stack_run import DEFAULT_PARALLEL, StackRun
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.scheduler import JobContext, JobResult
from tooling.lifecycle.selection import select_environments
from tooling.lifecycle.session import DeployError
from tooling.lifecycle.synth import synth_stacks

if TYPE_CHECKING:
    from tooling.drift.live import StackDrift
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.workspace import Workspace

__all__ = ["drift_stacks", "static_drift"]


def drift_stacks(
    ws: Workspace,
    env: str | None,
    *,
    parallel: int = DEFAULT_PARALLEL,
    stop: threading.Event | None = None,
    hints: Hints = NO_HINTS,
) -> list[StackDrift]:
    """Plan every stack (no lock, up to ``parallel`` at a time), publish each region's change
    count to CloudWatch, print a table; return the per-stack results. A stack whose plan failed
    is an error after the others were published (its region publishes nothing, so its alarm
    sees missing data)."""
    from tooling.drift import live

    stacks = ordered_stacks(ws, env)
    session = session_for(ws, start=False)
    run = StackRun(ws, session, "drift", hints)
    found: dict[str, StackDrift] = {}
    started = time.perf_counter()

    def plan(ctx: JobContext, stack: StackInfo) -> JobResult:
        run.begin(ctx, stack, "plan")
        try:
            drift = live.plan_drift(session, stack)
        except live.DriftError as error:
            raise DeployError(str(error)) from None
        found[stack.name] = drift
        return JobResult(summary=f"{len(drift.addresses)} change(s)")

    outcomes = run.over(stacks, plan, order="none", parallel=parallel, stop=stop)
    if run.stopper.reasons:
        run.raise_for(outcomes)
    results = [found[stack.name] for stack in stacks if stack.name in found]
    failed = {o.name: o.error or o.status for o in outcomes if o.status != "succeeded"}
    broken_regions = {s.region for s in stacks if s.name in failed}
    totals = live.publish(session, [r for r in results if r.region not in broken_regions])
    ws.echo(live.format_table(results))
    for (environment, region), changes in totals.items():
        ws.echo(f"drift: published {changes} to {region} ({environment})")
    for result in results:
        for address in result.addresses:
            ws.echo(f"  {result.stack}: {address}")
    ws.echo(f"drift: {len(stacks)} stack(s) planned in {time.perf_counter() - started:.1f} s")
    if failed:
        raise LifecycleError(
            f"drift unknown for {', '.join(sorted(failed))} (plan failed; nothing published "
            f"for {', '.join(sorted(broken_regions))}: its drift alarm goes off on missing data)."
        )
    return results


def static_drift(ws: Workspace, env: str | None) -> list[str]:
    """Compare the synthesized regions of every selected multi-region environment (default:
    all of them); return the differences, each printed. No cloud is touched."""
    from tooling.drift.static import compare_regions, load_region_stacks

    config = ws.config()
    names = select_environments(config, env) if env else [e.name for e in config.environments]
    selected = [config.environment(n) for n in names if config.environment(n).is_multi_region]
    if not selected:
        ws.echo(f"drift --static: no multi-region environment in {names}: nothing to compare")
        return []
    found: list[str] = []
    for environment in selected:
        synth_stacks(ws, environment.name)
        stacks = load_region_stacks(ws.outdir / "stacks", config.platform.name, environment)
        differences = compare_regions(stacks)
        if differences:
            ws.echo(f"drift --static {environment.name}: {len(differences)} difference(s):")
            for line in differences:
                ws.echo(f"  {line}")
        else:
            ws.echo(f"drift --static {environment.name}: regions identical")
        found += differences
    return found
