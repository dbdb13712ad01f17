"""Specification of the three-region deployment: one module per region, global data."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from trading_infra.config import ConfigError, PlatformConfig, parse_config

from tests.infra.conftest import Stack, remote
from tooling.drift.static import RegionStack, compare_regions, declared_parameters

ROOT = Path(__file__).resolve().parents[2]
PRIMARY, SECONDARIES = "ap-southeast-1", ("us-east-1", "us-east-2")
REGIONS = (PRIMARY, *SECONDARIES)


def app(stacks: dict[str, Stack], region: str) -> Stack:
    return stacks[f"tap-global-{region}-app"]


def network(stacks: dict[str, Stack], region: str) -> Stack:
    return stacks[f"tap-global-{region}-network"]


@pytest.fixture
def document() -> dict[str, Any]:
    return tomllib.loads((ROOT / "platform.toml").read_text())


def error_of(document: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(document)
    return str(raised.value)


# --- Regions and parameters ------------------------------------------------------------------


def test_default_deployment_is_three_distinct_regions_with_the_primary_first(
    config: PlatformConfig,
) -> None:
    environment = config.environment("global")
    assert [r.name for r in environment.regions] == list(REGIONS)
    assert [str(r.vpc_cidr) for r in environment.regions] == [
        "10.0.0.0/16",
        "10.1.0.0/16",
        "10.2.0.0/16",
    ]


def test_each_region_gets_its_vpc_from_its_own_cidr(aws_stacks: dict[str, Stack]) -> None:
    cidrs = [network(aws_stacks, r).only("aws_vpc")["cidr_block"] for r in REGIONS]
    assert cidrs == ["10.0.0.0/16", "10.1.0.0/16", "10.2.0.0/16"]


def test_the_requirement_texts_region_listed_twice_is_rejected(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["global"]["regions"][1]["name"] = "us-east-2"
    assert "'us-east-2' is listed twice" in error_of(changed)


def test_overlapping_cidrs_of_any_prefix_length_are_rejected(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["global"]["regions"][2]["vpc_cidr"] = "10.1.128.0/20"
    message = error_of(changed)
    assert "10.1.128.0/20" in message and "overlaps" in message


def test_certificate_from_another_region_is_rejected(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    arn = "arn:aws:acm:us-east-1:111122223333:certificate/abcd"
    for region in changed["environments"]["global"]["regions"]:
        region["certificate_arn"] = arn
    message = error_of(changed)
    assert "belongs to region 'us-east-1'" in message and "'ap-southeast-1'" in message


def test_every_region_must_set_the_same_parameters(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["global"]["regions"][0]["kms_key_arn"] = (
        "arn:aws:kms:ap-southeast-1:111122223333:key/abcd"
    )
    assert "set different parameters (kms_key_arn)" in error_of(changed)


def test_multi_region_requires_an_existing_master_secret(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    del changed["environments"]["global"]["overrides"]
    assert "cannot use an RDS-managed password" in error_of(changed)


# --- Aurora global database ------------------------------------------------------------------


def test_primary_creates_the_global_cluster_and_its_writer_joins_it(
    aws_stacks: dict[str, Stack],
) -> None:
    primary = app(aws_stacks, PRIMARY)
    global_cluster = primary.only("aws_rds_global_cluster")
    assert global_cluster["storage_encrypted"] is True
    cluster = primary.only("aws_rds_cluster")
    assert cluster["global_cluster_identifier"].startswith("${aws_rds_global_cluster.")
    assert "global_cluster_identifier" in primary.outputs


def test_primary_password_comes_from_the_existing_secret_and_never_reaches_state(
    aws_stacks: dict[str, Stack],
) -> None:
    # RDS cannot manage the master password of a global database's cluster
    # (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html,
    # "Limitations"): it comes from an existing secret, write-only.
    primary = app(aws_stacks, PRIMARY)
    cluster = primary.only("aws_rds_cluster")
    assert "manage_master_user_password" not in cluster and "master_password" not in cluster
    assert cluster["master_password_wo"] == (
        "${var.open_master_password ? jsondecode(ephemeral.aws_secretsmanager_secret_version"
        ".DatabaseMaster[0].secret_string).password : null}"
    )
    assert cluster["master_password_wo_version"] == "${var.open_master_password ? 1 : null}"
    ephemeral = primary.document["ephemeral"]["aws_secretsmanager_secret_version"]
    assert ephemeral["DatabaseMaster"] == {
        "count": "${var.open_master_password ? 1 : 0}",
        "secret_id": "tap/global/aurora-master",
    }
    rotation = primary.only("aws_secretsmanager_secret_rotation")
    assert rotation["rotation_rules"] == {"automatically_after_days": 30}
    assert rotation["rotation_lambda_arn"].endswith(":function:tap-global-aurora-rotation")


def test_only_a_plan_that_opens_it_reads_the_master_password(
    aws_stacks: dict[str, Stack],
) -> None:
    # Terraform opens an ephemeral resource in every plan that evaluates it: without the
    # variable the read-only roles of review plans and drift could not plan this stack.
    primary = app(aws_stacks, PRIMARY)
    assert primary.document["variable"] == {
        "open_master_password": {
            "type": "bool",
            "default": False,
            "nullable": False,
            "description": "Read the master password secret (only to create the database).",
        }
    }
    for region in SECONDARIES:
        assert "variable" not in app(aws_stacks, region).document


def test_the_existing_secret_first_rotates_on_its_schedule_not_at_apply(
    aws_stacks: dict[str, Stack],
) -> None:
    # RotateSecret rotates at once unless RotateImmediately is false
    # (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html).
    rotation = app(aws_stacks, PRIMARY).only("aws_secretsmanager_secret_rotation")
    assert rotation["rotate_immediately"] is False


@pytest.mark.parametrize("region", SECONDARIES)
def test_secondaries_join_the_global_cluster_read_from_the_primarys_state(
    aws_stacks: dict[str, Stack], region: str
) -> None:
    secondary = app(aws_stacks, region)
    cluster = secondary.only("aws_rds_cluster")
    assert cluster["global_cluster_identifier"] == (
        "${data.terraform_remote_state.PrimaryApplication.outputs.global_cluster_identifier}"
    )
    assert secondary.resources("aws_rds_global_cluster") == {}
    assert "master_username" not in cluster and "master_password_wo" not in cluster
    remote_state = secondary.document["data"]["terraform_remote_state"]["PrimaryApplication"]
    assert remote_state["config"]["key"] == "tap/global/tap-global-ap-southeast-1-app.tfstate"


def test_aws_keeps_the_engine_version_of_every_global_database_member(
    aws_stacks: dict[str, Stack],
) -> None:
    # Aurora upgrades minor versions itself; a plan back to the configured version would be a
    # downgrade RDS refuses.
    primary = app(aws_stacks, PRIMARY)
    ignored = {"ignore_changes": ["engine_version"]}
    assert primary.only("aws_rds_global_cluster")["lifecycle"] == ignored
    # And the password's version: set once, at creation (the next test).
    assert primary.only("aws_rds_cluster")["lifecycle"] == {
        "ignore_changes": ["engine_version", "master_password_wo_version"]
    }
    for region in SECONDARIES:
        assert app(aws_stacks, region).only("aws_rds_cluster")["lifecycle"] == {
            "ignore_changes": ["engine_version", "replication_source_identifier"]
        }
    for region in REGIONS:
        writer = app(aws_stacks, region).only("aws_rds_cluster_instance")
        assert writer["engine_version"] == "8.0.mysql_aurora.3.08.0"
        assert writer["auto_minor_version_upgrade"] is True
        assert writer["lifecycle"] == ignored


@pytest.mark.parametrize("region", REGIONS)
def test_every_regional_cluster_is_encrypted_with_its_own_key_and_backed_up(
    aws_stacks: dict[str, Stack], region: str
) -> None:
    cluster = app(aws_stacks, region).only("aws_rds_cluster")
    assert cluster["storage_encrypted"] is True
    assert cluster["kms_key_id"] == remote("kms_key_arn")  # this region's network stack
    assert cluster["backup_retention_period"] == 30
    assert cluster["deletion_protection"] is True and cluster["skip_final_snapshot"] is False


# --- DynamoDB global table ------------------------------------------------------------------


def test_sessions_are_a_global_table_replicated_to_every_other_region(
    aws_stacks: dict[str, Stack],
) -> None:
    table = app(aws_stacks, PRIMARY).by_path("aws_dynamodb_table", "SessionsTable")
    assert table["stream_enabled"] is True
    assert table["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    assert table["point_in_time_recovery"] == {"enabled": True}
    replicas = {r["region_name"]: r for r in table["replica"]}
    assert sorted(replicas) == sorted(SECONDARIES)
    for region, replica in replicas.items():
        camel = "".join(part.capitalize() for part in region.split("-"))
        assert replica["point_in_time_recovery"] is True
        assert replica["kms_key_arn"] == (
            "${data.terraform_remote_state.Network" + camel + ".outputs.kms_key_arn}"
        )


@pytest.mark.parametrize("region", SECONDARIES)
def test_secondaries_use_their_replica_instead_of_creating_a_table(
    aws_stacks: dict[str, Stack], region: str
) -> None:
    secondary = app(aws_stacks, region)
    tables = [t["name"] for t in secondary.resources("aws_dynamodb_table").values()]
    assert tables == ["tap-trades-global"]  # trades stay in their region
    handler = secondary.by_path("aws_lambda_function", "ApiHandler/Function")
    assert handler["environment"]["variables"]["SESSIONS_TABLE_NAME"] == "tap-sessions-global"


def test_local_profile_gives_each_region_its_own_sessions_table(
    local_stacks: dict[str, Stack],
) -> None:
    for region in REGIONS:
        sessions = app(local_stacks, region).by_path("aws_dynamodb_table", "SessionsTable")
        assert "replica" not in sessions


def test_the_local_profile_is_the_only_difference_between_local_and_aws(
    aws_stacks: dict[str, Stack], local_stacks: dict[str, Stack]
) -> None:
    for region in REGIONS:
        aws_resources = app(aws_stacks, region).document["resource"]
        local_resources = copy.deepcopy(app(local_stacks, region).document["resource"])
        aws_sessions = aws_resources.get("aws_dynamodb_table", {})
        local_tables = local_resources["aws_dynamodb_table"]
        for name in list(local_tables):
            if name.startswith("Tables_SessionsTable") and name not in aws_sessions:
                del local_tables[name]  # secondaries: the replica stands for it on AWS
            elif name.startswith("Tables_SessionsTable"):
                for key in ("replica", "stream_enabled", "stream_view_type"):
                    local_tables[name][key] = aws_sessions[name][key]
        assert json.dumps(aws_resources, sort_keys=True) == json.dumps(
            local_resources, sort_keys=True
        )


# --- Custom domains and routing -------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_serves_the_api_name_with_its_own_certificate(
    aws_stacks: dict[str, Stack], region: str
) -> None:
    stack = app(aws_stacks, region)
    zone = stack.document["data"]["aws_route53_zone"]
    assert [z["name"] for z in zone.values()] == ["trading.example.com"]
    domain = stack.only("aws_apigatewayv2_domain_name")
    assert domain["domain_name"] == "api.trading.example.com"
    assert domain["domain_name_configuration"]["endpoint_type"] == "REGIONAL"
    assert domain["domain_name_configuration"]["security_policy"] == "TLS_1_2"
    assert stack.only("aws_acm_certificate")["validation_method"] == "DNS"
    mapping = stack.only("aws_apigatewayv2_api_mapping")
    assert mapping["stage"].startswith("${aws_apigatewayv2_stage.")


def validation_records(stacks: dict[str, Stack]) -> dict[str, list[dict[str, Any]]]:
    """The certificate validation records each of the six global stacks declares."""
    return {
        name: [
            body
            for body in stack.resources("aws_route53_record").values()
            if body["//"]["metadata"]["path"].endswith("CertificateValidationRecord")
        ]
        for name, stack in sorted(stacks.items())
        if name.startswith("tap-global-")
    }


def test_only_the_primary_application_stack_manages_the_certificate_validation_record(
    aws_stacks: dict[str, Stack], local_stacks: dict[str, Stack]
) -> None:
    # ACM asks for the same CNAME in every region of the account
    # (https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html): one owner, so
    # destroying a region never deletes the record the others are validated and renewed with.
    for stacks in (aws_stacks, local_stacks):
        records = validation_records(stacks)
        assert len(records) == 6
        assert {name: len(found) for name, found in records.items()} == {
            f"tap-global-{region}-{part}": int(region == PRIMARY and part == "app")
            for region in REGIONS
            for part in ("network", "app")
        }
        primary = app(stacks, PRIMARY)
        (record,) = records[primary.name]
        certificate = primary.address("aws_acm_certificate", "CustomDomain/Certificate")
        option = f"tolist({certificate}.domain_validation_options).0"
        (zone,) = primary.document["data"]["aws_route53_zone"]
        assert {key: value for key, value in record.items() if key != "//"} == {
            "zone_id": "${data.aws_route53_zone." + zone + ".zone_id}",
            "name": "${" + option + ".resource_record_name}",
            "type": "${" + option + ".resource_record_type}",
            "records": ["${" + option + ".resource_record_value}"],
            "ttl": 300,
            "allow_overwrite": True,
        }


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_waits_for_its_certificate_through_the_record_by_name(
    aws_stacks: dict[str, Stack], region: str
) -> None:
    # The same in every region: its own certificate's validation record name, which the
    # provider checks against the certificate, never a reference to the record resource.
    stack = app(aws_stacks, region)
    certificate = stack.address("aws_acm_certificate", "CustomDomain/Certificate")
    validation = stack.only("aws_acm_certificate_validation")
    assert validation["certificate_arn"] == "${" + certificate + ".arn}"
    assert validation["validation_record_fqdns"] == [
        "${tolist(" + certificate + ".domain_validation_options).0.resource_record_name}"
    ]
    assert "depends_on" not in validation


@pytest.mark.parametrize("region", REGIONS)
def test_latency_record_routes_to_the_region_only_while_it_is_healthy(
    aws_stacks: dict[str, Stack], region: str
) -> None:
    stack = app(aws_stacks, region)
    record = stack.by_path("aws_route53_record", "LatencyRecord")
    assert record["latency_routing_policy"] == {"region": region}
    assert record["set_identifier"] == region
    assert record["alias"]["evaluate_target_health"] is True
    assert record["health_check_id"].startswith("${aws_route53_health_check.")
    health = stack.only("aws_route53_health_check")
    assert health["type"] == "HTTPS"
    assert health["resource_path"].endswith("/health")


# --- Storage, state sharing, drift ----------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_has_its_own_bucket_encrypted_with_its_own_key(
    aws_stacks: dict[str, Stack], region: str
) -> None:
    stack = app(aws_stacks, region)
    assert stack.by_path("aws_s3_bucket", "DataBucket")["bucket"] == (
        f"tap-data-global-{region}-${{data.aws_caller_identity.CallerIdentity.account_id}}"
    )
    encryption = stack.by_path(
        "aws_s3_bucket_server_side_encryption_configuration", "DataBucketEncryption"
    )
    default = encryption["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["kms_master_key_id"] == remote("kms_key_arn")


def test_stacks_deploy_in_dependency_order(tmp_path: Path, config: PlatformConfig) -> None:
    from tests.infra.conftest import synth_to

    synth_to(tmp_path, config, "aws")
    manifest = json.loads((tmp_path / "manifest.json").read_text())["stacks"]
    primary_app = "tap-global-ap-southeast-1-app"
    assert sorted(manifest[primary_app]["dependencies"]) == [
        "tap-global-ap-southeast-1-network",
        "tap-global-us-east-1-network",
        "tap-global-us-east-2-network",
    ]
    for region in SECONDARIES:
        assert sorted(manifest[f"tap-global-{region}-app"]["dependencies"]) == [
            primary_app,
            f"tap-global-{region}-network",
        ]


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_alarms_on_its_drift_metric(aws_stacks: dict[str, Stack], region: str) -> None:
    alarm = app(aws_stacks, region).by_path("aws_cloudwatch_metric_alarm", "Monitoring/Drift")
    assert alarm["dimensions"] == {"Deployment": "global", "Region": region}
    assert alarm["treat_missing_data"] == "missing"


def region_stacks(stacks: dict[str, Stack], config: PlatformConfig) -> list[RegionStack]:
    environment = config.environment("global")
    return [
        RegionStack(
            region.name,
            part,
            stacks[f"tap-global-{region.name}-{part}"].document,
            declared_parameters(environment, region.name),
        )
        for region in environment.regions
        for part in ("network", "app")
    ]


def test_regions_are_identical_but_for_declared_parameters(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    assert compare_regions(region_stacks(aws_stacks, config)) == []


def test_an_undeclared_difference_between_regions_is_reported(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    stacks = region_stacks(aws_stacks, config)
    drifted = copy.deepcopy(dict(stacks[-1].document))
    function = next(iter(drifted["resource"]["aws_lambda_function"].values()))
    function["memory_size"] = 2048
    stacks[-1] = RegionStack(stacks[-1].region, stacks[-1].part, drifted, stacks[-1].declared)
    (difference,) = compare_regions(stacks)
    assert "us-east-2" in difference and "memory_size: 1024 != 2048" in difference
