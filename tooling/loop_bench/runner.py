"""A run: the saves, then the deploy, then the deployment put back on the working tree's code
(``./tap sync`` of the normal workspace: what ``dist/`` holds), whatever happened before."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tooling.lifecycle.commands.deploy import deploy_stacks
from tooling.lifecycle.errors import LifecycleError
from tooling.loop_bench.deploy import Deploy, measure_deploy
from tooling.loop_bench.errors import LoopBenchError
from tooling.loop_bench.figures import DeployFigure, LoopFigures, SaveFigure
from tooling.loop_bench.probe import HealthProbe
from tooling.loop_bench.saves import DEFAULT_SAVES, SERVICE, api_handler_syncer, measure_saves
from tooling.loop_bench.sources import SourceCopy
from tooling.loop_bench.transcript import Transcript
from tooling.sync import SyncError

if TYPE_CHECKING:
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["health_url", "markers", "restore", "run"]


def health_url(outputs: Mapping[str, Any], environment: str) -> str:
    """``<environment>_api_local_url``/health: the deployed API on the emulator."""
    base = outputs.get(f"{environment}_api_local_url")
    if not base:
        raise LoopBenchError(
            f"cfn-outputs/flat-outputs.json has no {environment}_api_local_url: deploy "
            f"{environment} locally first (`./tap deploy --env {environment}`)."
        )
    return f"{str(base).rstrip('/')}/health"


def markers(run_id: str, saves: int) -> tuple[list[str], str]:
    """The markers of a run's saves and of its deploy: unique to the run, so an answer of an
    earlier run (or of the previous step) is never taken for this one's."""
    return [f"loop-bench-{run_id}-save-{n}" for n in range(1, saves + 1)], (
        f"loop-bench-{run_id}-deploy"
    )


def restore(
    ws: Workspace,
    session: Session,
    outputs: Mapping[str, Any],
    environment: str,
    *,
    echo: TextIO,
) -> tuple[tuple[str, ...], str | None]:
    """``./tap sync --env <environment>`` of the working tree (``ws``): every service's zip of
    ``dist/`` (rebuilt first if its sources changed) into the functions. Its lines, and why it
    failed (None: restored)."""
    from tooling import sync

    transcript = Transcript(echo)
    try:
        sync.run(ws, session, outputs, environment, out=transcript)
    except (SyncError, LifecycleError) as error:
        return tuple(transcript.getvalue().splitlines()), str(error)
    return tuple(transcript.getvalue().splitlines()), None


def run(
    ws: Workspace,
    session: Session,
    outputs: Mapping[str, Any],
    environment: str,
    *,
    saves: int = DEFAULT_SAVES,
    deploy: Deploy = deploy_stacks,
    echo: TextIO | None = None,
) -> LoopFigures:
    """Measure ``saves`` saves and a deploy against the locally deployed ``environment`` (of
    ``ws``, the working tree's workspace), then restore it; the progress goes to ``echo``
    (default: stderr)."""
    out = echo or sys.stderr

    def say(line: str) -> None:
        out.write(f"loop bench: {line}\n")
        out.flush()

    probe = HealthProbe(health_url(outputs, environment))
    run_id = uuid.uuid4().hex[:8]
    save_markers, deploy_marker = markers(run_id, saves)
    load_before = os.getloadavg()[0]
    figures: tuple[SaveFigure, ...] = ()
    deployed: DeployFigure | None = None
    with tempfile.TemporaryDirectory(prefix="tap-loop-bench-") as scratch:
        copy = SourceCopy.make(ws.sources, ws.dist, Path(scratch))
        syncer = api_handler_syncer(copy.workspace(ws), session, outputs, environment, out)
        say(f"{saves} saves of {SERVICE} (a copy of the sources, run {run_id})")
        try:
            figures, failure = measure_saves(copy, syncer.sync, probe, save_markers, say=say)
            if failure is None:
                try:
                    deployed = measure_deploy(
                        copy, ws, environment, probe, deploy_marker,
                        deploy=deploy, echo=out, say=say,
                    )  # fmt: skip
                except LoopBenchError as error:
                    failure = str(error)
        finally:
            say("restoring the working tree's code (./tap sync)")
            restored, restore_failure = restore(ws, session, outputs, environment, echo=out)
    return LoopFigures(
        environment=environment,
        run_id=run_id,
        functions=tuple(fn.name for fn in syncer.functions[SERVICE]),
        machine=platform.machine(),
        cpus=os.cpu_count(),
        load_before=load_before,
        load_after=os.getloadavg()[0],
        requested_saves=saves,
        saves=figures,
        deploy=deployed,
        restored=restored,
        failure=failure,
        restore_failure=restore_failure,
    )
