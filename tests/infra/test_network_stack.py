"""Specification of one region's network stack (network and keys), read off the synthesized
JSON."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from tests.infra.conftest import Stack


def ref(stack: Stack, resource_type: str, path_suffix: str, attribute: str) -> str:
    return "${" + stack.address(resource_type, path_suffix) + "." + attribute + "}"


def policy(resource: dict[str, Any], field: str = "policy") -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resource[field])
    return document


# --- Network ---------------------------------------------------------------------------------


def test_vpc_uses_the_configured_cidr_with_dns_support_and_hostnames(network: Stack) -> None:
    vpc = network.only("aws_vpc")
    assert vpc["cidr_block"] == "10.0.0.0/16"
    assert vpc["enable_dns_support"] is True
    assert vpc["enable_dns_hostnames"] is True


def test_three_public_and_three_private_subnets_are_carved_from_the_vpc(network: Stack) -> None:
    subnets = network.resources("aws_subnet").values()
    tiers = sorted(s["tags"]["Tier"] for s in subnets)
    assert tiers == ["private"] * 3 + ["public"] * 3
    vpc = ipaddress.IPv4Network(network.only("aws_vpc")["cidr_block"])
    networks = [ipaddress.IPv4Network(s["cidr_block"]) for s in subnets]
    assert all(n.subnet_of(vpc) for n in networks)
    assert all(not a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


def test_each_subnet_of_a_tier_is_in_a_different_availability_zone(network: Stack) -> None:
    zones = {
        tier: sorted(s["availability_zone"] for s in network.resources("aws_subnet").values()
                     if s["tags"]["Tier"] == tier)
        for tier in ("public", "private")
    }  # fmt: skip
    for tier_zones in zones.values():
        assert tier_zones == ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
    assert network.resources("aws_availability_zones") == {}  # pinned by name, no lookup


def test_only_public_route_table_routes_to_the_internet_gateway(network: Stack) -> None:
    route = network.only("aws_route")
    assert route["destination_cidr_block"] == "0.0.0.0/0"
    assert route["gateway_id"] == ref(network, "aws_internet_gateway", "InternetGateway", "id")
    assert route["route_table_id"] == ref(network, "aws_route_table", "PublicRouteTable", "id")
    assert network.resources("aws_nat_gateway") == {}


def test_private_subnets_use_the_private_route_table(network: Stack) -> None:
    private_table = ref(network, "aws_route_table", "PrivateRouteTable", "id")
    for index in (1, 2, 3):
        association = network.by_path("aws_route_table_association", f"PrivateSubnet{index}Routes")
        assert association["route_table_id"] == private_table


def test_s3_and_dynamodb_have_gateway_endpoints_on_the_private_route_table(network: Stack) -> None:
    gateways = [
        e
        for e in network.resources("aws_vpc_endpoint").values()
        if e["vpc_endpoint_type"] == "Gateway"
    ]
    assert sorted(e["service_name"] for e in gateways) == [
        "com.amazonaws.ap-southeast-1.dynamodb",
        "com.amazonaws.ap-southeast-1.s3",
    ]
    private_table = ref(network, "aws_route_table", "PrivateRouteTable", "id")
    assert all(e["route_table_ids"] == [private_table] for e in gateways)


def test_interface_endpoints_serve_lambda_logs_and_secrets_manager_privately(
    network: Stack,
) -> None:
    interfaces = [
        e for e in network.resources("aws_vpc_endpoint").values()
        if e["vpc_endpoint_type"] == "Interface"
    ]  # fmt: skip
    assert sorted(e["service_name"].rsplit(".", 1)[1] for e in interfaces) == [
        "lambda",  # the processor invokes itself to continue a large file
        "logs",
        "secretsmanager",
    ]
    assert all(e["private_dns_enabled"] is True and len(e["subnet_ids"]) == 3 for e in interfaces)


def test_default_security_group_has_no_rules(network: Stack) -> None:
    default = network.only("aws_default_security_group")
    assert default["ingress"] == []
    assert default["egress"] == []


def test_no_rule_opens_the_database_where_no_rotation_function_needs_it(network: Stack) -> None:
    # dev: RDS manages and rotates the password itself; no platform function uses the database.
    database_group = ref(network, "aws_security_group", "DatabaseSecurityGroup", "id")
    ingress = [
        r for r in network.resources("aws_vpc_security_group_ingress_rule").values()
        if r["security_group_id"] == database_group
    ]  # fmt: skip
    assert ingress == []


def test_no_security_group_rule_is_open_to_the_internet(network: Stack) -> None:
    for rule_type in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
        for rule in network.resources(rule_type).values():
            assert rule.get("cidr_ipv4") != "0.0.0.0/0"
            assert rule["ip_protocol"] == "tcp"


def test_vpc_flow_logs_capture_all_traffic_into_an_encrypted_log_group(network: Stack) -> None:
    flow_log = network.only("aws_flow_log")
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["log_destination"] == ref(
        network, "aws_cloudwatch_log_group", "FlowLogGroup", "arn"
    )
    group = network.by_path("aws_cloudwatch_log_group", "FlowLogGroup")
    assert group["kms_key_id"] == ref(network, "aws_kms_key", "Key/LogsKey", "arn")


# --- Keys ------------------------------------------------------------------------------------


def test_every_kms_key_rotates_yearly_and_has_an_explicit_policy(network: Stack) -> None:
    keys = network.resources("aws_kms_key").values()
    assert len(keys) == 3
    assert all(k["enable_key_rotation"] is True and k["rotation_period_in_days"] == 365
               for k in keys)  # fmt: skip
    assert all(policy(k)["Statement"] for k in keys)


def test_kms_aliases_name_the_purpose_and_carry_the_environment_suffix(network: Stack) -> None:
    assert sorted(a["name"] for a in network.resources("aws_kms_alias").values()) == [
        "alias/tap-data-dev",
        "alias/tap-logs-dev",
        "alias/tap-secrets-dev",
    ]
