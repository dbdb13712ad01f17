"""tooling.bench_command: which benchmark ``./tap bench`` runs, and what it refuses before
measuring (the benchmarks themselves have their own tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tooling.bench_command import BenchCli, BenchRequest, chosen, run_bench
from tooling.lifecycle.errors import LifecycleError


def _refused(env: str | None) -> str:
    raise AssertionError(f"asked for the environment of {env}")


@pytest.mark.parametrize(
    ("request_", "benchmark"),
    [
        (BenchRequest(), "synth"),
        (BenchRequest(repeat=3), "synth"),
        (BenchRequest(emulator=True), "emulator"),
        (BenchRequest(emulator=True, lifecycle=True), "lifecycle"),
        (BenchRequest(lifecycle=True, services=True), "services"),
        (BenchRequest(services=True, loop=True), "loop"),
        (BenchRequest(loop=True, ingest=True, emulator=True), "ingest"),
    ],
)
def test_one_benchmark_is_chosen_in_a_fixed_order(request_: BenchRequest, benchmark: str) -> None:
    assert chosen(request_) == benchmark


def test_the_emulator_benchmark_names_the_deploy_the_cli_spells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN outputs of dev deployed to AWS only (no URL of the API on the local emulator)
    monkeypatch.delenv("TAP_OUTPUTS_FILE", raising=False)
    outputs = tmp_path / "cfn-outputs" / "flat-outputs.json"
    outputs.parent.mkdir()
    outputs.write_text(json.dumps({"dev_aws_region": "ap-southeast-1"}), encoding="utf-8")
    cli = BenchCli(one_environment=lambda env: env or "dev", deploy_command=lambda e: f"DO {e}")
    # WHEN the emulator benchmark is asked for dev
    with pytest.raises(LifecycleError) as raised:
        run_bench(tmp_path, BenchRequest(emulator=True, env="dev"), cli)
    # THEN it stops before measuring, naming the command the caller spelled
    assert (raised.value.code, str(raised.value)) == (1, "deploy dev locally first (`DO dev`).")
