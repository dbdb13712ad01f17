"""tooling.lifecycle.state_lock: where terraform's S3 backend keeps a state's lock, and a release
that removes exactly one lock ID, against moto's server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.lifecycle import crash_support as crash
from tooling.lifecycle.state_lock import LockInfo, StateLock

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"
KEY = "tap/dev/tap-dev-ap-southeast-1-app.tfstate"
#: The lock item's key and the lock file's key, as terraform's S3 backend writes them.
ITEM_KEY = {"LockID": {"S": f"tap-terraform-state-store/{KEY}"}}
FILE_KEY = f"{KEY}.tflock"


def _info(lock_id: str) -> str:
    """Terraform's lock info as it marshals it (Go's encoding/json: no spaces)."""
    return json.dumps(
        {
            "ID": lock_id,
            "Operation": "OperationTypeApply",
            "Info": "",
            "Who": "deployer@ci-runner-7",
            "Version": "1.11.4",
            "Created": "2026-03-01T12:00:02.123456789Z",
            "Path": f"tap-terraform-state-store/{KEY}",
        },
        separators=(",", ":"),
    )


@pytest.fixture
def state(endpoint: str) -> tuple[Any, Any, StateLock]:
    """A reset moto server with the state bucket and lock table: (dynamodb, s3, lock)."""
    reset_moto(endpoint)
    crash.create_backend(endpoint, REGION)
    lock = StateLock.from_backend(crash.backend(endpoint, KEY, REGION))
    assert lock is not None
    return crash.client(endpoint, "dynamodb", REGION), crash.client(endpoint, "s3", REGION), lock


def _take(dynamodb: Any, s3: Any, lock_id: str, *, table: bool = True, file: bool = True) -> None:
    """Lock the state as terraform does: the item ``ITEM_KEY`` and the object ``FILE_KEY``."""
    if table:
        dynamodb.put_item(
            TableName=crash.LOCK_TABLE, Item={**ITEM_KEY, "Info": {"S": _info(lock_id)}}
        )
    if file:
        s3.put_object(Bucket=crash.STATE_BUCKET, Key=FILE_KEY, Body=_info(lock_id).encode())


def _stored(dynamodb: Any, s3: Any) -> tuple[str | None, str | None]:
    """The lock IDs stored under the literal keys, read without :class:`StateLock`."""
    item = dynamodb.get_item(TableName=crash.LOCK_TABLE, Key=ITEM_KEY).get("Item")
    in_table = json.loads(item["Info"]["S"])["ID"] if item else None
    listed = s3.list_objects_v2(Bucket=crash.STATE_BUCKET, Prefix=FILE_KEY).get("Contents", [])
    if not listed:
        return in_table, None
    body = s3.get_object(Bucket=crash.STATE_BUCKET, Key=FILE_KEY)["Body"].read()
    return in_table, json.loads(body)["ID"]


# --------------------------------------------------------------------------- where


def test_built_from_the_backend_block_of_a_stack() -> None:
    lock = StateLock.from_backend(
        {
            "bucket": "tap-terraform-state-store",
            "key": KEY,
            "region": REGION,
            "dynamodb_table": "tap-terraform-locks",
            "use_lockfile": True,
            "encrypt": True,
        }
    )
    assert lock == StateLock(
        bucket="tap-terraform-state-store",
        key=KEY,
        table="tap-terraform-locks",
        use_lockfile=True,
        region=REGION,
    )
    assert lock.item_key == ITEM_KEY
    assert lock.file_key == FILE_KEY
    assert StateLock.from_backend({"bucket": "b"}) is None  # no state: nothing to lock
    assert StateLock.from_backend({}) is None
    bare = StateLock.from_backend({"bucket": "b", "key": "k"})
    assert bare == StateLock(bucket="b", key="k", table="", use_lockfile=False, region="us-east-1")


def test_reads_the_lock_where_terraform_keeps_it(state: tuple[Any, Any, StateLock]) -> None:
    dynamodb, s3, lock = state
    assert lock.read(dynamodb, s3) is None
    assert lock.holders(dynamodb, s3) == (None, None)
    _take(dynamodb, s3, "only-table", file=False)
    assert lock.holders(dynamodb, s3) == ("only-table", None)
    assert lock.in_table(dynamodb) == LockInfo(
        id="only-table",
        operation="OperationTypeApply",
        who="deployer@ci-runner-7",
        version="1.11.4",
        created="2026-03-01T12:00:02.123456789Z",
        path=f"tap-terraform-state-store/{KEY}",
        found_in=("lock table",),
    )
    _take(dynamodb, s3, "both")
    held = lock.read(dynamodb, s3)
    assert held is not None and held.id == "both"
    assert held.found_in == ("lock table", "S3 lock file")
    _take(dynamodb, s3, "another", file=False)  # the table's lock wins when they differ
    held = lock.read(dynamodb, s3)
    assert held is not None and (held.id, held.found_in) == ("another", ("lock table",))


def test_a_table_less_backend_reads_only_the_lock_file(state: tuple[Any, Any, StateLock]) -> None:
    dynamodb, s3, lock = state
    file_only = StateLock(bucket=lock.bucket, key=lock.key, use_lockfile=True, region=REGION)
    _take(dynamodb, s3, "in-table", file=False)
    assert file_only.holders(dynamodb, s3) == (None, None)
    _take(dynamodb, s3, "in-file", table=False)
    assert file_only.holders(dynamodb, s3) == (None, "in-file")


# --------------------------------------------------------------------------- release


def test_release_removes_exactly_that_lock_id(state: tuple[Any, Any, StateLock]) -> None:
    dynamodb, s3, lock = state
    _take(dynamodb, s3, "lock-10")
    # "lock-1" is part of "lock-10" and of its Info: still another lock, left alone.
    assert lock.release(dynamodb, s3, "lock-1") == []
    assert _stored(dynamodb, s3) == ("lock-10", "lock-10")
    assert lock.release(dynamodb, s3, "lock-10") == ["lock table", "S3 lock file"]
    assert _stored(dynamodb, s3) == (None, None)
    assert lock.release(dynamodb, s3, "lock-10") == []  # nothing left to release


def test_release_where_the_id_is_held(state: tuple[Any, Any, StateLock]) -> None:
    dynamodb, s3, lock = state
    _take(dynamodb, s3, "table-lock", file=False)
    _take(dynamodb, s3, "file-lock", table=False)
    assert lock.release(dynamodb, s3, "file-lock") == ["S3 lock file"]
    assert _stored(dynamodb, s3) == ("table-lock", None)


class _TakenOverBeforeDelete:
    """A client whose deletes first run ``meanwhile`` (another terraform takes the lock, or
    releases it): the lock read before the delete is not the one stored when it arrives."""

    def __init__(self, client: Any, meanwhile: Callable[[], object]) -> None:
        self._client, self._meanwhile = client, meanwhile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def delete_item(self, **request: Any) -> Any:
        self._meanwhile()
        return self._client.delete_item(**request)

    def delete_object(self, **request: Any) -> Any:
        self._meanwhile()
        return self._client.delete_object(**request)


def test_a_lock_taken_between_read_and_delete_stays(state: tuple[Any, Any, StateLock]) -> None:
    """The deletes are conditional: DynamoDB on the exact ``Info`` read, S3 on the ETag read
    (If-Match). Unconditional deletes would remove the newer lock of a live terraform."""
    dynamodb, s3, lock = state
    _take(dynamodb, s3, "stale")
    racing_table = _TakenOverBeforeDelete(dynamodb, lambda: _take(dynamodb, s3, "new", file=False))
    racing_file = _TakenOverBeforeDelete(s3, lambda: _take(dynamodb, s3, "new", table=False))

    assert lock.release(racing_table, racing_file, "stale") == []
    assert _stored(dynamodb, s3) == ("new", "new")


def test_a_lock_file_deleted_meanwhile_is_not_an_error(state: tuple[Any, Any, StateLock]) -> None:
    dynamodb, s3, lock = state
    _take(dynamodb, s3, "going", table=False)
    vanishing = _TakenOverBeforeDelete(
        s3, lambda: s3.delete_object(Bucket=crash.STATE_BUCKET, Key=FILE_KEY)
    )
    assert lock.release(dynamodb, vanishing, "going") == []
    assert _stored(dynamodb, s3) == (None, None)
