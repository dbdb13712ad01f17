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

from tooling.lifecycle import holders
from tooling.lifecycle.session import DeployError, Session
from tooling.lifecycle.state_lock import IN_FILE, IN_TABLE, StateLock

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


def _state_lock(stack_dir: Path) -> StateLock | None:
    """The state lock of the stack in ``stack_dir`` (None: no S3 backend, nothing to lock)."""
    return StateLock.from_backend(backend_of(stack_dir))


def _clients(session: Session, lock: StateLock) -> tuple[Any, Any]:
    """DynamoDB and S3 clients of the lock's region."""
    return session.client("dynamodb", lock.region), session.client("s3", lock.region)


def lock_holders(session: Session, backend: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The lock IDs in the DynamoDB lock item and in the S3 lock file (None: not there)."""
    lock = StateLock.from_backend(backend)
    if lock is None:
        return None, None
    return lock.holders(*_clients(session, lock))


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
    orphan. That orphan (only that lock ID: :meth:`.StateLock.release`) is removed. Never for
    the aws target: there a lock is released with ``terraform force-unlock`` by someone who
    knows no one else is running.
    """
    lock = _state_lock(stack_dir)
    if session.emulator is None or lock is None or not (lock.use_lockfile and lock.table):
        return None
    dynamodb, s3 = _clients(session, lock)
    in_table, in_file = lock.holders(dynamodb, s3)
    if in_table and not in_file:
        orphan, where = in_table, IN_TABLE
    elif in_file and not in_table:
        sleep(S3_ONLY_GRACE_SECONDS)
        if lock.holders(dynamodb, s3) != (None, in_file):
            return None
        orphan, where = in_file, IN_FILE
    else:
        return None
    if not lock.release(dynamodb, s3, orphan):  # taken over meanwhile: left alone
        return None
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
    lock = StateLock.from_backend(backend)
    if lock is None:
        return
    dynamodb, s3 = _clients(session, lock)
    held = lock.read(dynamodb, s3)
    if held is None:
        return
    holder = holders.read_holder(s3, lock.bucket, lock.key)
    host = socket.gethostname() if this_host is None else this_host
    if holders.holder_is_gone(held, holder, this_host=host):
        holders.release_lock(dynamodb, s3, backend, held.id)
        note(holders.released_message(stack_dir.name, held, holder))
        return
    orphan = recover_orphaned_lock(session, stack_dir, sleep=sleep)
    if orphan is not None:
        note(orphan)
        return
    raise DeployError(holders.locked_message(stack_dir.name, held, holder))


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
    lock = _state_lock(stack_dir)
    if lock is None:
        yield
        return
    check_lock(session, stack_dir, note, this_host=this_host)
    _, s3 = _clients(session, lock)
    record = holders.HolderRecord.for_this_process(stack_dir.name, operation)
    holders.write_holder(s3, lock.bucket, lock.key, record)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # e.g. the emulator is gone: the record stays
            holders.clear_holder(s3, lock.bucket, lock.key, record=record)


def locked_error(session: Session, stack_dir: Path) -> str | None:
    """After terraform failed to take the lock: :func:`.holders.locked_message` of the lock
    held now (None when it is gone meanwhile, or the stack has no S3 backend)."""
    lock = _state_lock(stack_dir)
    if lock is None:
        return None
    try:
        dynamodb, s3 = _clients(session, lock)
        held = lock.read(dynamodb, s3)
        if held is None:
            return None
        holder = holders.read_holder(s3, lock.bucket, lock.key)
    except Exception:  # the message is a courtesy: terraform's own error is shown anyway
        return None
    return holders.locked_message(stack_dir.name, held, holder)


def unlock(session: Session, stack_dir: Path, lock_id: str) -> str:
    """Release exactly the lock ``lock_id`` of the stack in ``stack_dir`` (``./tap unlock``);
    return what was done. A DeployError when the stack is not locked or locked by another ID
    (nothing is released then)."""
    backend = backend_of(stack_dir)
    lock = StateLock.from_backend(backend)
    stack = stack_dir.name
    if lock is None:
        raise DeployError(f"{stack} has no S3 backend: it has no state lock to release.")
    dynamodb, s3 = _clients(session, lock)
    held = lock.read(dynamodb, s3)
    if held is None:
        raise DeployError(f"the state of {stack} is not locked: nothing to release.")
    if held.id != lock_id:
        raise DeployError(
            f"the state of {stack} is locked by {held.id}, not {lock_id}: nothing released. "
            f"Check who holds it (`./tap plan` names the holder) before releasing that lock."
        )
    holder = holders.read_holder(s3, lock.bucket, lock.key)
    removed = holders.release_lock(dynamodb, s3, backend, lock_id)
    if not removed:
        raise DeployError(f"the lock {lock_id} of {stack} was released meanwhile: nothing to do.")
    who = held.who or "an unknown user"
    pid = f", pid {holder.pid}" if holder is not None else ""
    return (
        f"released the state lock {lock_id} of {stack} (held by {who}{pid}, "
        f"{held.operation.removeprefix('OperationType').lower() or 'unknown operation'}, "
        f"taken {held.created or 'at an unknown time'}) from the {' and '.join(removed)}"
    )
