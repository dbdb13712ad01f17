"""Starting a terraform process, reading its output and stopping it: the one spawn path.

Every terraform process of the repository (captured, streamed, or with its stdout left on
ours) is started by :func:`run_process`, so all of them get the same treatment:

* a process group of its own: the terminal sends a Ctrl-C's SIGINT to its whole foreground
  process group, and a second Ctrl-C reaching terraform directly would make it exit at once,
  state possibly unwritten. So the terminal's SIGINT reaches our process only, which forwards
  exactly one (terraform's graceful stop: finish the operations in flight, write the state,
  release the lock) and decides itself what a second one means (:class:`StopSignals`);
* on Linux, death with our process (``PR_SET_PDEATHSIG``), so that a terraform never outlives
  the ./tap run that started it and a crashed run's state lock is provably abandoned;
* the stops of :class:`StopSignals` (one SIGINT, then SIGTERM and SIGKILL), and one SIGINT when
  our own thread is interrupted (KeyboardInterrupt, or a line callback raising);
* the output read line by line as it is written, and the last lines of its error output kept
  (the tail), because that is where terraform reports why it failed: a caller can say so
  without keeping, or re-reading, everything a long apply printed.

Standard input is never connected (``TF_INPUT=0`` is set too): a prompt must fail, not hang.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final, Literal

__all__ = [
    "INHERIT",
    "MERGE",
    "LineSink",
    "StopSignals",
    "StreamedRun",
    "popen_options",
    "run_process",
]

#: Receives each line the process writes, as it is read, newline included (so that the
#: lines joined are exactly the output).
LineSink = Callable[[str], None]
#: The stream is our own (stdout or stderr), unread: the process writes to it directly.
INHERIT: Final = "inherit"
#: stderr goes into the stdout pipe, so both reach stdout's sink in the order they were written.
MERGE: Final = "merge"

#: prctl(2) option: the signal a child gets when the thread that started it dies.
_PR_SET_PDEATHSIG = 1
#: How often the stop watcher looks at the :class:`StopSignals` events and the process.
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class StopSignals:
    """How a caller stops a running terraform from another thread.

    ``interrupt`` set: exactly one SIGINT is forwarded to terraform, which then stops starting
    operations, waits for those in flight, writes the state and releases its lock (the
    graceful stop of a Ctrl-C). ``kill`` set (a second Ctrl-C, the emulator is gone): SIGTERM,
    then SIGKILL after ``kill_grace`` seconds."""

    interrupt: threading.Event | None = None
    kill: threading.Event | None = None
    kill_grace: float = 5.0


@dataclass(frozen=True)
class StreamedRun:
    """Outcome of a terraform process: the command, its exit code and its last lines.

    ``tail`` holds the last lines (without newlines) of its error output: the merged output
    when stderr was merged into stdout, else stderr. ``interrupted`` says the run was asked to
    stop (one SIGINT forwarded to terraform), and ``killed`` that it was then terminated
    (SIGTERM, SIGKILL) without finishing gracefully."""

    command: tuple[str, ...]
    returncode: int
    tail: tuple[str, ...]
    interrupted: bool = False
    killed: bool = False


# --------------------------------------------------------------------------- how it starts


def _die_with_parent_preexec() -> Callable[[], None] | None:
    """Linux: a ``preexec_fn`` making terraform get SIGKILL when our process dies, so that a
    terraform never outlives the ./tap run that started it (a crashed run's lock is then provably
    abandoned: its holder record names a pid whose terraform children are all gone). None
    elsewhere. The libc function is looked up here, before the fork, not in the child."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: do not run orphaned
            os._exit(137)

    return preexec


def popen_options() -> dict[str, Any]:
    """The :class:`subprocess.Popen` options of every terraform process: its own process group
    (a Ctrl-C in the terminal reaches our process only, which forwards exactly one SIGINT) and
    death with our process (Linux)."""
    options: dict[str, Any] = {"process_group": 0}
    preexec = _die_with_parent_preexec()
    if preexec is not None:
        options["preexec_fn"] = preexec
    return options


# --------------------------------------------------------------------------- how it stops


def _signal(process: subprocess.Popen[str], signum: int) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)


@dataclass
class _StopState:
    """What was done to stop the process; shared by the stop watcher and the reading thread,
    so that however many of them ask, terraform gets one SIGINT (a second one would make it
    abandon the operations in flight without writing the state)."""

    interrupted: bool = False
    killed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def interrupt(self, process: subprocess.Popen[str], *, send: bool = True) -> None:
        """Mark the run interrupted; the first time, forward one SIGINT unless ``send`` is
        false (the caller is about to terminate it outright)."""
        with self._lock:
            if self.interrupted:
                return
            self.interrupted = True
        if send:
            _signal(process, signal.SIGINT)


def _watch(process: subprocess.Popen[str], stops: StopSignals, state: _StopState) -> None:
    """Forward ``stops`` to ``process`` until it exits: one SIGINT, then maybe SIGTERM/SIGKILL."""
    killed_at: float | None = None
    while process.poll() is None:
        killing = stops.kill is not None and stops.kill.is_set()
        if stops.interrupt is not None and stops.interrupt.is_set():
            state.interrupt(process, send=not killing)  # terminating at once: no SIGINT first
        if killing:
            if killed_at is None:
                state.interrupt(process, send=False)
                state.killed = True
                killed_at = time.monotonic()
                _signal(process, signal.SIGTERM)
            elif time.monotonic() - killed_at > stops.kill_grace:
                _signal(process, signal.SIGKILL)
        try:
            process.wait(timeout=_POLL_SECONDS)
        except subprocess.TimeoutExpired:
            continue


# --------------------------------------------------------------------------- how it is read


class _Pump:
    """Reads one pipe to its end, line by line, into a sink and (optionally) the tail.

    A sink that raises is not called again but the pipe is still read to its end: a process
    whose pipe is no longer read blocks once the pipe buffer is full, and would never exit."""

    def __init__(
        self, pipe: IO[str] | None, sink: LineSink | None, tail: deque[str] | None
    ) -> None:
        self._pipe = pipe
        self._sink = sink
        self._tail = tail
        self.error: BaseException | None = None

    def run(self) -> None:
        """Read to the end, handing each line over; a sink's exception is raised at once
        (the rest of the pipe is then left to :meth:`drain`)."""
        if self._pipe is None:
            return
        for line in self._pipe:
            if self._tail is not None:
                self._tail.append(line.rstrip("\n"))
            if self._sink is not None:
                self._sink(line)

    def run_to_end(self) -> None:
        """:meth:`run` for a thread of its own: a sink's exception is kept in :attr:`error`
        (for the caller's thread to raise) and the pipe is drained."""
        try:
            self.run()
        except BaseException as error:  # raised again in the caller's thread
            self.error = error
            self.drain()

    def drain(self) -> None:
        """Read what is left without handing it to the sink (the tail still gets it)."""
        self._sink = None
        with contextlib.suppress(ValueError, OSError):  # ValueError: the pipe is closed
            self.run()


def _stdio(
    stdout: LineSink | Literal["inherit"], stderr: LineSink | Literal["inherit", "merge"]
) -> tuple[int | None, int | None]:
    """The ``stdout`` and ``stderr`` arguments of :class:`subprocess.Popen` for these sinks."""
    out = subprocess.PIPE if callable(stdout) else None
    if callable(stderr):
        return out, subprocess.PIPE
    return out, subprocess.STDOUT if stderr == MERGE else None


def run_process(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdout: LineSink | Literal["inherit"],
    stderr: LineSink | Literal["inherit", "merge"],
    tail_lines: int,
    stops: StopSignals | None = None,
) -> StreamedRun:
    """Run ``command`` to its end (the module docstring says how it is started and stopped).

    ``stdout`` is a :data:`LineSink` or :data:`INHERIT`; ``stderr`` is a sink, :data:`INHERIT`
    or :data:`MERGE` (into stdout, in the order written). The stdout sink is called in the
    caller's thread, a separate stderr sink in a thread of its own. The tail keeps the last
    ``tail_lines`` lines of stderr, or of the merged output with :data:`MERGE` (none when that
    output is not read but inherited). A non-zero exit is returned, not raised.

    When our own thread is interrupted (KeyboardInterrupt, or the stdout sink raising),
    terraform gets one SIGINT, its output is read to the end and the process is waited for,
    then the exception propagates. A stderr sink's exception is raised once the process ended.
    """
    tail: deque[str] = deque(maxlen=tail_lines)
    state = _StopState()
    out, err = _stdio(stdout, stderr)
    with subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=err,
        text=True,
        errors="replace",
        **popen_options(),
    ) as process:
        main = _Pump(
            process.stdout, stdout if callable(stdout) else None, tail if stderr == MERGE else None
        )
        side = _Pump(process.stderr, stderr if callable(stderr) else None, tail)
        threads: list[threading.Thread] = []
        if process.stderr is not None:
            threads.append(
                threading.Thread(target=side.run_to_end, name="terraform-stderr", daemon=True)
            )
        if stops is not None:
            threads.append(
                threading.Thread(
                    target=_watch, args=(process, stops, state), name="terraform-stop", daemon=True
                )
            )
        for thread in threads:
            thread.start()
        try:
            main.run()
            returncode = process.wait()
        except BaseException:
            state.interrupt(process)
            main.drain()
            process.wait()
            raise
        finally:
            for thread in threads:
                thread.join()
    if side.error is not None:
        raise side.error
    return StreamedRun(tuple(command), returncode, tuple(tail), state.interrupted, state.killed)
