"""The deploy after a handler-only change: one more change in the copy, then the deploy
``./tap deploy`` runs (:func:`tooling.lifecycle.commands.deploy.deploy_stacks`) on the copy's
workspace, timed until it returns; then ``/health`` must answer the change. The stacks it applied
come from its ``timings`` (each applied stack's apply seconds) and its lines (why), those it
skipped from its lines (``[<stack>] unchanged since its last apply ...``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO

from tooling.lifecycle.commands.deploy import UNCHANGED
from tooling.lifecycle.errors import LifecycleError
from tooling.loop_bench.errors import LoopBenchError
from tooling.loop_bench.figures import AppliedStack, DeployFigure
from tooling.loop_bench.probe import HealthProbe
from tooling.loop_bench.sources import SourceCopy
from tooling.loop_bench.transcript import Transcript

if TYPE_CHECKING:
    from tooling.lifecycle.workspace import Workspace

__all__ = ["Deploy", "measure_deploy", "stacks_of"]

_APPLYING: Final = re.compile(r"^\[(?P<stack>[^\]]+)\] applying: (?P<reason>.+)$", re.MULTILINE)
_SKIPPED: Final = re.compile(rf"^\[(?P<stack>[^\]]+)\] {re.escape(UNCHANGED)}$", re.MULTILINE)


class Deploy(Protocol):
    """:func:`tooling.lifecycle.commands.deploy.deploy_stacks`, as the bench calls it."""

    def __call__(
        self, ws: Workspace, env: str | None, *, timings: dict[str, float] | None = None
    ) -> dict[str, Any]: ...


def stacks_of(
    output: str, timings: Mapping[str, float]
) -> tuple[tuple[AppliedStack, ...], tuple[str, ...]]:
    """The stacks a deploy applied (in the order its lines name them, then any other stack of
    ``timings``) and those it skipped, read from its ``output`` (plain display lines)."""
    reasons = {m["stack"]: m["reason"] for m in _APPLYING.finditer(output)}
    names = [*reasons, *(name for name in timings if name not in reasons)]
    applied = tuple(AppliedStack(name, timings.get(name), reasons.get(name)) for name in names)
    skipped = tuple(dict.fromkeys(m["stack"] for m in _SKIPPED.finditer(output)))
    return applied, skipped


def measure_deploy(
    copy: SourceCopy,
    ws: Workspace,
    environment: str,
    probe: HealthProbe,
    marker: str,
    *,
    deploy: Deploy,
    echo: TextIO,
    say: Callable[[str], None],
) -> DeployFigure:
    """Change the copy to answer ``marker``, deploy ``environment`` from it (its output passed
    on to ``echo``), and ask ``/health`` until it answers the change; a failed deploy is a
    :class:`LoopBenchError` saying after how long."""
    copy.change(marker)
    transcript = Transcript(echo)
    timings: dict[str, float] = {}
    say(f"deploy after a handler-only change: ./tap deploy --env {environment}, from the copy")
    started = probe.clock()
    try:
        deploy(replace(copy.workspace(ws), out=transcript), environment, timings=timings)
    except LifecycleError as error:
        seconds = probe.clock() - started
        raise LoopBenchError(f"the deploy failed after {seconds:.1f} s: {error}") from None
    returned = probe.clock()
    try:
        answered: float | None = probe.wait_for(marker, since=returned)
    except LoopBenchError as error:
        say(str(error))
        answered = None
    applied, skipped = stacks_of(transcript.getvalue(), timings)
    return DeployFigure(returned - started, applied, skipped, answered)
