"""tooling.bench.report: the benchmark's summary lines are computed from the measurements."""

from __future__ import annotations

from tooling.bench import Measurement, report

MEASUREMENTS = [
    Measurement("import cdktf", 0.5),
    Measurement("import provider bindings, stock (eager)", 11.0),
    Measurement("import provider bindings, lazy loader", 2.0),
    Measurement("cold `invoke synth --all`, lazy loader", 3.9),
    Measurement("cold `invoke synth --all`, eager fallback", 13.0),
    Measurement("no-op `invoke synth --all`", 0.13),
]


def test_report_lists_every_measurement_as_a_table_row() -> None:
    text = report(MEASUREMENTS)

    for measurement in MEASUREMENTS:
        assert f"| {measurement.label} | {measurement.seconds:.2f} |" in text


def test_report_gives_the_synth_ratio_to_three_decimals_next_to_its_target() -> None:
    # 3.9 / 13.0 = 0.3 exactly; two decimals would also print 0.30 for 0.304
    assert "synth ratio lazy/eager: 0.300 (target <= 0.300)" in report(MEASUREMENTS)


def test_report_gives_the_import_ratio_and_our_own_cost() -> None:
    text = report(MEASUREMENTS)

    assert "import ratio lazy/stock: 0.182" in text
    assert "our own synth cost beyond the lazy import: 1.90 s" in text
