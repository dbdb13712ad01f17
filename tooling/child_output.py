"""Child processes that run at once and print into one stream, a whole line at a time.

The e2e lanes and the test suite's two nox processes each print to the same terminal or CI log:
their lines are copied through this process, whole and prefixed with whose they are, so that a
line of one never lands inside a line of another.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

__all__ = ["Ended", "follow", "start"]


@dataclass(frozen=True)
class Ended:
    """How a followed child ended."""

    exit_code: int
    #: ``time.monotonic()`` when it ended.
    at: float
    #: User plus system CPU of the child and of every descendant it waited for (nox waits for
    #: pytest, pytest for terraform and the emulator): what the run cost the machine, which on
    #: a CPU-bound CI machine is what its wall time follows.
    cpu_seconds: float


def start(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start ``command`` with its stdout and stderr on one line-buffered text pipe."""
    return subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )


def follow(prefix: str, process: subprocess.Popen[str], out: TextIO, lock: threading.Lock) -> Ended:
    """Copy ``process``'s lines to ``out`` as they come, each after ``prefix`` and under
    ``lock``; then how it ended."""
    assert process.stdout is not None, "start the process with tooling.child_output.start"
    for line in process.stdout:
        with lock:
            out.write(f"{prefix}{line}")
            out.flush()
    # os.wait4, not Popen.wait: only the reaping call gets the child's resource usage.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return Ended(process.returncode, time.monotonic(), usage.ru_utime + usage.ru_stime)
