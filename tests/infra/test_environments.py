"""Specification of the three environments: one construct, the profile's differences only."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from trading_infra.config import PlatformConfig, parse_config

from tests.infra.conftest import Stack, stack_of

ROOT = Path(__file__).resolve().parents[2]

# The profile table of the environments issue, as the tests expect it.
ON_DEMAND, PROVISIONED = "PAY_PER_REQUEST", "PROVISIONED"
EXPECTED: dict[str, dict[str, Any]] = {
    "dev": {"memory": 256, "backup": 1, "billing": ON_DEMAND, "versioning": False, "logs": 7},
    "staging": {"memory": 512, "backup": 7, "billing": ON_DEMAND, "versioning": False, "logs": 30},
    "prod": {"memory": 1024, "backup": 30, "billing": PROVISIONED, "versioning": True, "logs": 90},
}
ENVIRONMENTS = sorted(EXPECTED)
PARTS = ("network", "app")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_lambda_memory_follows_the_profile(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str
) -> None:
    stack = stack_of(aws_stacks, config, environment)
    memory = {f["memory_size"] for f in stack.resources("aws_lambda_function").values()}
    assert memory == {EXPECTED[environment]["memory"]}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_database_backup_retention_follows_the_profile(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str
) -> None:
    cluster = stack_of(aws_stacks, config, environment).only("aws_rds_cluster")
    assert cluster["backup_retention_period"] == EXPECTED[environment]["backup"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_dynamodb_billing_follows_the_profile(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str
) -> None:
    for table in stack_of(aws_stacks, config, environment).resources("aws_dynamodb_table").values():
        assert table["billing_mode"] == EXPECTED[environment]["billing"]
        if EXPECTED[environment]["billing"] == "PROVISIONED":
            assert (table["read_capacity"], table["write_capacity"]) == (5, 5)
        else:
            assert "read_capacity" not in table and "write_capacity" not in table


def _scaling_of(stack: Stack) -> dict[tuple[str, str], dict[str, Any]]:
    """Each auto scaling target by (resource, dimension), its policy's settings beside it."""
    policies = {
        (p["resource_id"], p["scalable_dimension"]): p
        for p in stack.resources("aws_appautoscaling_policy").values()
    }
    found = {}
    for name, target in stack.resources("aws_appautoscaling_target").items():
        address = f"${{aws_appautoscaling_target.{name}"
        policy = policies[(f"{address}.resource_id}}", f"{address}.scalable_dimension}}")]
        assert policy["service_namespace"] == f"{address}.service_namespace}}"
        found[(target["resource_id"], target["scalable_dimension"])] = {
            "namespace": target["service_namespace"],
            "capacity": (target["min_capacity"], target["max_capacity"]),
            "policy": policy["name"],
            "type": policy["policy_type"],
            "tracking": policy["target_tracking_scaling_policy_configuration"],
        }
    return found


def test_provisioned_tables_and_their_index_auto_scale_read_and_write_capacity(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html: a
    # target per table or index and capacity, from the profile's units (5) to its maximum (50),
    # tracking 70 % utilization.
    stack = stack_of(aws_stacks, config, "prod")
    sessions = "table/${" + stack.address("aws_dynamodb_table", "SessionsTable") + ".name}"
    trades = "table/${" + stack.address("aws_dynamodb_table", "TradesTable") + ".name}"
    index = f"{trades}/index/by-account-executed-at"

    def tracking(direction: str) -> dict[str, Any]:
        metric = f"DynamoDB{direction}CapacityUtilization"
        return {"predefined_metric_specification": {"predefined_metric_type": metric},
                "target_value": 70}  # fmt: skip

    expected = {
        (resource, f"dynamodb:{kind}:{direction}CapacityUnits"): {
            "namespace": "dynamodb",
            "capacity": (5, 50),
            "policy": f"tap-{label}-{direction.lower()}-utilization-prod",
            "type": "TargetTrackingScaling",
            "tracking": tracking(direction),
        }
        for resource, kind, label in (
            (sessions, "table", "sessions"),
            (trades, "table", "trades"),
            (index, "index", "trades-by-account-executed-at"),
        )
        for direction in ("Read", "Write")
    }
    assert _scaling_of(stack) == expected


def test_auto_scaled_capacity_is_not_set_back_by_the_next_plan(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    stack = stack_of(aws_stacks, config, "prod")
    sessions = stack.by_path("aws_dynamodb_table", "SessionsTable")
    trades = stack.by_path("aws_dynamodb_table", "TradesTable")
    assert sessions["lifecycle"] == {"ignore_changes": ["read_capacity", "write_capacity"]}
    # An index's capacity is nested in global_secondary_index: only the whole block can be
    # ignored.
    assert trades["lifecycle"] == {
        "ignore_changes": ["read_capacity", "write_capacity", "global_secondary_index"]
    }


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_on_demand_tables_have_no_auto_scaling(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str
) -> None:
    stack = stack_of(aws_stacks, config, environment)
    assert stack.resources("aws_appautoscaling_target") == {}
    assert stack.resources("aws_appautoscaling_policy") == {}
    assert all("lifecycle" not in t for t in stack.resources("aws_dynamodb_table").values())


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_s3_versioning_and_expiry_only_where_the_profile_enables_them(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str
) -> None:
    stack = stack_of(aws_stacks, config, environment)
    statuses = {
        v["versioning_configuration"]["status"]
        for v in stack.resources("aws_s3_bucket_versioning").values()
    }
    assert len(stack.resources("aws_s3_bucket_versioning")) == 2  # data and access-log bucket
    (versioning,) = statuses
    rules = stack.by_path("aws_s3_bucket_lifecycle_configuration", "DataBucketLifecycle")["rule"]
    expiring = [r for r in rules if "expiration" in r]
    if EXPECTED[environment]["versioning"]:
        assert versioning == "Enabled"
        assert expiring[0]["expiration"] == [{"days": 90}]
        assert expiring[0]["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]
    else:
        assert versioning == "Disabled"
        assert expiring == []


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_log_retention_follows_the_profile(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str
) -> None:
    for part in PARTS:
        groups = stack_of(aws_stacks, config, environment, part).resources(
            "aws_cloudwatch_log_group"
        )
        assert {g["retention_in_days"] for g in groups.values()} == {EXPECTED[environment]["logs"]}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_api_stage_is_named_after_the_environment(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str
) -> None:
    assert stack_of(aws_stacks, config, environment).only("aws_apigatewayv2_stage")["name"] == (
        environment
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_has_its_own_state_key(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str
) -> None:
    for part in PARTS:
        stack = stack_of(aws_stacks, config, environment, part)
        assert stack.document["terraform"]["backend"]["s3"]["key"] == (
            f"tap/{environment}/tap-{environment}-ap-southeast-1-{part}.tfstate"
        )


def _normalised(stack: Stack, environment: str) -> dict[str, Any]:
    text = json.dumps(stack.document["resource"], sort_keys=True)
    text = re.sub(rf"\b{environment}\b", "<env>", text)
    text = re.sub(r"10\.\d+\.(\d+)\.0/(\d+)", r"10.<n>.\1.0/\2", text)
    return dict(json.loads(text))


# What the profile (and the per-environment settings of platform.toml) may change, as
# (resource type, attribute path): scoped to the resource type, so that, for instance, the
# lifecycle rules may differ but the bucket encryption's `rule` may not.
PROFILE_SETTINGS = {
    "aws_apigatewayv2_authorizer": {"authorizer_result_ttl_in_seconds"},
    "aws_apigatewayv2_stage": {
        "default_route_settings.throttling_burst_limit",
        "default_route_settings.throttling_rate_limit",
        "route_settings.throttling_burst_limit",  # the /health throttle
        "route_settings.throttling_rate_limit",
    },
    "aws_cloudwatch_log_group": {"retention_in_days"},
    "aws_dynamodb_table": {
        "billing_mode", "read_capacity", "write_capacity",
        "global_secondary_index.read_capacity", "global_secondary_index.write_capacity",
        "lifecycle",  # provisioned capacity is auto scaled
        "deletion_protection_enabled",  # protect_data (tests/infra/test_data_protection.py)
    },
    "aws_kms_key": {"deletion_window_in_days"},  # protect_data
    "aws_lambda_function": {"memory_size"},
    "aws_rds_cluster": {
        "backup_retention_period", "serverlessv2_scaling_configuration.max_capacity",
        "deletion_protection", "final_snapshot_identifier", "skip_final_snapshot",  # protect_data
    },
    "aws_s3_bucket": {"force_destroy", "object_lock_enabled"},  # protect_data
    "aws_s3_bucket_lifecycle_configuration": {
        "rule", "rule.expiration.days", "rule.noncurrent_version_expiration.noncurrent_days",
    },
    "aws_s3_bucket_versioning": {"versioning_configuration.status"},
}  # fmt: skip
#: Resource types only a profile setting creates: the auto scaling of provisioned tables.
PROFILE_RESOURCES = {"aws_appautoscaling_policy", "aws_appautoscaling_target"}


def _differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Attribute paths (list indices dropped) where ``left`` and ``right`` differ."""
    if isinstance(left, dict) and isinstance(right, dict):
        return [d for key in sorted(set(left) | set(right))
                for d in _differences(left.get(key), right.get(key), f"{path}.{key}")]  # fmt: skip
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [d for a, b in zip(left, right, strict=True) for d in _differences(a, b, path)]
    return [] if left == right else [path.lstrip(".")]


def _unexpected_differences(dev: dict[str, Any], other: dict[str, Any]) -> list[str]:
    found = []
    for kind in sorted(set(dev) | set(other)):
        for name in sorted(set(dev.get(kind, {})) | set(other.get(kind, {}))):
            left, right = dev.get(kind, {}).get(name), other.get(kind, {}).get(name)
            found += [f"{kind}.{name}.{path}" for path in sorted(set(_differences(left, right)))
                      if path not in PROFILE_SETTINGS.get(kind, set())]  # fmt: skip
    return found


def test_environments_have_identical_addresses_and_differ_only_in_profile_settings(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    for part in PARTS:
        dev = _normalised(stack_of(aws_stacks, config, "dev", part), "dev")
        for environment in ("staging", "prod"):
            other = _normalised(stack_of(aws_stacks, config, environment, part), environment)
            addresses = {(t, n) for t, r in dev.items() for n in r if t not in PROFILE_RESOURCES}
            assert addresses == {
                (t, n) for t, r in other.items() for n in r if t not in PROFILE_RESOURCES
            }
            for kind in PROFILE_RESOURCES:
                dev.pop(kind, None)
                other.pop(kind, None)
            differences = _unexpected_differences(dev, other)
            assert differences == [], "\n".join(differences)


def test_a_changed_profile_value_in_the_configuration_file_reaches_the_json(
    tmp_path: Path,
) -> None:
    from tests.infra.conftest import synth_to

    document = tomllib.loads((ROOT / "platform.toml").read_text())
    changed = copy.deepcopy(document)
    changed["environments"]["staging"]["overrides"] = {"lambda_memory_mib": 640}
    stacks = synth_to(tmp_path, parse_config(changed), "aws")
    staging = stacks["tap-staging-ap-southeast-1-app"]
    assert {f["memory_size"] for f in staging.resources("aws_lambda_function").values()} == {640}


def test_postgres_can_replace_aurora_per_environment(tmp_path: Path) -> None:
    from tests.infra.conftest import synth_to

    document = tomllib.loads((ROOT / "platform.toml").read_text())
    changed = copy.deepcopy(document)
    changed["environments"]["prod"]["overrides"] = {
        "database": {"engine": "postgres", "engine_version": "14",
                     "instance_class": "db.t4g.medium"}
    }  # fmt: skip
    prod = synth_to(tmp_path, parse_config(changed), "aws")["tap-prod-ap-southeast-1-app"]
    assert prod.resources("aws_rds_cluster") == {}
    instance = prod.only("aws_db_instance")
    assert (instance["engine"], instance["engine_version"]) == ("postgres", "14")
    # The major version only: the provider compares it with the running version's prefix,
    # which automatic minor version upgrades move; no version is ignored.
    assert instance["auto_minor_version_upgrade"] is True
    assert "lifecycle" not in instance
    assert instance["storage_encrypted"] is True
    assert instance["manage_master_user_password"] is True
    assert instance["backup_retention_period"] == 30
    assert (instance["deletion_protection"], instance["skip_final_snapshot"]) == (True, False)
    assert instance["final_snapshot_identifier"] == "tap-postgres-final-prod"
    assert {"name": "rds.force_ssl", "value": "1"} in prod.only("aws_db_parameter_group")[
        "parameter"
    ]
    rotation = prod.only("aws_secretsmanager_secret_rotation")
    assert "aws_db_instance" in rotation["secret_id"]
    alarm = prod.by_path("aws_cloudwatch_metric_alarm", "DatabaseCpu")
    assert "DBInstanceIdentifier" in alarm["dimensions"]
