"""``stacks``: the stack graph of a selection, for a person (a table) or a pipeline (JSON) that
fans the stacks out as jobs, each after the stacks it depends on.

The stacks are synthesized first (incremental), as every command does; synth's progress goes to
the workspace's stream, so that a caller printing JSON gives a workspace writing to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.commands.context import ordered_stacks

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.workspace import Workspace

__all__ = ["list_stacks", "stacks_document", "stacks_json", "stacks_table"]


def list_stacks(ws: Workspace, env: str | None) -> list[StackInfo]:
    """``env``'s stacks, synthesized, in deploy order (each after the stacks it depends on)."""
    return ordered_stacks(ws, env)


def _directory(stack: StackInfo, root: Path) -> str:
    try:
        return stack.directory.relative_to(root).as_posix()
    except ValueError:
        return stack.directory.as_posix()


def stacks_document(stacks: Sequence[StackInfo], root: Path) -> dict[str, Any]:
    """The graph as JSON: per stack (deploy order) its name, environment, region, the stacks it
    depends on and its directory (relative to ``root`` when under it)."""
    return {
        "stacks": [
            {
                "name": stack.name,
                "environment": stack.environment,
                "region": stack.region,
                "depends_on": sorted(stack.depends_on),
                "directory": _directory(stack, root),
            }
            for stack in stacks
        ]
    }


def stacks_json(stacks: Sequence[StackInfo], root: Path) -> str:
    """:func:`stacks_document` as indented JSON text."""
    return json.dumps(stacks_document(stacks, root), indent=2)


def stacks_table(stacks: Sequence[StackInfo], root: Path) -> list[str]:
    """The graph as aligned text lines: a header, then one line per stack in deploy order."""
    rows = [("STACK", "ENVIRONMENT", "REGION", "DEPENDS ON", "DIRECTORY")]
    rows += [
        (
            stack.name,
            stack.environment,
            stack.region,
            ", ".join(sorted(stack.depends_on)) or "-",
            _directory(stack, root),
        )
        for stack in stacks
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)), row[4]]
        )
        for row in rows
    ]
