"""Tasks of the trading platform repository: ``./tap TASK`` (``./tap --list`` shows them).

A thin shell: each task parses its options, calls :mod:`tooling.lifecycle` (or another tooling
module) and turns a :class:`tooling.lifecycle.errors.LifecycleError` into ``invoke.Exit`` with
the error's message and exit code. Heavy imports (cdktf, the provider bindings, boto3) happen
inside the tasks that need them, so that ``./tap --list`` and no-op runs stay fast.

The local target runs against the emulator on 127.0.0.1:$TAP_EMULATOR_PORT (default 4566), the
same port ``synth --target local`` writes into the stacks; ``TAP_CDKTF_OUTDIR`` (relative to the
repository) gives a run its own synth directory (tooling/lifecycle/workspace.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

if TYPE_CHECKING:
    from tooling.lifecycle.workspace import Workspace

ROOT = Path(__file__).resolve().parent

ENV_HELP = "environment, list (dev,prod) or 'all' (default: platform.default_environment)"
TARGET_HELP = "local (the emulator on loopback, default) or aws"
#: The default of --parallel (tooling.lifecycle.orchestrate.DEFAULT_PARALLEL, without importing
#: it: ./tap --list stays fast; tests/tooling/lifecycle checks that the two agree).
PARALLEL = 4
PARALLEL_HELP = f"stacks run at the same time (default {PARALLEL}; 1: one after the other)"


@contextmanager
def _exits() -> Iterator[None]:
    """Turn a lifecycle failure into invoke's Exit: its message, its exit code."""
    from tooling.lifecycle.errors import LifecycleError

    try:
        yield
    except LifecycleError as error:
        raise Exit(str(error), code=error.code) from None


def _workspace(target: str = "local") -> Workspace:
    from tooling.lifecycle.workspace import Workspace

    with _exits():
        return Workspace.from_environ(ROOT, target=target)


def _one_environment(env: str | None, task_name: str) -> str:
    from tooling.lifecycle.selection import select_environments

    with _exits():
        selected = select_environments(_workspace().config(), env)
    if len(selected) != 1:
        raise Exit(f"{task_name} reads one environment; --env {env} selects {selected}.", code=2)
    return selected[0]


@task(help={"force": "rebuild even when no input changed"})
def build(c: Context, force: bool = False) -> None:
    """Build dist/<service>.zip for every Lambda service (skipped when inputs are unchanged)."""
    from tooling.lifecycle.synth import build_lambdas

    with _exits():
        build_lambdas(_workspace(), force=force)


@task(
    help={
        "env": ENV_HELP,
        "target": TARGET_HELP,
        "all_": "every deployment of platform.toml (same as --env all)",
        "force": "synthesize even when nothing changed",
    }
)
def synth(
    c: Context, env: str | None = None, target: str = "local", all_: bool = False,
    force: bool = False,
) -> list[str]:  # fmt: skip
    """Synthesize the stacks into cdktf.out/stacks/<stack>/cdk.tf.json (incremental)."""
    from tooling.lifecycle.synth import synth_stacks

    with _exits():
        return synth_stacks(_workspace(target), "all" if all_ else env, force=force)


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws"})
def validate(c: Context, env: str = "all", target: str = "local") -> None:
    """Run terraform init (offline mirror, no backend) and validate on every synthesized stack."""
    from tooling.lifecycle.orchestrate import validate_stacks

    with _exits():
        failures = validate_stacks(_workspace(target), env)
    if failures:
        raise Exit(f"terraform validate failed for: {', '.join(failures)}", code=1)


@task
def clean(c: Context) -> None:
    """Remove build and synth outputs (dist/, cdktf.out/, .build/, cfn-outputs/)."""
    import shutil

    for name in ("dist", "cdktf.out", ".build", "cfn-outputs"):
        shutil.rmtree(ROOT / name, ignore_errors=True)
        print(f"removed {name}/")


@task(
    help={
        "session": "run only this nox session (e.g. unit, lint)",
        "sequential": "every session and e2e module one after the other in one nox process "
        "(~40 instead of 17-19 min on 2 cores; docs/testing.md)",
    }
)
def test(c: Context, session: str | None = None, sequential: bool = False) -> None:
    """Run the whole test suite as CI does (noxfile.SUITE_CHAINS side by side), or one session."""
    import os

    if not sequential:
        os.environ["TAP_E2E_LANES"] = "1"  # noxfile.E2E_LANES_ENV: the e2e lanes side by side
    if session or sequential:
        args = ["-s", session] if session else []
        c.run(" ".join([sys.executable, "-m", "nox", *args]), pty=False)
        return
    from tooling.lifecycle.synth import build_lambdas
    from tooling.test_suite import load_suite, run_suite

    with _exits():
        build_lambdas(_workspace())  # once, before sessions that read dist/ run side by side
    suite = load_suite(ROOT / "noxfile.py", python=sys.executable)
    code = run_suite(suite, python=sys.executable, root=ROOT, out=sys.stdout)
    if code:
        raise Exit("the test suite failed: see the sessions marked failed above", code=code)


# --------------------------------------------------------------------------- deploy lifecycle


@task(help={"env": "environment, list (dev,prod) or 'all' (default: all)",
            "target": "local (the emulator) or aws"})  # fmt: skip
def bootstrap_backend(c: Context, env: str = "all", target: str = "local") -> None:
    """Create the state buckets, keys, lock table and key-admin role (idempotent, [state])."""
    from tooling.lifecycle.orchestrate import bootstrap_environments

    with _exits():
        bootstrap_environments(_workspace(target), env)


@task(help={"env": ENV_HELP, "target": "aws (the only target with an account to check)"})
def preflight(c: Context, env: str | None = None, target: str = "aws") -> None:
    """Check the AWS account before a deploy (read-only): every check and each failure's fix."""
    from tooling.lifecycle.preflight import run_preflight

    with _exits():
        run_preflight(_workspace(target), env)


@task(help={"env": "environment or 'all' (default: platform.default_environment)",
            "target": "local (the emulator, default) or aws",
            "parallel": PARALLEL_HELP,
            "plan_all": "plan and apply every stack, also those unchanged since their "
            "last apply (skipped otherwise): repairs drift made outside Terraform"})  # fmt: skip
def deploy(
    c: Context, env: str | None = None, target: str = "local", parallel: int = PARALLEL,
    plan_all: bool = False,
) -> None:  # fmt: skip
    """Build, synth, (aws: preflight), bootstrap the state backend, apply the stacks changed
    since their last apply (--plan-all: every stack), write cfn-outputs."""
    from tooling.lifecycle.orchestrate import deploy_stacks

    with _exits():
        deploy_stacks(_workspace(target), env, parallel=parallel, plan_all=plan_all)


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws",
            "parallel": PARALLEL_HELP})  # fmt: skip
def plan(
    c: Context, env: str | None = None, target: str = "local", parallel: int = PARALLEL
) -> None:
    """Show what a deploy would change: terraform plan per stack (exit 1 on error)."""
    from tooling.lifecycle.orchestrate import plan_stacks

    with _exits():
        codes = plan_stacks(_workspace(target), env, parallel=parallel)
    if any(code not in (0, 2) for code in codes.values()):
        raise Exit("plan failed for: " + ", ".join(s for s, v in codes.items() if v not in (0, 2)))


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws",
            "parallel": PARALLEL_HELP})  # fmt: skip
def diff(
    c: Context, env: str | None = None, target: str = "local", parallel: int = PARALLEL
) -> None:
    """Alias of plan."""
    plan(c, env=env, target=target, parallel=parallel)


@task(
    help={
        "env": "environment, list (dev,prod) or 'all'",
        "target": "local or aws",
        "parallel": PARALLEL_HELP,
        "sweep": "delete what is in no state after the destroy (default: only on --target local)",
    }
)
def destroy(
    c: Context, env: str | None = None, target: str = "local", parallel: int = PARALLEL,
    sweep: bool = False,
) -> None:  # fmt: skip
    """Destroy the stacks (reverse order), sweep what is in no state, verify nothing is left."""
    from tooling.lifecycle.orchestrate import destroy_stacks

    with _exits():
        left = destroy_stacks(
            _workspace(target), env, parallel=parallel, sweep=True if sweep else None
        )
    if left:
        raise Exit(f"destroy left {len(left)} resource(s) behind (listed above).", code=1)


@task(
    help={
        "stack": "the stack whose state lock to release (e.g. tap-dev-ap-southeast-1-app)",
        "lock_id": "the ID of the lock, as the locked-state error names it",
        "target": "local or aws",
    }
)
def unlock(c: Context, stack: str, lock_id: str, target: str = "local") -> None:
    """Release exactly one state lock (check first that nobody is still running on it)."""
    from tooling.lifecycle.orchestrate import unlock_stack

    with _exits():
        unlock_stack(_workspace(target), stack, lock_id)


@task(
    help={
        "env": "environment or 'all' (default: platform.default_environment; --static: every "
        "multi-region environment)",
        "target": "local (the emulator, default) or aws",
        "static": "compare the synthesized regions instead of planning against the cloud",
        "fail_on_drift": "exit 2 when any stack would change (default: report through the metric)",
        "parallel": PARALLEL_HELP,
    }
)
def drift(
    c: Context, env: str | None = None, target: str = "local", static: bool = False,
    fail_on_drift: bool = False, parallel: int = PARALLEL,
) -> None:  # fmt: skip
    """Report drift: live (plan every stack, publish TAP/Drift per region) or --static."""
    from tooling.lifecycle.orchestrate import drift_stacks, static_drift

    ws = _workspace(target)
    with _exits():
        if static:
            found = static_drift(ws, env)
            if found:
                raise Exit(f"the regions differ in {len(found)} place(s) (listed above).", code=1)
            return
        results = drift_stacks(ws, env, parallel=parallel)
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
        running = emu.start(ROOT, port=_workspace().port)
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
    from tooling.function_logs import FunctionLogsError, function_log_group, tail
    from tooling.lifecycle.orchestrate import session_for
    from tooling.lifecycle.outputs import read_outputs, region_key

    environment = _one_environment(env, "logs")
    prefix = environment if region is None else f"{environment}_{region_key(region)}"
    try:
        with _exits():
            outputs = read_outputs(ROOT, environment)
            session = session_for(_workspace(target), start=False)
        group = function_log_group(outputs, prefix, service)
        found_region = str(outputs.get(f"{prefix}_aws_region") or region or "")
        tail(session.client("logs", found_region), group, out=sys.stdout, follow=follow)
    except FunctionLogsError as error:
        raise Exit(f"logs: {error}", code=1) from None
    except KeyboardInterrupt:
        pass


@task(
    help={
        "env": "environment (default: the default environment)",
        "watch": "keep going: sync a service each time one of its files changes (Ctrl-C stops)",
        "region": "only this region of a multi-region deployment (default: every region)",
        "target": TARGET_HELP,
    }
)
def sync(
    c: Context, env: str | None = None, watch: bool = False, region: str | None = None,
    target: str = "local",
) -> None:  # fmt: skip
    """Rebuild changed services' zips and put them into the deployed functions (Lambda API)."""
    from tooling import sync as syncer
    from tooling.lifecycle.orchestrate import session_for
    from tooling.lifecycle.outputs import read_outputs

    environment = _one_environment(env, "sync")
    ws = _workspace(target)
    with _exits():
        outputs = read_outputs(ROOT, environment)
        session = session_for(ws, start=False)
    try:
        with _exits():
            syncer.run(ws, session, outputs, environment, region=region, watch=watch)
    except syncer.SyncError as error:
        raise Exit(f"sync: {error}", code=error.code) from None
    except KeyboardInterrupt:
        print("sync: stopped")


@task(
    help={
        "file": "the trade file to upload (relative to the repository: ./tap runs from there)",
        "env": "environment (default: the default environment)",
        "key": "object key (default: incoming/<file name>; ending in /: that folder)",
        "wait": "follow the processor until the whole file is accounted for (exit 1 if it fails)",
        "timeout": "--wait: seconds to wait for the file's final summary (default 900)",
        "region": "region of a multi-region deployment (default: its primary region)",
        "target": TARGET_HELP,
    }
)
def upload(
    c: Context, file: str, env: str | None = None, key: str | None = None, wait: bool = False,
    timeout: int = 900, region: str | None = None, target: str = "local",
) -> None:  # fmt: skip
    """Put a trade file into the deployed data bucket (like aws s3 cp); --wait follows it."""
    from tooling import upload as uploader
    from tooling.lifecycle.orchestrate import session_for
    from tooling.lifecycle.outputs import read_outputs, region_key

    environment = _one_environment(env, "upload")
    prefix = environment if region is None else f"{environment}_{region_key(region)}"
    with _exits():
        outputs = read_outputs(ROOT, environment)
        session = session_for(_workspace(target), start=False)
    try:
        deployment = uploader.Deployment.from_outputs(outputs, prefix)
        uploader.run(
            lambda service: session.client(service, deployment.region),
            deployment,
            _caller_path(file),
            key=key,
            wait=wait,
            timeout_seconds=timeout,
        )
    except uploader.UploadError as error:
        raise Exit(f"upload: {error}", code=error.code) from None
    except KeyboardInterrupt:
        raise Exit("upload: interrupted (an uploaded file is still processed).", 130) from None


def _caller_path(path: str) -> Path:
    """``path`` as the user meant it: relative to the directory ./tap was started in
    (``TAP_CALLER_DIR``, which ./tap sets before it changes to the repository)."""
    return Path(os.environ.get("TAP_CALLER_DIR") or os.getcwd()) / path


@task(
    name="invoke",
    optional=["sample"],
    help={
        "function": "processor, api_handler, api_authorizer or a function's full name",
        "env": "environment (default: the default environment)",
        "event": "a JSON file sent as the event (relative to where you run ./tap)",
        "sample": "a sample event of the function filled from the deployment; "
        "without a name (or 'list'): list them",
        "key": "--sample s3-put: the object the event names (default incoming/trades.csv)",
        "async_": "InvocationType Event: print the 202, then follow the log to its REPORT",
        "timeout": "seconds to wait for the invocation's log (--async: its REPORT; default 120)",
        "region": "region of a multi-region deployment (default: its primary region)",
        "target": TARGET_HELP,
        "debug": "local target: the invocation waits for a debugger (debugpy)",
    },
)
def invoke_function(
    c: Context, function: str, env: str | None = None, event: str | None = None,
    sample: str | bool | None = None, key: str | None = None, async_: bool = False,
    timeout: int = 120, region: str | None = None, target: str = "local", debug: bool = False,
) -> None:  # fmt: skip
    """Invoke a deployed function with --event FILE or --sample NAME; print its answer and log."""
    from tooling import invoke_function as invoker
    from tooling.lifecycle.orchestrate import session_for
    from tooling.lifecycle.outputs import read_outputs, region_key

    if event is not None and sample is not None:
        raise Exit("invoke: give --event FILE or --sample NAME, not both.", code=2)
    if debug and target != "local":
        raise Exit("invoke: --debug needs the local target (the emulator runs the function).", 2)
    environment = _one_environment(env, "invoke")
    prefix = environment if region is None else f"{environment}_{region_key(region)}"
    with _exits():
        outputs = read_outputs(ROOT, environment)
        session = session_for(_workspace(target), start=False)
    try:
        found = invoker.resolve(outputs, prefix, function, region)
        if sample is True or sample == invoker.LIST:
            print("\n".join(invoker.sample_lines(found)))
            return
        payload, notes = invoker.payload_for(
            found, outputs, prefix, event=_caller_path(event) if event else None,
            sample=sample if isinstance(sample, str) else None, key=key,
            s3=session.client("s3", found.region) if sample else None,
        )  # fmt: skip
        for note in notes:
            print(note)
        emulator = session.emulator if debug else None
        invoker.run(
            invoker.lambda_client(session, found.region, debugging=debug),
            session.client("logs", found.region),
            found,
            payload,
            out=sys.stdout,
            asynchronous=async_,
            timeout_seconds=timeout,
            debug=invoker.debug_hook(emulator.endpoint, found.kind) if emulator else None,
        )
    except invoker.InvokeError as error:
        raise Exit(f"invoke: {error}", code=error.code) from None
    except KeyboardInterrupt:
        raise Exit("invoke: interrupted.", 130) from None


@task(
    help={
        "repeat": "runs per synth figure (the median is reported)",
        "emulator": "measure the emulator running a locally deployed environment instead",
        "env": "the deployed environment --emulator, --ingest or --loop measures (default: the "
        "default one); --lifecycle: the selection deployed and destroyed (default: all)",
        "lifecycle": "time deploy/destroy with --parallel 1 against the default, and "
        "deploy --env global, on an emulator of its own (~25 min)",
        "services": "the Lambda services' report: processor throughput and memory, each "
        "handler's cold import under CPython 3.12, zip sizes (builds first; a few minutes)",
        "runs": "--services: cold imports per handler (median, min and max reported)",
        "ingest": "ingest generated trade files end to end into a locally deployed environment: "
        "seconds, lines/s and the emulator's resident memory per file",
        "sizes": "--ingest: the files' lines, comma-separated (default 1000,10000,100000,1000000)",
        "loop": "the handler developer's loop against a locally deployed environment: save to "
        "new code serving (sync) and ./tap deploy after a handler-only change, then restored",
        "saves": "--loop: the saves measured (default 7; p50, min and max reported)",
    }
)
def bench(
    c: Context, repeat: int = 1, emulator: bool = False, env: str | None = None,
    lifecycle: bool = False, services: bool = False, runs: int = 9, ingest: bool = False,
    sizes: str | None = None, loop: bool = False, saves: str | None = None,
) -> None:  # fmt: skip
    """Measure synth/import times, the local emulator (--emulator), the lifecycle (--lifecycle),
    the Lambda services (--services), the ingest of trade files (--ingest) or the handler
    developer's loop (--loop).

    --lifecycle: deploy/destroy with and without parallel stacks, on an emulator of its own."""
    if sizes is not None and not ingest:
        raise Exit("bench: --sizes goes with --ingest.", code=2)
    if ingest:
        _bench_ingest(env, sizes)
        return
    if saves is not None and not loop:
        raise Exit("bench: --saves goes with --loop.", code=2)
    if loop:
        _bench_loop(env, saves)
        return
    if services:
        from tooling import services_bench
        from tooling.lifecycle.synth import build_lambdas

        with _exits():
            build_lambdas(_workspace())  # the zips measured are those of the current sources
        try:
            print(services_bench.report(services_bench.run(ROOT, import_runs=runs)))
        except services_bench.ServicesBenchError as error:
            raise Exit(f"bench --services: {error}", code=1) from None
        return
    if lifecycle:
        from tooling.lifecycle import bench as lifecycle_bench

        print(lifecycle_bench.report(lifecycle_bench.run(ROOT, selection=env or "all")))
        return
    if not emulator:
        from tooling import bench as benchmark
        from tooling.lifecycle.synth import quiet_jsii

        with _exits():
            quiet_jsii()
        print(benchmark.report(benchmark.run(ROOT, repeat=repeat)))
        return
    from tooling.emulator import bench as emulator_bench
    from tooling.lifecycle.orchestrate import session_for
    from tooling.lifecycle.outputs import read_outputs

    environment = _one_environment(env, "bench")
    with _exits():
        outputs = read_outputs(ROOT, environment)
    if f"{environment}_api_local_url" not in outputs:
        raise Exit(f"deploy {environment} locally first (`./tap deploy --env {environment}`).", 1)
    with _exits():
        session = session_for(_workspace("local"), start=False)
    region = str(outputs[f"{environment}_aws_region"])
    figures = emulator_bench.measure(
        outputs,
        environment,
        client=lambda service: session.client(service, region),
        http=emulator_bench.HttpClient(region),
    )
    print(emulator_bench.report(figures))


def _bench_ingest(env: str | None, sizes: str | None) -> None:
    """``bench --ingest``: tooling/ingest_bench/ against the locally deployed ``env``."""
    from tooling import ingest_bench
    from tooling import upload as uploader
    from tooling.lifecycle.orchestrate import session_for
    from tooling.lifecycle.outputs import read_outputs

    environment = _one_environment(env, "bench")
    with _exits():
        outputs = read_outputs(ROOT, environment)
        session = session_for(_workspace("local"), start=False)
    assert session.emulator is not None  # a local session has its emulator
    try:
        chosen = ingest_bench.DEFAULT_SIZES if sizes is None else ingest_bench.parse_sizes(sizes)
        deployment = uploader.Deployment.from_outputs(outputs, environment)
        figures = ingest_bench.run(
            lambda service: session.client(service, deployment.region),
            deployment,
            session.emulator.endpoint,
            chosen,
            environment=environment,
        )
    except (ingest_bench.IngestBenchError, uploader.UploadError) as error:
        raise Exit(f"bench --ingest: {error}", code=error.code) from None
    except KeyboardInterrupt:
        message = "bench --ingest: interrupted (an uploaded file is still processed)."
        raise Exit(message, 130) from None
    print(ingest_bench.report(figures))
    if figures.failure is not None:
        raise Exit("bench --ingest: stopped before every file was processed.", 1)


def _bench_loop(env: str | None, saves: str | None) -> None:
    """``bench --loop``: tooling/loop_bench/ against the locally deployed ``env``."""
    from tooling import loop_bench
    from tooling.lifecycle.orchestrate import session_for
    from tooling.lifecycle.outputs import read_outputs

    environment = _one_environment(env, "bench")
    ws = _workspace("local")
    try:
        count = loop_bench.parse_saves(saves)
        with _exits():
            outputs = read_outputs(ROOT, environment)
            session = session_for(ws, start=False)
            figures = loop_bench.run(ws, session, outputs, environment, saves=count)
    except loop_bench.LoopBenchError as error:
        raise Exit(f"bench --loop: {error}", code=error.code) from None
    except KeyboardInterrupt:
        message = "bench --loop: interrupted (the lines above say whether dist/ was synced back)."
        raise Exit(message, 130) from None
    print(loop_bench.report(figures))
    if figures.failure is not None or figures.restore_failure is not None:
        raise Exit("bench --loop: stopped before every step was measured and restored.", 1)


@task(help={"env": "environment, list (dev,prod) or 'all' (default: every deployment)"})
def diagram(c: Context, env: str = "all") -> None:
    """Draw docs/architecture/<env>.md (Mermaid) from each deployment's synthesized stacks."""
    from dataclasses import replace

    from tooling.diagram.generate import write_diagrams
    from tooling.lifecycle.selection import select_environments
    from tooling.lifecycle.synth import synth_stacks

    # The AWS target's stacks (what production looks like), synthesized into a directory of
    # their own: the run leaves cdktf.out/ (and any deploy using it) alone.
    ws = replace(_workspace("aws"), outdir=ROOT / ".build" / "diagram-synth")
    with _exits():
        selected = select_environments(ws.config(), env)
        synth_stacks(ws, ",".join(selected))
    for path in write_diagrams(ws.config(), selected, ws.outdir / "stacks", ROOT):
        print(f"wrote {path.relative_to(ROOT)}")
