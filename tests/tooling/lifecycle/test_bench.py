"""tooling.lifecycle.bench: the steps it times and its report (the timing itself is a report run
by hand, ``./tap bench --lifecycle``)."""

from __future__ import annotations

from pathlib import Path

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


def test_the_report_shows_ratios_against_the_goals() -> None:
    figures = [
        Figure("deploy", "all", 1, 600.0, 0),
        Figure("deploy", "all", None, 240.0, 0),
        Figure("deploy", "global", 1, 300.0, 0),
        Figure("deploy", "global", None, 210.0, 1),
    ]
    text = report(figures)
    assert "deploy --env all" in text and "0.40x  <= 0.50x met" in text
    assert "0.70x  <= 0.65x NOT met (a run failed: see its log)" in text


def test_every_step_runs_without_data_protection(tmp_path: Path) -> None:
    # destroy refuses a protected environment (prod, global), and every deploy is destroyed
    assert _env(tmp_path, 4567)["TAP_UNPROTECTED_ENVIRONMENTS"] == "all"
