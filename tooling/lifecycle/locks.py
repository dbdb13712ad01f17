"""State locks: who holds them, which are provably abandoned, and the run tried once more.

Two kinds of stale lock are released automatically, everything else is left to a person:

* a lock whose holder is provably gone (:mod:`.holders`): every run of terraform by ``./tap``
  records its host and pid next to the state (:func:`holding`) before terraform starts, so the
  next run can prove that a crashed run's terraform no longer runs (:func:`check_lock`). Any
  other lock fails the run with :func:`.holders.locked_message`, naming the holder and the
  ``./tap unlock --stack S --lock-id ID`` command (:func:`unlock`);
* an orphan of the local target, below.

Seen with the emulator under load: the AWS SDK inside terraform loses the response to its lock
request on the way back from moto's development server and retries it; the retry fails against
the lock its first attempt took, and that lock stays behind with no terraform holding it
(docs/emulator.md). Only such an orphan is released, and never on real AWS.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from tooling.emulator import process as emulator_mod
from tooling.lifecycle import holders
from tooling.lifecycle.session import DeployError, Session

__all__ = [
    "LOCK_FAILURE",
    "S3_ONLY_GRACE_SECONDS",
    "backend_of",
    "check_lock",
    "holding",
    "lock_holders",
    "locked_error",
    "recover_orphaned_lock",
    "unlock",
    "with_lock_recovery",
]

#: What terraform prints when it cannot take a state lock.
LOCK_FAILURE = "Error acquiring the state lock"
#: How long a state lock held only in S3 must stay so (same lock ID) to count as orphaned: a
#: live terraform takes the DynamoDB lock milliseconds after the S3 lock file.
S3_ONLY_GRACE_SECONDS = 3.0
#: Exit codes of a run that succeeded (``plan -detailed-exitcode`` exits 2 on changes).
_SUCCEEDED = (0, 2)


def backend_of(stack_dir: Path) -> Mapping[str, Any]:
    """The S3 backend block of the stack in ``stack_dir`` ({} when it has none)."""
    try:
        document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    backend = ((document.get("terraform") or {}).get("backend") or {}).get("s3") or {}
    return backend if isinstance(backend, dict) else {}


def lock_holders(session: Session, backend: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The lock IDs in the DynamoDB lock item and in the S3 lock file (None: not there)."""
    from botocore.exceptions import ClientError

    region = str(backend.get("region") or emulator_mod.DEFAULT_REGION)
    bucket, key, table = backend["bucket"], backend["key"], backend["dynamodb_table"]
    item = (
        session.client("dynamodb", region)
        .get_item(TableName=table, Key={"LockID": {"S": f"{bucket}/{key}"}}, ConsistentRead=True)
        .get("Item", {})
    )
    in_table = json.loads(item["Info"]["S"]).get("ID") if "Info" in item else None
    try:
        body = session.client("s3", region).get_object(Bucket=bucket, Key=f"{key}.tflock")
        in_file = json.loads(body["Body"].read()).get("ID")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        in_file = None
    return in_table, in_file


def recover_orphaned_lock(
    session: Session, stack_dir: Path, *, sleep: Callable[[float], None] = time.sleep
) -> str | None:
    """Release a state lock no terraform process holds (local target only); say what was done.

    A retried DynamoDB ``PutItem`` (``attribute_not_exists(LockID)``) fails against the item the
    first attempt wrote, terraform gives up ("Error acquiring the state lock",
    ConditionalCheckFailedException) and the item stays: every later command is locked out.
    With ``use_lockfile`` a live terraform holds the S3 lock file first and the DynamoDB item
    second, so a DynamoDB item without the lock file, or a lock file without the item for
    longer than a live terraform needs between the two (``sleep`` waits that long), is an
    orphan. That orphan (only that lock ID) is removed. Never for the aws target: there a lock
    is released with ``terraform force-unlock`` by someone who knows no one else is running.
    """
    backend = backend_of(stack_dir)
    if session.emulator is None or not backend.get("use_lockfile"):
        return None
    if not all(backend.get(name) for name in ("bucket", "key", "dynamodb_table")):
        return None
    in_table, in_file = lock_holders(session, backend)
    if in_table and not in_file:
        orphan, where = in_table, "lock table"
    elif in_file and not in_table:
        sleep(S3_ONLY_GRACE_SECONDS)
        if lock_holders(session, backend) != (None, in_file):
            return None
        orphan, where = in_file, "S3 lock file"
    else:
        return None
    region = str(backend.get("region") or emulator_mod.DEFAULT_REGION)
    bucket, key, table = backend["bucket"], backend["key"], backend["dynamodb_table"]
    if where == "lock table":
        from botocore.exceptions import ClientError

        try:
            session.client("dynamodb", region).delete_item(
                TableName=table,
                Key={"LockID": {"S": f"{bucket}/{key}"}},
                ConditionExpression="contains(Info, :id)",
                ExpressionAttributeValues={":id": {"S": orphan}},
            )
        except ClientError as exc:  # taken over meanwhile: leave it
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
    else:
        session.client("s3", region).delete_object(Bucket=bucket, Key=f"{key}.tflock")
    return f"released the orphaned state lock {orphan} of {stack_dir.name} ({where} only)"


def with_lock_recovery(
    session: Session,
    stack_dir: Path,
    out: TextIO,
    run: Callable[[], tuple[int, str]],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """``run()`` (exit code, output); once more after releasing an orphaned lock it hit."""
    code, output = run()
    if code not in _SUCCEEDED and LOCK_FAILURE in output:
        note = recover_orphaned_lock(session, stack_dir, sleep=sleep)
        if note is not None:
            out.write(f"{stack_dir.name}: {note}; running terraform again\n")
            out.flush()
            code, output = run()
    return code


# --------------------------------------------------------------------------- holder records


def _clients(session: Session, backend: Mapping[str, Any]) -> tuple[Any, Any]:
    region = str(backend.get("region") or emulator_mod.DEFAULT_REGION)
    return session.client("dynamodb", region), session.client("s3", region)


def _has_state_backend(backend: Mapping[str, Any]) -> bool:
    return bool(backend.get("bucket") and backend.get("key"))


def check_lock(
    session: Session,
    stack_dir: Path,
    note: Callable[[str], None],
    *,
    this_host: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Before a run: release the stack's lock if its holder is provably gone (saying whose it
    was), or an emulator orphan (:func:`recover_orphaned_lock`); any other lock is a
    :class:`DeployError` with :func:`.holders.locked_message` (who, since when, the unlock
    command). The holder record is read before a new one replaces it."""
    backend = backend_of(stack_dir)
    if not _has_state_backend(backend):
        return
    dynamodb, s3 = _clients(session, backend)
    lock = holders.read_lock(dynamodb, s3, backend)
    if lock is None:
        return
    holder = holders.read_holder(s3, backend["bucket"], backend["key"])
    host = socket.gethostname() if this_host is None else this_host
    if holders.holder_is_gone(lock, holder, this_host=host):
        holders.release_lock(dynamodb, s3, backend, lock.id)
        note(holders.released_message(stack_dir.name, lock, holder))
        return
    orphan = recover_orphaned_lock(session, stack_dir, sleep=sleep)
    if orphan is not None:
        note(orphan)
        return
    raise DeployError(holders.locked_message(stack_dir.name, lock, holder))


@contextlib.contextmanager
def holding(
    session: Session,
    stack_dir: Path,
    operation: str,
    note: Callable[[str], None],
    *,
    this_host: str | None = None,
) -> Iterator[None]:
    """Around a terraform run that locks the state of ``stack_dir``: :func:`check_lock`, then
    our :class:`.holders.HolderRecord` next to the state while the body runs (removed after it,
    only if it is still ours). Stacks without an S3 backend run unguarded."""
    backend = backend_of(stack_dir)
    if not _has_state_backend(backend):
        yield
        return
    check_lock(session, stack_dir, note, this_host=this_host)
    _, s3 = _clients(session, backend)
    record = holders.HolderRecord.for_this_process(stack_dir.name, operation)
    holders.write_holder(s3, backend["bucket"], backend["key"], record)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # e.g. the emulator is gone: the record stays
            holders.clear_holder(s3, backend["bucket"], backend["key"], record=record)


def locked_error(session: Session, stack_dir: Path) -> str | None:
    """After terraform failed to take the lock: :func:`.holders.locked_message` of the lock
    held now (None when it is gone meanwhile, or the stack has no S3 backend)."""
    backend = backend_of(stack_dir)
    if not _has_state_backend(backend):
        return None
    try:
        dynamodb, s3 = _clients(session, backend)
        lock = holders.read_lock(dynamodb, s3, backend)
        if lock is None:
            return None
        holder = holders.read_holder(s3, backend["bucket"], backend["key"])
    except Exception:  # the message is a courtesy: terraform's own error is shown anyway
        return None
    return holders.locked_message(stack_dir.name, lock, holder)


def unlock(session: Session, stack_dir: Path, lock_id: str) -> str:
    """Release exactly the lock ``lock_id`` of the stack in ``stack_dir`` (``./tap unlock``);
    return what was done. A DeployError when the stack is not locked or locked by another ID
    (nothing is released then)."""
    backend = backend_of(stack_dir)
    stack = stack_dir.name
    if not _has_state_backend(backend):
        raise DeployError(f"{stack} has no S3 backend: it has no state lock to release.")
    dynamodb, s3 = _clients(session, backend)
    lock = holders.read_lock(dynamodb, s3, backend)
    if lock is None:
        raise DeployError(f"the state of {stack} is not locked: nothing to release.")
    if lock.id != lock_id:
        raise DeployError(
            f"the state of {stack} is locked by {lock.id}, not {lock_id}: nothing released. "
            f"Check who holds it (`./tap plan` names the holder) before releasing that lock."
        )
    holder = holders.read_holder(s3, backend["bucket"], backend["key"])
    removed = holders.release_lock(dynamodb, s3, backend, lock_id)
    if not removed:
        raise DeployError(f"the lock {lock_id} of {stack} was released meanwhile: nothing to do.")
    who = lock.who or "an unknown user"
    pid = f", pid {holder.pid}" if holder is not None else ""
    return (
        f"released the state lock {lock_id} of {stack} (held by {who}{pid}, "
        f"{lock.operation.removeprefix('OperationType').lower() or 'unknown operation'}, "
        f"taken {lock.created or 'at an unknown time'}) from the {' and '.join(removed)}"
    )
