"""Terraform's lock of one state in its S3 backend: where it lives, what it says, and the
release of exactly one lock.

The S3 backend (https://developer.hashicorp.com/terraform/language/backend/s3, "State
Locking") locks a state in up to two places, each holding terraform's lock info JSON (``ID``,
``Operation``, ``Who`` = ``user@host``, ``Version``, ``Created``, ``Path``):

* with ``dynamodb_table``: the item of that table whose partition key ``LockID`` is
  ``<bucket>/<key>``, the lock info in its string attribute ``Info`` (the table's
  ``<bucket>/<key>-md5`` items are state digests, not locks);
* with ``use_lockfile``: the object ``<key>.tflock`` next to the state in its bucket.

:meth:`StateLock.release` removes a lock only while it is the lock that was read, so a lock
another terraform took meanwhile stays: the item by a ``DeleteItem`` whose
``ConditionExpression`` is its exact ``Info`` (a failed condition is
``ConditionalCheckFailedException``,
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteItem.html), the object
by a conditional ``DeleteObject`` with ``If-Match`` on its ETag (a changed object is
``412 Precondition Failed``, a missing one ``NoSuchKey``,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).

Methods take boto3 clients (DynamoDB, S3) of :attr:`StateLock.region`, so they serve the local
emulator and AWS alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from tooling.emulator.local_target import DEFAULT_REGION

__all__ = [
    "IN_FILE",
    "IN_TABLE",
    "LOCK_FILE_SUFFIX",
    "LockInfo",
    "StateLock",
    "parse_time",
]

#: Terraform's (1.10+ ``use_lockfile``) S3 lock file of a state ``<key>`` is ``<key>.tflock``.
LOCK_FILE_SUFFIX: Final = ".tflock"
#: Where a lock was found, as messages name it.
IN_TABLE: Final = "lock table"
IN_FILE: Final = "S3 lock file"

_NOT_FOUND: Final = frozenset({"NoSuchKey", "404", "NotFound"})
#: A conditional delete that found the lock changed (DynamoDB, S3) or gone (S3).
_CHANGED: Final = frozenset({"ConditionalCheckFailedException", "PreconditionFailed", "412"})


def parse_time(text: str) -> datetime | None:
    """Terraform's ``Created`` (RFC 3339, nanoseconds: :meth:`datetime.fromisoformat` keeps
    microseconds) or an ISO 8601 time, as an aware UTC time; None when empty or not a time."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LockInfo:
    """Terraform's lock info, and where it was found (:data:`IN_TABLE`, :data:`IN_FILE`)."""

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
        return parse_time(self.created)

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


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class StateLock:
    """The lock of the state ``key`` in ``bucket``: in the DynamoDB ``table`` (none: ``""``)
    and in the S3 lock file, both in ``region``."""

    bucket: str
    key: str
    table: str = ""
    use_lockfile: bool = False
    region: str = DEFAULT_REGION

    @classmethod
    def from_backend(cls, backend: Mapping[str, Any]) -> StateLock | None:
        """The lock of the stack whose ``terraform.backend.s3`` block is ``backend``; None when
        the block names no state (no ``bucket`` or ``key``: nothing to lock)."""
        bucket, key = backend.get("bucket"), backend.get("key")
        if not bucket or not key:
            return None
        return cls(
            bucket=str(bucket),
            key=str(key),
            table=str(backend.get("dynamodb_table") or ""),
            use_lockfile=bool(backend.get("use_lockfile")),
            region=str(backend.get("region") or DEFAULT_REGION),
        )

    @property
    def item_key(self) -> dict[str, dict[str, str]]:
        """The key of the lock item in the table: ``LockID`` = ``<bucket>/<key>``."""
        return {"LockID": {"S": f"{self.bucket}/{self.key}"}}

    @property
    def file_key(self) -> str:
        """The S3 key of the lock file: ``<key>.tflock``, in the state's bucket."""
        return f"{self.key}{LOCK_FILE_SUFFIX}"

    # ----------------------------------------------------------------------- reading

    def _item(self, dynamodb: Any) -> tuple[LockInfo, str] | None:
        """The lock in the table and its ``Info`` exactly as stored."""
        if not self.table:
            return None
        answer = dynamodb.get_item(TableName=self.table, Key=self.item_key, ConsistentRead=True)
        info = str(answer.get("Item", {}).get("Info", {}).get("S") or "")
        lock = LockInfo.from_json(info, IN_TABLE) if info else None
        return (lock, info) if lock is not None else None

    def _file(self, s3: Any) -> tuple[LockInfo, str] | None:
        """The lock in the S3 lock file and the ETag of the object it was read from."""
        try:
            answer = s3.get_object(Bucket=self.bucket, Key=self.file_key)
        except Exception as exc:
            if _error_code(exc) in _NOT_FOUND:
                return None
            raise
        lock = LockInfo.from_json(answer["Body"].read(), IN_FILE)
        return (lock, str(answer["ETag"])) if lock is not None else None

    def in_table(self, dynamodb: Any) -> LockInfo | None:
        """The lock held in the DynamoDB table (None: no table, or no lock item)."""
        found = self._item(dynamodb)
        return found[0] if found else None

    def in_file(self, s3: Any) -> LockInfo | None:
        """The lock held in the S3 lock file (None: no lock file)."""
        found = self._file(s3)
        return found[0] if found else None

    def holders(self, dynamodb: Any, s3: Any) -> tuple[str | None, str | None]:
        """The lock IDs in the table and in the lock file (None: not held there)."""
        in_table, in_file = self.in_table(dynamodb), self.in_file(s3)
        return (in_table.id if in_table else None, in_file.id if in_file else None)

    def read(self, dynamodb: Any, s3: Any) -> LockInfo | None:
        """The lock of the state: when table and lock file hold the same ID, ``found_in`` names
        both; when they differ, the table's wins (a terraform without ``use_lockfile`` honours
        only that one)."""
        in_table, in_file = self.in_table(dynamodb), self.in_file(s3)
        if in_table and in_file and in_table.id == in_file.id:
            return replace(in_table, found_in=(IN_TABLE, IN_FILE))
        return in_table or in_file

    # ----------------------------------------------------------------------- releasing

    def release(self, dynamodb: Any, s3: Any, lock_id: str) -> list[str]:
        """Remove the lock ``lock_id`` wherever it is held, never another lock (one held by
        another ID, or taken between the read and the delete). Returns where it was removed
        from, in :meth:`read`'s order (empty: no lock with that ID)."""
        removed = []
        item = self._item(dynamodb)
        if item is not None and item[0].id == lock_id:
            try:
                dynamodb.delete_item(
                    TableName=self.table,
                    Key=self.item_key,
                    ConditionExpression="Info = :info",
                    ExpressionAttributeValues={":info": {"S": item[1]}},
                )
                removed.append(IN_TABLE)
            except Exception as exc:
                if _error_code(exc) not in _CHANGED:
                    raise
        file = self._file(s3)
        if file is not None and file[0].id == lock_id:
            try:
                s3.delete_object(Bucket=self.bucket, Key=self.file_key, IfMatch=file[1])
                removed.append(IN_FILE)
            except Exception as exc:
                if _error_code(exc) not in _CHANGED | _NOT_FOUND:
                    raise
        return removed
