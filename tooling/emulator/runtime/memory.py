"""A worker's memory, measured and limited as Lambda measures and limits an environment's.

The function's memory size is "the amount of memory available to your Lambda function at
runtime" (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). A runtime
that goes over it is killed, and the invocation fails with ``Runtime.OutOfMemory``, "Runtime
exited with error: signal: killed": that is how Lambda's own runtime interface code names an
out-of-memory kill (https://github.com/aws/aws-lambda-runtime-interface-emulator,
``internal/lambda-managed-instances/rapid/shutdown.go``: an OOM-killed runtime is
``ErrorRuntimeOutOfMemory``, and ``supervisor/model/process.go`` describes it as
``signal: killed``). REPORT's ``Max Memory Used`` is the memory the environment used
(https://docs.aws.amazon.com/lambda/latest/dg/best-practices.html, "Function configuration");
after an out-of-memory kill it equals ``Memory Size``.

The figure here is the worker's own high-water mark of resident memory, ``VmHWM`` in
``/proc/<pid>/status``. Not the worker's ``getrusage(RUSAGE_SELF).ru_maxrss``: on Linux that
figure survives fork and exec (the kernel folds the pre-exec image's high-water mark into it), so
a worker spawned by a multi-gigabyte emulator would report the emulator's peak as its own.

The parent enforces the limit, as the kernel would enforce a memory limit: while a phase of the
worker runs (init or an invocation) it samples the worker's resident size every
:data:`POLL_SECONDS` and kills it (SIGKILL, the process group) once it is over, and when the
phase ends it checks the exact high-water mark, so that a spike between two samples still
counts. A cgroup would be exact, but needs a delegated, writable cgroup v2 hierarchy that a
developer machine or a CI container does not give an unprivileged process; ``RLIMIT_AS`` bounds
address space, not resident memory (CPython and glibc reserve far more than they touch), and
fails with a catchable ``MemoryError`` instead of a kill. A sample is one ``pread``, and there
are none while the worker is idle. Processes the function itself spawns are not counted
(listing a process's children needs ``CONFIG_PROC_CHILDREN``, which not every kernel has).

Read by hand rather than with psutil (which the tooling uses elsewhere): psutil reopens
``/proc/<pid>/statm`` by pid on every reading (a reused pid would answer for another process,
and a sample every 10 ms would cost an open and a close each), and it has no ``VmHWM``. Files
opened once answer for this process only, in one ``pread`` each.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from typing import Final

__all__ = ["POLL_SECONDS", "ProcessMemory", "peak_memory_mib"]

#: How often a running phase's resident size is sampled. Between two samples a function can
#: allocate some tens of MB past its limit before it is killed; the REPORT says the limit.
POLL_SECONDS: Final = 0.01

_PAGE_KIB: Final = os.sysconf("SC_PAGE_SIZE") // 1024
_HIGH_WATER_FIELD: Final = b"VmHWM:"


class ProcessMemory:
    """The resident memory of one live process, read from its ``/proc`` files.

    The files are opened once: each read is a single ``pread``, and a file opened on a process
    keeps answering for that process only (never for a later one that reuses its pid). Reads
    answer None once the process has no memory any more (it exited, reaped or not) or the files
    are closed; the lock keeps a read from using a descriptor number that a concurrent
    :meth:`close` has released.
    """

    def __init__(self, pid: int) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, int] = {}
        try:
            for name in ("statm", "status"):
                self._files[name] = os.open(f"/proc/{pid}/{name}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self.close()
            raise

    def _read(self, name: str, size: int) -> bytes | None:
        with self._lock:
            descriptor = self._files.get(name)
            if descriptor is None:
                return None
            try:
                return os.pread(descriptor, size, 0)
            except OSError:
                return None

    def resident_kib(self) -> int | None:
        """The resident size now (``statm``'s second field, in pages)."""
        statm = self._read("statm", 256)
        try:
            size, resident = (int(field) for field in (statm or b"").split()[:2])
        except ValueError:  # no file, or not two fields
            return None
        return resident * _PAGE_KIB if size else None  # an exited process's statm is all zeros

    def peak_kib(self) -> int | None:
        """The highest resident size the process has had (``VmHWM``)."""
        status = self._read("status", 8192)
        for line in (status or b"").splitlines():
            if line.startswith(_HIGH_WATER_FIELD):
                with contextlib.suppress(IndexError, ValueError):
                    return int(line.split()[1])
        return None

    def close(self) -> None:
        """Close the files (idempotent)."""
        with self._lock:
            for descriptor in self._files.values():
                with contextlib.suppress(OSError):
                    os.close(descriptor)
            self._files.clear()


def peak_memory_mib(max_rss_kib: int) -> int:
    """Lambda's ``Max Memory Used`` (MB, rounded up) from a peak resident size in KiB."""
    return max(1, math.ceil(max_rss_kib / 1024))
