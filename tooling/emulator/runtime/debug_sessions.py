"""Debug sessions: the next execution environment of a function, started under debugpy.

A developer asks for a session of one function (:meth:`LambdaRuntime.debug_next
<tooling.emulator.runtime.LambdaRuntime.debug_next>`); the session is *armed* here until the
function's next invocation *takes* it. That invocation does not reuse a warm worker: the
function's idle workers are retired and a new one starts whose bootstrap listens for a Debug
Adapter Protocol client (debugpy's in-process adapter) on ``127.0.0.1:<port>`` and waits for
it before the init phase, so breakpoints in the handler module's import and in the handler both
hit. A session is one execution environment serving one invocation: the worker is killed when
that invocation ends (which ends the client's session), and the next invocation starts a normal
worker again. One armed session per function; asking again replaces it.

Deviations from Lambda while a session lasts, all confined to the debug worker:

* no deadline: from the client's attach until the invocation ends, neither the init phase's
  10 seconds nor the function's timeout kill the worker (a developer stopped at a breakpoint
  would otherwise be cut off). The handler's ``context.get_remaining_time_in_millis()`` still
  counts down from the function's timeout, and REPORT's durations include the time paused;
* ``LAMBDA_TASK_ROOT`` (and the handler's ``__file__``) is :meth:`DebugSessions.task_root`,
  ``<work dir>/debug/<function name>``, a symbolic link to the function's current code: a
  path that does not change when the code does, so that an editor's path mapping to it (its
  "remote root") stays valid across code updates;
* the worker runs with ``-X frozen_modules=off`` (so that breakpoints in the standard library
  bind and pydevd does not warn) and has the debugger add-on (:mod:`.debug_addon`) at the end
  of ``sys.path``: ``import debugpy`` succeeds there, and only there.

If no client attaches within the session's attach timeout, the worker is killed and the
invocation fails with ``Runtime.ExitError`` naming the address nobody attached to.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tooling.emulator.runtime.bootstrap import port_is_free

__all__ = [
    "DEFAULT_ATTACH_TIMEOUT_SECONDS",
    "LOOPBACK",
    "MAX_ATTACH_TIMEOUT_SECONDS",
    "DebugPortUnavailableError",
    "DebugSessions",
    "DebugTarget",
    "port_is_free",
]

#: Debug workers listen on loopback only: the debugger can run any code in the function.
LOOPBACK: Final = "127.0.0.1"
#: How long a debug worker waits for a client before it is killed (time to press F5).
DEFAULT_ATTACH_TIMEOUT_SECONDS: Final = 300.0
MAX_ATTACH_TIMEOUT_SECONDS: Final = 3600.0


class DebugPortUnavailableError(ValueError):
    """The port is not a TCP port, is in use, or another armed session listens on it."""


@dataclass(frozen=True)
class DebugTarget:
    """An armed debug session: where its worker listens and runs from."""

    function_arn: str
    host: str
    port: int
    #: The stable task root the debug worker runs from (an editor's "remote root").
    task_root: Path
    #: The debugger add-on's site directory, appended to the debug worker's ``sys.path``.
    addon_site: Path
    attach_timeout_seconds: float

    @property
    def address(self) -> str:
        """``host:port``, as the bootstrap takes it."""
        return f"{self.host}:{self.port}"


class DebugSessions:
    """The armed sessions of every function, and their stable task roots under ``directory``.

    Thread-safe: sessions are armed by the emulator's control endpoint and taken by invocations
    on other server threads.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._armed: dict[str, DebugTarget] = {}

    def task_root(self, function_name: str) -> Path:
        """Where the debug workers of ``function_name`` run from (it need not exist yet)."""
        return self.directory / function_name

    def arm(self, target: DebugTarget) -> None:
        """Start the next execution environment of ``target.function_arn`` under the debugger.

        Replaces the function's armed session, if any. Raises DebugPortUnavailableError when
        the port is out of range, taken by another process, or by another function's session.
        """
        if not 1 <= target.port <= 65535:
            raise DebugPortUnavailableError(f"{target.port} is not a TCP port (1-65535)")
        with self._lock:
            for other in self._armed.values():
                if other.port == target.port and other.function_arn != target.function_arn:
                    raise DebugPortUnavailableError(
                        f"port {target.port} is already armed for {other.function_arn}"
                    )
            if not port_is_free(target.host, target.port):
                raise DebugPortUnavailableError(
                    f"{target.address} is in use by another process: choose another port"
                )
            self._armed[target.function_arn] = target

    def take(self, function_arn: str) -> DebugTarget | None:
        """The armed session of a function, now consumed by the invocation that takes it."""
        with self._lock:
            return self._armed.pop(function_arn, None)

    def cancel(self, function_arn: str) -> DebugTarget | None:
        """Disarm a function's session (None if none was armed)."""
        return self.take(function_arn)

    def link_task_root(self, target: DebugTarget, code_root: Path) -> Path:
        """Point ``target.task_root`` at ``code_root`` (the function's unpacked code).

        Replaced atomically (a new link renamed over the old one), so a reader never finds it
        missing.
        """
        link = target.task_root
        link.parent.mkdir(parents=True, exist_ok=True)
        staging = link.with_name(f".{link.name}.{os.getpid()}.{threading.get_ident()}")
        with contextlib.suppress(FileNotFoundError):
            staging.unlink()
        staging.symlink_to(code_root.resolve(), target_is_directory=True)
        os.replace(staging, link)
        return link
