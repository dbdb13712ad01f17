"""tooling.lifecycle.applied and ``deploy``'s skip of unchanged stacks, on an in-process moto.

The records live in a real (moto) state bucket; terraform is replaced by a fake apply that writes
the stack's state object as terraform would (with its outputs), so what is asserted is which
stacks a deploy applies, what it says about each, and what it leaves in the bucket.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tooling.lifecycle.adoption import ADOPT_FILE
from tooling.lifecycle.applied import (
    FINGERPRINT_FORMAT,
    AppliedRecord,
    AppliedRecords,
    StateLocation,
    configuration_files,
    fingerprint,
)
from tooling.lifecycle.commands import deploy, destroy, stack_run
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.interrupts import INTERRUPTED_EXIT
from tooling.lifecycle.runs import ApplyResult
from tooling.lifecycle.session import DeployError, Session
from tooling.lifecycle.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
REGION = "ap-southeast-1"
BUCKET = "tap-terraform-state-dev"
NET, APP = "tap-dev-ap-southeast-1-network", "tap-dev-ap-southeast-1-app"
NET_KEY, APP_KEY = f"tap/dev/{NET}.tfstate", f"tap/dev/{APP}.tfstate"
SKIPPED = "unchanged since its last apply (skipped; --plan-all plans it)"
CHANGED = "applying: its configuration, assets or what it reads changed since its last apply"
NO_RECORD = "applying: no record of a successful apply"
ZIP = "assets/ApiHandler_Code_DC318360/F929D6512672A35DCAC4A377C9E22E4D/api_handler.zip"


def _document(name: str, key: str, endpoint: str, *, reads: str | None = None) -> dict[str, Any]:
    """A stack's cdk.tf.json in miniature: provider, S3 backend, a resource, maybe a remote
    state (the app reads the network's outputs)."""
    settings = {"bucket": BUCKET, "region": REGION, "endpoints": {"s3": endpoint}}
    document: dict[str, Any] = {
        "provider": {
            "aws": [{"region": REGION, "default_tags": [{"tags": {"Environment": "dev"}}]}]
        },
        "terraform": {
            "backend": {
                "s3": {**settings, "key": key, "encrypt": True, "use_lockfile": True},
            },
            "required_providers": {"aws": {"source": "aws", "version": "5.100.0"}},
        },
        "resource": {"aws_sqs_queue": {"Queue": {"name": f"{name}-queue"}}},
    }
    if reads is not None:
        document["data"] = {
            "terraform_remote_state": {
                "Network": {"backend": "s3", "config": {**settings, "key": reads}}
            }
        }
        document["resource"]["aws_lambda_function"] = {
            "ApiHandler_Function": {"filename": ZIP, "source_code_hash": "aGFzaA=="}
        }
    return document


class World:
    """A workspace with the two stacks of dev synthesized in miniature, the state bucket on
    moto, and a fake terraform: what it applied, and knobs to change what it does."""

    def __init__(self, tmp_path: Path, session: Session, endpoint: str, port: int) -> None:
        self.session = session
        self.out = io.StringIO()
        shutil.copy(ROOT / "platform.toml", tmp_path / "platform.toml")
        self.ws = Workspace(root=tmp_path, outdir=tmp_path / "cdktf.out", port=port, out=self.out)
        self.applied: list[str] = []
        #: The extra terraform arguments of each stack's last apply.
        self.arguments: dict[str, list[str]] = {}
        self.fail: set[str] = set()
        self.outputs: dict[str, dict[str, str]] = {
            NET: {"vpc_id": "vpc-1"},
            APP: {"api_id": "api-1", "api_stage_name": "$default", "data_bucket_name": "data"},
        }
        #: Set when the named stack's apply ends (a Ctrl-C right after it).
        self.stop_after: tuple[str, threading.Event] | None = None
        self._serial = 0
        self.write(NET, _document(NET, NET_KEY, endpoint))
        self.write(APP, _document(APP, APP_KEY, endpoint, reads=NET_KEY))
        zip_path = self.directory(APP) / ZIP
        zip_path.parent.mkdir(parents=True)
        zip_path.write_bytes(b"PK\x03\x04 handler v1")

    @property
    def s3(self) -> Any:
        return self.session.client("s3", REGION)

    def directory(self, stack: str) -> Path:
        return self.ws.outdir / "stacks" / stack

    def write(self, stack: str, document: dict[str, Any]) -> None:
        self.directory(stack).mkdir(parents=True, exist_ok=True)
        (self.directory(stack) / "cdk.tf.json").write_text(json.dumps(document), "utf-8")

    def edit(self, stack: str, resource: str) -> None:
        """A change to the stack's synthesized configuration: one more queue."""
        path = self.directory(stack) / "cdk.tf.json"
        document = json.loads(path.read_text("utf-8"))
        document["resource"]["aws_sqs_queue"][resource] = {"name": resource}
        path.write_text(json.dumps(document), "utf-8")

    def write_state(self, stack: str) -> None:
        """The state object a terraform run leaves (a new serial: a new object)."""
        self._serial += 1
        state = {
            "version": 4,
            "serial": self._serial,
            "lineage": stack,
            "outputs": {k: {"value": v, "type": "string"} for k, v in self.outputs[stack].items()},
        }
        key = NET_KEY if stack == NET else APP_KEY
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(state).encode())

    def apply(self, session: Session, stack_dir: Path, **kwargs: Any) -> ApplyResult:
        self.applied.append(stack_dir.name)
        self.arguments[stack_dir.name] = list(kwargs.get("extra", ()))
        if stack_dir.name in self.fail:
            raise DeployError(f"terraform apply of {stack_dir.name} failed (exit 1):\nError: boom")
        self.write_state(stack_dir.name)
        if self.stop_after is not None and self.stop_after[0] == stack_dir.name:
            self.stop_after[1].set()
        return ApplyResult(stack=stack_dir.name, seconds=0.01, changed=1)

    def stack_outputs(self, session: Session, stack_dir: Path) -> dict[str, Any]:
        """``terraform output -json``: the outputs of the state object."""
        key = NET_KEY if stack_dir.name == NET else APP_KEY
        state = json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        return {name: entry["value"] for name, entry in state["outputs"].items()}

    def deploy(self, **kwargs: Any) -> dict[str, Any]:
        """One ``./tap deploy --env dev``; what it applied is in :attr:`applied` afterwards."""
        self.applied = []
        self.out.seek(0)
        self.out.truncate()
        return deploy.deploy_stacks(self.ws, "dev", **kwargs)

    def said(self) -> list[str]:
        """What the deploy said about applying or skipping each stack, in order."""
        pattern = re.compile(rf"^\[(?:{NET}|{APP})\] (?:applying: |unchanged since)")
        return [line for line in self.out.getvalue().splitlines() if pattern.match(line)]

    def record(self, stack: str) -> dict[str, Any] | None:
        key = (NET_KEY if stack == NET else APP_KEY) + ".applied-fingerprint"
        try:
            body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] == "NoSuchKey":
                return None
            raise
        document: dict[str, Any] = json.loads(body)
        return document


@pytest.fixture
def world(endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    from tests.tooling.conftest import fresh_local_session

    session = fresh_local_session(endpoint, tmp_path)
    session.client("s3", REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    assert session.emulator is not None
    world = World(tmp_path, session, endpoint, session.emulator.port)
    monkeypatch.delenv("TAP_OUTPUTS_FILE", raising=False)
    monkeypatch.setattr("tooling.terraform.terraform_version", lambda: "1.11.4")
    for command in (deploy, destroy):
        monkeypatch.setattr(
            command, "ordered_stacks", lambda ws, env: read_stacks(ws.outdir, [NET, APP])
        )
        monkeypatch.setattr(command, "session_for", lambda ws, start=True: session)
        monkeypatch.setattr(command, "bootstrap", lambda ws, session, environments=None: None)
        monkeypatch.setattr(command, "local_fixtures", lambda *a, **k: None)
    monkeypatch.setattr(stack_run, "init_stack", lambda session, directory: None)
    monkeypatch.setattr(deploy, "apply_stack", world.apply)
    monkeypatch.setattr(deploy, "stack_outputs", world.stack_outputs)
    return world


# --------------------------------------------------------------------------- deploy


def test_a_second_deploy_with_nothing_changed_skips_both_stacks(world: World) -> None:
    first = world.deploy()
    assert world.applied == [NET, APP]
    assert world.said() == [f"[{NET}] {NO_RECORD}", f"[{APP}] {NO_RECORD}"]
    second = world.deploy()
    assert world.applied == []
    assert world.said() == [f"[{NET}] {SKIPPED}", f"[{APP}] {SKIPPED}"]
    # the skipped stacks' outputs come from their states: the same flat outputs as applied
    assert second == first
    assert second["dev_vpc_id"] == "vpc-1" and second["dev_api_id"] == "api-1"
    rows = [line for line in world.out.getvalue().splitlines() if line.startswith("tap-dev-")]
    assert [(row.split()[0], row.endswith("succeeded: unchanged (skipped)")) for row in rows] == [
        (NET, True),
        (APP, True),
    ]


def test_a_change_in_the_application_configuration_applies_only_the_application(
    world: World,
) -> None:
    world.deploy()
    world.edit(APP, "Another")
    world.deploy()
    assert world.applied == [APP]
    assert world.said() == [f"[{NET}] {SKIPPED}", f"[{APP}] {CHANGED}"]
    world.deploy()
    assert world.applied == []  # the new fingerprint was recorded


def test_the_apply_of_a_stack_that_declares_it_opens_the_master_password(world: World) -> None:
    # The app stack declares the variable (as global's primary app stack does): its apply may
    # create the database, which needs the password (tooling/lifecycle/stack_variables.py).
    path = world.directory(APP) / "cdk.tf.json"
    document = json.loads(path.read_text("utf-8"))
    document["variable"] = {"open_master_password": {"type": "bool", "default": False}}
    path.write_text(json.dumps(document), "utf-8")
    world.deploy()
    assert world.arguments == {NET: [], APP: ["-var=open_master_password=true"]}


def test_a_changed_zip_alone_applies_the_application(world: World) -> None:
    world.deploy()
    (world.directory(APP) / ZIP).write_bytes(b"PK\x03\x04 handler v2")
    world.deploy()
    assert world.applied == [APP]
    assert world.said() == [f"[{NET}] {SKIPPED}", f"[{APP}] {CHANGED}"]


def test_a_change_in_the_network_applies_both_stacks(world: World) -> None:
    world.deploy()
    world.edit(NET, "NetworkQueue")
    world.deploy()
    assert world.applied == [NET, APP]
    # the application itself is unchanged (same outputs read), but the network it reads was
    # applied before it in this run
    assert world.said() == [f"[{NET}] {CHANGED}", f"[{APP}] applying: {NET} applied in this run"]


def test_network_outputs_changed_by_an_interrupted_deploy_apply_the_application(
    world: World,
) -> None:
    # GIVEN a deploy stopped (Ctrl-C) right after a network apply that changed its outputs:
    # the network's new record is written, the application never started
    world.deploy()
    world.edit(NET, "NetworkQueue")
    world.outputs[NET] = {"vpc_id": "vpc-2"}
    stop = threading.Event()
    world.stop_after = (NET, stop)
    with pytest.raises(LifecycleError) as stopped:
        world.deploy(stop=stop, parallel=1)
    assert stopped.value.code == INTERRUPTED_EXIT
    assert world.applied == [NET]
    # WHEN the next deploy runs
    world.stop_after = None
    flat = world.deploy()
    # THEN the network is skipped, the application applied: what it reads changed
    assert world.applied == [APP]
    assert world.said() == [f"[{NET}] {SKIPPED}", f"[{APP}] {CHANGED}"]
    assert flat["dev_vpc_id"] == "vpc-2"


def test_a_failed_apply_leaves_no_record_and_the_next_deploy_applies_again(
    world: World,
) -> None:
    world.deploy()
    assert world.record(APP) is not None
    world.edit(APP, "Another")
    world.fail = {APP}
    with pytest.raises(LifecycleError):
        world.deploy()
    assert world.applied == [APP]
    assert world.record(APP) is None  # deleted before the apply started, never written
    assert world.record(NET) is not None
    world.fail = set()
    world.deploy()
    assert world.applied == [APP]
    assert world.said() == [f"[{NET}] {SKIPPED}", f"[{APP}] {NO_RECORD}"]


def test_plan_all_applies_every_stack_and_records_them(world: World) -> None:
    world.deploy()
    world.deploy(plan_all=True)
    assert world.applied == [NET, APP]
    assert world.said() == [f"[{NET}] applying: --plan-all", f"[{APP}] applying: --plan-all"]
    world.deploy()
    assert world.applied == []


def test_a_state_written_outside_the_deploy_applies_the_stack(world: World) -> None:
    world.deploy()
    world.write_state(APP)  # e.g. terraform run by hand, an import, another checkout's apply
    world.deploy()
    assert world.applied == [APP]
    assert world.said() == [
        f"[{NET}] {SKIPPED}",
        f"[{APP}] applying: its state was written since its last apply (outside this deploy)",
    ]


def test_a_state_that_cannot_be_read_applies_the_stack_and_records_it(world: World) -> None:
    world.deploy()
    world.s3.put_object(Bucket=BUCKET, Key=APP_KEY, Body=b"not a state")
    world.deploy()
    assert world.applied == [APP]
    assert world.said() == [
        f"[{NET}] {SKIPPED}",
        f"[{APP}] applying: its record could not be read (Expecting value: line 1 column 1 "
        "(char 0))",
    ]
    world.deploy()
    assert world.applied == []


def test_the_record_holds_the_fingerprint_and_the_etag_of_the_state_applied(
    world: World,
) -> None:
    world.deploy()
    record = world.record(APP)
    assert record is not None
    head = world.s3.head_object(Bucket=BUCKET, Key=APP_KEY)
    assert sorted(record) == ["fingerprint", "format", "recorded_at", "stack", "state_etag"]
    assert record["format"] == FINGERPRINT_FORMAT == "tap-applied/1"
    assert record["stack"] == APP
    assert record["state_etag"] == head["ETag"]
    assert re.fullmatch(r"[0-9a-f]{64}", record["fingerprint"])


def test_destroy_deletes_the_records_so_the_next_deploy_applies(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.deploy()

    def destroy_one(session: Session, stack_dir: Path, **kwargs: Any) -> ApplyResult:
        key = NET_KEY if stack_dir.name == NET else APP_KEY
        world.s3.delete_object(Bucket=BUCKET, Key=key)
        return ApplyResult(stack=stack_dir.name, seconds=0.01, destroyed=1)

    monkeypatch.setattr(destroy, "destroy_stack", destroy_one)
    monkeypatch.setattr(destroy, "has_state", lambda session, stack, region: True)
    monkeypatch.setattr(destroy, "leftovers", lambda *a, **k: [])
    destroy.destroy_stacks(world.ws, "dev")
    assert world.record(NET) is None and world.record(APP) is None
    world.deploy()
    assert world.applied == [NET, APP]


# --------------------------------------------------------------------------- the records


def test_a_stack_without_an_s3_backend_is_applied_without_a_record(
    world: World, tmp_path: Path
) -> None:
    directory = tmp_path / "bare"
    directory.mkdir()
    stack = StackInfo("bare", directory, "dev", REGION)
    records = AppliedRecords(world.session, terraform_version=lambda: "1.11.4")
    verdict = records.check(stack)
    assert (verdict.unchanged, verdict.fingerprint, verdict.reason) == (
        False,
        None,
        "no S3 backend to keep its record in",
    )
    records.forget(stack)  # nothing to delete, no error


def test_a_record_that_cannot_be_deleted_stops_the_apply(world: World) -> None:
    world.s3.delete_bucket(Bucket=BUCKET)  # e.g. no access to the state bucket
    stack = read_stacks(world.ws.outdir, [NET])[0]
    records = AppliedRecords(world.session, terraform_version=lambda: "1.11.4")
    with pytest.raises(DeployError) as refused:
        records.forget(stack)
    assert str(refused.value).startswith(
        f"{NET}: cannot delete its applied record s3://{BUCKET}/{NET_KEY}.applied-fingerprint "
        "before changing its state: An error occurred (NoSuchBucket)"
    )


def test_a_malformed_record_is_no_record() -> None:
    assert AppliedRecord.from_json(b"not json") is None
    assert AppliedRecord.from_json(json.dumps({"format": "tap-applied/0"})) is None
    good = AppliedRecord("s", "f" * 64, '"etag"', "2026-12-05T10:00:00+00:00")
    assert AppliedRecord.from_json(good.to_json()) == good


def test_a_state_location_is_read_from_a_backend_block() -> None:
    settings = {
        "bucket": "b",
        "key": "k.tfstate",
        "region": "us-east-1",
        "kms_key_id": "alias/b",
        "assume_role": {"role_arn": "arn:aws:iam::123456789012:role/deployer"},
        "profile": "ops",
    }
    location = StateLocation.from_settings(settings)
    assert location is not None
    assert (location.record_key, location.kms_key_id) == (
        "k.tfstate.applied-fingerprint",
        "alias/b",
    )
    assert location.access.role_arn == "arn:aws:iam::123456789012:role/deployer"
    assert location.access.profile == "ops"
    assert StateLocation.from_settings({"bucket": "b", "key": "k"}) is None  # no region


# --------------------------------------------------------------------------- the fingerprint


def _fingerprint(directory: Path, **changes: Any) -> str:
    arguments: dict[str, Any] = {"target": "local", "terraform_version": "1.11.4", "reads": {}}
    arguments.update(changes)
    return fingerprint(directory, **arguments)


def test_the_fingerprint_covers_configuration_assets_target_version_and_reads(
    tmp_path: Path,
) -> None:
    (tmp_path / "cdk.tf.json").write_text("{}", "utf-8")
    asset = tmp_path / "assets" / "Code" / "HASH" / "handler.zip"
    asset.parent.mkdir(parents=True)
    asset.write_bytes(b"v1")
    base = _fingerprint(tmp_path)
    assert _fingerprint(tmp_path, target="aws") != base
    assert _fingerprint(tmp_path, terraform_version="1.12.0") != base
    assert _fingerprint(tmp_path, reads={"Network": {"vpc_id": "vpc-1"}}) != base
    assert _fingerprint(tmp_path, reads={"Network": {"vpc_id": "vpc-1"}}) != _fingerprint(
        tmp_path, reads={"Network": {"vpc_id": "vpc-2"}}
    )
    asset.write_bytes(b"v2")
    assert _fingerprint(tmp_path) != base
    asset.write_bytes(b"v1")
    assert _fingerprint(tmp_path) == base
    (tmp_path / "cdk.tf.json").write_text('{"resource": {}}', "utf-8")
    assert _fingerprint(tmp_path) != base


def test_the_fingerprint_ignores_what_terraform_and_adoption_leave_in_the_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "cdk.tf.json").write_text("{}", "utf-8")
    base = _fingerprint(tmp_path)
    (tmp_path / ADOPT_FILE).write_text('{"import": []}', "utf-8")
    (tmp_path / ".terraform").mkdir()
    (tmp_path / ".terraform" / "terraform.tfstate").write_text("{}", "utf-8")
    (tmp_path / ".terraform.lock.hcl").write_text("# lock", "utf-8")
    (tmp_path / "tap.tfplan").write_bytes(b"plan")
    assert _fingerprint(tmp_path) == base
    assert [p.name for p in configuration_files(tmp_path)] == ["cdk.tf.json"]
    (tmp_path / "extra.tf.json").write_text("{}", "utf-8")  # terraform would read it
    assert _fingerprint(tmp_path) != base
