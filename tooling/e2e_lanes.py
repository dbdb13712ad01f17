"""The e2e session's lanes: groups of e2e modules run side by side, a pytest process each.

One deploy to the emulator keeps about one of the two cores busy: the rest of its wall time is
the AWS provider waiting (RDS and KMS waiters poll on fixed delays), so modules that wait side
by side finish sooner than one after the other. Each lane gets what would otherwise be shared:
an emulator of its own (``TAP_EMULATOR_PORT``, ``TAP_EMULATOR_DIR``), a synth directory
(``TAP_CDKTF_OUTDIR``) and an outputs file (``TAP_OUTPUTS_FILE``), all under
``.build/e2e/lanes/<lane>/``. What lanes still share is read-only to them (the sources, ``dist/``
built before, the Lambda runtimes) or locked (``terraform init`` takes the plugin cache alone:
:func:`tooling.terraform.plugin_cache_lock`). The modules of a lane run one after the other, in
one pytest, in the order given.

Output: every line of a lane, as it comes, prefixed with ``[<lane>]``; then a table (lane,
modules, seconds, result). The exit status is 0 only when every lane passed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from tooling.child_output import follow, start

__all__ = ["LANES_DIR", "Lane", "LaneResult", "lane_environment", "run_lanes", "summary"]

#: Relative to the repository: one directory per lane (emulator, synth output, outputs file).
LANES_DIR = Path(".build") / "e2e" / "lanes"
#: Seconds a lane gets to stop after the first Ctrl-C before it is killed.
_STOP_SECONDS = 120


@dataclass(frozen=True)
class Lane:
    """A name and the e2e modules it runs, in order."""

    name: str
    modules: tuple[str, ...]


@dataclass(frozen=True)
class LaneResult:
    lane: Lane
    exit_code: int
    seconds: float
    #: CPU of the lane's pytest and what it waited for (its emulator, terraform, the workers).
    cpu_seconds: float

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def lane_environment(lane: Lane, base: Mapping[str, str], *, port: int) -> dict[str, str]:
    """``base`` with the lane's own emulator, synth directory, outputs file and Terraform plugin
    cache (relative to the repository, as the lifecycle reads them)."""
    home = LANES_DIR / lane.name
    env = dict(base)
    env.update(
        TAP_EMULATOR_PORT=str(port),
        TAP_EMULATOR_DIR=str(home / "emulator"),
        TAP_CDKTF_OUTDIR=str(home / "cdktf.out"),
        TAP_OUTPUTS_FILE=str(home / "flat-outputs.json"),
        # A plugin cache of its own: the crash lane kills terraform mid-run on purpose.
        TAP_TERRAFORM_DIR=str(home / "terraform"),
    )
    return env


def run_lanes(
    lanes: Sequence[Lane],
    command: Sequence[str],
    *,
    root: Path,
    env: Mapping[str, str],
    out: TextIO,
) -> list[LaneResult]:
    """Run ``command + lane.modules`` for every lane at once, in ``root``; wait for all.

    A Ctrl-C (SIGINT to the session, as a terminal sends it to the whole process group) reaches
    every lane's pytest too; this waits for them to tear down (they destroy what they deployed),
    killing a lane only if it has not stopped after a second interrupt or two minutes.
    """
    lock = threading.Lock()
    processes: list[subprocess.Popen[str]] = []
    # Not a `with`: its exit would wait for every lane, before a Ctrl-C could be handled here.
    pool = ThreadPoolExecutor(max_workers=max(1, len(lanes)), thread_name_prefix="lane")
    try:
        running = []
        for lane in lanes:
            environment = lane_environment(lane, env, port=_free_port())
            process = start([*command, *lane.modules], cwd=root, env=environment)
            processes.append(process)
            began = time.monotonic()
            running.append(
                (lane, began, pool.submit(follow, f"[{lane.name}] ", process, out, lock))
            )
        results = []
        for lane, began, finished in running:
            ended = finished.result()
            results.append(LaneResult(lane, ended.exit_code, ended.at - began, ended.cpu_seconds))
        return results
    except KeyboardInterrupt:
        _stop(processes)
        raise
    finally:
        pool.shutdown(wait=False)


def _stop(processes: Iterable[subprocess.Popen[str]]) -> None:
    running = [process for process in processes if process.poll() is None]
    deadline = time.monotonic() + _STOP_SECONDS
    try:
        for process in running:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)


def summary(results: Sequence[LaneResult]) -> list[str]:
    """The table printed after the lanes: lane, seconds, CPU seconds, result, modules."""
    width = max((len(r.lane.name) for r in results), default=4)
    lines = [f"{'lane':{width}}  {'seconds':>7}  {'CPU s':>7}  result  modules"]
    for result in results:
        verdict = "passed" if result.passed else f"failed (exit {result.exit_code})"
        modules = ", ".join(os.path.basename(m) for m in result.lane.modules)
        lines.append(
            f"{result.lane.name:{width}}  {result.seconds:7.0f}  {result.cpu_seconds:7.0f}"
            f"  {verdict}  {modules}"
        )
    return lines
