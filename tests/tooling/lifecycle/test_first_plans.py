"""tooling.lifecycle.first_plans: how ``plan`` plans a stack that does not exist yet (against
its state, against an empty state in a scratch copy, or waiting for what it reads), the probe
of the state backend (HeadBucket/HeadObject answers, stubbed) and the notes the report shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tooling.emulator.process import Emulator
from tooling.lifecycle.account_clients import AccountAccess
from tooling.lifecycle.applied import StateLocation
from tooling.lifecycle.first_plans import (
    EMPTY_STATE,
    STATE,
    WAITING,
    PlanBasis,
    S3Probe,
    empty_state_note,
    not_applicable_reason,
    plan_basis,
    scratch_copy,
    waiting_note,
)
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.session import Session

BUCKET = "tap-terraform-state-staging"
REGION = "ap-southeast-1"
NET = "tap-staging-ap-southeast-1-network"
APP = "tap-staging-ap-southeast-1-app"
ROLE = "arn:aws:iam::210987654321:role/tap-deploy-staging"


def state_key(name: str) -> str:
    return f"tap/staging/{name}.tfstate"


def _settings(name: str) -> dict[str, Any]:
    """The backend settings of ``name``'s state, as the synthesized stacks write them."""
    return {
        "bucket": BUCKET,
        "key": state_key(name),
        "region": REGION,
        "assume_role": {"role_arn": ROLE},
    }


def write_stack(outdir: Path, name: str, reads: tuple[str, ...] = ()) -> Path:
    document: dict[str, Any] = {
        "provider": {
            "aws": [{"region": REGION, "default_tags": [{"tags": {"Environment": "staging"}}]}]
        },
        "terraform": {"backend": {"s3": {**_settings(name), "use_lockfile": True}}},
        "resource": {"aws_sns_topic": {"Alerts": {"name": f"{name}-alerts"}}},
    }
    if reads:
        document["data"] = {
            "terraform_remote_state": {
                other: {"backend": "s3", "config": _settings(other)} for other in reads
            }
        }
    directory = outdir / "stacks" / name
    directory.mkdir(parents=True)
    (directory / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")
    return directory


def write_dependencies(outdir: Path, dependencies: dict[str, list[str]]) -> None:
    stacks = {name: {"name": name, "dependencies": deps} for name, deps in dependencies.items()}
    (outdir / "manifest.json").write_text(json.dumps({"stacks": stacks}), encoding="utf-8")


class FakeProbe:
    """The answers of a state backend: which buckets and state keys exist; what was asked."""

    def __init__(self, buckets: set[str], states: set[str]) -> None:
        self.buckets, self.states = buckets, states
        self.asked: list[tuple[str, StateLocation]] = []

    def bucket_exists(self, location: StateLocation) -> bool:
        self.asked.append(("bucket", location))
        return location.bucket in self.buckets

    def state_exists(self, location: StateLocation) -> bool:
        self.asked.append(("state", location))
        return location.bucket in self.buckets and location.key in self.states


@pytest.fixture
def staging(tmp_path: Path) -> dict[str, StackInfo]:
    """A network and an app that reads the network's state (both of the run)."""
    write_stack(tmp_path, NET)
    write_stack(tmp_path, APP, reads=(NET,))
    write_dependencies(tmp_path, {NET: [], APP: [NET]})
    return {stack.name: stack for stack in read_stacks(tmp_path, [NET, APP])}


# --------------------------------------------------------------------------- plan_basis


def test_an_environment_without_its_state_bucket_plans_the_network_empty_and_the_app_waits(
    staging: dict[str, StackInfo],
) -> None:
    probe = FakeProbe(buckets=set(), states=set())
    run = list(staging.values())

    assert plan_basis(staging[NET], run, probe) == PlanBasis(EMPTY_STATE)
    assert plan_basis(staging[APP], run, probe) == PlanBasis(WAITING, (NET,))


def test_the_app_waits_for_a_network_not_deployed_in_a_bootstrapped_environment(
    staging: dict[str, StackInfo],
) -> None:
    probe = FakeProbe(buckets={BUCKET}, states=set())
    run = list(staging.values())

    assert plan_basis(staging[NET], run, probe) == PlanBasis(STATE)
    assert plan_basis(staging[APP], run, probe) == PlanBasis(WAITING, (NET,))


def test_a_deployed_network_lets_the_app_plan_against_its_state(
    staging: dict[str, StackInfo],
) -> None:
    probe = FakeProbe(buckets={BUCKET}, states={state_key(NET)})

    assert plan_basis(staging[APP], list(staging.values()), probe) == PlanBasis(STATE)


def test_the_probe_reaches_a_state_as_the_configuration_names_it(
    staging: dict[str, StackInfo],
) -> None:
    probe = FakeProbe(buckets={BUCKET}, states={state_key(NET)})
    plan_basis(staging[APP], list(staging.values()), probe)

    access = AccountAccess(role_arn=ROLE)
    assert probe.asked == [
        ("state", StateLocation(BUCKET, state_key(NET), REGION, access=access)),
        ("bucket", StateLocation(BUCKET, state_key(APP), REGION, access=access)),
    ]


def test_a_state_read_from_a_stack_outside_the_run_is_left_to_terraform(tmp_path: Path) -> None:
    # GIVEN the app planned alone: the network is not of the run (not in depends_on)
    write_stack(tmp_path, NET)
    write_stack(tmp_path, APP, reads=(NET,))
    (app,) = read_stacks(tmp_path, [APP])
    probe = FakeProbe(buckets={BUCKET}, states=set())

    # THEN it is planned against its state, and its plan reports the missing remote state
    assert plan_basis(app, [app], probe) == PlanBasis(STATE)
    assert [what for what, _ in probe.asked] == ["bucket"]


def test_a_dependency_the_stack_does_not_read_never_makes_it_wait(tmp_path: Path) -> None:
    # GIVEN an app that depends on the network by cdktf's manifest only (reads no state of it)
    write_stack(tmp_path, NET)
    write_stack(tmp_path, APP)
    write_dependencies(tmp_path, {NET: [], APP: [NET]})
    stacks = read_stacks(tmp_path, [NET, APP])
    assert stacks[1].depends_on == frozenset({NET})

    probe = FakeProbe(buckets={BUCKET}, states=set())
    assert plan_basis(stacks[1], stacks, probe) == PlanBasis(STATE)


def test_a_stack_without_a_readable_configuration_is_planned_as_before(tmp_path: Path) -> None:
    stack = StackInfo(NET, tmp_path / "missing", "staging", REGION, state=(BUCKET, state_key(NET)))
    probe = FakeProbe(buckets=set(), states=set())

    assert plan_basis(stack, [stack], probe) == PlanBasis(STATE)
    assert probe.asked == []


# --------------------------------------------------------------------------- S3Probe


def _stubbed_session(tmp_path: Path) -> tuple[Session, Stubber]:
    """A local session whose S3 client answers what the stubber is given."""
    s3 = boto3.client(
        "s3", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(s3)
    emulator = Emulator(endpoint="http://127.0.0.1:9", port=9, pid=0, state_dir=tmp_path)

    class StubbedSession(Session):
        def client(self, service: str, region: str, *, config: Any = None) -> Any:
            assert (service, region) == ("s3", REGION)
            return s3

    return StubbedSession(root=tmp_path, target="local", emulator=emulator), stubber


def test_a_404_means_missing_a_403_or_success_means_there(tmp_path: Path) -> None:
    session, stubber = _stubbed_session(tmp_path)
    location = StateLocation(BUCKET, state_key(NET), REGION)
    other = StateLocation("tap-terraform-state-prod", state_key(NET), REGION)
    stubber.add_client_error("head_bucket", "404", http_status_code=404)
    stubber.add_client_error("head_bucket", "403", http_status_code=403)
    stubber.add_client_error("head_object", "404", http_status_code=404)
    with stubber:
        probe = S3Probe(session)
        assert probe.bucket_exists(location) is False
        assert probe.bucket_exists(other) is True  # another account's, or not ours to read
        assert probe.state_exists(location) is False
    stubber.assert_no_pending_responses()


def test_a_403_for_a_state_is_not_taken_for_missing(tmp_path: Path) -> None:
    # HeadObject answers 403 for a missing key to a caller without s3:ListBucket.
    session, stubber = _stubbed_session(tmp_path)
    stubber.add_client_error("head_object", "403", http_status_code=403)
    with stubber:
        assert S3Probe(session).state_exists(StateLocation(BUCKET, state_key(NET), REGION)) is True


def test_each_answer_is_asked_once_per_run(tmp_path: Path) -> None:
    # GIVEN one answer for the bucket (both stacks of an environment share it)
    session, stubber = _stubbed_session(tmp_path)
    stubber.add_response("head_bucket", {}, {"Bucket": BUCKET})
    with stubber:
        probe = S3Probe(session)
        # WHEN it is asked for the backends of two stacks, THEN the stubber answers once
        assert probe.bucket_exists(StateLocation(BUCKET, state_key(NET), REGION)) is True
        assert probe.bucket_exists(StateLocation(BUCKET, state_key(APP), REGION)) is True
    stubber.assert_no_pending_responses()


# --------------------------------------------------------------------------- scratch_copy


def test_the_scratch_copy_has_a_local_backend_and_the_stack_is_untouched(
    staging: dict[str, StackInfo], tmp_path: Path
) -> None:
    stack_dir = staging[NET].directory
    (stack_dir / "assets" / "Code").mkdir(parents=True)
    (stack_dir / "assets" / "Code" / "processor.zip").write_bytes(b"zip")
    (stack_dir / ".terraform").mkdir()
    (stack_dir / ".terraform" / "terraform.tfstate").write_text("{}", encoding="utf-8")
    (stack_dir / "tap.tfplan").write_bytes(b"plan")
    original = (stack_dir / "cdk.tf.json").read_text(encoding="utf-8")

    scratch = scratch_copy(stack_dir, tmp_path / "scratch" / NET)

    copied = json.loads((scratch / "cdk.tf.json").read_text(encoding="utf-8"))
    assert copied["terraform"]["backend"] == {"local": {"path": "terraform.tfstate"}}
    assert copied["resource"] == json.loads(original)["resource"]
    assert (scratch / "assets" / "Code" / "processor.zip").read_bytes() == b"zip"
    assert sorted(p.name for p in scratch.iterdir()) == ["assets", "cdk.tf.json"]
    assert (stack_dir / "cdk.tf.json").read_text(encoding="utf-8") == original


# --------------------------------------------------------------------------- notes


def test_the_notes_name_the_bootstrap_command_the_caller_spells() -> None:
    assert empty_state_note("./tap bootstrap-backend --env staging") == (
        "planned against an empty state: the state backend does not exist yet; "
        "`./tap bootstrap-backend --env staging` creates it"
    )
    assert empty_state_note(None) == (
        "planned against an empty state: the state backend does not exist yet"
    )
    assert waiting_note([NET]) == (
        f"waiting for {NET}: not deployed yet; its plan follows the dependency's deploy"
    )
    assert waiting_note(["a", "b"]) == (
        "waiting for a, b: not deployed yet; its plan follows the dependencies' deploys"
    )


def test_why_deploy_plan_cannot_apply_such_a_plan() -> None:
    assert not_applicable_reason(
        PlanBasis(EMPTY_STATE), "./tap bootstrap-backend --env staging"
    ) == (
        "planned against an empty state (its state backend did not exist), not a plan to "
        "apply: bootstrap the state backend (`./tap bootstrap-backend --env staging`) and deploy "
        "first, then plan again"
    )
    assert not_applicable_reason(PlanBasis(WAITING, (NET,)), None) == (
        f"not planned: waiting for {NET} (not deployed yet): deploy first, then plan again"
    )
