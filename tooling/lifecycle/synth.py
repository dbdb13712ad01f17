"""What a run deploys: the Lambda zips built, and the stacks synthesized (both incremental).

Every lifecycle command synthesizes first, so that it always works on the stacks of the current
source and configuration; the build and the synth stamp make that free when nothing changed.
Heavy imports (cdktf, the provider bindings) happen only when a synth really runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.selection import select_environments

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

    from tooling.build.lambda_zip import BuildResult, LambdaTarget
    from tooling.lifecycle.workspace import Workspace

__all__ = ["build_lambdas", "lambda_target", "quiet_jsii", "synth_stacks"]


def quiet_jsii() -> None:
    """Silence the Node end-of-life banner jsii prints on every start (jsii's own switch)."""
    node_major = os.environ.get("TAP_NODE_MAJOR") or _node_major()
    if node_major:
        os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", node_major)
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def _node_major() -> str:
    node = shutil.which("node")
    if node is None:
        raise LifecycleError("node is not on PATH: CDKTF's jsii runtime needs Node.js 20+.", code=2)
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    return version.stdout.strip().lstrip("v").split(".")[0]


def lambda_target(config: PlatformConfig) -> LambdaTarget:
    """The Lambda platform the zips are built for (``platform.lambda_architecture``)."""
    from tooling.build.lambda_zip import LambdaTarget

    return LambdaTarget(architecture=config.platform.lambda_architecture)


def build_lambdas(ws: Workspace, *, force: bool = False) -> list[BuildResult]:
    """Build <dist>/<service>.zip for every service of ``ws.sources`` (skipped when its inputs
    are unchanged)."""
    from tooling.build.lambda_zip import DEPENDENCY_CACHE_DIR, BuildError, build_all

    try:
        results = build_all(
            ws.sources,
            target=lambda_target(ws.config()),
            force=force,
            dist_dir=ws.dist,
            # shared with a build of a copy of the sources (Workspace.build_root): layers are
            # keyed by what pip installs, so a copy's code-only change needs no pip either
            cache_dir=ws.root / DEPENDENCY_CACHE_DIR,
        )
    except BuildError as error:
        raise LifecycleError(f"build failed: {error}") from None
    root = ws.root.resolve()
    for result in results:
        state = "built" if result.built else "up to date"
        shown = result.zip_path
        if shown.is_relative_to(root):
            shown = shown.relative_to(root)
        ws.echo(
            f"{result.service:12} {state:10} {result.size_bytes / 1024:8.0f} KiB  "
            f"sha256 {result.sha256}  {shown}"
        )
    return results


def synth_stacks(ws: Workspace, env: str | None, *, force: bool = False) -> list[str]:
    """Build, then synthesize ``env``'s stacks into ``ws.outdir/stacks`` unless up to date.

    Returns the synthesized stack names. The synth stamp covers the sources, the zips, the
    configuration as loaded (environment overrides included), the selection, the target and the
    emulator port, so any of them changing synthesizes again.
    """
    from tooling.build import synth_stamp

    build_lambdas(ws)
    config = ws.config()
    selection = select_environments(config, env)
    zips = sorted(ws.dist.glob("*.zip"))
    stamp = synth_stamp.compute(
        ws.root,
        zips=zips,
        selection=selection,
        target=ws.target,
        port=ws.port,
        configuration=config.model_dump_json(),
    )
    if not force and synth_stamp.is_current(ws.outdir, stamp):
        stacks = synth_stamp.recorded_stacks(ws.outdir)
        ws.echo(f"synth: up to date ({', '.join(stacks)})")
        return stacks
    started = time.perf_counter()
    quiet_jsii()
    from trading_infra.app import SynthRequest, artifacts_from_dist, synthesize
    from trading_infra.target import DeployTarget, TargetKind

    kept = _keep_initialised(ws.outdir)
    shutil.rmtree(ws.outdir / "stacks", ignore_errors=True)
    ws.outdir.mkdir(parents=True, exist_ok=True)
    from trading_infra.checks.reachability import ReachabilityError

    try:
        stacks = synthesize(
            SynthRequest(
                config=config,
                environments=tuple(selection),
                target=DeployTarget(kind=cast("TargetKind", ws.target), emulator_port=ws.port),
                artifacts=artifacts_from_dist(ws.dist),
                outdir=ws.outdir,
            )
        )
    except ReachabilityError as error:
        # The stacks are written but refused: no stamp, so nothing reuses them.
        raise LifecycleError(f"synth refused: {error}", code=2) from None
    _restore_initialised(ws.outdir, kept, stacks)
    synth_stamp.write(ws.outdir, stamp, stacks)
    elapsed = time.perf_counter() - started
    ws.echo(f"synth: {len(stacks)} stack(s) in {elapsed:.1f} s: {', '.join(stacks)}")
    return stacks


#: Where a synth keeps the stacks' terraform working files while it rewrites ``stacks/``.
_KEPT = ".initialised"
#: What ``terraform init`` leaves in a stack's directory: kept across a synth.
_INIT_FILES = (".terraform", ".terraform.lock.hcl")


def _keep_initialised(outdir: Path) -> Path:
    """Move each stack's ``terraform init`` files aside before ``stacks/`` is rewritten, so
    that a stack whose ``terraform`` block did not change needs no new init
    (:mod:`tooling.lifecycle.init_marker` decides)."""
    kept = outdir / _KEPT
    shutil.rmtree(kept, ignore_errors=True)
    for stack_dir in sorted((outdir / "stacks").glob("*")):
        for name in _INIT_FILES:
            if (stack_dir / name).exists():
                (kept / stack_dir.name).mkdir(parents=True, exist_ok=True)
                (stack_dir / name).rename(kept / stack_dir.name / name)
    return kept


def _restore_initialised(outdir: Path, kept: Path, stacks: list[str]) -> None:
    """Put the kept init files back into the stacks synthesized again; drop the rest."""
    for name in stacks:
        for file in _INIT_FILES:
            if (kept / name / file).exists() and (outdir / "stacks" / name).is_dir():
                (kept / name / file).rename(outdir / "stacks" / name / file)
    shutil.rmtree(kept, ignore_errors=True)
