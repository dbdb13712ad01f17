"""Specification of configuration loading: typed, frozen, validated with actionable errors."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from trading_infra.config import ConfigError, PlatformConfig, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def document() -> dict[str, Any]:
    return tomllib.loads((ROOT / "platform.toml").read_text())


def with_region(document: dict[str, Any], environment: str, **region: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["environments"][environment]["regions"] = [
        {**changed["environments"][environment]["regions"][0], **region}
    ]
    return changed


def error_of(document: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(document)
    return str(raised.value)


def test_checked_in_configuration_loads(config: PlatformConfig) -> None:
    assert [e.name for e in config.environments] == ["dev", "staging", "prod", "global"]
    assert config.environment("dev").primary_region.name == "ap-southeast-1"


def test_configuration_objects_are_frozen(config: PlatformConfig) -> None:
    with pytest.raises(ValidationError):
        config.platform.name = "other"


def test_subnets_are_computed_from_the_vpc_cidr(config: PlatformConfig) -> None:
    region = config.environment("dev").primary_region
    assert region.public_subnet_cidrs == ("10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19")
    assert region.private_subnet_cidrs == ("10.0.128.0/19", "10.0.160.0/19", "10.0.192.0/19")


def test_malformed_cidr_is_rejected_with_the_value_and_an_example(document: dict[str, Any]) -> None:
    message = error_of(with_region(document, "dev", vpc_cidr="10.0.0.0/33"))
    assert "'10.0.0.0/33'" in message
    assert "10.0.0.0/16" in message


def test_cidr_with_host_bits_is_rejected(document: dict[str, Any]) -> None:
    assert "host bits" in error_of(with_region(document, "dev", vpc_cidr="10.0.0.1/16"))


def test_too_small_vpc_is_rejected_naming_the_prefix_limit(document: dict[str, Any]) -> None:
    message = error_of(with_region(document, "dev", vpc_cidr="10.0.0.0/27"))
    assert "/27" in message and "/25" in message


def test_public_address_range_is_rejected(document: dict[str, Any]) -> None:
    assert "RFC 1918" in error_of(with_region(document, "dev", vpc_cidr="8.8.0.0/16"))


def test_unknown_region_is_rejected_listing_known_ones(document: dict[str, Any]) -> None:
    message = error_of(with_region(document, "dev", name="mars-north-1"))
    assert "'mars-north-1'" in message and "ap-southeast-1" in message


def test_region_listed_twice_is_an_error(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["dev"]["regions"] = [
        {"name": "us-east-1", "vpc_cidr": "10.0.0.0/16"},
        {"name": "us-east-1", "vpc_cidr": "10.1.0.0/16"},
    ]
    assert "'us-east-1' is listed twice" in error_of(changed)


def test_overlapping_region_cidrs_are_an_error(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["dev"]["regions"] = [
        {"name": "us-east-1", "vpc_cidr": "10.0.0.0/16"},
        {"name": "us-east-2", "vpc_cidr": "10.0.128.0/17"},
    ]
    assert "overlaps" in error_of(changed)


def test_kms_key_from_another_region_is_rejected(document: dict[str, Any]) -> None:
    arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    message = error_of(with_region(document, "dev", kms_key_arn=arn))
    assert "'us-east-1'" in message and "ap-southeast-1" in message


def test_missing_required_field_is_named(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    del changed["platform"]["cost_center"]
    assert "platform.cost_center" in error_of(changed)


def test_unknown_field_is_rejected(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["platform"]["costcentre"] = "typo"
    assert "platform.costcentre" in error_of(changed)


def test_duplicated_environment_suffix_is_an_error(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["staging"]["suffix"] = "dev"
    assert "suffix 'dev' is used twice" in error_of(changed)


def test_unknown_profile_is_rejected_listing_the_built_in_ones(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["dev"]["profile"] = "qa"
    message = error_of(changed)
    assert "'qa'" in message and "dev, multi-region, prod, staging" in message


def test_provisioned_billing_without_capacity_is_rejected(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["dev"]["overrides"] = {"dynamodb_billing_mode": "PROVISIONED"}
    message = error_of(changed)
    assert "dynamodb_read_capacity_units" in message
    assert "dynamodb_max_write_capacity_units" in message
    assert "dynamodb_target_utilization_percent" in message


PROVISIONED = {
    "dynamodb_billing_mode": "PROVISIONED",
    "dynamodb_read_capacity_units": 5,
    "dynamodb_write_capacity_units": 5,
    "dynamodb_max_read_capacity_units": 50,
    "dynamodb_max_write_capacity_units": 50,
    "dynamodb_target_utilization_percent": 70,
}


def test_prod_auto_scales_its_provisioned_capacity(config: PlatformConfig) -> None:
    capacity = config.environment("prod").profile.provisioned_capacity
    assert capacity is not None
    assert (capacity.units("read"), capacity.units("write")) == ((5, 50), (5, 50))
    assert capacity.target_utilization_percent == 70
    assert config.environment("dev").profile.provisioned_capacity is None


def test_provisioned_billing_without_an_auto_scaling_maximum_is_rejected(
    document: dict[str, Any],
) -> None:
    changed = copy.deepcopy(document)
    overrides = {k: v for k, v in PROVISIONED.items() if k != "dynamodb_max_read_capacity_units"}
    changed["environments"]["dev"]["overrides"] = overrides
    message = error_of(changed)
    assert "needs dynamodb_max_read_capacity_units" in message
    assert "dynamodb_max_write_capacity_units" not in message


def test_an_auto_scaling_maximum_below_the_capacity_is_rejected(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["dev"]["overrides"] = {
        **PROVISIONED,
        "dynamodb_max_write_capacity_units": 4,
    }
    assert "dynamodb_max_write_capacity_units = 4 is below dynamodb_write_capacity_units = 5" in (
        error_of(changed)
    )


@pytest.mark.parametrize("percent", [19, 91])
def test_a_target_utilization_outside_dynamodbs_20_to_90_percent_is_rejected(
    document: dict[str, Any], percent: int
) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["dev"]["overrides"] = {
        **PROVISIONED,
        "dynamodb_target_utilization_percent": percent,
    }
    assert "dynamodb_target_utilization_percent" in error_of(changed)


def test_auto_scaling_settings_with_on_demand_billing_are_rejected(
    document: dict[str, Any],
) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["dev"]["overrides"] = {"dynamodb_max_read_capacity_units": 50}
    message = error_of(changed)
    assert "'dynamodb_max_read_capacity_units': 50" in message and "PAY_PER_REQUEST" in message


def test_a_postgres_engine_version_is_its_major_version_only(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    database = {"engine": "postgres", "engine_version": "16.4", "instance_class": "db.t4g.micro"}
    changed["environments"]["dev"]["overrides"] = {"database": database}
    assert "engine_version = '16.4'" in error_of(changed) and "(e.g. '16')" in error_of(changed)
    changed["environments"]["dev"]["overrides"]["database"]["engine_version"] = "16"
    assert parse_config(changed).environment("dev").profile.database.engine_version == "16"


def test_bucket_names_end_with_the_account_id_by_default(config: PlatformConfig) -> None:
    assert config.platform.bucket_name_suffix == "account-id"


@pytest.mark.parametrize("suffix", ["acme", "acmetrading2024x", "0123"])
def test_a_literal_bucket_name_suffix_of_4_to_16_lowercase_letters_or_digits_is_accepted(
    document: dict[str, Any], suffix: str
) -> None:
    changed = copy.deepcopy(document)
    changed["platform"]["bucket_name_suffix"] = suffix
    assert parse_config(changed).platform.bucket_name_suffix == suffix


@pytest.mark.parametrize("suffix", ["abc", "acmetrading2024xy", "Acme", "acme-1", "account_id"])
def test_any_other_bucket_name_suffix_is_rejected(document: dict[str, Any], suffix: str) -> None:
    changed = copy.deepcopy(document)
    changed["platform"]["bucket_name_suffix"] = suffix
    message = error_of(changed)
    assert f"bucket_name_suffix = {suffix!r}" in message and "'account-id'" in message


def test_an_environment_may_name_its_account(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["prod"]["account_id"] = "012345678901"
    changed["environments"]["prod"]["aws_role_arn"] = "arn:aws:iam::012345678901:role/deployer"
    assert parse_config(changed).environment("prod").account_id == "012345678901"
    assert parse_config(document).environment("prod").account_id is None


@pytest.mark.parametrize("account", ["12345678901", "1234567890123", "12345678901x"])
def test_an_account_id_that_is_not_twelve_digits_is_rejected(
    document: dict[str, Any], account: str
) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["prod"]["account_id"] = account
    assert f"account_id = {account!r} is not an AWS account id" in error_of(changed)


@pytest.mark.parametrize("setting", ["aws_role_arn", "key_admin_role"])
def test_a_role_of_another_account_than_account_id_is_rejected(
    document: dict[str, Any], setting: str
) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["prod"]["account_id"] = "111122223333"
    changed["environments"]["prod"][setting] = "arn:aws:iam::444455556666:role/deployer"
    message = error_of(changed)
    assert f"{setting} = 'arn:aws:iam::444455556666:role/deployer' is in account" in message
    assert "account_id = '111122223333'" in message


def test_profile_value_can_be_overridden_per_environment(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["dev"]["overrides"] = {"lambda_memory_mib": 384}
    assert parse_config(changed).environment("dev").profile.lambda_memory_mib == 384


def test_default_environment_must_exist(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["platform"]["default_environment"] = "qa"
    assert "default_environment = 'qa'" in error_of(changed)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "platform.toml"
    broken.write_text("[platform\nname = 'x'")
    with pytest.raises(ConfigError, match=r"platform\.toml is not valid TOML"):
        load_config(broken)


def test_availability_zones_default_to_a_b_c_of_the_region(config: PlatformConfig) -> None:
    assert config.environment("dev").primary_region.availability_zones == (
        "ap-southeast-1a",
        "ap-southeast-1b",
        "ap-southeast-1c",
    )


def test_availability_zone_of_another_region_is_rejected(document: dict[str, Any]) -> None:
    zones = ["ap-southeast-1a", "ap-southeast-1b", "us-east-1c"]
    message = error_of(with_region(document, "dev", availability_zones=zones))
    assert "['us-east-1c'] are not zones of ap-southeast-1" in message


def with_environment(document: dict[str, Any], environment: str, **settings: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["environments"][environment].update(settings)
    return changed


@pytest.mark.parametrize(
    "role", ["tap-key-admin", "arn:aws:iam::111122223333:role/security/tap-key-admin"]
)
def test_key_admin_role_is_a_role_name_or_a_role_arn(document: dict[str, Any], role: str) -> None:
    config = parse_config(with_environment(document, "dev", key_admin_role=role))
    assert config.environment("dev").key_admin_role == role


@pytest.mark.parametrize(
    "role", ["arn:aws:iam::111122223333:user/alice", "tap key admin", "arn:aws:iam::1:role/x"]
)
def test_key_admin_role_that_is_no_role_is_rejected_with_examples(
    document: dict[str, Any], role: str
) -> None:
    message = error_of(with_environment(document, "dev", key_admin_role=role))
    assert "key_admin_role" in message and "arn:aws:iam::123456789012:role/" in message


def test_key_admin_role_of_another_account_than_the_deployment_is_rejected(
    document: dict[str, Any],
) -> None:
    changed = with_environment(
        document,
        "prod",
        aws_role_arn="arn:aws:iam::111122223333:role/tap-deployer",
        key_admin_role="arn:aws:iam::444455556666:role/tap-key-admin",
    )
    message = error_of(changed)
    assert "444455556666" in message and "111122223333" in message


# --- residency: where a deployment may hold copies of its data -------------------------------


def test_every_known_region_has_one_jurisdiction() -> None:
    from trading_infra.config import KNOWN_REGIONS, REGION_JURISDICTIONS

    assert set(REGION_JURISDICTIONS) == KNOWN_REGIONS
    assert all(len(code) == 2 and code.isupper() for code in REGION_JURISDICTIONS.values())


def test_global_declares_the_jurisdictions_it_replicates_into(config: PlatformConfig) -> None:
    assert config.environment("global").replication_jurisdictions == ("SG", "US")


def test_a_replica_region_outside_the_declared_jurisdictions_is_refused(
    document: dict[str, Any],
) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["global"]["regions"][2] = {
        "name": "eu-west-1",
        "vpc_cidr": "10.2.0.0/16",
    }
    message = error_of(changed)
    assert "replica region 'eu-west-1'" in message
    assert "jurisdiction 'IE'" in message
    assert "['SG', 'US']" in message
    assert "add 'IE' to replication_jurisdictions" in message


def test_a_primary_region_outside_the_declared_jurisdictions_is_refused(
    document: dict[str, Any],
) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["global"]["replication_jurisdictions"] = ["US"]
    message = error_of(changed)
    assert "primary region 'ap-southeast-1'" in message
    assert "jurisdiction 'SG'" in message


def test_a_multi_region_deployment_must_declare_its_jurisdictions(
    document: dict[str, Any],
) -> None:
    changed = copy.deepcopy(document)
    del changed["environments"]["global"]["replication_jurisdictions"]
    message = error_of(changed)
    assert "declares no replication_jurisdictions" in message
    assert "replication_jurisdictions = ['SG', 'US']" in message


def test_an_unknown_jurisdiction_code_is_refused(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["global"]["replication_jurisdictions"] = ["SG", "USA"]
    message = error_of(changed)
    assert "['USA']" in message
    assert "ISO country codes" in message


def test_a_single_region_environment_needs_no_jurisdictions(config: PlatformConfig) -> None:
    assert config.environment("dev").replication_jurisdictions == ()


# --- state: a bucket, key prefix and customer-managed key per environment --------------------


def test_each_environment_has_its_own_state_bucket_and_key(config: PlatformConfig) -> None:
    locations = {e.name: config.state_of(e) for e in config.environments}
    assert locations["dev"].bucket == "tap-terraform-state-dev"
    assert locations["dev"].kms_key == "alias/tap-terraform-state-dev"
    assert locations["prod"].key_prefix == "tap/prod/"
    assert len({location.bucket for location in locations.values()}) == len(locations)
    assert len({location.kms_key for location in locations.values()}) == len(locations)


def test_an_environment_may_name_its_state_bucket_and_key(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    key = "arn:aws:kms:ap-southeast-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    changed["environments"]["prod"].update(state_bucket="prod-state", state_kms_key=key)
    config = parse_config(changed)
    location = config.state_of(config.environment("prod"))
    assert (location.bucket, location.kms_key) == ("prod-state", key)


def test_two_environments_sharing_a_state_bucket_are_refused(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["prod"]["state_bucket"] = "tap-terraform-state-staging"
    message = error_of(changed)
    assert "'staging' and 'prod' share the state location 'tap-terraform-state-staging'" in message


def test_a_state_key_of_another_region_is_refused(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    changed["environments"]["prod"]["state_kms_key"] = key
    message = error_of(changed)
    assert "region 'us-east-1'" in message
    assert "state.region = 'ap-southeast-1'" in message


def test_a_state_key_must_be_an_alias_or_a_kms_arn(document: dict[str, Any]) -> None:
    changed = copy.deepcopy(document)
    changed["environments"]["prod"]["state_kms_key"] = "my-key"
    assert "state_kms_key" in error_of(changed)
