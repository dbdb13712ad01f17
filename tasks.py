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
OUTDIR = ROOT / "cdktf.out"
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
    import tomllib

    document = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    names = list(document["environments"])
    wanted = env or os.environ.get("TF_WORKSPACE") or document["platform"]["default_environment"]
    if env and os.environ.get("TF_WORKSPACE") and os.environ["TF_WORKSPACE"] != env:
        raise Exit(
            f"TF_WORKSPACE={os.environ['TF_WORKSPACE']} selects another environment than "
            f"--env {env}; unset TF_WORKSPACE or make them agree.",
            code=2,
        )
    if wanted == "all":
        return names
    if wanted not in names:
        raise Exit(f"unknown environment {wanted!r}; choose one of {names} or 'all'.", code=2)
    return [wanted]


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
        "env": "environment to synthesize, or 'all' (default: platform.default_environment)",
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


@task(help={"env": "environment or 'all'", "target": "local or aws"})
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
    """Run the whole test suite as CI does (nox: lint, unit, moto, synth, security, e2e)."""
    args = ["-s", session] if session else []
    c.run(" ".join([sys.executable, "-m", "nox", *args]), pty=False)
