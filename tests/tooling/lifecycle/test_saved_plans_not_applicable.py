"""tooling.lifecycle.saved_plans: the record of a stack without a plan to apply (planned against
an empty state, or waiting: tooling.lifecycle.first_plans) and the refusal it makes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tooling.lifecycle.saved_plans import (
    PlanManifest,
    SavedStack,
    StackNow,
    mismatches,
    read_manifest,
    stale_reasons,
    write_manifest,
)

NET = "tap-staging-r-1-network"
WHY = "planned against an empty state (its state backend did not exist), not a plan to apply"
SAVED = SavedStack(
    name=NET,
    environment="staging",
    region="r-1",
    depends_on=(),
    config_sha256="c" * 64,
    lineage=None,
    serial=None,
    reads_sha256="",
    has_changes=True,
    plan_file="",
    plan_sha256="",
    not_applicable=WHY,
)
MANIFEST = PlanManifest(
    target="local",
    environments=("staging",),
    terraform_version="1.11.4",
    created_at="2026-01-02T03:04:05+00:00",
    stacks=(SAVED,),
)


def test_the_reason_is_recorded_and_reads_back(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, MANIFEST)

    (record,) = json.loads(path.read_text(encoding="utf-8"))["stacks"]
    assert (record["not_applicable"], record["plan_file"]) == (WHY, "")
    assert read_manifest(tmp_path) == MANIFEST


def test_a_plan_to_apply_is_written_without_the_field(tmp_path: Path) -> None:
    applicable = dataclasses.replace(SAVED, not_applicable=None, plan_file=f"{NET}.tfplan")
    path = write_manifest(tmp_path, dataclasses.replace(MANIFEST, stacks=(applicable,)))

    (record,) = json.loads(path.read_text(encoding="utf-8"))["stacks"]
    assert "not_applicable" not in record
    assert read_manifest(tmp_path).stacks == (applicable,)


def test_the_directory_is_refused_naming_the_stack_and_why() -> None:
    problems = mismatches(
        MANIFEST, target="local", stacks=[NET], environments=["staging"], terraform_version="1.11.4"
    )
    assert problems == [f"{NET}: {WHY}"]


def test_such_a_record_is_not_reported_stale_besides() -> None:
    now = StackNow("c" * 64, "lineage", 1, "r" * 64, None)
    assert stale_reasons(SAVED, now) == []
    assert len(stale_reasons(dataclasses.replace(SAVED, not_applicable=None), now)) == 3
