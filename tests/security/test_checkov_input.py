"""tooling.security: what checkov is given to scan, and that an unparsed file fails the gate."""

from __future__ import annotations

import json
from pathlib import Path

from tooling import security

STACK = {
    "terraform": {
        "backend": {"s3": {"bucket": "state", "key": "a.tfstate"}},
        "required_providers": {"aws": {"source": "aws", "version": "5.100.0"}},
        "required_version": ">= 1.11.0",
    },
    "resource": {"aws_s3_bucket": {"Data": {"bucket": "data"}}},
    "moved": [{"from": "aws_s3_bucket.Old", "to": "aws_s3_bucket.Data"}],
}


def test_checkov_is_given_every_stack_without_the_terraform_version_and_moved_blocks(
    tmp_path: Path,
) -> None:
    stacks = tmp_path / "stacks"
    for name in ("tap-dev-ap-southeast-1-network", "tap-dev-ap-southeast-1-app"):
        (stacks / name).mkdir(parents=True)
        (stacks / name / "cdk.tf.json").write_text(json.dumps(STACK), encoding="utf-8")
    scanned = security.checkov_input(stacks, tmp_path / "input")
    copies = sorted(path.relative_to(scanned).as_posix() for path in scanned.rglob("*.json"))
    assert copies == [
        "tap-dev-ap-southeast-1-app/cdk.tf.json",
        "tap-dev-ap-southeast-1-network/cdk.tf.json",
    ]
    document = json.loads((scanned / copies[0]).read_text(encoding="utf-8"))
    assert document == {
        "terraform": {
            "backend": {"s3": {"bucket": "state", "key": "a.tfstate"}},
            "required_providers": {"aws": {"source": "aws", "version": "5.100.0"}},
        },
        "resource": {"aws_s3_bucket": {"Data": {"bucket": "data"}}},
    }


def test_the_files_checkov_could_not_parse_are_listed() -> None:
    report = {
        "check_type": "terraform_json",
        "results": {
            "passed_checks": [],
            "failed_checks": [],
            "parsing_errors": ["b.json", "a.json"],
        },
    }
    assert security.parsing_errors([report]) == ["a.json", "b.json"]
    assert security.parsing_errors(report) == ["a.json", "b.json"]
    assert security.parsing_errors({"results": {"passed_checks": []}}) == []
