"""``./tap test --parallel``: every session of the suite, the e2e session beside the others.

Why beside: a deploy leaves a core idle much of its wall time (the AWS provider's waiters poll
on fixed delays), which the other sessions (lint, unit, moto, synth, security, the two
services) fill by computing. One after the other (``./tap test``, CI) the suite takes 47 min on
this 2-core machine, side by side 27 min with both cores busy throughout; under that load the
emulator now and then loses a response and a test fails for it, which is why CI does not run
it this way (docs/testing.md, "Measured CI time").

The suite is what the noxfile says: ``nox.options.sessions``, of which ``SESSIONS_BESIDE``
(``e2e``) run in a nox process of their own. The Lambda zips are built first, once, so that no
session builds them while another reads them. The e2e lines come prefixed with ``[e2e]`` (and
their lane); the others as nox prints them. The exit status is 0 only when both passed.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tooling.child_output import follow, start

__all__ = ["Suite", "load_suite", "run_suite"]


@dataclass(frozen=True)
class Suite:
    """The sessions run one after the other, and those run beside them."""

    sequential: tuple[str, ...]
    beside: tuple[str, ...]


def load_suite(noxfile: Path, *, python: str) -> Suite:
    """The suite of ``noxfile``: its default sessions, split by its ``SESSIONS_BESIDE``.

    Read by ``python`` in a process of its own, as nox reads it: loading a noxfile registers its
    sessions in nox's global registry, which this process must not share.
    """
    read = (
        "import json, runpy, sys; n = runpy.run_path(sys.argv[1]); "
        "print(json.dumps([list(n['nox'].options.sessions or ()), list(n['SESSIONS_BESIDE'])]))"
    )
    result = subprocess.run(
        [python, "-c", read, noxfile.name],
        cwd=noxfile.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"cannot read the suite of {noxfile}:\n{result.stderr[-2000:]}")
    sessions, beside_names = json.loads(result.stdout.splitlines()[-1])
    beside = tuple(name for name in beside_names if name in sessions)
    return Suite(sequential=tuple(s for s in sessions if s not in beside), beside=beside)


def _nox(python: str, sessions: Sequence[str], root: Path) -> subprocess.Popen[str]:
    return start([python, "-m", "nox", "-s", *sessions], cwd=root)


def run_suite(suite: Suite, *, python: str, root: Path, out: TextIO) -> int:
    """Run ``suite.beside`` in one nox process and ``suite.sequential`` in another, at once.

    Both outputs go through this process a line at a time, so that a line of one never lands
    inside a line of the other. Returns 0 when both passed, else the first non-zero status.
    """
    lock = threading.Lock()
    started = time.monotonic()
    beside: Future[tuple[int, float]] | None = None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="beside")
    try:
        if suite.beside:
            prefix = f"[{','.join(suite.beside)}] "
            beside = pool.submit(follow, prefix, _nox(python, suite.beside, root), out, lock)
        sequential_code = 0
        if suite.sequential:
            sequential_code, ended = follow("", _nox(python, suite.sequential, root), out, lock)
            _report(out, lock, suite.sequential, sequential_code, ended - started)
        beside_code = 0
        if beside is not None:
            beside_code, ended = beside.result()
            _report(out, lock, suite.beside, beside_code, ended - started)
        return sequential_code or beside_code
    finally:
        pool.shutdown(wait=False)


def _report(
    out: TextIO, lock: threading.Lock, sessions: Sequence[str], code: int, seconds: float
) -> None:
    verdict = "passed" if code == 0 else f"failed (exit {code})"
    with lock:
        out.write(f"test: {', '.join(sessions)}: {verdict} after {seconds / 60:.1f} min\n")
        out.flush()
