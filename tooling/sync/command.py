"""``./tap sync [--watch]``: the :class:`~tooling.sync.syncer.Syncer` of a deployed environment
(:func:`syncer_for`), and the task itself (:func:`run`)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from tooling.build.lambda_zip import DEPENDENCY_CACHE_DIR
from tooling.sync.errors import SyncError
from tooling.sync.functions import deployed_functions, output_prefixes
from tooling.sync.syncer import Syncer
from tooling.sync.watcher import Watcher

if TYPE_CHECKING:
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["run", "syncer_for"]


def syncer_for(
    ws: Workspace,
    session: Session,
    outputs: Mapping[str, Any],
    environment: str,
    *,
    region: str | None = None,
    services: Sequence[str] | None = None,
    out: TextIO | None = None,
) -> Syncer:
    """The :class:`Syncer` ``./tap sync`` uses: the functions of ``environment`` named by the
    flat ``outputs`` (every region, or ``region``), ``services`` of them (default: all), the
    workspace's sources, dist and the repository's dependency layers, the session's clients."""
    from tooling.emulator.runtime.interpreters import find_cpython, install_hint
    from tooling.lifecycle.synth import lambda_target

    config = ws.config()
    regions = [r.name for r in config.environment(environment).regions]
    aws = ws.target == "aws"
    hint = "./tap deploy --target aws" if aws else "./tap deploy"
    functions = deployed_functions(
        outputs, output_prefixes(environment, regions, region), deploy_hint=hint
    )
    if services is not None:
        functions = {service: functions[service] for service in services}
    target = lambda_target(config)
    python = find_cpython(target.python_version)
    if python is None:
        raise SyncError(
            f"the syntax check needs CPython {target.python_version} (Lambda's runtime): "
            f"{install_hint(target.python_version)}.",
            2,
        )
    return Syncer(
        sources=ws.sources,
        dist_dir=ws.dist,
        target=target,
        cache_dir=ws.root / DEPENDENCY_CACHE_DIR,
        functions=functions,
        client=lambda name: session.client("lambda", name),
        python=python,
        out=out or sys.stdout,
        aws=aws,
    )


def run(
    ws: Workspace,
    session: Session,
    outputs: Mapping[str, Any],
    environment: str,
    *,
    region: str | None = None,
    watch: bool = False,
    out: TextIO | None = None,
) -> None:
    """``./tap sync``: sync every service of the environment (each line printed); with
    ``watch``, then keep syncing each service when its files change, until Ctrl-C. Raises
    :class:`SyncError` when a sync without ``watch`` failed."""
    syncer = syncer_for(ws, session, outputs, environment, region=region, out=out)
    if not watch:
        failed = [
            service
            for service, result in zip(syncer.services, syncer.sync_all(), strict=True)
            if result is None
        ]
        if failed:
            raise SyncError(f"the sync of {', '.join(failed)} failed (above).")
        return
    watcher = Watcher(syncer)
    syncer.sync_all()
    roots = ", ".join(f"services/{service}" for service in syncer.services)
    syncer.out.write(f"watching {roots} (Ctrl-C to stop)\n")
    syncer.out.flush()
    watcher.run()
