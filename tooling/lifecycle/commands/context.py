"""What every lifecycle command starts from: its stacks in deploy order and the session.

Both in one place so that the commands (and the tasks that only need a session: logs, sync,
upload, invoke, bench) open them the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.session import Session, open_session
from tooling.lifecycle.synth import synth_stacks

if TYPE_CHECKING:
    from tooling.lifecycle.workspace import Workspace

__all__ = ["ordered_stacks", "session_for"]


def ordered_stacks(ws: Workspace, env: str | None) -> list[StackInfo]:
    """``env``'s stacks, synthesized (incremental), in deploy order (destroy reverses it)."""
    return read_stacks(ws.outdir, synth_stacks(ws, env))


def session_for(ws: Workspace, *, start: bool = True) -> Session:
    """The session of ``ws``'s target; ``start=False`` needs the local emulator running."""
    return open_session(ws.root, ws.target, port=ws.port, start=start)
