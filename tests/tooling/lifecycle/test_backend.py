"""tooling.lifecycle.backend: the state backend read from the validated configuration, and its
idempotent bootstrap (on an in-process moto)."""

from __future__ import annotations

from pathlib import Path

from trading_infra.config import load_config

from tests.tooling.conftest import reset_moto
from tooling.emulator.process import Emulator
from tooling.lifecycle.backend import (
    BackendSpec,
    StateBucket,
    backend_spec,
    bootstrap_backend,
    load_backend_spec,
)
from tooling.lifecycle.session import Session

ROOT = Path(__file__).resolve().parents[3]


def test_the_spec_comes_from_platform_toml() -> None:
    config = load_config(ROOT / "platform.toml")
    spec = load_backend_spec(ROOT / "platform.toml")
    assert spec == backend_spec(config)
    assert (spec.lock_table, spec.region) == (config.state.lock_table, config.state.region)
    assert (spec.platform, spec.cost_center) == (config.platform.name, config.platform.cost_center)
    assert [s.environment for s in spec.state_buckets] == [e.name for e in config.environments]
    for environment in config.environments:
        location = config.state_of(environment)
        assert spec.bucket_of(environment.name) == location.bucket
        assert StateBucket(environment.name, location.bucket, location.kms_key) in (
            spec.state_buckets
        )


def test_every_environment_has_its_own_state_bucket_and_key() -> None:
    spec = load_backend_spec(ROOT / "platform.toml")
    assert len(spec.buckets) == len(spec.state_buckets) == len(spec.kms_aliases)
    assert spec.bucket_of("prod") == "tap-terraform-state-prod"


SPEC = BackendSpec(
    "tap-locks-test",
    "ap-southeast-1",
    "tap",
    "CC-1",
    state_buckets=(
        StateBucket("dev", "tap-state-test-dev", "alias/tap-state-test-dev"),
        StateBucket("prod", "tap-state-test-prod", "alias/tap-state-test-prod"),
    ),
)


def test_a_deploy_bootstraps_only_the_state_of_its_own_environments(
    endpoint: str, tmp_path: Path
) -> None:
    # GIVEN two environments (in real use possibly two accounts) WHEN only prod is deployed
    reset_moto(endpoint)
    port = int(endpoint.rsplit(":", 1)[1])
    emulator = Emulator(endpoint=endpoint, port=port, pid=0, state_dir=tmp_path)
    session = Session(root=tmp_path, target="local", emulator=emulator)
    done = bootstrap_backend(session, SPEC.for_environments({"prod"}))
    # THEN only prod's key and bucket (and the shared lock table) are created
    assert done == [
        "key alias/tap-state-test-prod: created",
        "bucket tap-state-test-prod: created",
        "table tap-locks-test: created",
    ]
    buckets = {b["Name"] for b in session.client("s3", SPEC.region).list_buckets()["Buckets"]}
    assert "tap-state-test-dev" not in buckets


def test_bootstrap_creates_once_and_then_finds_all(endpoint: str, tmp_path: Path) -> None:
    reset_moto(endpoint)
    port = int(endpoint.rsplit(":", 1)[1])
    emulator = Emulator(endpoint=endpoint, port=port, pid=0, state_dir=tmp_path)
    session = Session(root=tmp_path, target="local", emulator=emulator)
    assert bootstrap_backend(session, SPEC) == [
        "key alias/tap-state-test-dev: created",
        "bucket tap-state-test-dev: created",
        "key alias/tap-state-test-prod: created",
        "bucket tap-state-test-prod: created",
        "table tap-locks-test: created",
    ]
    assert bootstrap_backend(session, SPEC) == [
        "key alias/tap-state-test-dev: exists",
        "bucket tap-state-test-dev: exists",
        "key alias/tap-state-test-prod: exists",
        "bucket tap-state-test-prod: exists",
        "table tap-locks-test: exists",
    ]
    s3 = session.client("s3", SPEC.region)
    kms = session.client("kms", SPEC.region)
    keys = set()
    for state in SPEC.state_buckets:
        assert s3.get_bucket_versioning(Bucket=state.bucket)["Status"] == "Enabled"
        key = kms.describe_key(KeyId=state.kms_key)["KeyMetadata"]
        assert key["KeyManager"] == "CUSTOMER"
        assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
        (rule,) = s3.get_bucket_encryption(Bucket=state.bucket)[
            "ServerSideEncryptionConfiguration"
        ]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key["Arn"],
        }
        keys.add(key["Arn"])
    assert len(keys) == 2  # one customer-managed key per environment
    dynamodb = session.client("dynamodb", SPEC.region)
    backups = dynamodb.describe_continuous_backups(TableName=SPEC.lock_table)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_state_buckets_and_keys_are_never_leftovers(endpoint: str, tmp_path: Path) -> None:
    """A destroy (and its sweep) keeps every environment's state bucket and key."""
    from tooling.lifecycle.leftovers import leftovers

    reset_moto(endpoint)
    port = int(endpoint.rsplit(":", 1)[1])
    emulator = Emulator(endpoint=endpoint, port=port, pid=0, state_dir=tmp_path)
    session = Session(root=tmp_path, target="local", emulator=emulator)
    spec = BackendSpec(
        "tap-terraform-locks",
        "ap-southeast-1",
        "tap",
        "CC-1",
        state_buckets=(
            StateBucket("dev", "tap-terraform-state-dev", "alias/tap-terraform-state-dev"),
        ),
    )
    bootstrap_backend(session, spec)
    session.client("s3", spec.region).create_bucket(
        Bucket="tap-data-dev", CreateBucketConfiguration={"LocationConstraint": spec.region}
    )
    for environments in ([], ["dev"]):
        found = leftovers(session, [spec.region], spec, environments=environments)
        assert [(f.kind, f.name) for f in found] == [("s3 bucket", "tap-data-dev")]
