"""``invoke bench``: wall times of provider import and synthesis, measured in one run.

A benchmark, not a timed test: it reports numbers and never fails on them. Each figure is the
median of ``repeat`` runs of a fresh process, so nothing is cached in memory between runs.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

STOCK_IMPORT = "from cdktf_cdktf_provider_aws.vpc import Vpc"
LAZY_IMPORT = (
    "from trading_infra import provider_loader; provider_loader.install(); "
    "from cdktf_cdktf_provider_aws.vpc import Vpc"
)
CDKTF_IMPORT = "import cdktf"


@dataclass(frozen=True)
class Measurement:
    label: str
    seconds: float


def _time(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=dict(env), check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(root: Path, *, repeat: int = 1) -> list[Measurement]:
    """Measure every figure of the README's performance table on this machine."""
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    eager_env = {**env, "TAP_EAGER_PROVIDER_IMPORT": "1"}
    invoke = [sys.executable, "-m", "invoke"]
    python = [sys.executable, "-c"]
    figures = [
        ("import cdktf", [*python, CDKTF_IMPORT], env),
        ("import provider bindings, stock (eager)", [*python, STOCK_IMPORT], env),
        ("import provider bindings, lazy loader", [*python, LAZY_IMPORT], env),
        ("cold `invoke synth --all`, lazy loader", [*invoke, "synth", "--all", "--force"], env),
        (
            "cold `invoke synth --all`, eager fallback",
            [*invoke, "synth", "--all", "--force"],
            eager_env,
        ),
        ("no-op `invoke synth --all`", [*invoke, "synth", "--all"], env),
    ]
    # Build once up front, so that no synth figure includes building the zips.
    subprocess.run([*invoke, "build"], cwd=root, env=env, check=True, capture_output=True)
    return [
        Measurement(label, _time(command, cwd=root, env=figure_env, repeat=repeat))
        for label, command, figure_env in figures
    ]


def report(measurements: Sequence[Measurement]) -> str:
    """The measurements as a Markdown table, then the ratios the README's goals are stated in.

    Plain Markdown rather than a rich table: the rows are pasted as they are into the
    performance table of docs/performance.md."""
    by_label = {m.label: m.seconds for m in measurements}
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    lines = [
        f"machine: {machine}, Python {platform.python_version()}",
        "",
        "| what | seconds |",
        "|---|---|",
    ]
    lines += [f"| {m.label} | {m.seconds:.2f} |" for m in measurements]
    lazy = by_label["cold `invoke synth --all`, lazy loader"]
    eager = by_label["cold `invoke synth --all`, eager fallback"]
    stock = by_label["import provider bindings, stock (eager)"]
    lazy_import = by_label["import provider bindings, lazy loader"]
    lines += [
        "",
        f"synth ratio lazy/eager: {lazy / eager:.3f} (target <= 0.300)",
        f"import ratio lazy/stock: {lazy_import / stock:.3f}",
        f"our own synth cost beyond the lazy import: {lazy - lazy_import:.2f} s",
    ]
    return "\n".join(lines)
