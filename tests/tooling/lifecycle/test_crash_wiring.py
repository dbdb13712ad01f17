"""The crash-safety wiring of tooling.lifecycle.runs, on an in-process moto with a fake terraform:
the holder record around a run, a stale lock of a dead holder released, a live or foreign one
refused with the unlock command (and ``unlock``), and adoption of what an interrupted apply left
outside the state (apply fails with "already exists" -> import blocks -> apply again)."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.tooling.lifecycle import crash_support as crash
from tooling.lifecycle import holders
from tooling.lifecycle.adoption import ADOPT_FILE
from tooling.lifecycle.interrupts import EmulatorWatchdog, Stopper
from tooling.lifecycle.locks import backend_of, unlock
from tooling.lifecycle.runs import apply_stack, plan_stack
from tooling.lifecycle.session import DeployError, Session

BUCKET = "tap-terraform-state-store"
TABLE = "tap-terraform-locks"
REGION = "ap-southeast-1"
KEY = "tap/dev/tap-dev-r-1-app.tfstate"
DATA_BUCKET = "tap-data-dev"

FAKE = """#!/bin/sh
# Records each run (and the import blocks it saw); fails like the aws provider when told to.
dir="$(pwd)"
echo "$1 $(cat "$dir/tap-adopt.tf.json" 2>/dev/null | tr -d ' \\n')" >> "$FAKE_LOG"
if [ "$1" = "apply" ] && [ -n "$FAKE_EXISTS" ] && [ ! -f "$dir/tap-adopt.tf.json" ]; then
  cat <<'EOF'
aws_sqs_queue.q: Creation complete after 1s [id=q]
Error: creating S3 Bucket (tap-data-dev): operation error S3: CreateBucket, https response \
error StatusCode: 409, RequestID: 1, BucketAlreadyOwnedByYou:

  with aws_s3_bucket.data,
  on cdk.tf.json line 12, in resource.aws_s3_bucket.data:

EOF
  exit 1
fi
if [ "$1" = "apply" ] && [ -n "$FAKE_SG_DUPLICATE" ] && [ ! -f "$dir/tap-adopt.tf.json" ]; then
  cat <<'EOF'
@SG_RULE_DUPLICATE@
EOF
  exit 1
fi
if [ "$1" = "apply" ] && [ -n "$FAKE_GONE" ] && [ ! -f "$dir/.gone-once" ]; then
  touch "$dir/.gone-once"
  cat <<'EOF'
@DEFAULT_SG_RULE_GONE@
EOF
  exit 1
fi
if [ "$1 $2" = "state pull" ] && [ -n "$FAKE_STATE" ]; then
  cat "$FAKE_STATE"
  exit 0
fi
if [ "$1 $2" = "state pull" ] && [ -n "$FAKE_STATE_FAILS" ]; then
  echo "Error: Failed to load state: AccessDenied" >&2
  exit 1
fi
if [ "$1" = "apply" ] && [ -n "$FAKE_UNKNOWN" ]; then
  cat <<'EOF'
Error: creating IAM Role (x): EntityAlreadyExists: Role with name x already exists.

  with aws_iam_role.r,
  on cdk.tf.json line 30, in resource.aws_iam_role.r:

EOF
  exit 1
fi
case "$1" in
apply) echo "Apply complete! Resources: 1 added, 0 changed, 0 destroyed." ;;
plan) echo "No changes."; exit 0 ;;
esac
"""
#: The real diagnostic of a lost security group rule create (crash_support).
FAKE = FAKE.replace("@SG_RULE_DUPLICATE@", crash.SG_RULE_DUPLICATE.rstrip("\n"))
FAKE = FAKE.replace("@DEFAULT_SG_RULE_GONE@", crash.DEFAULT_SG_RULE_GONE.rstrip("\n"))


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
    monkeypatch.setenv("TAP_TERRAFORM", str(fake))
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.delenv("TAP_TF_PROVIDER_MIRROR", raising=False)
    for name in (
        "FAKE_EXISTS",
        "FAKE_GONE",
        "FAKE_UNKNOWN",
        "FAKE_SG_DUPLICATE",
        "FAKE_STATE",
        "FAKE_STATE_FAILS",
    ):
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


def test_an_apply_that_finds_existing_resources_adopts_them_and_applies_again(
    stack: tuple[Session, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, stack_dir, log = stack
    monkeypatch.setenv("FAKE_EXISTS", "1")
    notes: list[str] = []
    result = apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    runs = [run.strip() for run in log.read_text().splitlines()]
    assert runs == [
        "apply",
        "state",  # state pull: the attributes of what exists (none here: an empty state)
        'apply {"import":[{"to":"aws_s3_bucket.data","id":"tap-data-dev"}]}',
    ]
    assert result.adopted == ["aws_s3_bucket.data"] and result.added == 1
    assert any("adopting them with import blocks (tap-data-dev)" in note for note in notes)
    assert not (stack_dir / ADOPT_FILE).exists()  # the blocks never outlive the adoption


def test_an_apply_that_repeated_a_removal_already_done_applies_again_once(
    stack: tuple[Session, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an apply failing because a retried revoke found its rule already revoked (the
    emulator lost the first response) WHEN apply_stack runs THEN it says so and applies again,
    which converges; nothing is imported."""
    session, stack_dir, log = stack
    monkeypatch.setenv("FAKE_GONE", "1")
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
    stack: tuple[Session, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, stack_dir, _ = stack
    monkeypatch.setenv("FAKE_UNKNOWN", "1")
    with pytest.raises(DeployError) as error:
        apply_stack(session, stack_dir, out=io.StringIO())
    message = str(error.value)
    assert "aws_iam_role.r (x): EntityAlreadyExists" in message
    assert f"terraform -chdir={stack_dir} import aws_iam_role.r <ID>" in message


TO_S3 = "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE"


def _security_group_stack(session: Session, stack_dir: Path, tmp_path: Path) -> tuple[str, Path]:
    """The rule of the CI log in AWS and in the stack's configuration, its group and endpoint
    in a state file for the fake's ``state pull``; returns the rule's ID and the state file."""
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
    config = stack_dir / "cdk.tf.json"
    document = json.loads(config.read_text(encoding="utf-8"))
    document["resource"]["aws_vpc_security_group_egress_rule"] = {
        "Network_LambdaToS3_136841EE": {
            "from_port": 443, "ip_protocol": "tcp", "to_port": 443,
            "prefix_list_id": (
                "${aws_vpc_endpoint.Network_S3GatewayEndpoint_BBBB2222.prefix_list_id}"
            ),
            "security_group_id": "${aws_security_group.Network_LambdaSecurityGroup_AAAA1111.id}",
        }
    }  # fmt: skip
    config.write_text(json.dumps(document), encoding="utf-8")
    state = {
        "version": 4,
        "resources": [
            {"mode": "managed", "type": "aws_security_group",
             "name": "Network_LambdaSecurityGroup_AAAA1111",
             "instances": [{"schema_version": 1, "attributes": {"id": group}}]},
            {"mode": "managed", "type": "aws_vpc_endpoint",
             "name": "Network_S3GatewayEndpoint_BBBB2222",
             "instances": [{"schema_version": 0,
                            "attributes": {"id": "vpce-1", "prefix_list_id": prefix_list}}]},
        ],
    }  # fmt: skip
    state_file = tmp_path / "pulled.tfstate"
    state_file.write_text(json.dumps(state), encoding="utf-8")
    return rule_id, state_file


def test_a_duplicate_security_group_rule_is_adopted_by_its_id_found_with_the_state(
    stack: tuple[Session, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a rule that exists, its group and endpoint in the state, an apply answered Duplicate
    session, stack_dir, log = stack
    rule_id, state_file = _security_group_stack(session, stack_dir, tmp_path)
    monkeypatch.setenv("FAKE_SG_DUPLICATE", "1")
    monkeypatch.setenv("FAKE_STATE", str(state_file))
    # WHEN the stack is applied
    notes: list[str] = []
    result = apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    # THEN the state was read and the rule adopted by its sgr- ID
    runs = [run.strip() for run in log.read_text().splitlines()]
    assert runs == ["apply", "state", f'apply {{"import":[{{"to":"{TO_S3}","id":"{rule_id}"}}]}}']
    assert rule_id.startswith("sgr-")
    assert result.adopted == [TO_S3]
    assert any(f"adopting them with import blocks ({TO_S3})" in note for note in notes)


def test_a_state_that_cannot_be_read_leaves_the_rule_unadoptable_and_says_why(
    stack: tuple[Session, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, stack_dir, _ = stack
    _security_group_stack(session, stack_dir, tmp_path)
    monkeypatch.setenv("FAKE_SG_DUPLICATE", "1")
    monkeypatch.setenv("FAKE_STATE_FAILS", "1")
    notes: list[str] = []
    with pytest.raises(DeployError) as error:
        apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    assert f"{TO_S3}: InvalidPermission.Duplicate" in str(error.value)
    assert f"terraform -chdir={stack_dir} import {TO_S3} <ID>" in str(error.value)
    assert notes == [
        "tap-dev-r-1-app: could not read the state (terraform state pull: Error: Failed to load "
        "state: AccessDenied); import IDs are computed from the configuration alone"
    ]


def test_a_stale_import_file_is_removed_before_a_plan(stack: tuple[Session, Path, Path]) -> None:
    session, stack_dir, log = stack
    (stack_dir / ADOPT_FILE).write_text('{"import": []}', encoding="utf-8")
    assert plan_stack(session, stack_dir, out=io.StringIO())[0] == 0
    assert log.read_text().split() == ["plan"]


# --------------------------------------------------------------------------- watchdog


def test_the_watchdog_stops_within_seconds_when_the_pid_is_gone(tmp_path: Path) -> None:
    stopper = Stopper()
    alive = {"yes": True}
    watchdog = EmulatorWatchdog(
        pid=4242,
        port=1,
        log=".emulator/moto.log",
        stopper=stopper,
        interval=0.05,
        alive=lambda pid: alive["yes"],
        answering=lambda port: 4242,
    )
    with watchdog:
        time.sleep(0.3)
        assert not stopper.stop.is_set()
        alive["yes"] = False
        assert stopper.stop.wait(2)
    assert stopper.kill.is_set() and watchdog.tripped
    assert stopper.reason == (
        "the local emulator (pid 4242) stopped during the deploy; see .emulator/moto.log; "
        "run ./tap deploy again"
    )


def test_the_watchdog_tolerates_a_few_slow_answers(tmp_path: Path) -> None:
    stopper = Stopper()
    answers = iter([None, None, 7, None, None, None])
    watchdog = EmulatorWatchdog(
        pid=7, port=1, log="x", stopper=stopper, interval=0.02, misses=3,
        alive=lambda pid: True, answering=lambda port: next(answers, None),
    )  # fmt: skip
    with watchdog:
        assert stopper.stop.wait(2)
    assert watchdog.tripped  # after three misses in a row, not after the first two


def test_a_terraform_started_by_us_dies_with_us(tmp_path: Path) -> None:
    """A killed ./tap never leaves its terraform running (Linux): its lock is then provably
    abandoned by the time the next run looks at it."""
    script = (
        "import subprocess, sys, time\n"
        "from tooling.terraform import _popen_options\n"
        "p = subprocess.Popen(['sleep', '60'], **_popen_options())\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    root = Path(__file__).resolve().parents[3]
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
