"""The emulator server's resident memory: its pid (what ``GET <endpoint>/_tap/emulator``
answers; the workers running the functions are processes of their own and not counted), its
resident set size (psutil), and a sampler keeping the peak while a file is ingested."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from types import TracebackType
from typing import Final

import psutil

from tooling.emulator.server import STATUS_PATH
from tooling.ingest_bench.errors import IngestBenchError

__all__ = ["SAMPLE_SECONDS", "RssSampler", "emulator_pid", "read_rss"]

SAMPLE_SECONDS: Final = 0.5


def emulator_pid(endpoint: str, *, timeout: float = 5.0) -> int:
    """The pid the emulator server at ``endpoint`` reports (``GET <endpoint>/_tap/emulator``,
    :mod:`tooling.emulator.server`)."""
    url = endpoint.rstrip("/") + STATUS_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - loopback URL
            status = json.loads(answer.read())
    except (OSError, ValueError) as error:
        raise IngestBenchError(f"no emulator answered at {url}: {error}") from None
    pid = status.get("pid") if isinstance(status, dict) else None
    if not isinstance(pid, int) or isinstance(pid, bool):
        raise IngestBenchError(f"{url} answered without a pid: not the repository's emulator.")
    return pid


def read_rss(pid: int) -> int:
    """The resident bytes of process ``pid``: psutil's ``rss``, on Linux the resident pages of
    ``/proc/<pid>/statm``, "same as VmRSS in /proc/pid/status"
    (https://man7.org/linux/man-pages/man5/proc_pid_statm.5.html). A process that is gone, or a
    zombie (exited: it has no memory left to measure), is an error."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            raise IngestBenchError(f"pid {pid} has exited (a zombie): it is not a running process.")
        return int(process.memory_info().rss)
    except psutil.Error as error:
        raise IngestBenchError(
            f"cannot read the resident memory of pid {pid} ({type(error).__name__}: {error})."
        ) from None


class RssSampler:
    """Samples a process's resident memory every ``interval`` seconds on a thread of its own,
    from entering until leaving the ``with`` block (and once at each end), keeping the peak."""

    def __init__(
        self,
        pid: int,
        interval: float = SAMPLE_SECONDS,
        *,
        read: Callable[[int], int] = read_rss,
    ) -> None:
        self.pid = pid
        self.interval = interval
        self._read = read
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: IngestBenchError | None = None
        self.peak_bytes = 0
        self.samples = 0

    def sample(self) -> int:
        """One reading now: the resident bytes (the peak is updated)."""
        rss = self._read(self.pid)
        with self._lock:
            self.peak_bytes = max(self.peak_bytes, rss)
            self.samples += 1
        return rss

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except IngestBenchError as error:
                self._error = error
                return

    def __enter__(self) -> RssSampler:
        self.sample()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if kind is not None:
            return  # the block's own exception tells what went wrong
        if self._error is not None:
            raise self._error
        self.sample()
