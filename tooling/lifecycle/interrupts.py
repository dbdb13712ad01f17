"""Stopping a lifecycle run cleanly: on SIGINT/SIGTERM, and when the local emulator dies.

Why: a run that is killed half-way leaves locks and resources outside any state behind. So a
signal never kills terraform: :meth:`Stopper.signals` turns the first SIGINT/SIGTERM into the
scheduler's ``stop`` (no new stack starts; each running terraform receives exactly one SIGINT
through :class:`tooling.terraform.StopSignals`, finishes the operations in flight, writes its
state and releases its lock) and a second one into ``kill`` (SIGTERM, then SIGKILL). The task
then exits 130 naming what was interrupted.

An emulator that dies during a deploy would otherwise show as provider time-outs minutes later:
:class:`EmulatorWatchdog` checks its pid and status endpoint every second while stacks run and,
when it is gone, stops the run and terminates the terraform processes at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

__all__ = ["INTERRUPTED_EXIT", "EmulatorWatchdog", "Stopper"]

#: The exit status of a task stopped by a signal (128 + SIGINT, as a shell reports Ctrl-C).
INTERRUPTED_EXIT = 130


class Stopper:
    """The ``stop`` and ``kill`` events of one run, and why they were set (first reason first).

    ``signalled`` is True once a signal (not the watchdog) asked for the stop."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.kill = threading.Event()
        self.reasons: list[str] = []
        self.signalled = False
        self._lock = threading.Lock()

    def request(self, reason: str, *, kill: bool = False) -> None:
        """Stop the run (and, with ``kill``, terminate its terraform processes)."""
        with self._lock:
            if reason not in self.reasons:
                self.reasons.append(reason)
        if kill:  # before stop: a runner seeing stop must already see kill
            self.kill.set()
        self.stop.set()

    @property
    def reason(self) -> str:
        return self.reasons[0] if self.reasons else ""

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop.is_set() and self.signalled:
            self.request(f"a second {name}", kill=True)
            return
        self.signalled = True
        self.request(name)

    @contextlib.contextmanager
    def signals(self) -> Iterator[Stopper]:
        """SIGINT and SIGTERM set ``stop`` (a second one ``kill``) while the body runs.

        Only the main thread may install signal handlers; elsewhere (a test calling the
        lifecycle from a thread) nothing is installed and the body runs as it is."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


class EmulatorWatchdog:
    """A thread that stops the run (``stopper.request(..., kill=True)``) when the emulator is gone.

    Gone: its pid no longer runs (at once), or its status endpoint did not answer as that pid
    ``misses`` times in a row (a hung server; one slow answer under load is not enough).
    ``alive(pid)`` and ``answering(port)`` (the pid that answers on the status endpoint, or
    None) default to :mod:`tooling.emulator.process`'s checks.
    """

    def __init__(
        self,
        *,
        pid: int,
        port: int,
        log: Path | str,
        stopper: Stopper,
        action: str = "deploy",
        interval: float = 1.0,
        misses: int = 5,
        alive: Callable[[int], bool] | None = None,
        answering: Callable[[int], int | None] | None = None,
    ) -> None:
        from tooling.emulator import process

        self.pid, self.port, self.log = pid, port, log
        self.message = (
            f"the local emulator (pid {pid}) stopped during the {action}; see {log}; "
            f"run ./tap {action} again"
        )
        self._stopper = stopper
        self._interval = interval
        self._misses = misses
        self._alive = alive if alive is not None else process._pid_alive
        self._answering = answering if answering is not None else process._answering_pid
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.tripped = False

    def _gone(self, missed: int) -> tuple[bool, int]:
        if not self._alive(self.pid):
            return True, missed
        missed = 0 if self._answering(self.port) == self.pid else missed + 1
        return missed >= self._misses, missed

    def _watch(self) -> None:
        missed = 0
        while not self._done.wait(self._interval):
            gone, missed = self._gone(missed)
            if gone:
                self.tripped = True
                self._stopper.request(self.message, kill=True)
                return

    def __enter__(self) -> EmulatorWatchdog:
        self._thread = threading.Thread(target=self._watch, name="emulator-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
