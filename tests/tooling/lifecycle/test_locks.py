"""tooling.lifecycle.locks: orphaned state locks of the local target, on an in-process moto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tooling.lifecycle.backend import BackendSpec, StateBucket
from tooling.lifecycle.locks import (
    LOCK_FAILURE,
    S3_ONLY_GRACE_SECONDS,
    backend_of,
    lock_holders,
    recover_orphaned_lock,
    with_lock_recovery,
)
from tooling.lifecycle.session import Session

BUCKET = "tap-terraform-state-dev"
SPEC = BackendSpec(
    lock_table="tap-terraform-locks",
    region="ap-southeast-1",
    platform="tap",
    cost_center="CC-1",
    state_buckets=(StateBucket("dev", BUCKET, f"alias/{BUCKET}"),),
)

LOCK_KEY = "tap/dev/stack.tfstate"


@pytest.fixture
def locked(endpoint: str, tmp_path: Path) -> tuple[Session, Path]:
    """A local session on a reset moto, the state bucket and lock table, and a stack using them."""
    from tests.tooling.conftest import fresh_local_session

    session = fresh_local_session(endpoint, tmp_path)
    region = SPEC.region
    session.client("s3", region).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region}
    )
    session.client("dynamodb", region).create_table(
        TableName=SPEC.lock_table,
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    stack_dir = tmp_path / "stack"
    stack_dir.mkdir()
    backend = {
        "bucket": BUCKET, "key": LOCK_KEY, "region": region,
        "dynamodb_table": SPEC.lock_table, "use_lockfile": True,
    }  # fmt: skip
    (stack_dir / "cdk.tf.json").write_text(
        json.dumps({"terraform": {"backend": {"s3": backend}}}), encoding="utf-8"
    )
    return session, stack_dir


def _lock_in_table(session: Session, lock_id: str) -> None:
    info = json.dumps({"ID": lock_id, "Operation": "OperationTypeApply", "Who": "root@vm"})
    session.client("dynamodb", SPEC.region).put_item(
        TableName=SPEC.lock_table,
        Item={"LockID": {"S": f"{BUCKET}/{LOCK_KEY}"}, "Info": {"S": info}},
    )


def _lock_file(session: Session, lock_id: str) -> None:
    session.client("s3", SPEC.region).put_object(
        Bucket=BUCKET, Key=f"{LOCK_KEY}.tflock", Body=json.dumps({"ID": lock_id}).encode()
    )


def test_a_lock_item_without_lock_file_is_released(locked: tuple[Session, Path]) -> None:
    session, stack_dir = locked
    _lock_in_table(session, "orphan-1")
    note = recover_orphaned_lock(session, stack_dir)
    assert note is not None and "orphan-1" in note and "lock table only" in note
    assert lock_holders(session, backend_of(stack_dir)) == (None, None)


def test_a_lock_held_in_both_places_is_left_alone(locked: tuple[Session, Path]) -> None:
    session, stack_dir = locked
    _lock_file(session, "live-1")
    _lock_in_table(session, "live-1")
    assert recover_orphaned_lock(session, stack_dir) is None
    assert lock_holders(session, backend_of(stack_dir)) == ("live-1", "live-1")


def test_a_lock_file_alone_is_released_only_after_the_grace_time(
    locked: tuple[Session, Path],
) -> None:
    session, stack_dir = locked
    _lock_file(session, "orphan-2")
    calls: list[float] = []

    def sleep(seconds: float) -> None:  # a live terraform takes the table lock meanwhile
        calls.append(seconds)
        _lock_in_table(session, "orphan-2")

    assert recover_orphaned_lock(session, stack_dir, sleep=sleep) is None
    assert calls == [S3_ONLY_GRACE_SECONDS]
    session.client("dynamodb", SPEC.region).delete_item(
        TableName=SPEC.lock_table, Key={"LockID": {"S": f"{BUCKET}/{LOCK_KEY}"}}
    )
    note = recover_orphaned_lock(session, stack_dir, sleep=lambda seconds: None)
    assert note is not None and "S3 lock file only" in note
    assert lock_holders(session, backend_of(stack_dir)) == (None, None)


def test_never_for_the_aws_target(locked: tuple[Session, Path]) -> None:
    session, stack_dir = locked
    _lock_in_table(session, "orphan-3")
    aws = Session(root=session.root, target="aws")
    assert recover_orphaned_lock(aws, stack_dir) is None


def test_terraform_runs_again_once_after_a_release(
    locked: tuple[Session, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    session, stack_dir = locked
    _lock_in_table(session, "orphan-4")
    answers = iter([(1, f"{LOCK_FAILURE}\nConditionalCheckFailedException"), (0, "ok")])
    assert with_lock_recovery(session, stack_dir, sys.stdout, lambda: next(answers)) == 0
    assert "released the orphaned state lock orphan-4" in capsys.readouterr().out
    # a lock someone really holds is not released: the failure stands
    _lock_file(session, "live-2")
    _lock_in_table(session, "live-2")
    runs: list[int] = []

    def refused() -> tuple[int, str]:
        runs.append(1)
        return 1, LOCK_FAILURE

    assert with_lock_recovery(session, stack_dir, sys.stdout, refused) == 1
    assert runs == [1]
