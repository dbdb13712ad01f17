"""tooling.services_bench: statistics, formatting and error messages (no timing asserted)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tooling.emulator.runtime.interpreters import override_variable
from tooling.services_bench import (
    ENTRIES,
    HEAVY,
    ColdImport,
    Entry,
    ServicesBenchError,
    ServicesFigures,
    Spread,
    format_size,
    import_script,
    report,
    runtime_python,
    runtime_site_packages,
    spread,
    zip_path,
)

ROOT = Path(__file__).resolve().parents[2]
PROCESSOR, API, AUTHORIZER = ENTRIES


def figures(**overrides: object) -> ServicesFigures:
    values: dict[str, object] = {
        "python_version": "3.12.1",
        "load_before": 0.6,
        "load_after": 1.25,
        "cpus": 2,
        "cold_imports": [
            ColdImport(PROCESSOR, (12.0, 25.0, 17.0), (276.0, 250.0, 300.0)),
            ColdImport(API, (240.0, 260.0, 250.4, 251.0), (), ("boto3", "pydantic")),
        ],
        "zip_sizes": [("dist/processor.zip", 3_786_335)],
        "processor_report": "python 3.11.7, 2 CPUs, load average 0.60\n  csv 75,467 lines/s",
        "import_runs": 3,
    }
    return ServicesFigures(**{**values, **overrides})  # type: ignore[arg-type]


def test_spread_of_an_odd_count_is_the_middle_value_and_the_extremes() -> None:
    assert spread([25.0, 12.0, 17.0]) == Spread(17.0, 12.0, 25.0)


def test_spread_of_an_even_count_takes_the_mean_of_the_middle_two() -> None:
    assert spread([40.0, 10.0, 20.0, 30.0]).median == 25.0


def test_spread_of_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        spread([])


def test_a_spread_prints_as_whole_milliseconds_with_its_range() -> None:
    assert str(Spread(17.4, 12.2, 24.6)) == "17 ms (12-25)"


def test_a_size_prints_in_bytes_with_thousands_separators_and_mebibytes() -> None:
    assert format_size(3_786_335) == "3,786,335 bytes (3.61 MiB)"


def test_report_prints_the_load_average_at_start_and_end() -> None:
    assert "load average 0.60 at the start, 1.25 at the end" in report(figures())


def test_report_has_a_row_per_handler_with_median_range_and_budget() -> None:
    text = report(figures())

    assert "| processor.handler | 17 ms (12-25) | within | 276 ms (250-300) |" in text
    # median of 240, 250.4, 251, 260 = 250.7: over the 250 ms budget, though it rounds to 251
    assert "| api_handler.handler | 251 ms (240-260) | OVER | nothing deferred |" in text


def test_report_names_what_a_handler_loaded_at_import() -> None:
    text = report(figures())

    row = next(line for line in text.splitlines() if line.startswith("| api_handler.handler"))
    assert row.endswith("| boto3, pydantic |")
    assert f"| none of {', '.join(HEAVY)} |" in text


def test_report_indents_the_processor_report_and_lists_the_zips() -> None:
    text = report(figures())

    assert "\n  python 3.11.7, 2 CPUs, load average 0.60\n    csv 75,467 lines/s\n" in text
    assert "| dist/processor.zip | 3,786,335 bytes (3.61 MiB) |" in text


def test_report_without_the_processor_report_leaves_its_section_out() -> None:
    assert "throughput" not in report(figures(processor_report=None))


def test_a_missing_interpreter_names_the_runtime_and_how_to_provide_one() -> None:
    asked: list[str] = []

    def finder(version: str) -> Path | None:
        asked.append(version)
        return None

    with pytest.raises(ServicesBenchError) as raised:
        runtime_python(finder)

    message = str(raised.value)
    assert asked == ["3.12"]
    assert "no CPython 3.12 found for the Lambda runtime python3.12" in message
    assert override_variable("3.12") in message  # TAP_PYTHON_3_12
    assert "pyenv install 3.12" in message


def test_the_interpreter_found_is_used() -> None:
    assert runtime_python(lambda version: Path("/opt/python3.12")) == Path("/opt/python3.12")


def test_missing_runtime_boto3_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(ServicesBenchError, match=r"python3\.12 runtime's boto3 .* \./tap"):
        runtime_site_packages(tmp_path)


def test_a_missing_zip_says_to_build(tmp_path: Path) -> None:
    with pytest.raises(ServicesBenchError, match=r"dist/api_handler\.zip is missing: .*build"):
        zip_path(tmp_path, "api_handler")


def test_an_entry_imports_the_module_of_its_handler_string() -> None:
    assert Entry("api_handler", "api_handler.authorizer.lambda_handler").module == (
        "api_handler.authorizer"
    )


def test_the_entries_are_the_handlers_the_stacks_configure() -> None:
    # Read from the source: importing trading_infra.stacks starts jsii (~20 s).
    tree = ast.parse((ROOT / "infra/src/trading_infra/stacks.py").read_text(encoding="utf-8"))
    handlers = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == "HANDLERS"
    )
    assert handlers is not None
    assert {entry.handler for entry in ENTRIES} == set(ast.literal_eval(handlers).values())


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.module)
def test_the_import_script_of_every_entry_compiles(entry: Entry) -> None:
    script = import_script(entry)
    compile(script, entry.module, "exec")
    # Nothing but sys and time is imported before the clock starts.
    assert script.index("import json") > script.index("loaded = time.perf_counter()")
