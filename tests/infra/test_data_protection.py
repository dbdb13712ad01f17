"""Specification of data protection (the profile's ``protect_data``), read off the synthesized JSON.

Protected deployments (prod, the three-region global) guard their data against deletion in every
region: deletion protection on the database and the tables, a final database snapshot, no
``force_destroy`` bucket, a 30-day KMS deletion window, and access logs kept as object versions
(no Object Lock: S3 delivers no server access logs to a bucket with it). Unprotected ones (dev,
staging) have none of it, so they can be destroyed.
Lifting the protection (override ``protect_data = false``, or TAP_UNPROTECTED_ENVIRONMENTS)
gives a protected deployment the unprotected shape.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from trading_infra.config import (
    UNPROTECTED_ENVIRONMENTS_ENV,
    ConfigError,
    PlatformConfig,
    load_config,
    parse_config,
)

from tests.infra.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE = ROOT / "platform.toml"
PROTECTED = {"prod": True, "global": True, "dev": False, "staging": False}
#: Every region of every deployment of platform.toml: (environment, region).
DEPLOYMENTS = [
    (environment.name, region.name)
    for environment in load_config(CONFIG_FILE, environ={}).environments
    for region in environment.regions
]
DATABASE_TYPES = ("aws_rds_cluster", "aws_db_instance")


def stack(stacks: dict[str, Stack], environment: str, region: str, part: str = "app") -> Stack:
    return stacks[f"tap-{environment}-{region}-{part}"]


def databases(app: Stack) -> list[dict[str, Any]]:
    found = [body for kind in DATABASE_TYPES for body in app.resources(kind).values()]
    assert found, f"no database in {app.name}"
    return found


def kms_keys(stacks: dict[str, Stack], environment: str, region: str) -> list[dict[str, Any]]:
    return [
        key
        for part in ("network", "app")
        for key in stack(stacks, environment, region, part).resources("aws_kms_key").values()
    ]


def test_the_profiles_protect_prod_and_multi_region_only(config: PlatformConfig) -> None:
    assert {e.name: e.profile.protect_data for e in config.environments} == PROTECTED


# --- every region of every deployment ------------------------------------------------------


@pytest.mark.parametrize(("environment", "region"), DEPLOYMENTS)
def test_database_deletion_protection_follows_protect_data(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    app = stack(aws_stacks, environment, region)
    protected = [d["deletion_protection"] for d in databases(app)]
    global_clusters = app.resources("aws_rds_global_cluster").values()
    protected += [cluster["deletion_protection"] for cluster in global_clusters]
    assert set(protected) == {PROTECTED[environment]}


@pytest.mark.parametrize(("environment", "region"), DEPLOYMENTS)
def test_a_protected_database_takes_a_final_snapshot(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    for database in databases(stack(aws_stacks, environment, region)):
        assert database["skip_final_snapshot"] is not PROTECTED[environment]
        if PROTECTED[environment]:
            assert database["final_snapshot_identifier"] == f"tap-aurora-final-{environment}"
        else:
            assert "final_snapshot_identifier" not in database


@pytest.mark.parametrize(("environment", "region"), DEPLOYMENTS)
def test_table_deletion_protection_follows_protect_data(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    tables = stack(aws_stacks, environment, region).resources("aws_dynamodb_table").values()
    assert tables
    assert {t["deletion_protection_enabled"] for t in tables} == {PROTECTED[environment]}


@pytest.mark.parametrize(("environment", "region"), DEPLOYMENTS)
def test_only_unprotected_buckets_are_force_destroy(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    buckets = stack(aws_stacks, environment, region).resources("aws_s3_bucket").values()
    assert buckets
    assert {b["force_destroy"] for b in buckets} == {not PROTECTED[environment]}


@pytest.mark.parametrize(("environment", "region"), DEPLOYMENTS)
def test_kms_deletion_window_is_30_days_when_protected_else_7(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    keys = kms_keys(aws_stacks, environment, region)
    assert keys
    expected = 30 if PROTECTED[environment] else 7
    assert {key["deletion_window_in_days"] for key in keys} == {expected}


@pytest.mark.parametrize(("environment", "region"), DEPLOYMENTS)
def test_the_access_log_bucket_has_no_object_lock_so_s3_delivers_the_logs(
    aws_stacks: dict[str, Stack], local_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    # "The destination bucket must not have a default retention period configuration"
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html);
    # "S3 buckets with Object Lock can't be used as destination buckets for server access logs"
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html).
    for stacks in (aws_stacks, local_stacks):
        app = stack(stacks, environment, region)
        assert app.by_path("aws_s3_bucket", "Storage/LogBucket")["object_lock_enabled"] is False
        assert "object_lock_enabled" not in app.by_path("aws_s3_bucket", "Storage/DataBucket")
        assert app.resources("aws_s3_bucket_object_lock_configuration") == {}


@pytest.mark.parametrize(("environment", "region"), DEPLOYMENTS)
def test_access_logs_overwritten_or_deleted_are_kept_as_long_as_logs_are_kept(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str, region: str
) -> None:
    lifecycle = stack(aws_stacks, environment, region).by_path(
        "aws_s3_bucket_lifecycle_configuration", "Storage/LogBucketLifecycle"
    )
    kept = config.environment(environment).profile.access_log_expiration_days
    (rule,) = lifecycle["rule"]
    assert rule["expiration"] == [{"days": kept}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": kept}]
    assert kept == (365 if PROTECTED[environment] else 90)


@pytest.mark.parametrize(("environment", "region"), DEPLOYMENTS)
def test_a_protected_access_log_bucket_is_versioned(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    # The kept logs are versions: an overwritten or deleted log stays as a noncurrent one.
    versioning = stack(aws_stacks, environment, region).by_path(
        "aws_s3_bucket_versioning", "Storage/LogBucketVersioning"
    )
    if PROTECTED[environment]:
        assert versioning["versioning_configuration"] == {"status": "Enabled"}


@pytest.mark.parametrize(("environment", "region"), DEPLOYMENTS)
def test_lifting_the_protection_never_replaces_the_access_log_bucket(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    # object_lock_enabled forces a new bucket; S3 cannot turn Object Lock off anyway: a log
    # bucket created with Object Lock is kept with its logs, not replaced.
    app = stack(aws_stacks, environment, region)
    log_bucket = app.by_path("aws_s3_bucket", "Storage/LogBucket")
    assert log_bucket["lifecycle"] == {"ignore_changes": ["object_lock_enabled"]}


def test_the_local_target_deploys_the_same_protection(
    local_stacks: dict[str, Stack], aws_stacks: dict[str, Stack]
) -> None:
    for environment, region in DEPLOYMENTS:
        local, aws = (stack(s, environment, region) for s in (local_stacks, aws_stacks))
        for kind in DATABASE_TYPES:
            assert local.resources(kind).keys() == aws.resources(kind).keys()
        assert [d["deletion_protection"] for d in databases(local)] == [
            d["deletion_protection"] for d in databases(aws)
        ]


# --- lifting the protection -----------------------------------------------------------------


def _document() -> dict[str, Any]:
    return tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))


def test_the_override_protect_data_false_lifts_every_protection(tmp_path: Path) -> None:
    from tests.infra.conftest import synth_to

    document = copy.deepcopy(_document())
    document["environments"]["prod"].setdefault("overrides", {})["protect_data"] = False
    stacks = synth_to(tmp_path, parse_config(document), "aws")
    app, network = (stack(stacks, "prod", "ap-southeast-1", part) for part in ("app", "network"))
    (cluster,) = databases(app)
    assert (cluster["deletion_protection"], cluster["skip_final_snapshot"]) == (False, True)
    tables = app.resources("aws_dynamodb_table").values()
    assert {table["deletion_protection_enabled"] for table in tables} == {False}
    assert {b["force_destroy"] for b in app.resources("aws_s3_bucket").values()} == {True}
    keys = [*network.resources("aws_kms_key").values(), *app.resources("aws_kms_key").values()]
    assert {key["deletion_window_in_days"] for key in keys} == {7}


def test_the_environment_variable_lifts_the_named_environments_only() -> None:
    environ = {UNPROTECTED_ENVIRONMENTS_ENV: " prod , global"}
    config = load_config(CONFIG_FILE, environ=environ)
    assert {e.name: e.profile.protect_data for e in config.environments} == dict.fromkeys(
        PROTECTED, False
    )
    only_prod = load_config(CONFIG_FILE, environ={UNPROTECTED_ENVIRONMENTS_ENV: "prod"})
    assert only_prod.environment("global").profile.protect_data is True


def test_the_environment_variable_all_lifts_every_environment() -> None:
    config = load_config(CONFIG_FILE, environ={UNPROTECTED_ENVIRONMENTS_ENV: "all"})
    assert not any(e.profile.protect_data for e in config.environments)


def test_the_environment_variable_rejects_an_unknown_environment() -> None:
    with pytest.raises(ConfigError, match=r"TAP_UNPROTECTED_ENVIRONMENTS .*'prd'"):
        load_config(CONFIG_FILE, environ={UNPROTECTED_ENVIRONMENTS_ENV: "prd"})


def test_protection_requires_versioning_so_that_lifting_it_can_deploy() -> None:
    document = copy.deepcopy(_document())
    document["environments"]["dev"].setdefault("overrides", {})["protect_data"] = True
    with pytest.raises(ConfigError, match="protect_data = true needs data_versioning"):
        parse_config(document)
