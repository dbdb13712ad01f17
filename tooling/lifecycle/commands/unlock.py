"""``unlock``: release exactly one state lock of one stack (:func:`..locks.unlock`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tooling.lifecycle.commands.context import session_for
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.locks import unlock
from tooling.lifecycle.synth import synth_stacks

if TYPE_CHECKING:
    from tooling.lifecycle.workspace import Workspace

__all__ = ["unlock_stack"]


def unlock_stack(ws: Workspace, stack: str, lock_id: str) -> str:
    """Release exactly the state lock ``lock_id`` of ``stack``, after checking that it is the
    lock held now (every stack synthesized first if ``stack`` is not); print and return what
    was done."""
    directory = ws.outdir / "stacks" / stack
    if not (directory / "cdk.tf.json").is_file():
        synth_stacks(ws, "all")
    if not (directory / "cdk.tf.json").is_file():
        known = sorted(p.name for p in (ws.outdir / "stacks").iterdir() if p.is_dir())
        raise LifecycleError(f"no stack {stack!r}; the stacks are: {', '.join(known)}", code=2)
    session = session_for(ws, start=False)
    message = unlock(session, directory, lock_id)
    ws.echo(f"unlock: {message}")
    return message
