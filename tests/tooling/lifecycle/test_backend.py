"""tooling.lifecycle.backend: the state backend read from the validated configuration, and its
idempotent bootstrap (on an in-process moto)."""

from __future__ import annotations

from pathlib import Path

from trading_infra.config import load_config

from tests.tooling.conftest import reset_moto
from tooling.emulator.process import Emulator
from tooling.lifecycle.backend import (
    BackendSpec,
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
    assert (spec.bucket, spec.lock_table, spec.region) == (
        config.state.bucket,
        config.state.lock_table,
        config.state.region,
    )
    assert (spec.platform, spec.cost_center) == (config.platform.name, config.platform.cost_center)


def test_bootstrap_creates_once_and_then_finds_both(endpoint: str, tmp_path: Path) -> None:
    reset_moto(endpoint)
    port = int(endpoint.rsplit(":", 1)[1])
    emulator = Emulator(endpoint=endpoint, port=port, pid=0, state_dir=tmp_path)
    session = Session(root=tmp_path, target="local", emulator=emulator)
    spec = BackendSpec("tap-state-test", "tap-locks-test", "ap-southeast-1", "tap", "CC-1")
    assert bootstrap_backend(session, spec) == [
        "bucket tap-state-test: created",
        "table tap-locks-test: created",
    ]
    assert bootstrap_backend(session, spec) == [
        "bucket tap-state-test: exists",
        "table tap-locks-test: exists",
    ]
    s3 = session.client("s3", spec.region)
    assert s3.get_bucket_versioning(Bucket=spec.bucket)["Status"] == "Enabled"
    dynamodb = session.client("dynamodb", spec.region)
    backups = dynamodb.describe_continuous_backups(TableName=spec.lock_table)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
