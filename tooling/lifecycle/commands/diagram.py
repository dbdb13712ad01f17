"""``diagram``: the architecture pages drawn from the synthesized stacks of each deployment
(:mod:`tooling.diagram.generate`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tooling.lifecycle.selection import select_environments
from tooling.lifecycle.synth import synth_stacks
from tooling.lifecycle.workspace import Workspace

__all__ = ["DIAGRAM_SYNTH_DIR", "draw_diagrams"]

#: Where the stacks drawn are synthesized, relative to the repository.
DIAGRAM_SYNTH_DIR = Path(".build") / "diagram-synth"


def draw_diagrams(root: Path, env: str) -> list[Path]:
    """Write docs/architecture/<environment>.md for every environment ``env`` selects; return
    the files written.

    The AWS target's stacks are drawn (what production looks like), synthesized into a
    directory of their own (:data:`DIAGRAM_SYNTH_DIR`): the run leaves cdktf.out/ (and any
    deploy using it) alone."""
    from tooling.diagram.generate import write_diagrams

    ws = replace(Workspace.from_environ(root, target="aws"), outdir=root / DIAGRAM_SYNTH_DIR)
    config = ws.config()
    selected = select_environments(config, env)
    synth_stacks(ws, ",".join(selected))
    return write_diagrams(config, selected, ws.outdir / "stacks", root)
