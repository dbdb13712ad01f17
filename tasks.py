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

import faulthandler
import os
import signal
import sys
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from tooling.cli.deployment_tasks import invoke_function, logs, sync, upload, verify
from tooling.cli.shell import (
    ENV_HELP,
    PARALLEL,
    PARALLEL_HELP,
    ROOT,
    TARGET_HELP,
    exits,
    hints_for,
    one_environment,
    workspace,
)

__all__ = ["invoke_function", "logs", "sync", "upload", "verify"]  # tasks defined beside this shell

# ``kill -USR1 <pid>`` prints where every thread of a ./tap run is (a run that seems stuck),
# and the run goes on.
if hasattr(signal, "SIGUSR1"):
    faulthandler.register(signal.SIGUSR1, all_threads=True)

if TYPE_CHECKING:
    pass


@task(help={"force": "rebuild even when no input changed"})
def build(c: Context, force: bool = False) -> None:
    """Build dist/<service>.zip for every Lambda service (skipped when inputs are unchanged)."""
    from tooling.lifecycle.synth import build_lambdas

    with exits():
        build_lambdas(workspace(), force=force)


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

    with exits():
        return synth_stacks(workspace(target), "all" if all_ else env, force=force)


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws"})
def validate(c: Context, env: str = "all", target: str = "local") -> None:
    """Run terraform init (offline mirror, no backend) and validate on every synthesized stack."""
    from tooling.lifecycle.commands.validate import validate_stacks

    with exits():
        failures = validate_stacks(workspace(target), env)
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
    if not sequential:
        os.environ["TAP_E2E_LANES"] = "1"  # noxfile.E2E_LANES_ENV: the e2e lanes side by side
    if session or sequential:
        args = ["-s", session] if session else []
        c.run(" ".join([sys.executable, "-m", "nox", *args]), pty=False)
        return
    from tooling.lifecycle.synth import build_lambdas
    from tooling.test_suite import load_suite, run_suite

    with exits():
        build_lambdas(workspace())  # once, before sessions that read dist/ run side by side
    suite = load_suite(ROOT / "noxfile.py", python=sys.executable)
    code = run_suite(suite, python=sys.executable, root=ROOT, out=sys.stdout)
    if code:
        raise Exit("the test suite failed: see the sessions marked failed above", code=code)


# --------------------------------------------------------------------------- deploy lifecycle


@task(help={"env": "environment, list (dev,prod) or 'all' (default: all)",
            "target": "local (the emulator) or aws"})  # fmt: skip
def bootstrap_backend(c: Context, env: str = "all", target: str = "local") -> None:
    """Create the state backend, key-admin role and [pipeline]'s OIDC roles (idempotent)."""
    from tooling.lifecycle.commands.bootstrap import bootstrap_environments

    with exits():
        bootstrap_environments(workspace(target), env)


@task(help={"env": ENV_HELP, "target": "aws (the only target with an account to check)"})
def preflight(c: Context, env: str | None = None, target: str = "aws") -> None:
    """Check the AWS account before a deploy (read-only): every check and each failure's fix."""
    from tooling.lifecycle.preflight import run_preflight

    with exits():
        run_preflight(workspace(target), env)


@task(help={"env": "environment or 'all' (default: platform.default_environment)",
            "target": "local (the emulator, default) or aws",
            "parallel": PARALLEL_HELP,
            "plan_all": "plan and apply every stack, also those unchanged since their "
            "last apply (skipped otherwise): repairs drift made outside Terraform",
            "plan": "apply exactly the plans `./tap plan --out DIR` saved in DIR, and nothing "
            "else; refused before any apply when a plan is stale"})  # fmt: skip
def deploy(
    c: Context, env: str | None = None, target: str = "local", parallel: int = PARALLEL,
    plan_all: bool = False, plan: str | None = None,
) -> None:  # fmt: skip
    """Build, synth, (aws: preflight), bootstrap the state backend, apply the stacks changed
    since their last apply (--plan-all: every stack), write cfn-outputs. --plan DIR: synth,
    check and apply the saved plans of DIR."""
    from pathlib import Path

    from tooling.lifecycle.commands.deploy import deploy_stacks

    if plan is not None:
        from dataclasses import replace

        from tooling.lifecycle.commands.deploy_saved import deploy_saved_plans

        if plan_all:
            raise Exit("deploy: --plan applies saved plans; --plan-all plans again.", code=2)
        hints = hints_for("plan", env, target)
        hints = replace(hints, again=f"{hints.again} --out {plan}")
        with exits():
            deploy_saved_plans(workspace(target), env, Path(plan), parallel=parallel, hints=hints)
        return
    hints = hints_for("deploy", env, target)
    with exits():
        deploy_stacks(workspace(target), env, parallel=parallel, plan_all=plan_all, hints=hints)


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws",
            "parallel": PARALLEL_HELP,
            "out": "save each plan file (binary, holds values in clear), its report and a "
            "manifest in this directory, for `./tap deploy --plan DIR`"})  # fmt: skip
def plan(
    c: Context, env: str | None = None, target: str = "local", parallel: int = PARALLEL,
    out: str | None = None,
) -> None:  # fmt: skip
    """Show what a deploy would change: terraform plan per stack (exit 1 on error)."""
    from pathlib import Path

    from tooling.lifecycle.commands.plan import plan_stacks

    hints = hints_for("plan", env, target)
    bootstrap = hints_for("bootstrap-backend", env, target).again
    with exits():
        codes = plan_stacks(
            workspace(target), env, parallel=parallel, hints=hints,
            out=None if out is None else Path(out), bootstrap=bootstrap,
        )  # fmt: skip
    if any(code not in (0, 2) for code in codes.values()):
        raise Exit("plan failed for: " + ", ".join(s for s, v in codes.items() if v not in (0, 2)))


@task(help={"env": "environment, list (dev,prod) or 'all'", "target": "local or aws",
            "parallel": PARALLEL_HELP})  # fmt: skip
def diff(
    c: Context, env: str | None = None, target: str = "local", parallel: int = PARALLEL
) -> None:
    """Alias of plan."""
    plan(c, env=env, target=target, parallel=parallel)


@task(help={"env": ENV_HELP, "target": TARGET_HELP,
            "json": "print the graph as JSON (for a pipeline: one job per stack)"})  # fmt: skip
def stacks(c: Context, env: str | None = None, target: str = "local", json: bool = False) -> None:
    """List the stacks in deploy order: environment, region, the stacks each depends on."""
    from dataclasses import replace

    from tooling.lifecycle.commands.stacks import list_stacks, stacks_json, stacks_table

    ws = workspace(target)
    with exits():
        found = list_stacks(replace(ws, out=sys.stderr) if json else ws, env)
    print(stacks_json(found, ROOT) if json else "\n".join(stacks_table(found, ROOT)))


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
    from tooling.lifecycle.commands.destroy import destroy_stacks

    hints = hints_for("destroy", env, target, sweep=True)
    with exits():
        left = destroy_stacks(
            workspace(target), env, parallel=parallel, sweep=True if sweep else None, hints=hints
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
    from tooling.lifecycle.commands.unlock import unlock_stack

    with exits():
        unlock_stack(workspace(target), stack, lock_id)


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
    from tooling.lifecycle.commands.drift import drift_stacks, static_drift

    ws = workspace(target)
    with exits():
        if static:
            found = static_drift(ws, env)
            if found:
                raise Exit(f"the regions differ in {len(found)} place(s) (listed above).", code=1)
            return
        results = drift_stacks(ws, env, parallel=parallel, hints=hints_for("drift", env, target))
    if fail_on_drift and any(result.changes for result in results):
        raise Exit("drift found (--fail-on-drift).", code=2)


@task(help={"stop": "stop the emulator", "status": "only report whether it runs"})
def emulator(c: Context, stop: bool = False, status: bool = False) -> None:
    """Start (or reuse) the local AWS emulator; --stop stops it, --status reports it."""
    from tooling.lifecycle.commands.emulator import emulator_command

    with exits():
        print(emulator_command(ROOT, stop=stop, status=status))


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
    from tooling.bench_command import BenchCli, BenchRequest, run_bench

    if sizes is not None and not ingest:
        raise Exit("bench: --sizes goes with --ingest.", code=2)
    if saves is not None and not loop and not ingest:
        raise Exit("bench: --saves goes with --loop.", code=2)
    request = BenchRequest(
        repeat=repeat, emulator=emulator, env=env, lifecycle=lifecycle, services=services,
        runs=runs, ingest=ingest, sizes=sizes, loop=loop, saves=saves,
    )  # fmt: skip
    cli = BenchCli(
        one_environment=lambda chosen: one_environment(chosen, "bench"),
        deploy_command=lambda environment: f"./tap deploy --env {environment}",
    )
    with exits():
        run_bench(ROOT, request, cli)


@task(help={"env": "environment, list (dev,prod) or 'all' (default: every deployment)"})
def diagram(c: Context, env: str = "all") -> None:
    """Draw docs/architecture/<env>.md (Mermaid) from each deployment's synthesized stacks."""
    from tooling.lifecycle.commands.diagram import draw_diagrams

    with exits():
        written = draw_diagrams(ROOT, env)
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")
