"""tooling.lifecycle.interrupts and the runner's process handling: the emulator watchdog stops a
deploy within seconds of the emulator going away (tolerating a few slow answers), and a terraform
started by us dies with us."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tooling.lifecycle.interrupts import EmulatorWatchdog, Stopper


def test_the_watchdog_stops_within_seconds_when_the_pid_is_gone(tmp_path: Path) -> None:
    stopper = Stopper()
    alive = {"yes": True}
    watchdog = EmulatorWatchdog(
        pid=4242,
        port=1,
        log=".emulator/moto.log",
        stopper=stopper,
        interval=0.05,
        alive=lambda pid: alive["yes"],
        answering=lambda port: 4242,
    )
    with watchdog:
        time.sleep(0.3)
        assert not stopper.stop.is_set()
        alive["yes"] = False
        assert stopper.stop.wait(2)
    assert stopper.kill.is_set() and watchdog.tripped
    assert stopper.reason == (
        "the local emulator (pid 4242) stopped during the deploy; see .emulator/moto.log; "
        "run ./tap deploy again"
    )


def test_the_watchdog_tolerates_a_few_slow_answers(tmp_path: Path) -> None:
    stopper = Stopper()
    answers = iter([None, None, 7, None, None, None])
    watchdog = EmulatorWatchdog(
        pid=7, port=1, log="x", stopper=stopper, interval=0.02, misses=3,
        alive=lambda pid: True, answering=lambda port: next(answers, None),
    )  # fmt: skip
    with watchdog:
        assert stopper.stop.wait(2)
    assert watchdog.tripped  # after three misses in a row, not after the first two


def test_a_terraform_started_by_us_dies_with_us(tmp_path: Path) -> None:
    """A killed ./tap never leaves its terraform running (Linux): its lock is then provably
    abandoned by the time the next run looks at it."""
    script = (
        "import subprocess, sys, time\n"
        "from tooling.terraform.process import popen_options\n"
        "p = subprocess.Popen(['sleep', '60'], **popen_options())\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    root = Path(__file__).resolve().parents[3]
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
