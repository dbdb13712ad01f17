"""Who holds a stack's state lock, and whether that holder is provably gone.

Why: a deploy killed with SIGKILL (OOM kill, CI time-out, lost VM) leaves terraform's state
lock behind, and every later command fails with "Error acquiring the state lock" and no hint.
Terraform's lock info (:class:`.state_lock.LockInfo`, stored where
:class:`.state_lock.StateLock` says) has no process id, so nothing can tell a crashed holder from
a live one on another machine. Our runner therefore records its own :class:`HolderRecord` (host,
pid, stack, operation, start time) next to the state, ``<state key>.tap-holder`` in the state
bucket, before it starts terraform for a stack and removes it when terraform exits.

A lock is broken automatically only when :func:`holder_is_gone` proves it: the lock was taken on
this host, by the run our record describes, and that process (with its children) no longer runs
terraform. Everything else is left to a person, with :func:`locked_message` saying who holds the
lock and the exact ``./tap unlock`` command to run once they have checked.

:func:`read_lock` and :func:`release_lock` are :class:`.state_lock.StateLock`'s reading and
release of exactly one lock ID, for a stack's backend block (the release also clears our record).

Recommended use by the runner, per stack: :func:`read_lock`; if locked, :func:`read_holder` and
:func:`holder_is_gone` -> :func:`release_lock` + :func:`released_message`, else stop with
:func:`locked_message`; then :func:`write_holder` (``HolderRecord.for_this_process``), run
terraform, and ``clear_holder(..., record=ours)``. The record must be read before ours replaces
it. Functions take boto3 clients and plain data, so they work for the local emulator and AWS.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from tooling.lifecycle.state_lock import LOCK_FILE_SUFFIX, LockInfo, StateLock, parse_time

__all__ = [
    "HOLDER_SUFFIX",
    "LOCK_FILE_SUFFIX",
    "HolderRecord",
    "LockInfo",
    "clear_holder",
    "current_machine",
    "holder_is_gone",
    "locked_message",
    "read_holder",
    "read_lock",
    "release_lock",
    "released_message",
    "runs_terraform",
    "write_holder",
]

#: Our holder record of a state ``<key>`` is ``<key>.tap-holder`` in the state bucket.
HOLDER_SUFFIX = ".tap-holder"
#: A lock counts as taken by the run of a holder record only if it was created between
#: ``started_at - _CLOCK_SLACK`` and ``started_at + _MAX_TAKE_DELAY`` (same host, same clock):
#: a lock taken long after the recorded run started is someone else's (e.g. terraform run by
#: hand after the crash), and is never broken automatically.
_CLOCK_SLACK = timedelta(seconds=5)
_MAX_TAKE_DELAY = timedelta(minutes=30)
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})


def current_machine() -> str:
    """This machine's boot id and pid namespace: two containers may share a host name, and a
    pid is only meaningful in the namespace (and boot) it was taken in."""
    # Read from /proc by hand: psutil has the boot time (seconds, shared by containers on one
    # kernel) but neither the boot id nor the pid namespace.
    parts = []
    for path in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            if path.endswith("boot_id"):
                parts.append(Path(path).read_text(encoding="ascii").strip())
            else:
                parts.append(os.readlink(path))
        except OSError:
            parts.append("")
    return "/".join(parts)


@dataclass(frozen=True)
class HolderRecord:
    """Which process of which host runs terraform on a state, since when (UTC ISO 8601).

    ``pid`` is the runner's own pid (or terraform's): :func:`runs_terraform` also looks at its
    child processes. ``machine`` (:func:`current_machine`) tells apart hosts of the same name.
    """

    host: str
    pid: int
    stack: str
    operation: str
    started_at: str
    machine: str = field(default="")

    @classmethod
    def for_this_process(
        cls, stack: str, operation: str, *, now: datetime | None = None
    ) -> HolderRecord:
        return cls(
            host=socket.gethostname(),
            pid=os.getpid(),
            stack=stack,
            operation=operation,
            started_at=(now or datetime.now(UTC)).isoformat(),
            machine=current_machine(),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> HolderRecord | None:
        """The record, or None when the object is not one (never trust a malformed record)."""
        try:
            data = json.loads(text)
            return cls(
                host=str(data["host"]),
                pid=int(data["pid"]),
                stack=str(data["stack"]),
                operation=str(data["operation"]),
                started_at=str(data["started_at"]),
                machine=str(data.get("machine") or ""),
            )
        except (ValueError, TypeError, KeyError):
            return None


# --------------------------------------------------------------------------- holder records


def _holder_key(key: str) -> str:
    return f"{key}{HOLDER_SUFFIX}"


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def write_holder(s3_client: Any, bucket: str, key: str, record: HolderRecord) -> None:
    """Store ``record`` as ``<key>.tap-holder`` in the state bucket (replacing any)."""
    s3_client.put_object(
        Bucket=bucket,
        Key=_holder_key(key),
        Body=record.to_json().encode(),
        ContentType="application/json",
    )


def read_holder(s3_client: Any, bucket: str, key: str) -> HolderRecord | None:
    """The holder record of the state ``key``; None when there is none (or it is malformed)."""
    try:
        body = s3_client.get_object(Bucket=bucket, Key=_holder_key(key))["Body"].read()
    except Exception as exc:
        if _error_code(exc) in _NOT_FOUND:
            return None
        raise
    return HolderRecord.from_json(body)


def clear_holder(
    s3_client: Any, bucket: str, key: str, *, record: HolderRecord | None = None
) -> bool:
    """Remove the holder record; with ``record``, only if the stored one is that record (a run
    never removes the record of another). True if a record was removed."""
    stored = read_holder(s3_client, bucket, key)
    if stored is None or (record is not None and stored != record):
        return False
    s3_client.delete_object(Bucket=bucket, Key=_holder_key(key))
    return True


# --------------------------------------------------------------------------- locks


def read_lock(dynamodb_client: Any, s3_client: Any, backend: Mapping[str, Any]) -> LockInfo | None:
    """The state lock of the stack whose ``terraform.backend.s3`` block is ``backend``
    (:meth:`.StateLock.read`: the lock table's and the S3 lock file's; None: not locked)."""
    lock = StateLock.from_backend(backend)
    return lock.read(dynamodb_client, s3_client) if lock is not None else None


def release_lock(
    dynamodb_client: Any, s3_client: Any, backend: Mapping[str, Any], lock_id: str
) -> list[str]:
    """Remove exactly the lock ``lock_id`` (:meth:`.StateLock.release`: never another one taken
    meanwhile), then clear the holder record. Returns where it was removed from (empty: no lock
    with that ID)."""
    lock = StateLock.from_backend(backend)
    if lock is None:
        return []
    removed = lock.release(dynamodb_client, s3_client, lock_id)
    clear_holder(s3_client, lock.bucket, lock.key)
    return removed


# --------------------------------------------------------------------------- is it gone?


def _is_terraform(process: psutil.Process) -> bool:
    """Whether ``process`` runs a terraform binary (its ``argv[0]`` is named terraform...), not
    a provider plugin (``terraform-provider-*``): the provider servers ./tap keeps running for
    the local target (:mod:`tooling.terraform.provider_pool`) are its children and hold no
    lock. A process that cannot be inspected (someone else's) counts as terraform: nothing
    proves it is not; one that is gone (or a zombie, which runs nothing) does not."""
    try:
        command = process.cmdline()
    except psutil.NoSuchProcess:  # includes ZombieProcess
        return False
    except psutil.AccessDenied:
        return True
    name = Path(command[0]).name if command else ""
    return "terraform" in name and not name.startswith("terraform-provider-")


def runs_terraform(pid: int) -> bool:
    """Whether process ``pid`` (or one of its descendants) is a terraform process.

    A pid that is gone, or was reused by a process that is not terraform and has no terraform
    descendant, does not run terraform. Read with psutil (Linux ``/proc``, and the other
    systems psutil supports).
    """
    if pid <= 0:
        return False
    try:
        process = psutil.Process(pid)
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True
    return any(_is_terraform(member) for member in family)


def _taken_by_that_run(lock: LockInfo, holder: HolderRecord) -> bool:
    created, started = lock.created_at, parse_time(holder.started_at)
    if created is None or started is None:
        return False
    return started - _CLOCK_SLACK <= created <= started + _MAX_TAKE_DELAY


def holder_is_gone(
    lock: LockInfo,
    holder: HolderRecord | None,
    *,
    this_host: str,
    pid_runs_terraform: Callable[[int], bool] = runs_terraform,
    this_machine: str | None = None,
) -> bool:
    """True only when breaking ``lock`` is provably safe, never on a guess.

    All of: the lock was taken on ``this_host`` (``Who``), our holder record names this host
    (and this machine: boot and pid namespace, default :func:`current_machine`, when the record
    has one), the lock was created within the run the record describes, and the recorded pid no
    longer runs terraform. A lock of another host, a lock without record, or a record that does
    not fit the lock is never broken automatically.
    """
    if holder is None or not this_host:
        return False
    if lock.host != this_host or holder.host != this_host:
        return False
    machine = current_machine() if this_machine is None else this_machine
    if holder.machine and holder.machine != machine:
        return False
    if not _taken_by_that_run(lock, holder):
        return False
    return not pid_runs_terraform(holder.pid)


# --------------------------------------------------------------------------- messages


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "at an unknown time"
    seconds = max(int((now - when).total_seconds()), 0)
    if seconds < 120:
        span = f"{seconds} s"
    elif seconds < 7200:
        span = f"{seconds // 60} min"
    elif seconds < 172800:
        span = f"{seconds // 3600} h {seconds % 3600 // 60} min"
    else:
        span = f"{seconds // 86400} days"
    return f"at {when.strftime('%Y-%m-%d %H:%M:%S')} UTC ({span} ago)"


def _operation(lock: LockInfo, holder: HolderRecord | None) -> str:
    terraform_op = lock.operation.removeprefix("OperationType").lower() or "an unknown operation"
    if holder is not None and holder.operation:
        return f"{holder.operation} (terraform {terraform_op})"
    return f"terraform {terraform_op}"


def locked_message(
    stack: str, lock: LockInfo, holder: HolderRecord | None, *, now: datetime | None = None
) -> str:
    """What the user sees when a lock is held and not provably stale: who, where, since when,
    and the command that releases it once they have checked nobody is running."""
    now = now or datetime.now(UTC)
    who = lock.who or "an unknown user"
    host = lock.host or (holder.host if holder else "") or "an unknown host"
    if holder is not None and holder.host == lock.host:
        pid = f"pid {holder.pid}"
    elif holder is not None:
        pid = f"pid unknown (our last record is of pid {holder.pid} on {holder.host})"
    else:
        pid = "pid unknown (no ./tap run recorded it: terraform run by hand, or another tool)"
    where = " and ".join(lock.found_in) or "the backend"
    return (
        f"the state of {stack} is locked (lock {lock.id}, in the {where}):\n"
        f"  held by {who} on {host}, {pid}, running {_operation(lock, holder)}\n"
        f"  taken {_ago(lock.created_at, now)}\n"
        f"It was not released automatically: nothing proves its holder is gone. Check that no "
        f"deploy, destroy or plan of {stack} is still running (on {host}, in CI), then run:\n"
        f"  ./tap unlock --stack {stack} --lock-id {lock.id}"
    )


def released_message(
    stack: str, lock: LockInfo, holder: HolderRecord | None, *, now: datetime | None = None
) -> str:
    """The note printed after :func:`release_lock` of a lock whose holder is gone."""
    now = now or datetime.now(UTC)
    pid = holder.pid if holder is not None else "?"
    host = lock.host or (holder.host if holder else "?")
    return (
        f"released the state lock {lock.id} of {stack}: its holder {lock.who or '?'} pid {pid} "
        f"on {host} is gone (taken {_ago(lock.created_at, now)})"
    )
