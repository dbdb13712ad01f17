"""The crash-safety wiring of tooling.lifecycle.runs, on an in-process moto with a fake terraform
printing recorded JSON UI messages: the holder record around a run, a stale lock of a dead holder
released, a live or foreign one refused with the unlock command (and ``unlock``), and adoption of
what an interrupted apply left outside the state (apply fails with "already exists" -> plan and
show of what exists -> import blocks -> apply again)."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.tooling.lifecycle import crash_support as crash
from tests.tooling.lifecycle import recorded_ui as ui
from tooling.lifecycle import holders
from tooling.lifecycle.adoption import ADOPT_FILE
from tooling.lifecycle.locks import backend_of, unlock
from tooling.lifecycle.runs import apply_stack, plan_stack
from tooling.lifecycle.session import DeployError, Session

BUCKET = "tap-terraform-state-store"
TABLE = "tap-terraform-locks"
REGION = "ap-southeast-1"
KEY = "tap/dev/tap-dev-r-1-app.tfstate"
DATA_BUCKET = "tap-data-dev"

FAKE = """#!/bin/sh
# Records each run (and the import blocks it saw); prints the recorded JSON UI messages of the
# files the test points it at, as terraform -json would.
dir="$(pwd)"
echo "$1 $(cat "$dir/tap-adopt.tf.json" 2>/dev/null | tr -d ' \\n')" >> "$FAKE_LOG"
case "$1" in
apply)
  if [ -n "$FAKE_APPLY_FAILS" ] && [ ! -f "$dir/tap-adopt.tf.json" ]; then
    cat "$FAKE_APPLY_FAILS"; exit 1
  fi
  if [ -n "$FAKE_GONE" ] && [ ! -f "$dir/.gone-once" ]; then
    touch "$dir/.gone-once"; cat "$FAKE_GONE"; exit 1
  fi
  cat "$FAKE_DIR/applied" ;;
plan)
  if [ "$2" = "-refresh=false" ]; then  # the adoption's plan: saved to -out, or failing
    if [ -n "$FAKE_PLAN_FAILS" ]; then cat "$FAKE_PLAN_FAILS"; exit 1; fi
    for arg in "$@"; do case "$arg" in -out=*) : > "${arg#-out=}" ;; esac; done
  else
    cat "$FAKE_DIR/no-changes"
  fi ;;
show) cat "$FAKE_PLANNED" ;;
esac
"""


@pytest.fixture
def stack(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Session, Path, Path]:
    """A local session on a reset moto with the state backend, a stack using it, the fake
    terraform; returns the session, the stack directory and the fake's log."""
    from tests.tooling.conftest import fresh_local_session

    session = fresh_local_session(endpoint, tmp_path)
    session.client("s3", REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    session.client("dynamodb", REGION).create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stack_dir = tmp_path / "tap-dev-r-1-app"
    stack_dir.mkdir()
    document = {
        "provider": {"aws": [{"region": REGION}]},
        "terraform": {
            "backend": {
                "s3": {
                    "bucket": BUCKET, "key": KEY, "region": REGION,
                    "dynamodb_table": TABLE, "use_lockfile": True,
                }
            }
        },
        "resource": {
            "aws_s3_bucket": {"data": {"bucket": DATA_BUCKET}},
            "aws_sqs_queue": {"q": {"name": "tap-q-dev"}},
            "aws_iam_role": {"r": {"name_prefix": "x"}},
        },
    }  # fmt: skip
    (stack_dir / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")
    fake = tmp_path / "terraform"
    fake.write_text(FAKE, encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / "runs.log"
    recorded = tmp_path / "recorded"
    recorded.mkdir()
    crash.write_lines(recorded / "applied", [ui.VERSION, ui.APPLY_SUMMARY_WITH_IMPORT])
    crash.write_lines(
        recorded / "no-changes", [ui.VERSION, ui.PLAN_SUMMARY.replace("2 to add", "0 to add")]
    )
    monkeypatch.setenv("TAP_TERRAFORM", str(fake))
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_DIR", str(recorded))
    monkeypatch.delenv("TAP_TF_PROVIDER_MIRROR", raising=False)
    for name in ("FAKE_APPLY_FAILS", "FAKE_GONE", "FAKE_PLAN_FAILS", "FAKE_PLANNED"):
        monkeypatch.delenv(name, raising=False)
    return session, stack_dir, log


def _lock(session: Session, lock_id: str, who: str, created: datetime) -> None:
    info = {
        "ID": lock_id,
        "Operation": "OperationTypeApply",
        "Who": who,
        "Version": "1.11.4",
        "Created": created.isoformat().replace("+00:00", "Z"),
        "Path": f"{BUCKET}/{KEY}",
    }
    session.client("dynamodb", REGION).put_item(
        TableName=TABLE, Item={"LockID": {"S": f"{BUCKET}/{KEY}"}, "Info": {"S": json.dumps(info)}}
    )
    session.client("s3", REGION).put_object(
        Bucket=BUCKET, Key=f"{KEY}.tflock", Body=json.dumps(info).encode()
    )


def _record(session: Session, pid: int, started: datetime) -> None:
    record = holders.HolderRecord(
        host=socket.gethostname(),
        pid=pid,
        stack="tap-dev-r-1-app",
        operation="deploy",
        started_at=started.isoformat(),
        machine=holders.current_machine(),
    )
    holders.write_holder(session.client("s3", REGION), BUCKET, KEY, record)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _current_lock(session: Session) -> holders.LockInfo | None:
    return holders.read_lock(
        session.client("dynamodb", REGION), session.client("s3", REGION), backend_of_any(session)
    )


def backend_of_any(session: Session) -> dict[str, str]:
    return {"bucket": BUCKET, "key": KEY, "dynamodb_table": TABLE, "region": REGION}


def test_a_run_records_its_holder_and_clears_it(stack: tuple[Session, Path, Path]) -> None:
    session, stack_dir, log = stack
    out = io.StringIO()
    apply_stack(session, stack_dir, out=out)
    assert log.read_text().split() == ["apply"]
    assert holders.read_holder(session.client("s3", REGION), BUCKET, KEY) is None


def test_a_lock_whose_holder_is_gone_is_released_with_a_line(
    stack: tuple[Session, Path, Path],
) -> None:
    session, stack_dir, _ = stack
    now = datetime.now(UTC)
    pid = _dead_pid()
    _record(session, pid, now)
    _lock(session, "stale-1", f"root@{socket.gethostname()}", now)
    notes: list[str] = []
    apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    assert len(notes) == 1
    assert notes[0].startswith("released the state lock stale-1 of tap-dev-r-1-app")
    assert f"pid {pid}" in notes[0] and "is gone" in notes[0]
    assert _current_lock(session) is None


def test_a_lock_of_a_live_terraform_is_refused_with_the_unlock_command(
    stack: tuple[Session, Path, Path], tmp_path: Path
) -> None:
    session, stack_dir, log = stack
    live = tmp_path / "live" / "terraform"  # a process whose program is named terraform
    live.parent.mkdir()
    shutil.copy(shutil.which("sleep") or "/bin/sleep", live)
    holder = subprocess.Popen([str(live), "30"])
    try:
        now = datetime.now(UTC)
        _record(session, holder.pid, now)
        _lock(session, "live-1", f"root@{socket.gethostname()}", now)
        with pytest.raises(DeployError) as error:
            apply_stack(session, stack_dir, out=io.StringIO())
    finally:
        holder.kill()
        holder.wait()
    message = str(error.value)
    assert "the state of tap-dev-r-1-app is locked (lock live-1" in message
    assert f"pid {holder.pid}" in message
    assert "./tap unlock --stack tap-dev-r-1-app --lock-id live-1" in message
    assert not log.exists()  # terraform never ran
    assert _current_lock(session) is not None


def test_a_foreign_lock_is_never_broken(stack: tuple[Session, Path, Path]) -> None:
    session, stack_dir, _ = stack
    now = datetime.now(UTC)
    _record(session, _dead_pid(), now)
    _lock(session, "ci-1", "runner@ci-host-7", now)
    with pytest.raises(DeployError, match="held by runner@ci-host-7 on ci-host-7"):
        plan_stack(session, stack_dir, out=io.StringIO())
    lock = _current_lock(session)
    assert lock is not None and lock.id == "ci-1"


def test_unlock_releases_exactly_the_named_lock(stack: tuple[Session, Path, Path]) -> None:
    session, stack_dir, _ = stack
    with pytest.raises(DeployError, match="not locked"):
        unlock(session, stack_dir, "x")
    _lock(session, "held-1", "runner@ci-host-7", datetime.now(UTC))
    with pytest.raises(DeployError, match="locked by held-1, not other: nothing released"):
        unlock(session, stack_dir, "other")
    assert _current_lock(session) is not None
    done = unlock(session, stack_dir, "held-1")
    assert done.startswith("released the state lock held-1 of tap-dev-r-1-app")
    assert "lock table and S3 lock file" in done
    assert _current_lock(session) is None
    assert backend_of(stack_dir)["key"] == KEY


#: The recorded "bucket exists" diagnostic, about the bucket of this test's stack.
BUCKET_EXISTS = crash.with_fields(
    ui.BUCKET_EXISTS,
    address="aws_s3_bucket.data",
    summary=json.loads(ui.BUCKET_EXISTS)["diagnostic"]["summary"].replace(
        "tap-adopt-data-dev-eu-west-1-123456789012", DATA_BUCKET
    ),
)

#: The recorded "role exists" diagnostic, about this test's role (named by a prefix).
ROLE_EXISTS = crash.with_fields(
    ui.ROLE_EXISTS,
    address="aws_iam_role.r",
    summary="creating IAM Role (x): operation error IAM: CreateRole, https response error "
    "StatusCode: 409, RequestID: 1, EntityAlreadyExists: Role with name x already exists.",
)


def test_an_apply_that_finds_existing_resources_adopts_them_and_applies_again(
    stack: tuple[Session, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an apply answered "BucketAlreadyOwnedByYou", and a plan that knows the bucket's name
    session, stack_dir, log = stack
    failed = crash.write_lines(
        tmp_path / "failed", [ui.VERSION, ui.CREATION_COMPLETE, BUCKET_EXISTS]
    )
    planned = crash.shown_plan(("aws_s3_bucket.data", "aws_s3_bucket", {"bucket": DATA_BUCKET}))
    (tmp_path / "planned.json").write_text(json.dumps(planned), encoding="utf-8")
    monkeypatch.setenv("FAKE_APPLY_FAILS", str(failed))
    monkeypatch.setenv("FAKE_PLANNED", str(tmp_path / "planned.json"))
    # WHEN the stack is applied
    notes: list[str] = []
    result = apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    # THEN the plan was shown and the bucket adopted by its name
    runs = [run.strip() for run in log.read_text().splitlines()]
    assert runs == [
        "apply",
        "plan",  # -refresh=false -out: what Terraform makes of the configuration and state
        "show",  # -json of that plan: the planned values
        'apply {"import":[{"to":"aws_s3_bucket.data","id":"tap-data-dev"}]}',
    ]
    assert result.adopted == ["aws_s3_bucket.data"] and result.added == 1
    assert any("adopting them with import blocks (tap-data-dev)" in note for note in notes)
    assert any("exist but are missing from the state" in note for note in notes)
    assert not (stack_dir / ADOPT_FILE).exists()  # the blocks never outlive the adoption
    assert not list(stack_dir.glob("*.tfplan"))  # nor the plan


def test_an_apply_that_repeated_a_removal_already_done_applies_again_once(
    stack: tuple[Session, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an apply failing because a retried revoke found its rule already revoked (the
    emulator lost the first response) WHEN apply_stack runs THEN it says so and applies again,
    which converges; nothing is imported."""
    session, stack_dir, log = stack
    monkeypatch.setenv(
        "FAKE_GONE", str(crash.write_lines(tmp_path / "gone", [ui.DEFAULT_SG_RULE_GONE]))
    )
    notes: list[str] = []
    result = apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    assert [run.strip() for run in log.read_text().splitlines()] == ["apply", "apply"]
    assert result.adopted == []
    assert notes == [
        "tap-dev-r-1-app: aws_default_security_group.Network_DefaultSecurityGroup_6811E764: a "
        "removal was repeated after a lost response and found nothing left to remove; applying "
        "again"
    ]


def test_what_cannot_be_adopted_is_named_with_the_fix(
    stack: tuple[Session, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a role that exists, whose name Terraform generates (name_prefix): not planned
    session, stack_dir, _ = stack
    planned = crash.shown_plan(("aws_iam_role.r", "aws_iam_role", {"name_prefix": "x"}))
    (tmp_path / "planned.json").write_text(json.dumps(planned), encoding="utf-8")
    monkeypatch.setenv(
        "FAKE_APPLY_FAILS", str(crash.write_lines(tmp_path / "failed", [ROLE_EXISTS]))
    )
    monkeypatch.setenv("FAKE_PLANNED", str(tmp_path / "planned.json"))
    with pytest.raises(DeployError) as error:
        apply_stack(session, stack_dir, out=io.StringIO())
    message = str(error.value)
    assert "aws_iam_role.r (x): EntityAlreadyExists" in message
    assert f"terraform -chdir={stack_dir} import aws_iam_role.r <ID>" in message


def test_what_is_known_is_adopted_first_and_the_rest_left_to_the_next_round(
    stack: tuple[Session, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two resources that exist, the bucket's name planned, the role's not known yet
    session, stack_dir, log = stack
    planned = crash.shown_plan(
        ("aws_s3_bucket.data", "aws_s3_bucket", {"bucket": DATA_BUCKET}),
        ("aws_iam_role.r", "aws_iam_role", {"name_prefix": "x"}),
    )
    (tmp_path / "planned.json").write_text(json.dumps(planned), encoding="utf-8")
    failed = crash.write_lines(tmp_path / "failed", [BUCKET_EXISTS, ROLE_EXISTS])
    monkeypatch.setenv("FAKE_APPLY_FAILS", str(failed))
    monkeypatch.setenv("FAKE_PLANNED", str(tmp_path / "planned.json"))
    # WHEN the stack is applied
    notes: list[str] = []
    result = apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    # THEN the bucket is adopted and the stack applied again, the role left to that apply
    runs = [run.strip() for run in log.read_text().splitlines()]
    assert runs[-1] == 'apply {"import":[{"to":"aws_s3_bucket.data","id":"tap-data-dev"}]}'
    assert result.adopted == ["aws_s3_bucket.data"]
    assert notes[-1].endswith(
        "adopting them with import blocks (tap-data-dev); applying again; import ID not known "
        "yet, tried again after this apply: aws_iam_role.r"
    )


TO_S3 = "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE"


def _security_group_stack(session: Session, tmp_path: Path) -> tuple[str, Path]:
    """The rule of the recorded diagnostic in AWS, and a plan of it whose group and prefix list
    are the state's; returns the rule's ID and the ``show -json`` document's file."""
    ec2 = session.client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="lambda", Description="l", VpcId=vpc)["GroupId"]
    prefix_list = next(
        p["PrefixListId"]
        for p in ec2.describe_prefix_lists()["PrefixLists"]
        if p["PrefixListName"] == f"com.amazonaws.{REGION}.s3"
    )
    rule_id = ec2.authorize_security_group_egress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                        "PrefixListIds": [{"PrefixListId": prefix_list}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]  # fmt: skip
    rule = {
        "cidr_ipv4": None, "cidr_ipv6": None, "description": None, "from_port": 443,
        "ip_protocol": "tcp", "prefix_list_id": prefix_list, "referenced_security_group_id": None,
        "security_group_id": group, "tags": None, "tags_all": {}, "to_port": 443,
    }  # fmt: skip
    planned = crash.shown_plan(
        (TO_S3, "aws_vpc_security_group_egress_rule", rule),
        state=[("aws_security_group.Network_LambdaSecurityGroup_AAAA1111", "aws_security_group",
                {"id": group})],
    )  # fmt: skip
    shown = tmp_path / "planned.json"
    shown.write_text(json.dumps(planned), encoding="utf-8")
    return rule_id, shown


def test_a_duplicate_security_group_rule_is_adopted_by_its_id_found_with_the_plan(
    stack: tuple[Session, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a rule that exists, a plan that knows its group and peer, an apply answered Duplicate
    session, stack_dir, log = stack
    rule_id, shown = _security_group_stack(session, tmp_path)
    failed = crash.write_lines(tmp_path / "failed", [ui.VERSION, ui.EGRESS_RULE_DUPLICATE])
    monkeypatch.setenv("FAKE_APPLY_FAILS", str(failed))
    monkeypatch.setenv("FAKE_PLANNED", str(shown))
    # WHEN the stack is applied
    notes: list[str] = []
    result = apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    # THEN the rule was looked up in AWS and adopted by its sgr- ID
    runs = [run.strip() for run in log.read_text().splitlines()]
    assert runs == [
        "apply",
        "plan",
        "show",
        f'apply {{"import":[{{"to":"{TO_S3}","id":"{rule_id}"}}]}}',
    ]
    assert rule_id.startswith("sgr-")
    assert result.adopted == [TO_S3]
    assert any(f"adopting them with import blocks ({TO_S3})" in note for note in notes)


def test_a_plan_that_fails_leaves_the_rule_unadoptable_and_says_why(
    stack: tuple[Session, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, stack_dir, log = stack
    failed = crash.write_lines(tmp_path / "failed", [ui.EGRESS_RULE_DUPLICATE])
    plan_failed = ui.diagnostic("error", "Failed to load state", "AccessDenied: Access Denied", "")
    monkeypatch.setenv("FAKE_APPLY_FAILS", str(failed))
    monkeypatch.setenv(
        "FAKE_PLAN_FAILS", str(crash.write_lines(tmp_path / "plan", [ui.VERSION, plan_failed]))
    )
    notes: list[str] = []
    with pytest.raises(DeployError) as error:
        apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    assert f"{TO_S3}: InvalidPermission.Duplicate" in str(error.value)
    assert f"terraform -chdir={stack_dir} import {TO_S3} <ID>" in str(error.value)
    assert notes == [
        "tap-dev-r-1-app: could not plan the attributes of what exists (terraform plan: Failed "
        "to load state); their import IDs are not known"
    ]
    assert [run.strip() for run in log.read_text().splitlines()] == ["apply", "plan"]


def test_a_stale_import_file_is_removed_before_a_plan(stack: tuple[Session, Path, Path]) -> None:
    session, stack_dir, log = stack
    (stack_dir / ADOPT_FILE).write_text('{"import": []}', encoding="utf-8")
    assert plan_stack(session, stack_dir, out=io.StringIO())[0] == 0
    assert log.read_text().split() == ["plan"]
