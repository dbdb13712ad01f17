"""One execution environment: a bootstrap process serving one invocation at a time.

The parent talks to :mod:`bootstrap` over a socketpair (framing shared with it) and reads the
process's merged stdout/stderr (the function's log) on a thread of its own, so a function that
prints megabytes never blocks on a full pipe. Output is attributed to the phase in progress:
everything before the bootstrap's sentinel for ``init`` or for a request id belongs to it.

A worker that times out is killed (its whole process group, which it leads), and so is one
that goes over the function's memory size, in its init phase or in an invocation (see
:mod:`.memory`: the parent watches the worker's resident memory while a phase runs); one whose
process exits is reported with the exit status or signal as Lambda reports it. Either way the
worker is dead afterwards and the pool replaces it.

A debug worker (``debugger``, :mod:`.debug_sessions`) runs the bootstrap under debugpy: the
parent first waits for the bootstrap's word that a client attached, up to the session's attach
timeout (then it is killed), and from then on sets no deadline on the init phase or the
invocation; the memory size still holds.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from tooling.emulator.runtime.bootstrap import read_message, write_message
from tooling.emulator.runtime.debug_sessions import DebugTarget
from tooling.emulator.runtime.memory import POLL_SECONDS, ProcessMemory

__all__ = [
    "BOOTSTRAP_PATH",
    "InitOutcome",
    "InvokeOutcome",
    "LogLine",
    "Worker",
    "describe_exit",
]

#: Run by path, so that the worker never imports the project.
BOOTSTRAP_PATH: Final = Path(__file__).with_name("bootstrap.py")

#: (epoch milliseconds, message ending with a newline)
LogLine = tuple[int, str]

#: How long to wait for the output of a finished phase (its sentinel) or of a dead process.
_OUTPUT_GRACE_SECONDS: Final = 2.0
_EXIT_WAIT_SECONDS: Final = 5.0


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class InitOutcome:
    """How the init phase of a new worker ended."""

    init_duration_ms: float
    output: list[LogLine]
    error_document: dict[str, Any] | None = None
    #: Set when the process died or timed out during init (the worker is dead).
    failure: str | None = None
    #: The worker's peak resident memory so far (KiB), at most the function's memory size.
    max_rss_kib: int = 0
    #: The worker went over the function's memory size and was killed (``failure`` says how).
    out_of_memory: bool = False


@dataclass
class InvokeOutcome:
    """What a worker did with one invocation."""

    payload: bytes
    #: The handler or the runtime reported an error document (awslambdaric's errors).
    handler_error: bool
    duration_ms: float
    max_rss_kib: int
    output: list[LogLine] = field(default_factory=list)
    #: "timeout" or "exit status N" / "signal: killed" when the worker died (it is then dead).
    failure: str | None = None
    #: The worker went over the function's memory size and was killed (``failure`` says how).
    out_of_memory: bool = False


class _OutputReader:
    """Collects a worker's output lines per phase, on a daemon thread."""

    def __init__(self, stream: IO[bytes], token: str) -> None:
        self._stream = stream
        self._marker = f"\0{token} ".encode()
        self._condition = threading.Condition()
        self._pending: list[LogLine] = []
        self._finished: dict[str, list[LogLine]] = {}
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="lambda-worker-output", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for raw in iter(self._stream.readline, b""):
                self._add(_epoch_ms(), raw)
        except (OSError, ValueError):
            pass
        finally:
            with self._condition:
                self._closed = True
                self._condition.notify_all()
            with contextlib.suppress(OSError):
                self._stream.close()

    def _add(self, now_ms: int, raw: bytes) -> None:
        position = raw.find(self._marker)
        text = raw if position < 0 else raw[:position]
        with self._condition:
            if text:
                message = text.decode("utf-8", errors="replace")
                self._pending.append(
                    (now_ms, message if message.endswith("\n") else message + "\n")
                )
            if position >= 0:
                phase = raw[position + len(self._marker) :].rstrip(b"\n").decode("utf-8", "replace")
                self._finished[phase] = self._pending
                self._pending = []
                self._condition.notify_all()

    def take(
        self, phase: str | None, timeout_seconds: float = _OUTPUT_GRACE_SECONDS
    ) -> list[LogLine]:
        """The output of ``phase`` once its sentinel arrived (or everything left, at close).

        ``phase=None`` waits for the stream to close (a dead worker) and returns the rest.
        """
        with self._condition:
            self._condition.wait_for(
                lambda: self._closed or (phase is not None and phase in self._finished),
                timeout_seconds,
            )
            if phase is not None and phase in self._finished:
                return self._finished.pop(phase)
            rest = [line for lines in self._finished.values() for line in lines] + self._pending
            self._finished.clear()
            self._pending = []
            return rest


class _OutOfMemoryError(Exception):
    """The worker went over its memory size and was killed; the message says how it ended."""


class _DebuggerFailedError(Exception):
    """A debug worker could not listen, or no client attached in time; it is dead."""


class Worker:
    """A bootstrap process for one configuration of one function."""

    def __init__(
        self,
        *,
        python: Path,
        task_root: Path,
        environment: Mapping[str, str],
        log_stream_name: str,
        memory_mib: int,
        debugger: DebugTarget | None = None,
    ) -> None:
        self.log_stream_name = log_stream_name
        self.debugger = debugger
        self.last_used = time.monotonic()
        self._python = python
        self._task_root = task_root
        self._environment = dict(environment)
        self._limit_kib = memory_mib * 1024
        self._token = secrets.token_hex(8)
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None
        self._output: _OutputReader | None = None
        self._memory: ProcessMemory | None = None
        self._peak_kib = 0
        self._dead = False

    @property
    def pid(self) -> int | None:
        """The process id (None before start)."""
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        """Started, not killed, and its process has not exited."""
        return not self._dead and self._process is not None and self._process.poll() is None

    @property
    def max_rss_kib(self) -> int:
        """The process's own peak resident memory so far, capped at the memory size (KiB).

        Lambda's limit stops the environment at its memory size, so that is the most it reports.
        """
        return min(self._peak_kib, self._limit_kib)

    def start(self, init_timeout_seconds: float) -> InitOutcome:
        """Spawn the process and wait for its init phase (the handler's import).

        The init phase is held to the memory size as invocations are: Lambda's limit applies
        to the execution environment from its start.
        """
        started = time.perf_counter()
        output = self._spawn()
        deadline: float | None = time.monotonic() + init_timeout_seconds
        try:
            if self.debugger is not None:
                self._await_debugger(self.debugger)
                deadline = None
            message = self._next_message(deadline)
        except TimeoutError:
            self.kill()
            return self._init_outcome(self._ms_since(started), output.take(None), failure="timeout")
        except _DebuggerFailedError as failed:
            elapsed_ms = self._ms_since(started)
            return self._init_outcome(elapsed_ms, output.take(None), failure=str(failed))
        except _OutOfMemoryError as killed:
            return self._init_outcome(
                self._ms_since(started), output.take(None), failure=str(killed), out_of_memory=True
            )
        except OSError:
            message = None
        init_duration_ms = self._ms_since(started)
        if message is None:
            failure = self._exit()
            return self._init_outcome(init_duration_ms, output.take(None), failure=failure)
        header, _ = message
        error = header.get("error")
        lines = output.take("init")
        if error is not None:
            self._exit()
        return self._init_outcome(init_duration_ms, lines, error_document=error)

    def invoke(
        self,
        *,
        request_id: str,
        payload: bytes,
        timeout_seconds: float,
        invoked_function_arn: str,
    ) -> InvokeOutcome:
        """Run one invocation with Lambda's deadline and memory size; kill the worker past them.

        A debug worker has no deadline (its handler still sees the function's timeout counting
        down in ``context``).
        """
        if self._channel is None or self._output is None:
            raise RuntimeError("invoke before start")
        started = time.monotonic()
        header = {
            "request_id": request_id,
            "deadline_ms": _epoch_ms() + math.floor(timeout_seconds * 1000),
            "invoked_function_arn": invoked_function_arn,
        }
        deadline = None if self.debugger is not None else started + timeout_seconds
        try:
            self._channel.settimeout(None if deadline is None else timeout_seconds)
            write_message(self._channel, header, payload)
            message = self._next_message(deadline)
        except TimeoutError:
            self.kill()
            return self._failed(started, failure="timeout")
        except _OutOfMemoryError as killed:
            return self._failed(started, failure=str(killed), out_of_memory=True)
        except OSError:
            message = None
        if message is None:
            return self._failed(started, failure=self._exit())
        response, body = message
        return InvokeOutcome(
            payload=body,
            handler_error=bool(response["error"]),
            duration_ms=float(response["duration_ms"]),
            max_rss_kib=self.max_rss_kib,
            output=self._output.take(request_id),
        )

    def kill(self) -> None:
        """Kill the process group now (idempotent) and reap it; its last peak is kept."""
        self._dead = True
        if self._process is not None and self._process.returncode is None:
            self._note_peak()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(_EXIT_WAIT_SECONDS)
        if self._channel is not None:
            self._channel.close()
        if self._memory is not None:
            self._memory.close()

    def _spawn(self) -> _OutputReader:
        """Start the bootstrap process, its output reader and the watch on its memory."""
        parent_end, child_end = socket.socketpair()
        try:
            self._process = subprocess.Popen(
                self._command(child_end.fileno()),
                cwd=self._task_root,
                env=self._environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(child_end.fileno(),),
                start_new_session=True,
            )
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        self._channel = parent_end
        if self._process.stdout is None:  # cannot happen with stdout=PIPE; narrows the type
            raise RuntimeError("the worker's stdout is not a pipe")
        self._output = _OutputReader(self._process.stdout, self._token)
        try:
            self._memory = ProcessMemory(self._process.pid)
        except OSError as error:
            self.kill()
            raise RuntimeError(
                "the Lambda runtime measures and limits a worker's memory through Linux's /proc, "
                f"which cannot be read here: {error}"
            ) from error
        return self._output

    def _command(self, channel_fd: int) -> list[str]:
        """The bootstrap's command line (a debug worker's names the debugger's address)."""
        debugger = self.debugger
        command = [str(self._python), "-I", "-u"]
        if debugger is not None:
            # Frozen standard-library modules have no source for breakpoints (pydevd warns).
            command += ["-X", "frozen_modules=off"]
        command += [str(BOOTSTRAP_PATH), str(channel_fd), self._token]
        if "LC_CTYPE" not in self._environment:
            command.append("--drop-coerced-locale")
        if debugger is not None:
            command += ["--debugger", debugger.address, str(debugger.addon_site)]
        return command

    def _await_debugger(self, debugger: DebugTarget) -> None:
        """Wait for the bootstrap's word that a debugger client attached.

        Raises _DebuggerFailedError (the worker killed) when it cannot listen or no client
        attaches within the session's attach timeout.
        """
        try:
            message = self._next_message(time.monotonic() + debugger.attach_timeout_seconds)
        except TimeoutError:
            self.kill()
            raise _DebuggerFailedError(
                f"no debugger attached to {debugger.address} within "
                f"{debugger.attach_timeout_seconds:g} seconds"
            ) from None
        if message is None:
            raise _DebuggerFailedError(self._exit())
        error = message[0].get("error")
        if error is not None:
            self._exit()
            raise _DebuggerFailedError(f"debugger unavailable: {error}")
        if self._channel is not None:
            self._channel.settimeout(None)  # reading with a deadline left one on the channel

    def _next_message(self, deadline: float | None) -> tuple[dict[str, Any], bytes] | None:
        """The worker's next message (None if it closed), watching its memory meanwhile.

        Raises TimeoutError once ``deadline`` has passed (None: no deadline), and
        _OutOfMemoryError (the worker killed) as soon as a sample of its resident size, or at
        the end its exact peak, is over the memory size.
        """
        if self._channel is None or self._memory is None:
            raise RuntimeError("the worker was not started")
        if self._channel.fileno() < 0:  # killed meanwhile (the pool shutting down)
            return None
        readable = select.poll()
        readable.register(self._channel, select.POLLIN)
        while True:
            self._enforce_memory_size(self._memory.resident_kib())
            wait_seconds = POLL_SECONDS
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("deadline passed")
                wait_seconds = min(remaining, POLL_SECONDS)
            if readable.poll(math.ceil(wait_seconds * 1000)):
                break
        message = read_message(self._channel, deadline)
        self._enforce_memory_size(self._memory.peak_kib())
        return message

    def _enforce_memory_size(self, sample_kib: int | None) -> None:
        if sample_kib is not None:
            self._peak_kib = max(self._peak_kib, sample_kib)
        if self._peak_kib > self._limit_kib:
            self.kill()
            returncode = self._process.returncode if self._process is not None else None
            raise _OutOfMemoryError(describe_exit(returncode))

    def _note_peak(self) -> None:
        """Fold in the exact peak of a process about to be killed (it cannot report it)."""
        if self._memory is not None:
            self._peak_kib = max(self._peak_kib, self._memory.peak_kib() or 0)

    def _init_outcome(
        self,
        init_duration_ms: float,
        output: list[LogLine],
        *,
        error_document: dict[str, Any] | None = None,
        failure: str | None = None,
        out_of_memory: bool = False,
    ) -> InitOutcome:
        return InitOutcome(
            init_duration_ms=init_duration_ms,
            output=output,
            error_document=error_document,
            failure=failure,
            max_rss_kib=self.max_rss_kib,
            out_of_memory=out_of_memory,
        )

    def _failed(
        self, started: float, *, failure: str, out_of_memory: bool = False
    ) -> InvokeOutcome:
        output = self._output.take(None) if self._output is not None else []
        return InvokeOutcome(
            payload=b"",
            handler_error=False,
            duration_ms=(time.monotonic() - started) * 1000,
            max_rss_kib=self.max_rss_kib,
            output=output,
            failure=failure,
            out_of_memory=out_of_memory,
        )

    def _exit(self) -> str:
        """Wait for a process that is exiting; Lambda's description of how it ended."""
        if self._process is None:
            return describe_exit(None)
        try:
            code = self._process.wait(_EXIT_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self._process.returncode
        self.kill()
        return describe_exit(code)

    @staticmethod
    def _ms_since(started: float) -> float:
        return (time.perf_counter() - started) * 1000


def describe_exit(code: int | None) -> str:
    """``exit status 3`` or ``signal: segmentation fault``, as Lambda's sandbox words it."""
    if code is None:
        return "signal: killed"
    if code >= 0:
        return f"exit status {code}"
    try:
        name = signal.strsignal(-code) or f"signal {-code}"
    except ValueError:
        name = f"signal {-code}"
    return f"signal: {name.lower()}"
