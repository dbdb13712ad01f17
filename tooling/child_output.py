"""Child processes that run at once and print into one stream, a whole line at a time.

The e2e lanes and the test suite's two nox processes each print to the same terminal or CI log:
their lines are copied through this process, whole and prefixed with whose they are, so that a
line of one never lands inside a line of another.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

__all__ = ["follow", "start"]


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


def follow(
    prefix: str, process: subprocess.Popen[str], out: TextIO, lock: threading.Lock
) -> tuple[int, float]:
    """Copy ``process``'s lines to ``out`` as they come, each after ``prefix`` and under
    ``lock``; then its exit status and when it ended (``time.monotonic()``)."""
    assert process.stdout is not None, "start the process with tooling.child_output.start"
    for line in process.stdout:
        with lock:
            out.write(f"{prefix}{line}")
            out.flush()
    return process.wait(), time.monotonic()
