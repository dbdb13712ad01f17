"""The emulator's record on disk: which emulator a repository runs, and where its files are.

One emulator per repository (or per run that names its own directory, :data:`STATE_DIR_ENV`):
its record is ``<state dir>/emulator.json`` (endpoint, port, pid, command, log, start time),
its log ``<state dir>/moto.log``, and ``<state dir>/lock`` serialises the processes that start
or stop it. :mod:`tooling.emulator.process` starts, finds and stops the emulator with these.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from filelock import FileLock

__all__ = [
    "STATE_DIR_ENV",
    "Emulator",
    "locked",
    "log_path",
    "log_tail",
    "read_record",
    "remove_record",
    "state_dir",
    "write_record",
]

#: Directory (relative to the repository) of the emulator's record and log (default .emulator).
STATE_DIR_ENV: Final = "TAP_EMULATOR_DIR"

_STATE_DIR: Final = ".emulator"
_RECORD: Final = "emulator.json"
_LOG: Final = "moto.log"
_LOCK: Final = "lock"
_LOG_TAIL_LINES: Final = 25


@dataclass(frozen=True)
class Emulator:
    """A running emulator of a repository, as recorded in ``state_dir/emulator.json``."""

    endpoint: str
    port: int
    pid: int
    state_dir: Path


def state_dir(repo_root: Path) -> Path:
    """Where the emulator's record, log and lock live: ``<repo>/.emulator``, or
    ``<repo>/<TAP_EMULATOR_DIR>`` so that separate runs (e.g. e2e modules in parallel, each on
    its own port) each have an emulator of their own."""
    chosen = os.environ.get(STATE_DIR_ENV, "").strip() or _STATE_DIR
    return repo_root.resolve() / chosen


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Serialize start/stop of one repository's emulator across processes."""
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(directory / _LOCK):
        yield


def log_path(directory: Path) -> Path:
    """The emulator's log: everything the server prints."""
    return directory / _LOG


def read_record(directory: Path) -> Emulator | None:
    """The recorded emulator; None when there is no record or it is not one."""
    try:
        raw = json.loads((directory / _RECORD).read_text(encoding="utf-8"))
        return Emulator(
            endpoint=str(raw["endpoint"]),
            port=int(raw["port"]),
            pid=int(raw["pid"]),
            state_dir=directory,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(emulator: Emulator, command: Sequence[str]) -> None:
    """Record ``emulator`` started with ``command`` (replacing the record at once: a reader
    sees the old record or the new one, never half of one)."""
    record = {
        "endpoint": emulator.endpoint,
        "port": emulator.port,
        "pid": emulator.pid,
        "command": list(command),
        "log": str(log_path(emulator.state_dir)),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = emulator.state_dir / f".{_RECORD}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, emulator.state_dir / _RECORD)


def remove_record(directory: Path) -> None:
    (directory / _RECORD).unlink(missing_ok=True)


def log_tail(directory: Path) -> str:
    """The last lines of the emulator's log, for an error message."""
    try:
        lines = log_path(directory).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(the log is empty)"
