"""tooling.lifecycle.holders: a state lock is broken automatically only when its holder is
provably gone; otherwise the user is told who holds it and what to run. Against moto's server,
and once with a real terraform killed with SIGKILL while it holds the lock."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.lifecycle import crash_support as crash
from tooling.lifecycle.holders import (
    HolderRecord,
    LockInfo,
    clear_holder,
    current_machine,
    holder_is_gone,
    locked_message,
    read_holder,
    read_lock,
    release_lock,
    released_message,
    runs_terraform,
    write_holder,
)
from tooling.terraform import terraform_binary, terraform_env

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"
KEY = "tap/dev/tap-dev-ap-southeast-1-app.tfstate"
HOST = "ci-runner-7"
STARTED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
MACHINE = "boot-1/pid:[4026531836]"


def _lock(**changes: Any) -> LockInfo:
    fields: dict[str, Any] = {
        "id": "8f5c-lock",
        "operation": "OperationTypeApply",
        "who": f"deployer@{HOST}",
        "version": "1.11.4",
        "created": "2026-03-01T12:00:02.123456789Z",
        "path": f"{crash.STATE_BUCKET}/{KEY}",
        "found_in": ("lock table", "S3 lock file"),
    }
    return LockInfo(**{**fields, **changes})


def _holder(**changes: Any) -> HolderRecord:
    fields: dict[str, Any] = {
        "host": HOST,
        "pid": 4242,
        "stack": "tap-dev-ap-southeast-1-app",
        "operation": "deploy",
        "started_at": STARTED.isoformat(),
        "machine": MACHINE,
    }
    return HolderRecord(**{**fields, **changes})


def _gone(lock: LockInfo, holder: HolderRecord | None, *, alive: bool = False) -> bool:
    return holder_is_gone(
        lock, holder, this_host=HOST, pid_runs_terraform=lambda pid: alive, this_machine=MACHINE
    )


# --------------------------------------------------------------------------- holder_is_gone


def test_gone_only_when_same_host_recorded_and_the_pid_runs_no_terraform() -> None:
    assert _gone(_lock(), _holder())
    assert not _gone(_lock(), _holder(), alive=True)


@pytest.mark.parametrize(
    ("lock", "holder", "why"),
    [
        (_lock(who="deployer@other-vm"), _holder(), "lock taken on another host"),
        (_lock(), _holder(host="other-vm"), "record of another host"),
        (_lock(), None, "no record: terraform run by hand or by another tool"),
        (_lock(), _holder(machine="boot-2/pid:[1]"), "same host name, another machine"),
        (_lock(created="2026-03-01T14:00:00Z"), _holder(), "lock taken long after that run"),
        (_lock(created="2026-03-01T11:00:00Z"), _holder(), "lock older than that run"),
        (_lock(created=""), _holder(), "no creation time"),
        (_lock(who="nobody"), _holder(), "no host in Who"),
    ],
)
def test_anything_else_is_never_broken_automatically(
    lock: LockInfo, holder: HolderRecord | None, why: str
) -> None:
    assert not _gone(lock, holder), why


def test_runs_terraform_sees_the_process_and_its_children(tmp_path: Path) -> None:
    fake = tmp_path / "terraform"
    fake.symlink_to(shutil.which("sleep") or "/bin/sleep")  # a process named terraform
    wrapper = subprocess.Popen(["/bin/sh", "-c", f"{fake} 30; true"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not runs_terraform(wrapper.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runs_terraform(wrapper.pid)  # a child of the recorded pid is terraform
    finally:
        os.killpg(wrapper.pid, signal.SIGKILL)  # the group this test started
        wrapper.wait()
    assert not runs_terraform(wrapper.pid)  # gone
    sleeper = subprocess.Popen(["sleep", "30"])  # a reused pid running something else
    try:
        assert not runs_terraform(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_provider_server_is_no_terraform(tmp_path: Path) -> None:
    # The provider servers ./tap keeps for the local target are its children, holding no lock.
    fake = tmp_path / "terraform-provider-aws_v5.100.0_x5"
    fake.symlink_to(shutil.which("sleep") or "/bin/sleep")
    server = subprocess.Popen([str(fake), "30"])
    try:
        assert not runs_terraform(server.pid)
        assert not runs_terraform(os.getpid())  # this process, its parent
    finally:
        server.kill()
        server.wait()


def test_a_terraform_that_exited_runs_no_terraform_before_it_is_reaped(tmp_path: Path) -> None:
    fake = tmp_path / "terraform"
    fake.symlink_to(shutil.which("true") or "/bin/true")  # a process named terraform
    exited = subprocess.Popen([str(fake)])
    os.waitid(os.P_PID, exited.pid, os.WEXITED | os.WNOWAIT)  # a zombie: exited, not reaped
    try:
        assert not runs_terraform(exited.pid)
    finally:
        exited.wait()


def test_current_machine_names_boot_and_pid_namespace() -> None:
    boot, _, namespace = current_machine().partition("/")
    assert len(boot) == 36 and namespace.startswith("pid:[")


# --------------------------------------------------------------------------- messages


def test_locked_message_says_who_where_since_when_and_what_to_run() -> None:
    now = datetime(2026, 3, 1, 12, 47, 3, tzinfo=UTC)
    text = locked_message("tap-dev-ap-southeast-1-app", _lock(), _holder(), now=now)
    assert "the state of tap-dev-ap-southeast-1-app is locked (lock 8f5c-lock" in text
    assert f"held by deployer@{HOST} on {HOST}, pid 4242, running deploy (terraform apply)" in text
    assert "taken at 2026-03-01 12:00:02 UTC (47 min ago)" in text
    assert text.endswith("./tap unlock --stack tap-dev-ap-southeast-1-app --lock-id 8f5c-lock")
    unknown = locked_message("s", _lock(who="alice@laptop"), None, now=now)
    assert "alice@laptop on laptop, pid unknown (no ./tap run recorded it" in unknown


def test_released_message() -> None:
    now = datetime(2026, 3, 1, 12, 0, 33, tzinfo=UTC)
    assert released_message("app", _lock(), _holder(), now=now) == (
        f"released the state lock 8f5c-lock of app: its holder deployer@{HOST} pid 4242 on "
        f"{HOST} is gone (taken at 2026-03-01 12:00:02 UTC (30 s ago))"
    )


# --------------------------------------------------------------------------- storage


@pytest.fixture
def state(endpoint: str) -> tuple[Any, Any, dict[str, Any]]:
    """A reset moto server with the state bucket and lock table: (dynamodb, s3, backend)."""
    reset_moto(endpoint)
    crash.create_backend(endpoint, REGION)
    return (
        crash.client(endpoint, "dynamodb", REGION),
        crash.client(endpoint, "s3", REGION),
        crash.backend(endpoint, KEY, REGION),
    )


def _take(dynamodb: Any, s3: Any, lock_id: str, *, table: bool = True, file: bool = True) -> None:
    info = json.dumps(
        {
            "ID": lock_id,
            "Operation": "OperationTypeApply",
            "Who": f"deployer@{HOST}",
            "Version": "1.11.4",
            "Created": "2026-03-01T12:00:02.123456789Z",
            "Path": f"{crash.STATE_BUCKET}/{KEY}",
            "Info": "",
        }
    )
    if table:
        dynamodb.put_item(
            TableName=crash.LOCK_TABLE,
            Item={"LockID": {"S": f"{crash.STATE_BUCKET}/{KEY}"}, "Info": {"S": info}},
        )
    if file:
        s3.put_object(Bucket=crash.STATE_BUCKET, Key=f"{KEY}.tflock", Body=info.encode())


def test_holder_records_round_trip(state: tuple[Any, Any, dict[str, Any]]) -> None:
    _, s3, _ = state
    assert read_holder(s3, crash.STATE_BUCKET, KEY) is None
    mine = HolderRecord.for_this_process("app", "deploy")
    write_holder(s3, crash.STATE_BUCKET, KEY, mine)
    assert read_holder(s3, crash.STATE_BUCKET, KEY) == mine
    stored = s3.get_object(Bucket=crash.STATE_BUCKET, Key=f"{KEY}.tap-holder")["Body"].read()
    assert json.loads(stored)["pid"] == os.getpid()
    assert not clear_holder(s3, crash.STATE_BUCKET, KEY, record=_holder())  # not ours
    assert clear_holder(s3, crash.STATE_BUCKET, KEY, record=mine)
    assert read_holder(s3, crash.STATE_BUCKET, KEY) is None
    s3.put_object(Bucket=crash.STATE_BUCKET, Key=f"{KEY}.tap-holder", Body=b"{not json")
    assert read_holder(s3, crash.STATE_BUCKET, KEY) is None


def test_read_lock_from_either_place(state: tuple[Any, Any, dict[str, Any]]) -> None:
    dynamodb, s3, backend = state
    assert read_lock(dynamodb, s3, backend) is None
    _take(dynamodb, s3, "only-file", table=False)
    found = read_lock(dynamodb, s3, backend)
    assert found is not None and found.id == "only-file" and found.found_in == ("S3 lock file",)
    assert found.host == HOST and found.created_at == datetime(
        2026, 3, 1, 12, 0, 2, 123456, tzinfo=UTC
    )
    s3.delete_object(Bucket=crash.STATE_BUCKET, Key=f"{KEY}.tflock")
    _take(dynamodb, s3, "only-table", file=False)
    found = read_lock(dynamodb, s3, backend)
    assert found is not None and found.id == "only-table" and found.found_in == ("lock table",)
    _take(dynamodb, s3, "both")
    found = read_lock(dynamodb, s3, backend)
    assert found is not None and found.found_in == ("lock table", "S3 lock file")


def test_release_removes_exactly_that_lock(state: tuple[Any, Any, dict[str, Any]]) -> None:
    dynamodb, s3, backend = state
    _take(dynamodb, s3, "newer-lock")
    write_holder(s3, crash.STATE_BUCKET, KEY, _holder())
    assert release_lock(dynamodb, s3, backend, "stale-lock") == []  # taken over meanwhile
    still = read_lock(dynamodb, s3, backend)
    assert still is not None and still.id == "newer-lock"
    assert release_lock(dynamodb, s3, backend, "newer-lock") == ["lock table", "S3 lock file"]
    assert read_lock(dynamodb, s3, backend) is None
    assert read_holder(s3, crash.STATE_BUCKET, KEY) is None


# --------------------------------------------------------------------------- a real crash


def test_a_terraform_killed_with_sigkill_leaves_a_lock_proved_stale_and_released(
    state: tuple[Any, Any, dict[str, Any]],
    endpoint: str,
    terraform_repo: Path,
    tmp_path: Path,
) -> None:
    """terraform apply holds the lock (lock table and S3 lock file) while a provisioner runs;
    it is killed with SIGKILL: the lock stays, is proved stale, released, and the next plan
    runs. No provider is needed: the S3 backend and ``terraform_data`` are built in."""
    dynamodb, s3, backend = state
    stack_dir = tmp_path / "app"
    crash.write_config(
        stack_dir,
        {
            "terraform": {"backend": {"s3": backend}},
            "resource": {
                "terraform_data": {
                    "slow": {"provisioner": [{"local-exec": {"command": "sleep 120"}}]}
                }
            },
        },
    )
    init = crash.terraform(["init", "-input=false"], stack_dir, terraform_repo, REGION)
    assert init.returncode == 0, init.stderr
    env = terraform_env(terraform_repo)
    env.update(crash.aws_env(REGION))
    record = HolderRecord.for_this_process("app", "deploy")
    write_holder(s3, crash.STATE_BUCKET, KEY, record)  # before terraform starts, our own pid
    apply = subprocess.Popen(
        [terraform_binary(env), "apply", "-auto-approve", "-input=false", "-no-color"],
        cwd=stack_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert apply.stdout is not None
        for line in apply.stdout:
            if "Provisioning with 'local-exec'" in line:
                break
        lock = read_lock(dynamodb, s3, backend)
        assert lock is not None and lock.found_in == ("lock table", "S3 lock file")
        live = holder_is_gone(lock, read_holder(s3, crash.STATE_BUCKET, KEY), this_host=lock.host)
        assert not live  # this process's child runs terraform: never broken
        os.killpg(apply.pid, signal.SIGKILL)  # terraform and its sleep, like an OOM kill
        apply.wait()
    finally:
        if apply.poll() is None:
            os.killpg(apply.pid, signal.SIGKILL)
            apply.wait()

    lock = read_lock(dynamodb, s3, backend)
    assert lock is not None  # terraform had no chance to release it
    blocked = crash.terraform(["plan", "-input=false"], stack_dir, terraform_repo, REGION)
    assert blocked.returncode != 0 and "Error acquiring the state lock" in blocked.stderr
    holder = read_holder(s3, crash.STATE_BUCKET, KEY)
    assert holder == record
    assert lock.host == socket.gethostname()
    assert holder_is_gone(lock, holder, this_host=socket.gethostname())
    assert release_lock(dynamodb, s3, backend, lock.id) == ["lock table", "S3 lock file"]
    assert "is gone" in released_message("app", lock, holder)
    plan = crash.terraform(["plan", "-input=false"], stack_dir, terraform_repo, REGION)
    assert plan.returncode == 0, plan.stderr
    assert read_holder(s3, crash.STATE_BUCKET, KEY) is None


def test_a_lock_of_a_run_not_recorded_is_left_to_the_user() -> None:
    lock = _lock(created=(STARTED + timedelta(hours=3)).isoformat())
    assert not _gone(lock, _holder())
    assert "./tap unlock --stack app --lock-id 8f5c-lock" in locked_message("app", lock, _holder())
