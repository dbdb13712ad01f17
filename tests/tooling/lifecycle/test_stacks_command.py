"""tooling.lifecycle.commands.stacks: the stack graph ``./tap stacks`` prints, as JSON for a
pipeline and as a table for a person (stacks in miniature, no synth)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.tooling.lifecycle.stacks import write_manifest, write_stack
from tooling.lifecycle.commands.stacks import stacks_document, stacks_json, stacks_table
from tooling.lifecycle.graph import StackInfo, read_stacks


def _graph(root: Path) -> list[StackInfo]:
    outdir = root / "cdktf.out"
    write_stack(outdir, "tap-dev-r-1-network")
    write_stack(outdir, "tap-dev-r-1-app", reads=("tap-dev-r-1-network",))
    write_stack(outdir, "tap-dev-r-1-monitoring")
    write_manifest(outdir, {"tap-dev-r-1-monitoring": ["tap-dev-r-1-app"]})
    return read_stacks(outdir, ["tap-dev-r-1-app", "tap-dev-r-1-monitoring", "tap-dev-r-1-network"])


def test_the_json_lists_each_stack_in_deploy_order_with_its_dependencies(tmp_path: Path) -> None:
    stacks = _graph(tmp_path)

    document = stacks_document(stacks, tmp_path)

    assert document == {
        "stacks": [
            {
                "name": "tap-dev-r-1-network",
                "environment": "dev",
                "region": "r-1",
                "depends_on": [],
                "directory": "cdktf.out/stacks/tap-dev-r-1-network",
            },
            {
                "name": "tap-dev-r-1-app",
                "environment": "dev",
                "region": "r-1",
                "depends_on": ["tap-dev-r-1-network"],
                "directory": "cdktf.out/stacks/tap-dev-r-1-app",
            },
            {
                "name": "tap-dev-r-1-monitoring",
                "environment": "dev",
                "region": "r-1",
                "depends_on": ["tap-dev-r-1-app"],
                "directory": "cdktf.out/stacks/tap-dev-r-1-monitoring",
            },
        ]
    }
    assert json.loads(stacks_json(stacks, tmp_path)) == document


def test_the_table_aligns_one_line_per_stack_under_a_header(tmp_path: Path) -> None:
    lines = stacks_table(_graph(tmp_path), tmp_path)

    assert lines == [
        "STACK                   ENVIRONMENT  REGION  DEPENDS ON           DIRECTORY",
        "tap-dev-r-1-network     dev          r-1     -                    "
        "cdktf.out/stacks/tap-dev-r-1-network",
        "tap-dev-r-1-app         dev          r-1     tap-dev-r-1-network  "
        "cdktf.out/stacks/tap-dev-r-1-app",
        "tap-dev-r-1-monitoring  dev          r-1     tap-dev-r-1-app      "
        "cdktf.out/stacks/tap-dev-r-1-monitoring",
    ]
