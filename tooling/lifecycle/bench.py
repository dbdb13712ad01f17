"""``./tap bench --lifecycle``: wall times of deploy and destroy, one stack at a time vs parallel.

A report, not a test: it never fails on its numbers. In one run, on an emulator of its own (its
own port, state directory and synth directory, so a developer's emulator is never touched), it
times ``deploy`` and ``destroy`` of a selection (default ``all``) with ``--parallel 1`` and with
the default, then ``deploy --env global`` both ways, and prints the ratios against the goals
(``all`` at most 0.5x, ``global`` at most 0.65x). Every command runs as ``./tap`` would run it
(a fresh ``invoke`` process); its output goes to ``.build/bench-lifecycle/<step>.log``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from rich.table import Table

__all__ = ["GOALS", "Figure", "report", "run", "steps"]

#: Parallel / sequential wall time the lifecycle aims at, per measured deploy or destroy.
GOALS = {"all": 0.5, "global": 0.65}
_DIR = Path(".build") / "bench-lifecycle"


@dataclass(frozen=True)
class Figure:
    """One timed command: what, with which ``--parallel`` (None: the default), how it ended."""

    action: str
    selection: str
    parallel: int | None
    seconds: float
    exit_code: int

    @property
    def label(self) -> str:
        how = f"--parallel {self.parallel}" if self.parallel is not None else "default parallel"
        return f"{self.action} --env {self.selection} ({how})"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def steps(selection: str) -> list[tuple[str, str, int | None]]:
    """(action, selection, parallel) in the order they run: every deploy is destroyed again."""
    selections = [selection] if selection == "global" else [selection, "global"]
    order: list[tuple[str, str, int | None]] = []
    for chosen in selections:
        for parallel in (1, None):
            order += [("deploy", chosen, parallel), ("destroy", chosen, parallel)]
    return order


def _env(root: Path, port: int) -> dict[str, str]:
    from trading_infra.config import UNPROTECTED_ENVIRONMENTS_ENV

    env = dict(os.environ)
    env.update(
        TAP_EMULATOR_PORT=str(port),
        TAP_EMULATOR_DIR=str(_DIR / "emulator"),
        TAP_CDKTF_OUTDIR=str(_DIR / "cdktf.out"),
        TAP_SERVE_QUIET="1",
        CI="1",  # plain prefixed lines in the logs, no live display
    )
    # Every environment measured is deployed only to be destroyed again, and destroy refuses a
    # protected one (prod, global): deploy and destroy them without data protection.
    env[UNPROTECTED_ENVIRONMENTS_ENV] = "all"
    return env


def _invoke(root: Path, args: Sequence[str], env: Mapping[str, str], log: Path) -> int:
    with log.open("w", encoding="utf-8") as handle:
        return subprocess.run(
            [sys.executable, "-m", "invoke", *args],
            cwd=root,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode


def run(root: Path, *, selection: str = "all", out: TextIO | None = None) -> list[Figure]:
    """Run :func:`steps` for ``selection`` on a fresh emulator; the figures, in order."""
    stream = out if out is not None else sys.stdout
    (root / _DIR).mkdir(parents=True, exist_ok=True)
    env = _env(root, _free_port())
    figures: list[Figure] = []
    try:
        for chosen in dict.fromkeys(s for _, s, _ in steps(selection)):
            stream.write(f"bench: synthesizing {chosen} (not timed)\n")
            stream.flush()
            _invoke(root, ["synth", "--env", chosen], env, root / _DIR / f"synth-{chosen}.log")
        for number, (action, chosen, parallel) in enumerate(steps(selection), start=1):
            args = [action, "--env", chosen]
            if parallel is not None:
                args += ["--parallel", str(parallel)]
            log = root / _DIR / f"{number:02d}-{action}-{chosen}-{parallel or 'default'}.log"
            started = time.monotonic()
            code = _invoke(root, args, env, log)
            figure = Figure(action, chosen, parallel, time.monotonic() - started, code)
            figures.append(figure)
            stream.write(
                f"bench: {figure.label}: {figure.seconds:.0f} s, exit {code} "
                f"({log.relative_to(root)})\n"
            )
            stream.flush()
    finally:
        _invoke(root, ["emulator", "--stop"], env, root / _DIR / "emulator-stop.log")
    return figures


def report(figures: Sequence[Figure]) -> Table:
    """The figures side by side and each parallel/sequential ratio against its goal (a rich
    table: its columns stay aligned whatever the width of a command or a verdict)."""
    table = Table(title="lifecycle benchmark (wall seconds)", title_justify="left")
    table.add_column("command", no_wrap=True)
    for numeric in ("--parallel 1", "default", "ratio"):
        table.add_column(numeric, justify="right", no_wrap=True)
    table.add_column("goal", no_wrap=True)
    by_key = {(f.action, f.selection, f.parallel): f for f in figures}
    for action, selection in dict.fromkeys((f.action, f.selection) for f in figures):
        one = by_key.get((action, selection, 1))
        default = by_key.get((action, selection, None))
        if one is None or default is None:
            continue
        ratio = default.seconds / one.seconds if one.seconds else float("nan")
        goal = GOALS.get(selection)
        verdict = ""
        if goal is not None:
            verdict = f"<= {goal:.2f}x " + ("met" if ratio <= goal else "NOT met")
        failed = " (a run failed: see its log)" if one.exit_code or default.exit_code else ""
        table.add_row(
            f"{action} --env {selection}",
            f"{one.seconds:.0f}",
            f"{default.seconds:.0f}",
            f"{ratio:.2f}x",
            f"{verdict}{failed}".strip(),
        )
    return table
