"""``emulator``: start (or reuse) the local AWS emulator of the repository, stop it, or say
whether it runs (:mod:`tooling.emulator.process`)."""

from __future__ import annotations

from pathlib import Path

from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.workspace import Workspace

__all__ = ["emulator_command"]


def emulator_command(root: Path, *, stop: bool = False, status: bool = False) -> str:
    """Stop the emulator of ``root`` (``stop``), report it (``status``: a LifecycleError when
    none runs), else start it on the workspace's port or reuse the one running; the line to
    print."""
    from tooling.emulator import process as emu

    if stop:
        return "emulator: stopped" if emu.stop(root) else "emulator: was not running"
    if status:
        running = emu.status(root)
        if running is None:
            raise LifecycleError("emulator: not running", code=1)
        return f"emulator: running on {running.endpoint} (pid {running.pid})"
    try:
        running = emu.start(root, port=Workspace.from_environ(root).port)
    except emu.EmulatorError as error:
        raise LifecycleError(f"emulator: {error}", code=1) from None
    return f"emulator: running on {running.endpoint} (pid {running.pid})"
