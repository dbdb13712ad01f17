"""Who holds a stack's state lock, and whether that holder is provably gone.

Why: a deploy killed with SIGKILL (OOM kill, CI time-out, lost VM) leaves terraform's state
lock behind, and every later command fails with "Error acquiring the state lock" and no hint.
Terraform's lock info (``ID``, ``Operation``, ``Who`` = ``user@host``, ``Version``, ``Created``,
``Path``; in the DynamoDB lock item's ``Info`` and in the S3 ``<key>.tflock`` object) has no
process id, so nothing can tell a crashed holder from a live one on another machine. Our runner
therefore records its own :class:`HolderRecord` (host, pid, stack, operation, start time) next to
the state, ``<state key>.tap-holder`` in the state bucket, before it starts terraform for a stack
and removes it when terraform exits.

A lock is broken automatically only when :func:`holder_is_gone` proves it: the lock was taken on
this host, by the run our record describes, and that process (with its children) no longer runs
terraform. Everything else is left to a person, with :func:`locked_message` saying who holds the
lock and the exact ``./tap unlock`` command to run once they have checked.

Recommended use by the runner, per stack: :func:`read_lock`; if locked, :func:`read_holder` and
:func:`holder_is_gone` -> :func:`release_lock` + :func:`released_message`, else stop with
:func:`locked_message`; then :func:`write_holder` (``HolderRecord.for_this_process``), run
terraform, and ``clear_holder(..., record=ours)``. The record must be read before ours replaces
it. Functions take boto3 clients and plain data, so they work for the local emulator and AWS.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
#: Terraform's (1.10+ ``use_lockfile``) S3 lock file of a state ``<key>``.
LOCK_FILE_SUFFIX = ".tflock"
#: A lock counts as taken by the run of a holder record only if it was created between
#: ``started_at - _CLOCK_SLACK`` and ``started_at + _MAX_TAKE_DELAY`` (same host, same clock):
#: a lock taken long after the recorded run started is someone else's (e.g. terraform run by
#: hand after the crash), and is never broken automatically.
_CLOCK_SLACK = timedelta(seconds=5)
_MAX_TAKE_DELAY = timedelta(minutes=30)
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})


@dataclass(frozen=True)
class LockInfo:
    """Terraform's lock info, and where it was found (``lock table``, ``S3 lock file``)."""

    id: str
    operation: str = ""
    who: str = ""
    version: str = ""
    created: str = ""
    path: str = ""
    found_in: tuple[str, ...] = ()

    @property
    def host(self) -> str:
        """The host part of ``Who`` (terraform writes ``user@hostname``)."""
        return self.who.rpartition("@")[2] if "@" in self.who else ""

    @property
    def created_at(self) -> datetime | None:
        return _parse_time(self.created)

    @classmethod
    def from_json(cls, text: str | bytes, found_in: str) -> LockInfo | None:
        """Terraform's lock info JSON; None when it is not one (no ``ID``)."""
        try:
            info = json.loads(text)
        except ValueError:
            return None
        if not isinstance(info, dict) or not info.get("ID"):
            return None
        return cls(
            id=str(info["ID"]),
            operation=str(info.get("Operation") or ""),
            who=str(info.get("Who") or ""),
            version=str(info.get("Version") or ""),
            created=str(info.get("Created") or ""),
            path=str(info.get("Path") or ""),
            found_in=(found_in,),
        )


def current_machine() -> str:
    """This machine's boot id and pid namespace: two containers may share a host name, and a
    pid is only meaningful in the namespace (and boot) it was taken in."""
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


def _lock_item_key(backend: Mapping[str, Any]) -> dict[str, Any]:
    return {"LockID": {"S": f"{backend['bucket']}/{backend['key']}"}}


def _lock_in_table(dynamodb_client: Any, backend: Mapping[str, Any]) -> LockInfo | None:
    if not backend.get("dynamodb_table"):
        return None
    item = dynamodb_client.get_item(
        TableName=backend["dynamodb_table"], Key=_lock_item_key(backend), ConsistentRead=True
    ).get("Item", {})
    info = item.get("Info", {}).get("S")
    return LockInfo.from_json(info, "lock table") if info else None


def _lock_in_file(s3_client: Any, backend: Mapping[str, Any]) -> LockInfo | None:
    try:
        body = s3_client.get_object(
            Bucket=backend["bucket"], Key=f"{backend['key']}{LOCK_FILE_SUFFIX}"
        )["Body"].read()
    except Exception as exc:
        if _error_code(exc) in _NOT_FOUND:
            return None
        raise
    return LockInfo.from_json(body, "S3 lock file")


def read_lock(dynamodb_client: Any, s3_client: Any, backend: Mapping[str, Any]) -> LockInfo | None:
    """The state lock of the stack whose ``terraform.backend.s3`` block is ``backend``.

    Looks in the DynamoDB lock item (when ``dynamodb_table`` is set) and in the S3 lock file;
    when both hold the same ID, ``found_in`` names both; when they differ, the table's wins (it
    is the lock a terraform without ``use_lockfile`` also honours).
    """
    in_table = _lock_in_table(dynamodb_client, backend)
    in_file = _lock_in_file(s3_client, backend)
    if in_table and in_file and in_table.id == in_file.id:
        return LockInfo(**{**asdict(in_table), "found_in": ("lock table", "S3 lock file")})
    return in_table or in_file


def release_lock(
    dynamodb_client: Any, s3_client: Any, backend: Mapping[str, Any], lock_id: str
) -> list[str]:
    """Remove exactly the lock ``lock_id`` (never another one taken meanwhile), then clear the
    holder record. Returns where it was removed from (empty: no lock with that ID)."""
    removed = []
    if backend.get("dynamodb_table"):
        try:
            dynamodb_client.delete_item(
                TableName=backend["dynamodb_table"],
                Key=_lock_item_key(backend),
                ConditionExpression="contains(Info, :id)",
                ExpressionAttributeValues={":id": {"S": lock_id}},
            )
            removed.append("lock table")
        except Exception as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
    in_file = _lock_in_file(s3_client, backend)
    if in_file is not None and in_file.id == lock_id:
        s3_client.delete_object(Bucket=backend["bucket"], Key=f"{backend['key']}{LOCK_FILE_SUFFIX}")
        removed.append("S3 lock file")
    clear_holder(s3_client, backend["bucket"], backend["key"])
    return removed


# --------------------------------------------------------------------------- is it gone?


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text(encoding="ascii").split()]
        except (OSError, ValueError):
            continue
    return found


def runs_terraform(pid: int, _depth: int = 0) -> bool:
    """Whether process ``pid`` (or one of its descendants) is a terraform process.

    A pid that is gone, or was reused by a process that is not terraform and has no terraform
    child, does not run terraform. Without ``/proc`` (not Linux) nothing can be proved: True.
    """
    if not Path("/proc/self").exists():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, someone else's: look at its command line
    command = _cmdline(pid)
    if command and any("terraform" in Path(part).name for part in command[:1]):
        return True
    return _depth < 8 and any(runs_terraform(child, _depth + 1) for child in _children(pid))


def _parse_time(text: str) -> datetime | None:
    """Terraform's ``Created`` (RFC 3339 with nanoseconds) or our ISO time, as aware UTC."""
    if not text:
        return None
    cleaned = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _taken_by_that_run(lock: LockInfo, holder: HolderRecord) -> bool:
    created, started = lock.created_at, _parse_time(holder.started_at)
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
