"""tooling.lifecycle.outputs: outputs merged per environment and flattened per region."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tooling.lifecycle.stacks import stack_names, write_stack
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.outputs import (
    OUTPUTS_ENV,
    OUTPUTS_FILE,
    flat_outputs,
    merge_stack_outputs,
    multi_region_flat_outputs,
    outputs_path,
    read_outputs,
    region_key,
    remove_outputs,
    write_flat_outputs,
)


def test_outputs_of_an_environment_merge_and_the_dependent_stack_wins(tmp_path: Path) -> None:
    write_stack(tmp_path, "tap-dev-r-1-app", reads=("tap-dev-r-1-network",))
    write_stack(tmp_path, "tap-dev-r-1-network")
    write_stack(tmp_path, "tap-prod-r-1-app", env="prod")
    stacks = read_stacks(tmp_path, ["tap-dev-r-1-app", "tap-dev-r-1-network", "tap-prod-r-1-app"])
    assert stack_names(stacks) == ["tap-dev-r-1-network", "tap-prod-r-1-app", "tap-dev-r-1-app"]
    network, prod, app = stacks
    merged = merge_stack_outputs(
        [
            (network, {"vpc_id": "vpc-1", "kms_key_arn": "from-network"}),
            (app, {"trades_table_name": "t", "kms_key_arn": "from-app"}),
            (prod, {"trades_table_name": "p"}),
        ]
    )
    assert flat_outputs(merged) == {
        "dev_vpc_id": "vpc-1",
        "dev_kms_key_arn": "from-app",
        "dev_trades_table_name": "t",
        "prod_trades_table_name": "p",
    }


def test_a_multi_region_environment_gets_region_keys_and_the_primary_keeps_the_plain_ones(
    tmp_path: Path,
) -> None:
    info = {
        (env, region, part): StackInfo(f"tap-{env}-{region}-{part}", tmp_path, env, region)
        for env, region in (("global", "ap-southeast-1"), ("global", "us-east-2"), ("dev", "r-1"))
        for part in ("network", "app")
    }
    flat = multi_region_flat_outputs(
        [
            (info["global", "ap-southeast-1", "network"], {"vpc_id": "vpc-a", "kms": "n"}),
            (info["global", "us-east-2", "network"], {"vpc_id": "vpc-b"}),
            (info["global", "ap-southeast-1", "app"], {"kms": "app", "api_id": "a"}),
            (info["global", "us-east-2", "app"], {"api_id": "b"}),
            (info["dev", "r-1", "network"], {"vpc_id": "vpc-d"}),
        ],
        {"global": "ap-southeast-1", "dev": "r-1"},
    )
    assert flat == {
        "global_vpc_id": "vpc-a",  # the primary region's, not the last deployed
        "global_kms": "app",
        "global_api_id": "a",
        "global_ap_southeast_1_vpc_id": "vpc-a",
        "global_ap_southeast_1_kms": "app",
        "global_ap_southeast_1_api_id": "a",
        "global_us_east_2_vpc_id": "vpc-b",
        "global_us_east_2_api_id": "b",
        "dev_vpc_id": "vpc-d",  # single region: no region keys
    }


def test_outputs_file_merges_per_environment_and_forgets_a_destroyed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(OUTPUTS_ENV, raising=False)
    path = write_flat_outputs(tmp_path, {"dev_a": 1, "prod_a": 2})
    assert path == tmp_path / OUTPUTS_FILE
    write_flat_outputs(tmp_path, {"dev_a": 3})
    assert read_outputs(tmp_path, "dev") == {"dev_a": 3, "prod_a": 2}
    remove_outputs(tmp_path, "dev")
    assert json.loads(path.read_text(encoding="utf-8")) == {"prod_a": 2}
    assert region_key("us-east-2") == "us_east_2"


def test_missing_outputs_say_which_deploy_to_run(tmp_path: Path) -> None:
    with pytest.raises(LifecycleError, match="run `\\./tap deploy --env staging`"):
        read_outputs(tmp_path, "staging")


def test_a_run_of_its_own_keeps_its_outputs_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN TAP_OUTPUTS_FILE (an e2e lane) WHEN a deploy writes its outputs THEN they go to that
    file only, and reading and removing use it too."""
    monkeypatch.setenv(OUTPUTS_ENV, ".build/lane/flat-outputs.json")
    path = write_flat_outputs(tmp_path, {"dev_a": 1})
    assert path == outputs_path(tmp_path) == tmp_path / ".build" / "lane" / "flat-outputs.json"
    assert not (tmp_path / OUTPUTS_FILE).exists()
    assert read_outputs(tmp_path, "dev") == {"dev_a": 1}
    remove_outputs(tmp_path, "dev")
    assert json.loads(path.read_text(encoding="utf-8")) == {}
