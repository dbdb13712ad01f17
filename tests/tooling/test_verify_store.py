"""tooling.verify.store against an account (moto's server): the canary's file goes up as it is,
and the removal takes every version of the canary's objects and the canary's trades, and
nothing else."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.tooling.conftest import fresh_local_session
from tooling.lifecycle.session import Session
from tooling.upload.deployment import Deployment
from tooling.verify import Canary, VerifyTarget, new_canary
from tooling.verify.store import CanaryStore, TradeRemoval

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"
BUCKET = "tap-data-dev"
TABLE = "tap-trades-dev"
RUN = "verify-20261205T145700Z-0a1b2c"
KEY = f"incoming/verify/{RUN}.csv"


@pytest.fixture
def session(endpoint: str, tmp_path: Path) -> Session:
    session = fresh_local_session(endpoint, tmp_path)
    s3 = session.client("s3", REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    session.client("dynamodb", REGION).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "trade_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "trade_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return session


def canary() -> Canary:
    return new_canary(datetime(2026, 12, 5, 14, 57, tzinfo=UTC), lambda: "0a1b2c")


def store(session: Session) -> CanaryStore:
    deployment = Deployment(BUCKET, "tap-processor-dev", None, REGION)
    target = VerifyTarget("dev", "local", "http://127.0.0.1:1/dev", TABLE, deployment)
    return CanaryStore(lambda service: session.client(service, REGION), target)


def versions(s3: Any) -> tuple[list[str], list[str]]:
    """The keys of every version, and of every delete marker, in the bucket."""
    listing = s3.list_object_versions(Bucket=BUCKET)
    return (
        sorted(v["Key"] for v in listing.get("Versions", [])),
        sorted(m["Key"] for m in listing.get("DeleteMarkers", [])),
    )


def test_the_canary_file_is_uploaded_as_it_is_to_its_key(session: Session) -> None:
    uploaded = store(session).upload(canary())
    body = session.client("s3", REGION).get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    assert body.decode() == canary().file_text()
    assert (uploaded.uri, uploaded.size, uploaded.parts) == (f"s3://{BUCKET}/{KEY}", len(body), 0)


def test_the_removal_takes_the_canarys_object_and_its_quarantine_and_nothing_else(
    session: Session,
) -> None:
    s3 = session.client("s3", REGION)
    others = [
        "incoming/real.csv",
        "incoming/verify/verify-20261205T145700Z-ffffff.csv",  # another run's canary
        f"quarantine/{KEY}x.jsonl",  # not a quarantine object of the canary's key
    ]
    mine = [KEY, f"quarantine/{KEY}.jsonl", f"quarantine/{KEY}.part-2.jsonl"]
    for key in others + mine:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    removed = store(session).remove_objects(canary())
    assert removed == tuple(mine)
    assert versions(s3) == (sorted(others), [])


def test_in_a_versioned_bucket_every_version_and_delete_marker_goes_for_good(
    session: Session,
) -> None:
    s3 = session.client("s3", REGION)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"first")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"second")
    s3.delete_object(Bucket=BUCKET, Key=KEY)  # a delete marker on top
    s3.put_object(Bucket=BUCKET, Key="incoming/real.csv", Body=b"kept")
    s3.put_object(Bucket=BUCKET, Key="incoming/real.csv", Body=b"kept too")
    removed = store(session).remove_objects(canary())
    assert removed == (KEY, KEY, KEY)
    assert versions(s3) == (["incoming/real.csv", "incoming/real.csv"], [])


def test_nothing_to_remove_is_no_error(session: Session) -> None:
    assert store(session).remove_objects(canary()) == ()
    assert store(session).remove_trades(canary()) == TradeRemoval((), canary().trade_ids)


def _item(trade_id: str, account: str, source_key: str) -> dict[str, Any]:
    return {
        "trade_id": {"S": trade_id},
        "account_id": {"S": account},
        "source_key": {"S": source_key},
    }


def test_only_trades_still_the_canarys_are_deleted(session: Session) -> None:
    dynamodb = session.client("dynamodb", REGION)
    items = [
        _item(f"{RUN}-1", RUN, KEY),
        _item(f"{RUN}-2", RUN, KEY),
        _item(f"{RUN}-3", RUN, "incoming/other.csv"),  # the id, from another file: not ours
        _item("T-1", "acc-real", "incoming/real.csv"),
    ]
    for item in items:
        dynamodb.put_item(TableName=TABLE, Item=item)
    removal = store(session).remove_trades(canary())
    assert removal == TradeRemoval((f"{RUN}-1", f"{RUN}-2"), (f"{RUN}-3",))
    left = dynamodb.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    assert sorted(item["trade_id"]["S"] for item in left) == ["T-1", f"{RUN}-3"]
