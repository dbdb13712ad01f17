"""tooling.lifecycle.bench: the steps it times and its report (the timing itself is a report run
by hand, ``./tap bench --lifecycle``)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from tooling.lifecycle.bench import Figure, _env, report, steps


def test_every_deploy_is_destroyed_again_sequential_first() -> None:
    assert steps("dev,prod") == [
        ("deploy", "dev,prod", 1),
        ("destroy", "dev,prod", 1),
        ("deploy", "dev,prod", None),
        ("destroy", "dev,prod", None),
        ("deploy", "global", 1),
        ("destroy", "global", 1),
        ("deploy", "global", None),
        ("destroy", "global", None),
    ]
    assert steps("global") == steps("dev,prod")[4:]


def _rendered(figures: list[Figure]) -> list[list[str]]:
    """The header and rows of the report as a console of 120 columns prints it, in cells."""
    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(report(figures))
    rows = [re.split("[│┃]", line) for line in console.export_text().splitlines()]
    return [[cell.strip() for cell in row[1:-1]] for row in rows if len(row) > 1]


def test_the_report_shows_ratios_against_the_goals() -> None:
    figures = [
        Figure("deploy", "all", 1, 600.0, 0),
        Figure("deploy", "all", None, 240.0, 0),
        Figure("deploy", "global", 1, 300.0, 0),
        Figure("deploy", "global", None, 210.0, 1),
    ]
    assert _rendered(figures) == [
        ["command", "--parallel 1", "default", "ratio", "goal"],
        ["deploy --env all", "600", "240", "0.40x", "<= 0.50x met"],
        [
            "deploy --env global",
            "300",
            "210",
            "0.70x",
            "<= 0.65x NOT met (a run failed: see its log)",
        ],
    ]


def test_a_selection_without_a_goal_shows_its_ratio_only() -> None:
    figures = [Figure("destroy", "dev", 1, 100.0, 0), Figure("destroy", "dev", None, 80.0, 0)]
    assert _rendered(figures)[1:] == [["destroy --env dev", "100", "80", "0.80x", ""]]


def test_every_step_runs_without_data_protection(tmp_path: Path) -> None:
    # destroy refuses a protected environment (prod, global), and every deploy is destroyed
    assert _env(tmp_path, 4567)["TAP_UNPROTECTED_ENVIRONMENTS"] == "all"
