"""Orphaned state locks of the local target: found, released, and the run tried once more.

Seen with the emulator under load: the AWS SDK inside terraform loses the response to its lock
request on the way back from moto's development server and retries it; the retry fails against
the lock its first attempt took, and that lock stays behind with no terraform holding it
(docs/emulator.md). Only such an orphan is released, and never on real AWS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from tooling.emulator import process as emulator_mod
from tooling.lifecycle.session import Session

__all__ = [
    "LOCK_FAILURE",
    "S3_ONLY_GRACE_SECONDS",
    "backend_of",
    "lock_holders",
    "recover_orphaned_lock",
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
