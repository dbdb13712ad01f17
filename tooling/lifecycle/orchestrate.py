"""The lifecycle commands, step by step: deploy, plan, destroy, drift, validate, bootstrap.

Each function is one command of ``./tap`` (and what the e2e tests run): it synthesizes the
selected environments, orders their stacks (:mod:`.graph`), opens the session of the target
(:mod:`.session`) and runs terraform on one stack after the other (:mod:`.runs`), printing the
same lines as the command does to ``ws.out``. A failure is a :class:`.errors.LifecycleError`
whose message says what to do; nothing here knows about invoke.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.backend import backend_spec, bootstrap_backend
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.leftovers import Leftover, leftovers
from tooling.lifecycle.outputs import (
    merge_stack_outputs,
    multi_region_flat_outputs,
    remove_outputs,
    stack_outputs,
    write_flat_outputs,
)
from tooling.lifecycle.runs import apply_stack, destroy_stack, has_state, init_stack, plan_stack
from tooling.lifecycle.selection import select_environments
from tooling.lifecycle.session import DeployError, Session, open_session
from tooling.lifecycle.synth import synth_stacks

if TYPE_CHECKING:
    from tooling.drift.live import StackDrift
    from tooling.lifecycle.workspace import Workspace

__all__ = [
    "bootstrap",
    "deploy_stacks",
    "destroy_stacks",
    "drift_stacks",
    "ordered_stacks",
    "plan_stacks",
    "session_for",
    "static_drift",
    "validate_stacks",
]

#: Outputs ``deploy`` prints per environment after writing cfn-outputs.
_SHOWN_OUTPUTS = (
    "api_endpoint_url",
    "api_local_url",
    "data_bucket_name",
    "trades_table_name",
    "sessions_table_name",
    "database_endpoint",
)


def ordered_stacks(ws: Workspace, env: str | None) -> list[StackInfo]:
    """``env``'s stacks, synthesized (incremental), in deploy order (destroy reverses it)."""
    return read_stacks(ws.outdir, synth_stacks(ws, env))


def session_for(ws: Workspace, *, start: bool = True) -> Session:
    """The session of ``ws``'s target; ``start=False`` needs the local emulator running."""
    return open_session(ws.root, ws.target, port=ws.port, start=start)


def bootstrap(ws: Workspace, session: Session) -> None:
    """Create the Terraform state bucket and lock table of platform.toml ``[state]``."""
    from botocore.exceptions import BotoCoreError, ClientError

    spec = backend_spec(ws.config())
    try:
        for line in bootstrap_backend(session, spec):
            ws.echo(f"bootstrap-backend: {line}")
    except (ClientError, BotoCoreError) as error:
        raise LifecycleError(
            f"bootstrap-backend failed: {error}. For --target aws check your AWS credentials "
            "and permissions (s3:CreateBucket, dynamodb:CreateTable, ...)."
        ) from None


def _local_fixtures(
    ws: Workspace, session: Session, environments: list[str], *, remove: bool = False
) -> None:
    """Local target only: prepare (or, after destroy, remove) what an account already has and
    the environments expect (hosted zone, master secret, rotation function; see
    tooling/emulator/fixtures.py). Never for aws: there the account provides them."""
    if session.emulator is None:
        return
    from botocore.exceptions import BotoCoreError, ClientError

    from tooling.emulator import fixtures as local_fixtures

    config = ws.config()
    for name in environments:
        fixtures = local_fixtures.fixtures_for(config.environment(name))
        if not fixtures.needed:
            continue
        action = local_fixtures.remove if remove else local_fixtures.prepare
        try:
            for line in action(session, fixtures):
                ws.echo(f"account fixtures ({name}, local): {line}")
        except (ClientError, BotoCoreError) as error:
            raise LifecycleError(f"account fixtures of {name} failed: {error}") from None


def _local_outputs(session: Session, outputs: dict[str, Any]) -> None:
    """Local target: the emulator's endpoint, and the API's URL on it (``api_local_url``)."""
    if session.emulator is None:
        return
    from tooling.emulator.httpapi import stage_url

    outputs["emulator_endpoint"] = session.emulator.endpoint
    if "api_id" in outputs and "api_stage_name" in outputs:
        outputs["api_local_url"] = stage_url(
            session.emulator.endpoint, outputs["api_id"], outputs["api_stage_name"]
        )


def deploy_stacks(
    ws: Workspace, env: str | None, *, timings: dict[str, float] | None = None
) -> dict[str, Any]:
    """Build, synth, bootstrap, init + apply every stack (dependencies first), write
    cfn-outputs; return the flat outputs. ``timings`` gets each stack's apply seconds."""
    stacks = ordered_stacks(ws, env)
    session = session_for(ws)
    bootstrap(ws, session)
    _local_fixtures(ws, session, sorted({stack.environment for stack in stacks}))
    collected: list[tuple[StackInfo, dict[str, Any]]] = []
    try:
        for stack in stacks:
            init_stack(session, stack.directory)
            ws.echo(f"deploy {stack.name}: applying ...")
            result = apply_stack(session, stack.directory, out=ws.out)
            summary = (
                "no changes"
                if result.no_changes
                else f"{result.added} added, {result.changed} changed, {result.destroyed} destroyed"
            )
            ws.echo(f"deploy {stack.name}: {summary} in {result.seconds:.1f} s")
            if timings is not None:
                timings[stack.name] = result.seconds
            outputs = stack_outputs(session, stack.directory)
            outputs["aws_region"] = stack.region
            _local_outputs(session, outputs)
            collected.append((stack, outputs))
    except DeployError as error:
        raise LifecycleError(f"deploy failed: {error}") from None
    per_env = merge_stack_outputs(collected)
    primary = {e.name: e.primary_region.name for e in ws.config().environments}
    flat = multi_region_flat_outputs(collected, primary)
    path = write_flat_outputs(ws.root, flat)
    ws.echo(f"outputs: {path.relative_to(ws.root)} ({len(flat)} keys)")
    for environment in per_env:
        for name in _SHOWN_OUTPUTS:
            key = f"{environment}_{name}"
            if key in flat:
                ws.echo(f"  {key:32} {flat[key]}")
    return flat


def plan_stacks(ws: Workspace, env: str | None) -> dict[str, int]:
    """`terraform plan -detailed-exitcode` per stack, dependencies first:
    {stack: 0 no changes, 1 error, 2 changes}."""
    stacks = ordered_stacks(ws, env)
    session = session_for(ws, start=False)
    codes: dict[str, int] = {}
    words = {0: "no changes", 2: "changes"}
    for stack in stacks:
        try:
            init_stack(session, stack.directory)
        except DeployError as error:
            ws.echo(f"plan {stack.name}: error\n{error}")
            codes[stack.name] = 1
            continue
        started = time.perf_counter()
        code, output = plan_stack(session, stack.directory, out=ws.out)
        codes[stack.name] = code
        elapsed = time.perf_counter() - started
        ws.echo(f"plan {stack.name}: {words.get(code, 'error')} ({elapsed:.1f} s)")
        if code != 0:
            ws.echo(output.rstrip())
    return codes


def destroy_stacks(
    ws: Workspace, env: str | None, *, timings: dict[str, float] | None = None
) -> list[Leftover]:
    """Destroy every stack (dependents first: the reverse of the deploy order), then list what
    of the platform is left. A stack without a state object (never deployed) is skipped.
    ``timings`` gets each stack's destroy seconds."""
    stacks = ordered_stacks(ws, env)
    session = session_for(ws)
    bootstrap(ws, session)
    config = ws.config()
    spec = backend_spec(config)
    try:
        for stack in reversed(stacks):
            if not has_state(session, stack, spec.region):
                ws.echo(f"destroy {stack.name}: no state, nothing to destroy")
                continue
            init_stack(session, stack.directory)
            ws.echo(f"destroy {stack.name}: destroying ...")
            result = destroy_stack(session, stack.directory, out=ws.out)
            ws.echo(f"destroy {stack.name}: {result.destroyed} destroyed in {result.seconds:.1f} s")
            if timings is not None:
                timings[stack.name] = result.seconds
    except DeployError as error:
        raise LifecycleError(f"destroy failed: {error}") from None
    selected = sorted({stack.environment for stack in stacks})
    for environment in selected:
        remove_outputs(ws.root, environment)
    chosen = [e for e in config.environments if e.name in selected]
    regions = {stack.region for stack in stacks}
    cidrs = {str(region.vpc_cidr) for environment in chosen for region in environment.regions}
    _local_fixtures(ws, session, selected, remove=True)
    dns_names = [e.dns.api_domain for e in chosen if e.dns is not None]
    left = leftovers(
        session, regions, spec, cidrs=cidrs, environments=selected, dns_names=dns_names
    )
    if left:
        ws.echo("destroy: left behind:")
        for item in left:
            ws.echo(f"  {item.kind}: {item.name}")
    else:
        ws.echo("destroy: nothing left")
    return left


def drift_stacks(ws: Workspace, env: str | None) -> list[StackDrift]:
    """Plan every stack (no lock), publish each region's change count to CloudWatch, print a
    table; return the per-stack results. A stack whose plan failed is an error after the
    others were published (its region publishes nothing, so its alarm sees missing data)."""
    from tooling.drift import live

    stacks = ordered_stacks(ws, env)
    session = session_for(ws, start=False)
    results: list[StackDrift] = []
    failed: dict[str, str] = {}
    started = time.perf_counter()
    for stack in stacks:
        try:
            init_stack(session, stack.directory)
            results.append(live.plan_drift(session, stack))
        except (DeployError, live.DriftError) as error:
            failed[stack.name] = str(error)
            ws.echo(f"drift {stack.name}: plan failed\n{error}")
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


def validate_stacks(ws: Workspace, env: str | None) -> list[str]:
    """``terraform validate`` (offline, no backend) of every synthesized stack; print each
    result and return the stacks that failed (an error, or a deprecation warning)."""
    from tooling.terraform import validate_stack

    failures = []
    for stack in synth_stacks(ws, env):
        result = validate_stack(ws.outdir / "stacks" / stack, ws.root)
        deprecated = result.deprecations
        status = "ok" if not result.errors and not deprecated else "FAILED"
        counts = f"{len(result.errors)} errors, {len(result.warnings)} warnings"
        ws.echo(f"validate {stack}: {status} ({counts})")
        for diagnostic in [*result.errors, *result.warnings]:
            where = f" ({diagnostic.address})" if diagnostic.address else ""
            ws.echo(f"  {diagnostic.severity}: {diagnostic.summary}{where}: {diagnostic.detail}")
        if result.errors or deprecated:
            failures.append(stack)
    return failures
