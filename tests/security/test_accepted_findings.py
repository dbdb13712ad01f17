"""The accepted-findings file of `nox -s security`: narrow, reasoned, and never stale.

The tests on real results read the unskipped checkov report and the secrets reports that
`python -m tooling.security` wrote (TAP_SECURITY_REPORTS, set by the nox session).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tooling import security
from tooling.security import CheckSkip, Failure, FindingsFileError, SecretAllow, SecretFinding

ENVS = ("dev", "staging", "prod")
BUCKET = "aws_s3_bucket.Storage_DataBucket_19F1E604"


def _failure(check: str = "CKV_AWS_144", address: str = BUCKET, env: str = "dev") -> Failure:
    return Failure(check, "name", f"tap-{env}-ap-southeast-1", env, address)


def _skip(check: str = "CKV_AWS_144", envs: tuple[str, ...] | None = None) -> CheckSkip:
    return CheckSkip(check, (BUCKET,), envs, "data residency")


def test_a_failure_without_an_entry_is_unaccepted() -> None:
    verdict = security.evaluate([_failure()], [], ENVS)
    assert verdict.unaccepted == [_failure()] and not verdict.ok


def test_an_entry_accepts_only_its_check_resource_and_environments() -> None:
    failures = [_failure(env=env) for env in ENVS] + [_failure(check="CKV_AWS_21")]
    verdict = security.evaluate(failures, [_skip(envs=("dev", "staging", "prod"))], ENVS)
    assert [f.check_id for f in verdict.unaccepted] == ["CKV_AWS_21"]
    verdict = security.evaluate(failures[:3], [_skip(envs=("dev",))], ENVS)
    assert {f.environment for f in verdict.unaccepted} == {"staging", "prod"}


def test_an_entry_that_matches_no_failure_is_stale() -> None:
    verdict = security.evaluate([_failure(env="dev")], [_skip()], ENVS)
    assert not verdict.unaccepted
    assert {target for _, target in verdict.stale} == {f"{BUCKET} @ staging", f"{BUCKET} @ prod"}
    assert not verdict.ok


def test_two_entries_for_one_failure_are_an_error() -> None:
    verdict = security.evaluate([_failure()], [_skip(envs=("dev",)), _skip(envs=("dev",))], ENVS)
    assert len(verdict.accepted) == 1 and len(verdict.stale) == 1 and not verdict.ok


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"check": "CKV_AWS_1", "resources": [BUCKET]}, "reason"),
        ({"check": "CKV_AWS_1", "resources": [BUCKET], "reason": "  "}, "reason"),
        ({"check": "CKV_AWS_*", "resources": [BUCKET], "reason": "x"}, "one checkov check id"),
        ({"check": "CKV_AWS_1", "resources": ["aws_s3_bucket.*"], "reason": "x"}, "wildcards"),
        ({"check": "CKV_AWS_1", "resources": [], "reason": "x"}, "non-empty list"),
        ({"check": "CKV_AWS_1", "resources": [BUCKET], "reason": "x", "level": "LOW"}, "unknown"),
        (
            {"check": "CKV_AWS_1", "resources": [BUCKET], "reason": "x", "environments": ["qa"]},
            "unknown environment",
        ),
    ],
)
def test_malformed_entries_are_rejected(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(FindingsFileError, match=message):
        security.parse_accepted({"checkov": [entry]}, ENVS)


def test_secret_entries_name_one_value_in_named_files() -> None:
    allow = SecretAllow("testing", ("infra/src/trading_infra/target.py",), "moto's fake value")
    finding = SecretFinding("infra/src/trading_infra/target.py", 24, "Secret Keyword", allow.hashed)
    elsewhere = SecretFinding("tooling/lifecycle/session.py", 3, "Secret Keyword", allow.hashed)
    accepted, unaccepted, stale = security.evaluate_secrets([finding, elsewhere], [allow])
    assert accepted == [(finding, allow)] and unaccepted == [elsewhere] and not stale
    assert security.evaluate_secrets([], [allow])[2] == [
        "'testing' in infra/src/trading_infra/target.py"
    ]
    with pytest.raises(FindingsFileError, match="must name files"):
        security.parse_accepted(
            {"secret": [{"value": "x", "files": ["tests/*.py"], "reason": "y"}]}, ENVS
        )
    with pytest.raises(FindingsFileError, match="reason"):
        security.parse_accepted({"secret": [{"value": "x", "files": ["a.py"]}]}, ENVS)


# --- on the current synth ----------------------------------------------------------------


@pytest.fixture(scope="module")
def reports() -> Path:
    location = os.environ.get("TAP_SECURITY_REPORTS")
    if not location:
        pytest.skip("needs the reports of `python -m tooling.security` (run nox -s security)")
    path = Path(location)
    assert (path / "checkov-terraform.json").is_file(), f"no checkov report in {path}"
    return path


@pytest.fixture(scope="module")
def current(reports: Path) -> tuple[list[Failure], security.Accepted, dict[str, str]]:
    environments = security.stack_environments()
    raw = json.loads((reports / "checkov-terraform.json").read_text(encoding="utf-8"))
    failures, _, _ = security.failures_from_report(raw, environments)
    return failures, security.load_accepted(), environments


def test_the_accepted_file_accepts_every_failure_and_nothing_stale(
    current: tuple[list[Failure], security.Accepted, dict[str, str]],
) -> None:
    failures, accepted, environments = current
    verdict = security.evaluate(failures, accepted.checks, environments.values())
    assert not verdict.unaccepted, verdict.unaccepted
    assert not verdict.stale, [(s.check_id, target) for s, target in verdict.stale]


def test_every_check_entry_names_a_check_that_fails_without_it(
    current: tuple[list[Failure], security.Accepted, dict[str, str]],
) -> None:
    failures, accepted, environments = current
    for index, skip in enumerate(accepted.checks):
        others = accepted.checks[:index] + accepted.checks[index + 1 :]
        verdict = security.evaluate(failures, others, environments.values())
        newly_failed = {(f.check_id, f.address) for f in verdict.unaccepted}
        assert newly_failed and newly_failed <= {(skip.check_id, r) for r in skip.resources}, (
            f"entry #{index + 1} ({skip.check_id}) accepts no failure of the current synth"
        )


def test_every_secret_entry_matches_a_finding(reports: Path) -> None:
    findings = [
        finding
        for name in ("secrets-repository.json", "secrets-synth.json")
        for finding in security.secret_findings(
            json.loads((reports / name).read_text(encoding="utf-8")), security.ROOT
        )
    ]
    accepted = security.load_accepted()
    _, unaccepted, stale = security.evaluate_secrets(findings, accepted.secrets)
    assert not unaccepted and not stale, (unaccepted, stale)
    for index, allow in enumerate(accepted.secrets):
        others = accepted.secrets[:index] + accepted.secrets[index + 1 :]
        assert security.evaluate_secrets(findings, others)[1], f"{allow.value!r} is not needed"
