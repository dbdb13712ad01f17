"""``./tap test``: every session of the suite, in chains that run side by side.

Why side by side: a deploy leaves a core idle much of its wall time (the AWS provider's waiters
poll on fixed delays), which the other sessions (lint, unit, moto, synth, security, the two
services) fill by computing; and those, each one process computing on one core, leave the other
core to whatever runs beside them. One after the other (``--sequential``) the suite takes ~40 min
on this 2-core machine; in chains both cores are busy throughout (figures in docs/testing.md,
"Measured CI time").

The suite is what the noxfile says: ``nox.options.sessions``, grouped by its ``SUITE_CHAINS``
(each chain one nox process running its sessions one after the other; a session of the suite
in no chain gets a chain of its own, so none is dropped). Sessions that write the same files
belong in one chain (``synth`` and ``security`` both synthesize into ``cdktf.out``). The Lambda
zips are built first, once, so that no session builds them while another reads them. Every line
comes prefixed with its chain (``[e2e]``, ``[lint,unit,synth,security]``), whole: a line of one
never lands inside a line of another. The exit status is 0 only when every chain passed.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tooling.child_output import follow, start

__all__ = ["Suite", "load_suite", "run_suite"]


@dataclass(frozen=True)
class Suite:
    """The suite's sessions in chains: each chain's sessions one after the other, the chains
    side by side."""

    chains: tuple[tuple[str, ...], ...]

    @property
    def sessions(self) -> tuple[str, ...]:
        return tuple(session for chain in self.chains for session in chain)


def load_suite(noxfile: Path, *, python: str) -> Suite:
    """The suite of ``noxfile``: its default sessions, grouped by its ``SUITE_CHAINS``.

    Read by ``python`` in a process of its own, as nox reads it: loading a noxfile registers its
    sessions in nox's global registry, which this process must not share. A chain keeps the
    suite's sessions it names, in its own order; a name not in the suite is ignored; sessions in
    no chain form one more chain, in the suite's order.
    """
    read = (
        "import json, runpy, sys; n = runpy.run_path(sys.argv[1]); "
        "print(json.dumps([list(n['nox'].options.sessions or ()), "
        "[list(c) for c in n.get('SUITE_CHAINS', ())]]))"
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
    sessions, declared = json.loads(result.stdout.splitlines()[-1])
    chains: list[tuple[str, ...]] = []
    placed: set[str] = set()
    for names in declared:
        chain = tuple(name for name in names if name in sessions and name not in placed)
        placed.update(chain)
        if chain:
            chains.append(chain)
    rest = tuple(session for session in sessions if session not in placed)
    if rest:
        chains.append(rest)
    return Suite(chains=tuple(chains))


def _nox(python: str, sessions: Sequence[str], root: Path) -> subprocess.Popen[str]:
    return start([python, "-m", "nox", "-s", *sessions], cwd=root)


def run_suite(suite: Suite, *, python: str, root: Path, out: TextIO) -> int:
    """Run each chain of ``suite`` in a nox process of its own, all at once.

    Every output goes through this process a line at a time, prefixed with its chain. Each
    chain is reported when it ends. Returns 0 when every chain passed, else the first non-zero
    status in the suite's order of chains.
    """
    if not suite.chains:
        return 0
    lock = threading.Lock()
    started = time.monotonic()

    def run(chain: tuple[str, ...]) -> int:
        ended = follow(f"[{','.join(chain)}] ", _nox(python, chain, root), out, lock)
        _report(out, lock, chain, ended.exit_code, ended.at - started, ended.cpu_seconds)
        return ended.exit_code

    with ThreadPoolExecutor(max_workers=len(suite.chains), thread_name_prefix="chain") as pool:
        codes = list(pool.map(run, suite.chains))
    return next((code for code in codes if code), 0)


def _report(
    out: TextIO,
    lock: threading.Lock,
    sessions: Sequence[str],
    code: int,
    seconds: float,
    cpu_seconds: float,
) -> None:
    verdict = "passed" if code == 0 else f"failed (exit {code})"
    with lock:
        out.write(
            f"test: {', '.join(sessions)}: {verdict} after {seconds / 60:.1f} min"
            f" ({cpu_seconds / 60:.1f} CPU-min)\n"
        )
        out.flush()
