"""One execution environment: a bootstrap process serving one invocation at a time.

The parent talks to :mod:`bootstrap` over a socketpair (framing shared with it) and reads the
process's merged stdout/stderr (the function's log) on a thread of its own, so a function that
prints megabytes never blocks on a full pipe. Output is attributed to the phase in progress:
everything before the bootstrap's sentinel for ``init`` or for a request id belongs to it.

A worker that times out is killed (its whole process group, which it leads); one whose
process exits is reported with the exit status or signal as Lambda reports it. Either way the
worker is dead afterwards and the pool replaces it.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
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

__all__ = [
    "BOOTSTRAP_PATH",
    "InitOutcome",
    "InvokeOutcome",
    "LogLine",
    "Worker",
    "describe_exit",
    "peak_memory_mib",
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


class Worker:
    """A bootstrap process for one configuration of one function."""

    def __init__(
        self,
        *,
        python: Path,
        task_root: Path,
        environment: Mapping[str, str],
        log_stream_name: str,
    ) -> None:
        self.log_stream_name = log_stream_name
        self.last_used = time.monotonic()
        self._python = python
        self._task_root = task_root
        self._environment = dict(environment)
        self._token = secrets.token_hex(8)
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None
        self._output: _OutputReader | None = None
        self._max_rss_kib = 0
        self._dead = False

    @property
    def pid(self) -> int | None:
        """The process id (None before start)."""
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        """Started, not killed, and its process has not exited."""
        return not self._dead and self._process is not None and self._process.poll() is None

    def start(self, init_timeout_seconds: float) -> InitOutcome:
        """Spawn the process and wait for its init phase (the handler's import)."""
        started = time.perf_counter()
        parent_end, child_end = socket.socketpair()
        try:
            self._process = subprocess.Popen(
                [
                    str(self._python),
                    "-I",
                    "-u",
                    str(BOOTSTRAP_PATH),
                    str(child_end.fileno()),
                    self._token,
                    *([] if "LC_CTYPE" in self._environment else ["--drop-coerced-locale"]),
                ],
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
        deadline = time.monotonic() + init_timeout_seconds
        try:
            message = read_message(parent_end, deadline)
        except TimeoutError:
            self._peak_rss_from_proc()
            self.kill()
            return InitOutcome(self._ms_since(started), self._output.take(None), failure="timeout")
        except OSError:
            message = None
        init_duration_ms = self._ms_since(started)
        if message is None:
            return InitOutcome(init_duration_ms, self._output.take(None), failure=self._exit())
        header, _ = message
        error = header.get("error")
        output = self._output.take("init")
        if error is not None:
            self._exit()
        return InitOutcome(init_duration_ms, output, error_document=error)

    def invoke(
        self,
        *,
        request_id: str,
        payload: bytes,
        timeout_seconds: float,
        invoked_function_arn: str,
    ) -> InvokeOutcome:
        """Run one invocation with Lambda's deadline; kill the worker if it passes."""
        if self._channel is None or self._output is None:
            raise RuntimeError("invoke before start")
        started = time.monotonic()
        header = {
            "request_id": request_id,
            "deadline_ms": _epoch_ms() + math.floor(timeout_seconds * 1000),
            "invoked_function_arn": invoked_function_arn,
        }
        deadline = started + timeout_seconds
        try:
            self._channel.settimeout(timeout_seconds)
            write_message(self._channel, header, payload)
            message = read_message(self._channel, deadline)
        except TimeoutError:
            self._peak_rss_from_proc()
            self.kill()
            return self._failed(started, failure="timeout")
        except OSError:
            message = None
        if message is None:
            return self._failed(started, failure=self._exit())
        response, body = message
        self._max_rss_kib = max(self._max_rss_kib, int(response["max_rss_kib"]))
        return InvokeOutcome(
            payload=body,
            handler_error=bool(response["error"]),
            duration_ms=float(response["duration_ms"]),
            max_rss_kib=self._max_rss_kib,
            output=self._output.take(request_id),
        )

    def kill(self) -> None:
        """Kill the process group now (idempotent) and reap it."""
        self._dead = True
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(_EXIT_WAIT_SECONDS)
        if self._channel is not None:
            self._channel.close()

    def _failed(self, started: float, *, failure: str) -> InvokeOutcome:
        output = self._output.take(None) if self._output is not None else []
        return InvokeOutcome(
            payload=b"",
            handler_error=False,
            duration_ms=(time.monotonic() - started) * 1000,
            max_rss_kib=self._max_rss_kib,
            output=output,
            failure=failure,
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

    def _peak_rss_from_proc(self) -> None:
        """The peak resident size of a process about to be killed (it cannot report it)."""
        if self._process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self._max_rss_kib = max(self._max_rss_kib, int(line.split()[1]))

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


def peak_memory_mib(max_rss_kib: int) -> int:
    """Lambda's ``Max Memory Used`` (MB, rounded up) from a peak resident size in KiB."""
    return max(1, math.ceil(max_rss_kib / 1024))
