"""The AWS side of the canary (:class:`CanaryStore`, boto3): its file uploaded as ``./tap upload``
uploads one (:func:`tooling.upload.upload_file`), the processor followed as ``./tap upload
--wait`` follows it (:class:`tooling.upload.ObjectWatch`), and what it left removed.

Removal touches only what carries the canary's run id:

* objects: every version and delete marker of the canary's key and of its quarantine objects
  (``quarantine/<key>.jsonl``, ``quarantine/<key>.part-<n>.jsonl``), each deleted by its version
  id. A DELETE without a version id would leave a delete marker in a versioned or
  versioning-suspended bucket; only a DELETE naming the version removes it for good
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html,
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectsfromVersioningSuspendedBuckets.html).
* trades: each canary trade id deleted only if the item is still the canary's (its
  ``account_id`` and ``source_key``): a conditional DeleteItem, which deletes nothing and
  answers ``ConditionalCheckFailedException`` otherwise
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteItem.html).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from tooling.upload.records import Observation
from tooling.upload.transfer import UploadedObject, upload_file
from tooling.upload.watch import ObjectWatch
from tooling.verify.canary import Canary
from tooling.verify.target import VerifyTarget

__all__ = ["QUARANTINE_PREFIX", "CanaryStore", "Store", "TradeRemoval", "Watch"]

#: Where the processor writes a file's rejected lines (``trading_infra.components.storage
#: .QUARANTINE_PREFIX``; a test keeps the two equal).
QUARANTINE_PREFIX: Final = "quarantine/"


class Watch(Protocol):
    """What the processor says about the uploaded file (:class:`tooling.upload.ObjectWatch`)."""

    notes: list[str]

    def poll(self) -> list[Observation]: ...


@dataclass(frozen=True)
class TradeRemoval:
    """The canary trades deleted, and those not in the table as the canary's (never written,
    or already gone)."""

    deleted: tuple[str, ...]
    absent: tuple[str, ...]


class Store(Protocol):
    """The AWS side of a verify run (:class:`CanaryStore`; a test gives a fake one)."""

    def upload(self, canary: Canary) -> UploadedObject: ...

    def watch(self, uploaded: UploadedObject) -> Watch: ...

    def remove_objects(self, canary: Canary) -> tuple[str, ...]: ...

    def remove_trades(self, canary: Canary) -> TradeRemoval: ...


class CanaryStore:
    """:class:`Store` on AWS (or the emulator): ``client(service)`` is a boto3 client in the
    target's region."""

    def __init__(self, client: Callable[[str], Any], target: VerifyTarget) -> None:
        self._client = client
        self._target = target

    @property
    def bucket(self) -> str:
        return self._target.deployment.bucket

    def upload(self, canary: Canary) -> UploadedObject:
        """The canary's file, uploaded to its key as ``./tap upload`` uploads a file."""
        with tempfile.TemporaryDirectory(prefix="tap-verify-") as folder:
            path = Path(folder) / f"{canary.run_id}.csv"
            path.write_text(canary.file_text(), encoding="utf-8")
            return upload_file(self._client("s3"), path, self.bucket, canary.key)

    def watch(self, uploaded: UploadedObject) -> Watch:
        deployment = self._target.deployment
        return ObjectWatch(self._client("logs"), self._client("sqs"), uploaded, deployment)

    def remove_objects(self, canary: Canary) -> tuple[str, ...]:
        """Delete every version and delete marker of the canary's key and its quarantine
        objects; the ``key`` of each version deleted."""
        s3 = self._client("s3")
        quarantine = f"{QUARANTINE_PREFIX}{canary.key}."
        removed: list[str] = []
        for prefix in (canary.key, quarantine):
            for key, version in _versions(s3, self.bucket, prefix):
                if key == canary.key or key.startswith(quarantine):
                    s3.delete_object(Bucket=self.bucket, Key=key, VersionId=version)
                    removed.append(key)
        return tuple(removed)

    def remove_trades(self, canary: Canary) -> TradeRemoval:
        """Delete each canary trade that is still the canary's."""
        dynamodb = self._client("dynamodb")
        deleted: list[str] = []
        absent: list[str] = []
        for trade_id in canary.trade_ids:
            try:
                dynamodb.delete_item(
                    TableName=self._target.trades_table,
                    Key={"trade_id": {"S": trade_id}},
                    ConditionExpression="account_id = :account AND source_key = :key",
                    ExpressionAttributeValues={
                        ":account": {"S": canary.account_id},
                        ":key": {"S": canary.key},
                    },
                )
            except dynamodb.exceptions.ConditionalCheckFailedException:
                absent.append(trade_id)
            else:
                deleted.append(trade_id)
        return TradeRemoval(tuple(deleted), tuple(absent))


def _versions(s3: Any, bucket: str, prefix: str) -> list[tuple[str, str]]:
    """(key, version id) of every version and delete marker under ``prefix`` (an object of a
    bucket never versioned is listed with the version id ``null``)."""
    found: list[tuple[str, str]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for entry in (*page.get("Versions", ()), *page.get("DeleteMarkers", ())):
            found.append((str(entry["Key"]), str(entry.get("VersionId") or "null")))
    return found
