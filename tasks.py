"""Tasks of the trading platform repository: ``./tap TASK`` (``./tap --list`` shows them).

Heavy imports (cdktf, the provider bindings, boto3) happen inside the tasks that need them, so
that ``./tap --list`` and no-op runs stay fast.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

ROOT = Path(__file__).resolve().parent
DIST = ROOT / "dist"
#: Where synth writes (and the lifecycle tasks read) the stacks. ``TAP_CDKTF_OUTDIR`` (relative to
#: the repository) gives a run its own directory, so that two runs with different targets (e.g.
#: the e2e session on ``local`` and the security scan on ``aws``) never replace each other's stacks.
OUTDIR = ROOT / (os.environ.get("TAP_CDKTF_OUTDIR", "").strip() or "cdktf.out")
CONFIG_FILE = ROOT / "platform.toml"
TARGETS = ("local", "aws")


def _quiet_jsii() -> None:
    # jsii prints a Node end-of-life banner on every start; this is jsii's documented switch.
    node_major = os.environ.get("TAP_NODE_MAJOR") or _node_major()
    if node_major:
        os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", node_major)
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def _node_major() -> str:
    node = shutil.which("node")
    if node is None:
        raise Exit("node is not on PATH: CDKTF's jsii runtime needs Node.js 20+.", code=2)
    import subprocess

    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    return version.stdout.strip().lstrip("v").split(".")[0]


def _lambda_target() -> Any:
    import tomllib

    from tooling.lambda_build import LambdaTarget

    document = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    return LambdaTarget(architecture=document["platform"].get("lambda_architecture", "x86_64"))


def _selection(env: str | None) -> list[str]:
    """The environments a task works on, in platform.toml order.

    ``env``: one environment, a comma-separated list (``dev,prod``) or ``all``; None means
    ``TF_WORKSPACE``, else ``platform.default_environment``. ``TF_WORKSPACE``, when set, pins a
    run to that one environment: any ``--env`` that selects something else (another
    environment, a list naming other environments too, or ``all``) is an error.
    """
    import tomllib

    document = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    names = list(document["environments"])
    workspace = os.environ.get("TF_WORKSPACE", "").strip()
    wanted = (env or "").strip() or workspace or document["platform"]["default_environment"]
    parts = [part.strip() for part in wanted.split(",")]
    if "all" in parts and len(parts) > 1:
        raise Exit(f"--env {wanted}: 'all' cannot be combined with other environments.", code=2)
    if "" in parts:
        raise Exit(f"--env {wanted!r} has an empty entry; write e.g. --env dev,prod.", code=2)
    unknown = [part for part in parts if part != "all" and part not in names]
    if unknown:
        raise Exit(
            f"unknown environment {', '.join(map(repr, unknown))}; choose from {names}, "
            "a comma-separated list of them, or 'all'.",
            code=2,
        )
    selected = names if parts == ["all"] else [name for name in names if name in parts]
    pinned = names if workspace == "all" else [workspace]
    if workspace and selected != pinned:
        raise Exit(
            f"TF_WORKSPACE={workspace} restricts this run to the {workspace} environment, but "
            f"--env {wanted} selects {', '.join(selected)}; unset TF_WORKSPACE or make them agree.",
            code=2,
        )
    return selected


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise Exit(f"--target must be one of {TARGETS}, got {target!r}.", code=2)


def _emulator_port() -> int:
    return int(os.environ.get("TAP_EMULATOR_PORT", "4566"))


@task(help={"force": "rebuild even when no input changed"})
def build(c: Context, force: bool = False) -> None:
    """Build dist/<service>.zip for every Lambda service (skipped when inputs are unchanged)."""
    from tooling.lambda_build import BuildError, build_all

    try:
        results = build_all(ROOT, target=_lambda_target(), force=force)
    except BuildError as error:
        raise Exit(f"build failed: {error}", code=1) from None
    for result in results:
        state = "built" if result.built else "up to date"
        print(
            f"{result.service:12} {state:10} {result.size_bytes / 1024:8.0f} KiB  "
            f"sha256 {result.sha256}  {result.zip_path.relative_to(ROOT)}"
        )


@task(
    help={
        "env": "environment, list (dev,prod) or 'all' (default: platform.default_environment)",
        "target": "local (the emulator on loopback, default) or aws",
        "all_": "every deployment of platform.toml (same as --env all)",
        "force": "synthesize even when nothing changed",
    }
)
def synth(
    c: Context, env: str | None = None, target: str = "local", all_: bool = False,
    force: bool = False,
) -> list[str]:  # fmt: skip
    """Synthesize the stacks into cdktf.out/stacks/<stack>/cdk.tf.json (incremental)."""
    from tooling import synth_stamp

    _check_target(target)
    build(c)
    selection = _selection("all" if all_ else env)
    zips = sorted(DIST.glob("*.zip"))
    stamp = synth_stamp.compute(
        ROOT, zips=zips, selection=selection, target=target, port=_emulator_port()
    )
    if not force and synth_stamp.is_current(OUTDIR, stamp):
        stacks = synth_stamp.recorded_stacks(OUTDIR)
        print(f"synth: up to date ({', '.join(stacks)})")
        return stacks
    started = time.perf_counter()
    _quiet_jsii()
    from trading_infra.app import SynthRequest, artifacts_from_dist, synthesize
    from trading_infra.config import ConfigError, load_config
    from trading_infra.target import DeployTarget

    try:
        config = load_config(CONFIG_FILE)
    except ConfigError as error:
        raise Exit(str(error), code=2) from None
    shutil.rmtree(OUTDIR / "stacks", ignore_errors=True)
    OUTDIR.mkdir(parents=True, exist_ok=True)
    stacks = synthesize(
        SynthRequest(
            config=config,
            environments=tuple(selection),
            target=DeployTarget(kind=target, emulator_port=_emulator_port()),  # type: ignore[arg-type]
            artifacts=artifacts_from_dist(DIST),
            outdir=OUTDIR,
        )
    )
    synth_stamp.write(OUTDIR, stamp, stacks)
    elapsed = time.perf_counter() - started
    print(f"synth: {len(stacks)} stack(s) in {elapsed:.1f} s: {', '.join(stacks)}")
    return stacks


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws"})
def validate(c: Context, env: str = "all", target: str = "local") -> None:
    """Run terraform init (offline mirror, no backend) and validate on every synthesized stack."""
    from tooling.terraform import validate_stack

    stacks = synth(c, env=env, target=target)
    failures = []
    for stack in stacks:
        result = validate_stack(OUTDIR / "stacks" / stack, ROOT)
        deprecated = result.deprecations
        status = "ok" if not result.errors and not deprecated else "FAILED"
        counts = f"{len(result.errors)} errors, {len(result.warnings)} warnings"
        print(f"validate {stack}: {status} ({counts})")
        for diagnostic in [*result.errors, *result.warnings]:
            where = f" ({diagnostic.address})" if diagnostic.address else ""
            print(f"  {diagnostic.severity}: {diagnostic.summary}{where}: {diagnostic.detail}")
        if result.errors or deprecated:
            failures.append(stack)
    if failures:
        raise Exit(f"terraform validate failed for: {', '.join(failures)}", code=1)


@task
def clean(c: Context) -> None:
    """Remove build and synth outputs (dist/, cdktf.out/, .build/, cfn-outputs/)."""
    for name in ("dist", "cdktf.out", ".build", "cfn-outputs"):
        shutil.rmtree(ROOT / name, ignore_errors=True)
        print(f"removed {name}/")


@task(help={"session": "run only this nox session (e.g. unit, lint)"})
def test(c: Context, session: str | None = None) -> None:
    """Run the whole test suite as CI does (nox's default sessions; see noxfile.py)."""
    args = ["-s", session] if session else []
    c.run(" ".join([sys.executable, "-m", "nox", *args]), pty=False)


# --------------------------------------------------------------------------- deploy lifecycle
# The local target runs against the emulator on 127.0.0.1:$TAP_EMULATOR_PORT (default 4566), the
# same port `synth --target local` writes into the stacks. See tooling/deploy.py.


def ordered_stacks(stacks: list[str]) -> list[Any]:
    """The synthesized ``stacks`` in deploy order (dependencies first; destroy reverses it)."""
    from tooling.deploy import DeployError, read_stacks

    try:
        return read_stacks(OUTDIR, stacks)
    except DeployError as error:
        raise Exit(str(error), code=1) from None


def _lifecycle_session(target: str, *, start: bool = True) -> Any:
    """The deploy session: for local, the emulator on the synth port (started or reused)."""
    from tooling.deploy import Session
    from tooling.emulator import process as emu

    _check_target(target)
    if target == "aws":
        return Session(root=ROOT, target="aws")
    try:
        if start:
            running = emu.start(ROOT, port=_emulator_port())
        else:
            found = emu.status(ROOT)
            if found is None:
                raise Exit(
                    "the local emulator is not running: deploy first (`./tap deploy`) or start "
                    "it with `./tap emulator`.",
                    code=1,
                )
            running = found
    except emu.EmulatorError as error:
        raise Exit(f"emulator: {error}", code=1) from None
    if running.port != _emulator_port():
        raise Exit(
            f"the emulator runs on port {running.port} but the stacks were synthesized for "
            f"{_emulator_port()}: stop it (`./tap emulator --stop`) or set TAP_EMULATOR_PORT.",
            code=2,
        )
    return Session(root=ROOT, target="local", emulator=running)


def _bootstrap(session: Any) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from tooling.deploy import bootstrap_backend, load_backend_spec

    spec = load_backend_spec(CONFIG_FILE)
    try:
        for line in bootstrap_backend(session, spec):
            print(f"bootstrap-backend: {line}")
    except (ClientError, BotoCoreError) as error:
        raise Exit(
            f"bootstrap-backend failed: {error}. For --target aws check your AWS credentials "
            "and permissions (s3:CreateBucket, dynamodb:CreateTable, ...).",
            code=1,
        ) from None


def _local_fixtures(session: Any, environments: list[str], *, remove: bool = False) -> None:
    """Local target only: prepare (or, after destroy, remove) what an account already has and
    the environments expect (hosted zone, master secret, rotation function; see
    tooling/emulator/fixtures.py). Never for aws: there the account provides them."""
    if session.emulator is None:
        return
    from botocore.exceptions import BotoCoreError, ClientError
    from trading_infra.config import ConfigError, load_config

    from tooling.emulator import fixtures as local_fixtures

    try:
        config = load_config(CONFIG_FILE)
    except ConfigError as error:
        raise Exit(str(error), code=2) from None
    for name in environments:
        fixtures = local_fixtures.fixtures_for(config.environment(name))
        if not fixtures.needed:
            continue
        action = local_fixtures.remove if remove else local_fixtures.prepare
        try:
            for line in action(session, fixtures):
                print(f"account fixtures ({name}, local): {line}")
        except (ClientError, BotoCoreError) as error:
            raise Exit(f"account fixtures of {name} failed: {error}", code=1) from None


@task(help={"target": "local (the emulator) or aws"})
def bootstrap_backend(c: Context, target: str = "local") -> None:
    """Create the Terraform state bucket and lock table (idempotent) of platform.toml [state]."""
    _bootstrap(_lifecycle_session(target))


def _primary_regions() -> dict[str, str]:
    """{environment: its primary (first) region} of platform.toml."""
    import tomllib

    document = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    return {
        name: environment["regions"][0]["name"]
        for name, environment in document["environments"].items()
    }


def deploy_stacks(
    c: Context, env: str | None = None, target: str = "local",
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Build, synth, bootstrap, init + apply every stack (dependencies first), write
    cfn-outputs; return the flat outputs. ``timings`` gets each stack's apply seconds."""
    from tooling.deploy import (
        DeployError,
        apply_stack,
        init_stack,
        merge_stack_outputs,
        multi_region_flat_outputs,
        stack_outputs,
        write_flat_outputs,
    )
    from tooling.emulator.httpapi import stage_url

    stacks = ordered_stacks(synth(c, env=env, target=target))
    session = _lifecycle_session(target)
    _bootstrap(session)
    _local_fixtures(session, sorted({stack.environment for stack in stacks}))
    collected: list[tuple[Any, dict[str, Any]]] = []
    try:
        for stack in stacks:
            init_stack(session, stack.directory)
            print(f"deploy {stack.name}: applying ...", flush=True)
            result = apply_stack(session, stack.directory)
            summary = (
                "no changes"
                if result.no_changes
                else f"{result.added} added, {result.changed} changed, {result.destroyed} destroyed"
            )
            print(f"deploy {stack.name}: {summary} in {result.seconds:.1f} s", flush=True)
            if timings is not None:
                timings[stack.name] = result.seconds
            outputs = stack_outputs(session, stack.directory)
            outputs["aws_region"] = stack.region
            if session.emulator is not None:
                outputs["emulator_endpoint"] = session.emulator.endpoint
                if "api_id" in outputs and "api_stage_name" in outputs:
                    outputs["api_local_url"] = stage_url(
                        session.emulator.endpoint, outputs["api_id"], outputs["api_stage_name"]
                    )
            collected.append((stack, outputs))
    except DeployError as error:
        raise Exit(f"deploy failed: {error}", code=1) from None
    per_env = merge_stack_outputs(collected)
    flat = multi_region_flat_outputs(collected, _primary_regions())
    path = write_flat_outputs(ROOT, flat)
    print(f"outputs: {path.relative_to(ROOT)} ({len(flat)} keys)")
    for environment in per_env:
        for name in (
            "api_endpoint_url",
            "api_local_url",
            "data_bucket_name",
            "trades_table_name",
            "sessions_table_name",
            "database_endpoint",
        ):
            key = f"{environment}_{name}"
            if key in flat:
                print(f"  {key:32} {flat[key]}")
    return flat


@task(help={"env": "environment or 'all' (default: platform.default_environment)",
            "target": "local (the emulator, default) or aws"})  # fmt: skip
def deploy(c: Context, env: str | None = None, target: str = "local") -> None:
    """Build, synth, bootstrap the state backend, apply every stack, write cfn-outputs."""
    deploy_stacks(c, env=env, target=target)


def plan_stacks(c: Context, env: str | None = None, target: str = "local") -> dict[str, int]:
    """`terraform plan -detailed-exitcode` per stack, dependencies first:
    {stack: 0 no changes, 1 error, 2 changes}."""
    from tooling.deploy import DeployError, init_stack, plan_stack

    stacks = ordered_stacks(synth(c, env=env, target=target))
    session = _lifecycle_session(target, start=False)
    codes: dict[str, int] = {}
    words = {0: "no changes", 2: "changes"}
    for stack in stacks:
        try:
            init_stack(session, stack.directory)
        except DeployError as error:
            print(f"plan {stack.name}: error\n{error}")
            codes[stack.name] = 1
            continue
        started = time.perf_counter()
        code, output = plan_stack(session, stack.directory)
        codes[stack.name] = code
        elapsed = time.perf_counter() - started
        print(f"plan {stack.name}: {words.get(code, 'error')} ({elapsed:.1f} s)")
        if code != 0:
            print(output.rstrip())
    return codes


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws"})
def plan(c: Context, env: str | None = None, target: str = "local") -> None:
    """Show what a deploy would change: terraform plan per stack (exit 1 on error)."""
    codes = plan_stacks(c, env=env, target=target)
    if any(code not in (0, 2) for code in codes.values()):
        raise Exit("plan failed for: " + ", ".join(s for s, v in codes.items() if v not in (0, 2)))


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws"})
def diff(c: Context, env: str | None = None, target: str = "local") -> None:
    """Alias of plan."""
    plan(c, env=env, target=target)


def destroy_stacks(
    c: Context, env: str | None = None, target: str = "local",
    timings: dict[str, float] | None = None,
) -> list[Any]:  # fmt: skip
    """Destroy every stack (dependents first: the reverse of the deploy order), then list what
    of the platform is left. A stack without a state object (never deployed) is skipped.
    ``timings`` gets each stack's destroy seconds."""
    import tomllib

    from tooling.deploy import (
        DeployError,
        destroy_stack,
        has_state,
        init_stack,
        leftovers,
        load_backend_spec,
        remove_outputs,
    )

    stacks = ordered_stacks(synth(c, env=env, target=target))
    session = _lifecycle_session(target)
    _bootstrap(session)
    spec = load_backend_spec(CONFIG_FILE)
    try:
        for stack in reversed(stacks):
            if not has_state(session, stack, spec.region):
                print(f"destroy {stack.name}: no state, nothing to destroy")
                continue
            init_stack(session, stack.directory)
            print(f"destroy {stack.name}: destroying ...", flush=True)
            result = destroy_stack(session, stack.directory)
            print(f"destroy {stack.name}: {result.destroyed} destroyed in {result.seconds:.1f} s")
            if timings is not None:
                timings[stack.name] = result.seconds
    except DeployError as error:
        raise Exit(f"destroy failed: {error}", code=1) from None
    selected = sorted({stack.environment for stack in stacks})
    for environment in selected:
        remove_outputs(ROOT, environment)
    document = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    regions = {stack.region for stack in stacks}
    cidrs = {
        region["vpc_cidr"]
        for name, environment in document["environments"].items()
        if name in selected
        for region in environment["regions"]
    }
    _local_fixtures(session, selected, remove=True)
    dns_names = [
        f"{dns.get('api_record', 'api')}.{dns['zone_name']}"
        for name, environment in document["environments"].items()
        if name in selected and (dns := environment.get("dns"))
    ]
    left = leftovers(
        session, regions, spec, cidrs=cidrs, environments=selected, dns_names=dns_names
    )
    if left:
        print("destroy: left behind:")
        for item in left:
            print(f"  {item.kind}: {item.name}")
    else:
        print("destroy: nothing left")
    return left


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws"})
def destroy(c: Context, env: str | None = None, target: str = "local") -> None:
    """Destroy the stacks (reverse order) and verify nothing of the platform is left."""
    left = destroy_stacks(c, env=env, target=target)
    if left:
        raise Exit(f"destroy left {len(left)} resource(s) behind (listed above).", code=1)


def _static_drift(c: Context, env: str | None, target: str) -> None:
    from trading_infra.config import ConfigError, load_config

    from tooling.drift_static import compare_regions, load_region_stacks

    try:
        config = load_config(CONFIG_FILE)
    except ConfigError as error:
        raise Exit(str(error), code=2) from None
    names = _selection(env) if env else [e.name for e in config.environments]
    selected = [config.environment(n) for n in names if config.environment(n).is_multi_region]
    if not selected:
        print(f"drift --static: no multi-region environment in {names}: nothing to compare")
        return
    found: list[str] = []
    for environment in selected:
        synth(c, env=environment.name, target=target)
        stacks = load_region_stacks(OUTDIR / "stacks", config.platform.name, environment)
        differences = compare_regions(stacks)
        if differences:
            print(f"drift --static {environment.name}: {len(differences)} difference(s):")
            for line in differences:
                print(f"  {line}")
        else:
            print(f"drift --static {environment.name}: regions identical")
        found += differences
    if found:
        raise Exit(f"the regions differ in {len(found)} place(s) (listed above).", code=1)


def drift_stacks(
    c: Context, env: str | None = None, target: str = "local"
) -> list[Any]:  # fmt: skip
    """Plan every stack (no lock), publish each region's change count to CloudWatch, print a
    table; return the per-stack results (tooling.drift_live.StackDrift)."""
    from tooling import drift_live
    from tooling.deploy import DeployError, init_stack

    stacks = ordered_stacks(synth(c, env=env, target=target))
    session = _lifecycle_session(target, start=False)
    results: list[Any] = []
    failed: dict[str, str] = {}
    started = time.perf_counter()
    for stack in stacks:
        try:
            init_stack(session, stack.directory)
            results.append(drift_live.plan_drift(session, stack))
        except (DeployError, drift_live.DriftError) as error:
            failed[stack.name] = str(error)
            print(f"drift {stack.name}: plan failed\n{error}")
    broken_regions = {s.region for s in stacks if s.name in failed}
    totals = drift_live.publish(session, [r for r in results if r.region not in broken_regions])
    print(drift_live.format_table(results))
    for (environment, region), changes in totals.items():
        print(f"drift: published {changes} to {region} ({environment})")
    for result in results:
        for address in result.addresses:
            print(f"  {result.stack}: {address}")
    print(f"drift: {len(stacks)} stack(s) planned in {time.perf_counter() - started:.1f} s")
    if failed:
        raise Exit(
            f"drift unknown for {', '.join(sorted(failed))} (plan failed; nothing published "
            f"for {', '.join(sorted(broken_regions))}: its drift alarm goes off on missing data).",
            code=1,
        )
    return results


@task(
    help={
        "env": "environment or 'all' (default: platform.default_environment; --static: every "
        "multi-region environment)",
        "target": "local (the emulator, default) or aws",
        "static": "compare the synthesized regions instead of planning against the cloud",
        "fail_on_drift": "exit 2 when any stack would change (default: report through the metric)",
    }
)
def drift(
    c: Context, env: str | None = None, target: str = "local", static: bool = False,
    fail_on_drift: bool = False,
) -> None:  # fmt: skip
    """Report drift: live (plan every stack, publish TAP/Drift per region) or --static."""
    _check_target(target)
    if static:
        _static_drift(c, env, target)
        return
    results = drift_stacks(c, env=env, target=target)
    if fail_on_drift and any(result.changes for result in results):
        raise Exit("drift found (--fail-on-drift).", code=2)


@task(help={"stop": "stop the emulator", "status": "only report whether it runs"})
def emulator(c: Context, stop: bool = False, status: bool = False) -> None:
    """Start (or reuse) the local AWS emulator; --stop stops it, --status reports it."""
    from tooling.emulator import process as emu

    if stop:
        print("emulator: stopped" if emu.stop(ROOT) else "emulator: was not running")
        return
    if status:
        running = emu.status(ROOT)
        if running is None:
            raise Exit("emulator: not running", code=1)
        print(f"emulator: running on {running.endpoint} (pid {running.pid})")
        return
    try:
        running = emu.start(ROOT, port=_emulator_port())
    except emu.EmulatorError as error:
        raise Exit(f"emulator: {error}", code=1) from None
    print(f"emulator: running on {running.endpoint} (pid {running.pid})")


@task(
    help={
        "service": "processor or api_handler",
        "env": "environment (default: the default environment)",
        "region": "region of a multi-region deployment (default: its primary region)",
        "target": "local (default) or aws",
        "follow": "keep printing new events (Ctrl-C to stop)",
    }
)
def logs(
    c: Context, service: str, env: str | None = None, region: str | None = None,
    target: str = "local", follow: bool = False,
) -> None:  # fmt: skip
    """Print a deployed function's logs (START/END/REPORT and its own output); --follow tails."""
    import json

    from tooling.deploy import OUTPUTS_FILE, region_key
    from tooling.function_logs import FunctionLogsError, function_log_group, tail

    selected = _selection(env)
    if len(selected) != 1:
        raise Exit(f"logs reads one environment; --env {env} selects {selected}.", code=2)
    (environment,) = selected
    try:
        outputs = json.loads((ROOT / OUTPUTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        msg = f"{OUTPUTS_FILE} is missing: run `./tap deploy --env {environment}`."
        raise Exit(msg, code=1) from None
    prefix = environment if region is None else f"{environment}_{region_key(region)}"
    session = _lifecycle_session(target, start=False)
    try:
        group = function_log_group(outputs, prefix, service)
        found_region = str(outputs.get(f"{prefix}_aws_region") or region or "")
        client = session.client("logs", found_region)
        tail(client, group, out=sys.stdout, follow=follow)
    except FunctionLogsError as error:
        raise Exit(f"logs: {error}", code=1) from None
    except KeyboardInterrupt:
        pass


@task(
    help={
        "repeat": "runs per synth figure (the median is reported)",
        "emulator": "measure the emulator running a locally deployed environment instead",
        "env": "the deployed environment --emulator measures (default: the default one)",
    }
)
def bench(c: Context, repeat: int = 1, emulator: bool = False, env: str | None = None) -> None:
    """Measure synth and import times, or (--emulator) the emulator running what was deployed."""
    if not emulator:
        from tooling import bench as benchmark

        _quiet_jsii()
        print(benchmark.report(benchmark.run(ROOT, repeat=repeat)))
        return
    import json

    from tooling.deploy import OUTPUTS_FILE
    from tooling.emulator import bench as emulator_bench

    (environment,) = _selection(env)
    outputs = json.loads((ROOT / OUTPUTS_FILE).read_text(encoding="utf-8"))
    if f"{environment}_api_local_url" not in outputs:
        raise Exit(f"deploy {environment} locally first (`./tap deploy --env {environment}`).", 1)
    region = str(outputs[f"{environment}_aws_region"])
    session = _lifecycle_session("local", start=False)
    figures = emulator_bench.measure(
        outputs,
        environment,
        client=lambda service: session.client(service, region),
        http=emulator_bench.http_getter(region),
    )
    print(emulator_bench.report(figures))
