"""tooling.lifecycle.state_snapshot: a stack's state lineage and serial and the outputs it reads,
read from the state objects on an in-process moto (what ``plan --out`` records and
``deploy --plan`` compares)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.tooling.conftest import fresh_local_session
from tooling.lifecycle.session import DeployError, Session
from tooling.lifecycle.state_snapshot import StateSnapshot, config_sha256, read_snapshot

pytestmark = pytest.mark.moto

REGION = "eu-west-1"
BUCKET = "tap-terraform-state-dev"
KEY = "tap/dev/tap-dev-eu-west-1-app.tfstate"
NETWORK_KEY = "tap/dev/tap-dev-eu-west-1-network.tfstate"


def _digest(reads: object) -> str:
    return hashlib.sha256(json.dumps(reads, sort_keys=True).encode()).hexdigest()


@pytest.fixture
def stack(endpoint: str, tmp_path: Path) -> tuple[Session, Path]:
    """An app stack whose backend is in a (moto) bucket and which reads the network's state."""
    session = fresh_local_session(endpoint, tmp_path)
    session.client("s3", REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    state = {"bucket": BUCKET, "region": REGION}
    document = {
        "terraform": {"backend": {"s3": {**state, "key": KEY}}},
        "data": {
            "terraform_remote_state": {
                "network": {"backend": "s3", "config": {**state, "key": NETWORK_KEY}}
            }
        },
    }
    stack_dir = tmp_path / "tap-dev-eu-west-1-app"
    stack_dir.mkdir()
    (stack_dir / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")
    return session, stack_dir


def _put(session: Session, key: str, state: dict[str, object]) -> None:
    session.client("s3", REGION).put_object(Bucket=BUCKET, Key=key, Body=json.dumps(state))


def test_a_stack_never_deployed_has_no_lineage_and_reads_nothing(
    stack: tuple[Session, Path],
) -> None:
    session, stack_dir = stack

    assert read_snapshot(session, stack_dir) == StateSnapshot(
        None, None, _digest({"network": None})
    )


def test_the_lineage_serial_and_outputs_read_are_those_stored_now(
    stack: tuple[Session, Path],
) -> None:
    session, stack_dir = stack
    _put(session, KEY, {"lineage": "5d1c-app", "serial": 3, "outputs": {}})
    _put(
        session,
        NETWORK_KEY,
        {"lineage": "n", "serial": 9, "outputs": {"vpc_id": {"value": "vpc-1"}}},
    )

    first = read_snapshot(session, stack_dir)
    _put(
        session,
        NETWORK_KEY,
        {"lineage": "n", "serial": 10, "outputs": {"vpc_id": {"value": "vpc-2"}}},
    )
    second = read_snapshot(session, stack_dir)

    assert first == StateSnapshot("5d1c-app", 3, _digest({"network": {"vpc_id": "vpc-1"}}))
    assert second == StateSnapshot("5d1c-app", 3, _digest({"network": {"vpc_id": "vpc-2"}}))


def test_a_stack_without_an_s3_backend_is_an_error(tmp_path: Path, endpoint: str) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    (tmp_path / "cdk.tf.json").write_text('{"terraform": {}}', encoding="utf-8")

    with pytest.raises(DeployError, match=r"no S3 backend \(bucket, key, region\) to read"):
        read_snapshot(session, tmp_path)


def test_the_configuration_digest_is_the_sha256_of_cdk_tf_json(tmp_path: Path) -> None:
    (tmp_path / "cdk.tf.json").write_bytes(b"abc")

    assert config_sha256(tmp_path) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
