"""tooling.lifecycle.saved_plans: the manifest of ``plan --out`` and the checks that make
``deploy --plan`` refuse a stale plan, each reason named."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.saved_plans import (
    MANIFEST_FORMAT,
    PlanManifest,
    SavedStack,
    StackNow,
    mismatches,
    read_manifest,
    refusal,
    sha256_of,
    stale_reasons,
    write_manifest,
)

SAVED = SavedStack(
    name="tap-dev-r-1-app",
    environment="dev",
    region="r-1",
    depends_on=("tap-dev-r-1-network",),
    config_sha256="c" * 64,
    lineage="5d1c4f0e-lineage",
    serial=7,
    reads_sha256="r" * 64,
    has_changes=True,
    plan_file="tap-dev-r-1-app.tfplan",
    plan_sha256="p" * 64,
)
NOW = StackNow(
    config_sha256="c" * 64,
    lineage="5d1c4f0e-lineage",
    serial=7,
    reads_sha256="r" * 64,
    plan_sha256="p" * 64,
)
MANIFEST = PlanManifest(
    target="local",
    environments=("dev",),
    terraform_version="1.11.4",
    created_at="2026-01-02T03:04:05+00:00",
    stacks=(SAVED,),
)


def test_the_manifest_records_every_field_and_reads_back_equal(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, MANIFEST)

    document = json.loads(path.read_text(encoding="utf-8"))
    assert path == tmp_path / "manifest.json"
    assert document["format"] == MANIFEST_FORMAT == "tap-saved-plans/1"
    assert document["stacks"] == [
        {
            "name": "tap-dev-r-1-app",
            "environment": "dev",
            "region": "r-1",
            "depends_on": ["tap-dev-r-1-network"],
            "config_sha256": "c" * 64,
            "lineage": "5d1c4f0e-lineage",
            "serial": 7,
            "reads_sha256": "r" * 64,
            "has_changes": True,
            "plan_file": "tap-dev-r-1-app.tfplan",
            "plan_sha256": "p" * 64,
        }
    ]
    assert read_manifest(tmp_path) == MANIFEST


def test_a_stack_planned_without_state_reads_back_without_lineage(tmp_path: Path) -> None:
    fresh = dataclasses.replace(SAVED, lineage=None, serial=None)
    write_manifest(tmp_path, dataclasses.replace(MANIFEST, stacks=(fresh,)))

    assert read_manifest(tmp_path).stacks == (fresh,)


def test_a_missing_or_foreign_manifest_is_refused_with_exit_2(tmp_path: Path) -> None:
    with pytest.raises(LifecycleError, match=r"no saved plans in .*: cannot read manifest\.json"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "other/1"}', encoding="utf-8")
    with pytest.raises(LifecycleError, match="its format is not tap-saved-plans/1") as raised:
        read_manifest(tmp_path)
    assert raised.value.code == 2


def test_a_plan_unchanged_in_every_respect_is_not_stale() -> None:
    assert stale_reasons(SAVED, NOW) == []


STATE = "its state changed since the plan (lineage/serial 5d1c4f0e-lineage/7 then, "


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        (
            {"config_sha256": "d" * 64},
            "its configuration changed since the plan (cdk.tf.json differs)",
        ),
        ({"serial": 8}, STATE + "5d1c4f0e-lineage/8 now)"),
        ({"lineage": "other", "serial": 1}, STATE + "other/1 now)"),
        ({"lineage": None, "serial": None}, STATE + "none now)"),
        ({"reads_sha256": "s" * 64}, "the outputs of the states it reads changed since the plan"),
        (
            {"plan_sha256": "q" * 64},
            "its plan file tap-dev-r-1-app.tfplan was altered (sha256 differs)",
        ),
        ({"plan_sha256": None}, "its plan file tap-dev-r-1-app.tfplan is missing"),
    ],
)
def test_each_change_since_the_plan_is_a_named_reason(
    changed: dict[str, object], reason: str
) -> None:
    assert stale_reasons(SAVED, dataclasses.replace(NOW, **changed)) == [reason]  # type: ignore[arg-type]


def test_a_state_created_since_a_plan_made_without_one_is_stale() -> None:
    fresh = dataclasses.replace(SAVED, lineage=None, serial=None)

    assert stale_reasons(fresh, NOW) == [
        "its state changed since the plan (lineage/serial none then, 5d1c4f0e-lineage/7 now)"
    ]


def test_the_plans_of_the_selected_target_environments_stacks_and_version_match() -> None:
    assert (
        mismatches(
            MANIFEST,
            target="local",
            stacks=["tap-dev-r-1-app"],
            environments=["dev"],
            terraform_version="1.11.4",
        )
        == []
    )


def test_plans_of_another_target_environment_or_terraform_are_each_named() -> None:
    assert mismatches(
        MANIFEST,
        target="aws",
        stacks=["tap-prod-r-1-app"],
        environments=["prod"],
        terraform_version="1.12.0",
    ) == [
        "the plans are for --target local, not aws",
        "the plans are for environment(s) dev, not prod",
        "no saved plan for: tap-prod-r-1-app",
        "saved plans of stacks not selected: tap-dev-r-1-app",
        "the plans were made by terraform 1.11.4, this is 1.12.0",
    ]


def test_the_refusal_names_each_problem_and_stale_stack_and_the_plan_command() -> None:
    message = refusal(
        ["the plans are for --target local, not aws"],
        {"tap-dev-r-1-app": ["its configuration changed", "its plan file x was altered"]},
        "./tap plan --env dev --out plans",
    )

    assert message == (
        "deploy --plan refused: nothing was applied.\n"
        "  the plans are for --target local, not aws\n"
        "  tap-dev-r-1-app: stale: its configuration changed; its plan file x was altered\n"
        "Plan again (`./tap plan --env dev --out plans`), review the new plans, then deploy them."
    )


def test_without_a_command_line_the_refusal_says_plan_again() -> None:
    assert refusal([], {"s": ["r"]}, None).splitlines()[-1] == (
        "Plan again, review the new plans, then deploy them."
    )


def test_sha256_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "plan"
    path.write_bytes(b"abc")

    assert sha256_of(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
