"""Synthesized stacks in miniature, for the lifecycle tests (no cdktf, no terraform)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tooling.lifecycle.graph import StackInfo

BUCKET = "tap-terraform-state-store"


def write_stack(
    outdir: Path, name: str, env: str = "dev", reads: tuple[str, ...] = (), region: str = "r-1"
) -> None:
    """A minimal cdk.tf.json: provider with region and tags, S3 backend, remote states."""
    document: dict[str, Any] = {
        "provider": {"aws": [{"region": region, "default_tags": [{"tags": {"Environment": env}}]}]},
        "terraform": {"backend": {"s3": {"bucket": BUCKET, "key": f"tap/{env}/{name}.tfstate"}}},
    }
    if reads:
        document["data"] = {
            "terraform_remote_state": {
                other: {
                    "backend": "s3",
                    "config": {"bucket": BUCKET, "key": f"tap/{env}/{other}.tfstate"},
                }
                for other in reads
            }
        }
    directory = outdir / "stacks" / name
    directory.mkdir(parents=True)
    (directory / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")


def write_manifest(outdir: Path, dependencies: dict[str, list[str]]) -> None:
    stacks = {name: {"name": name, "dependencies": deps} for name, deps in dependencies.items()}
    (outdir / "manifest.json").write_text(json.dumps({"stacks": stacks}), encoding="utf-8")


def stack_names(stacks: list[StackInfo]) -> list[str]:
    return [stack.name for stack in stacks]
