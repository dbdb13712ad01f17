"""tooling.lifecycle.import_rules: the one table of import ID rules, each given the attribute
values Terraform plans for a resource (an unknown value absent, an unset one null) and a fake
:class:`Resolver` for the IDs only AWS knows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tooling.lifecycle import recorded_ui as ui
from tooling.lifecycle.import_lookups import SecurityGroupRule
from tooling.lifecycle.import_rules import IMPORT_RULES


class FakeResolver:
    """Answers every lookup from what it is given; records the security group rules asked."""

    def __init__(self, rules: dict[SecurityGroupRule, str] | None = None) -> None:
        self.rules = rules or {}
        self.asked: list[SecurityGroupRule] = []

    def queue_url(self, name: str) -> str | None:
        return f"https://sqs.eu-west-1.amazonaws.com/123456789012/{name}"

    def topic_arn(self, name: str) -> str | None:
        return f"arn:aws:sns:eu-west-1:123456789012:{name}"

    def secret_arn(self, name: str) -> str | None:
        return None if name == "missing" else f"arn:aws:secretsmanager:eu-west-1:1:secret:{name}-Ab"

    def security_group_id(self, vpc_id: str, name: str) -> str | None:
        return {("vpc-0a1", "tap-lambda-sg-dev"): "sg-0lambda"}.get((vpc_id, name))

    def subnet_id(self, vpc_id: str, cidr_block: str) -> str | None:
        return {("vpc-0a1", "10.0.32.0/19"): "subnet-0public2"}.get((vpc_id, cidr_block))

    def security_group_rule_id(self, rule: SecurityGroupRule) -> str | None:
        self.asked.append(rule)
        return self.rules.get(rule)


def _id(resource_type: str, values: dict[str, Any], resolver: FakeResolver | None = None) -> Any:
    return IMPORT_RULES[resource_type](values, resolver or FakeResolver())


def test_the_table_covers_the_types_the_stacks_create_by_name() -> None:
    assert sorted(IMPORT_RULES) == [
        "aws_apigatewayv2_domain_name",
        "aws_apigatewayv2_stage",
        "aws_cloudwatch_log_group",
        "aws_cloudwatch_metric_alarm",
        "aws_db_instance",
        "aws_db_parameter_group",
        "aws_db_subnet_group",
        "aws_dynamodb_table",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_kms_alias",
        "aws_lambda_function",
        "aws_lambda_permission",
        "aws_rds_cluster",
        "aws_rds_cluster_instance",
        "aws_rds_cluster_parameter_group",
        "aws_rds_global_cluster",
        "aws_route",
        "aws_route53_record",
        "aws_route_table_association",
        "aws_s3_bucket",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_notification",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_secretsmanager_secret",
        "aws_security_group",
        "aws_sns_topic",
        "aws_sqs_queue",
        "aws_subnet",
        "aws_vpc_security_group_egress_rule",
        "aws_vpc_security_group_ingress_rule",
    ]


NO_OWNER = {"bucket": "tap-data-dev", "expected_bucket_owner": None}


@pytest.mark.parametrize(
    ("resource_type", "values", "expected"),
    [
        ("aws_s3_bucket", {"bucket": "tap-data-dev", "bucket_prefix": None}, "tap-data-dev"),
        ("aws_s3_bucket_versioning", NO_OWNER, "tap-data-dev"),
        (
            "aws_s3_bucket_versioning",
            {"bucket": "tap-data-dev", "expected_bucket_owner": "123456789012"},
            "tap-data-dev,123456789012",
        ),
        ("aws_s3_bucket_server_side_encryption_configuration", NO_OWNER, "tap-data-dev"),
        ("aws_s3_bucket_public_access_block", {"bucket": "tap-data-dev"}, "tap-data-dev"),
        ("aws_s3_bucket_policy", {"bucket": "tap-data-dev"}, "tap-data-dev"),
        ("aws_s3_bucket_logging", NO_OWNER, "tap-data-dev"),
        ("aws_s3_bucket_lifecycle_configuration", NO_OWNER, "tap-data-dev"),
        ("aws_s3_bucket_notification", {"bucket": "tap-data-dev"}, "tap-data-dev"),
        ("aws_s3_bucket_ownership_controls", {"bucket": "tap-data-dev"}, "tap-data-dev"),
        ("aws_dynamodb_table", {"name": "tap-trades-dev"}, "tap-trades-dev"),
        ("aws_iam_role", {"name": "tap-processor-dev", "name_prefix": None}, "tap-processor-dev"),
        (
            "aws_iam_role_policy",
            {"role": "tap-processor-dev", "name": "tap-processor-policy-dev"},
            "tap-processor-dev:tap-processor-policy-dev",
        ),
        (
            "aws_iam_role_policy_attachment",
            {
                "role": "tap-db-monitoring-dev",
                "policy_arn": (
                    "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
                ),
            },
            "tap-db-monitoring-dev/arn:aws:iam::aws:policy/service-role/"
            "AmazonRDSEnhancedMonitoringRole",
        ),
        (
            "aws_cloudwatch_log_group",
            {"name": "/aws/lambda/tap-processor-dev"},
            "/aws/lambda/tap-processor-dev",
        ),
        ("aws_cloudwatch_metric_alarm", {"alarm_name": "tap-errors-dev"}, "tap-errors-dev"),
        ("aws_lambda_function", {"function_name": "tap-processor-dev"}, "tap-processor-dev"),
        (
            "aws_lambda_permission",
            {
                "function_name": "tap-processor-dev",
                "statement_id": "AllowDataBucketNotifications",
                "qualifier": None,
            },
            "tap-processor-dev/AllowDataBucketNotifications",
        ),
        (
            "aws_lambda_permission",
            {"function_name": "tap-api-dev", "statement_id": "AllowApi", "qualifier": "live"},
            "tap-api-dev:live/AllowApi",
        ),
        ("aws_kms_alias", {"name": "alias/tap-data-dev"}, "alias/tap-data-dev"),
        ("aws_rds_cluster", {"cluster_identifier": "tap-db-dev"}, "tap-db-dev"),
        ("aws_rds_cluster_instance", {"identifier": "tap-db-dev-1"}, "tap-db-dev-1"),
        ("aws_db_instance", {"identifier": "tap-pg-dev"}, "tap-pg-dev"),
        ("aws_db_subnet_group", {"name": "tap-db-dev"}, "tap-db-dev"),
        ("aws_rds_cluster_parameter_group", {"name": "tap-db-params-dev"}, "tap-db-params-dev"),
        ("aws_db_parameter_group", {"name": "tap-db-pg-dev"}, "tap-db-pg-dev"),
        (
            "aws_rds_global_cluster",
            {"global_cluster_identifier": "tap-aurora-global-global"},
            "tap-aurora-global-global",
        ),
        ("aws_apigatewayv2_domain_name", {"domain_name": "api.example.com"}, "api.example.com"),
        ("aws_apigatewayv2_stage", {"api_id": "a1b2c3d4e5", "name": "dev"}, "a1b2c3d4e5/dev"),
        (
            "aws_secretsmanager_secret",
            {"name": "tap/dev/api-access"},
            "arn:aws:secretsmanager:eu-west-1:1:secret:tap/dev/api-access-Ab",
        ),
        (
            "aws_sqs_queue",
            {"name": "tap-processor-dlq-dev"},
            "https://sqs.eu-west-1.amazonaws.com/123456789012/tap-processor-dlq-dev",
        ),
        (
            "aws_sns_topic",
            {"name": "tap-alarms-dev"},
            "arn:aws:sns:eu-west-1:123456789012:tap-alarms-dev",
        ),
        (
            "aws_route53_record",
            {"zone_id": "Z123", "name": "api.example.com", "type": "A", "set_identifier": None},
            "Z123_api.example.com_A",
        ),
        (
            "aws_route53_record",
            {
                "zone_id": "Z123",
                "name": "api.trading.example.com.",
                "type": "A",
                "set_identifier": "ap-southeast-1",
            },
            "Z123_api.trading.example.com_A_ap-southeast-1",
        ),
        (
            "aws_route",
            {
                "route_table_id": "rtb-0public",
                "destination_cidr_block": "0.0.0.0/0",
                "destination_ipv6_cidr_block": None,
                "destination_prefix_list_id": None,
            },
            "rtb-0public_0.0.0.0/0",
        ),
        (
            "aws_route",
            {
                "route_table_id": "rtb-0private",
                "destination_cidr_block": None,
                "destination_ipv6_cidr_block": None,
                "destination_prefix_list_id": "pl-0570a1d2d725c16be",
            },
            "rtb-0private_pl-0570a1d2d725c16be",
        ),
        (
            "aws_route_table_association",
            {"route_table_id": "rtb-0private", "subnet_id": "subnet-0a1", "gateway_id": None},
            "subnet-0a1/rtb-0private",
        ),
        (
            "aws_route_table_association",
            {"route_table_id": "rtb-0edge", "subnet_id": None, "gateway_id": "igw-0b2"},
            "igw-0b2/rtb-0edge",
        ),
        ("aws_security_group", {"vpc_id": "vpc-0a1", "name": "tap-lambda-sg-dev"}, "sg-0lambda"),
        ("aws_subnet", {"vpc_id": "vpc-0a1", "cidr_block": "10.0.32.0/19"}, "subnet-0public2"),
    ],
)
def test_each_rule_makes_the_documented_import_id(
    resource_type: str, values: dict[str, Any], expected: str
) -> None:
    assert _id(resource_type, values) == expected


@pytest.mark.parametrize(
    ("resource_type", "values"),
    [
        ("aws_s3_bucket", {"bucket_prefix": "tap-"}),  # the name is generated: unknown
        ("aws_s3_bucket", {"bucket": ""}),
        ("aws_iam_role", {"name": True}),
        ("aws_iam_role_policy", {"name": "x"}),  # the role is not created yet: unknown
        ("aws_lambda_permission", {"function_name": "f", "statement_id": "s"}),  # qualifier?
        ("aws_secretsmanager_secret", {"name": "missing"}),  # not found in AWS
        ("aws_route53_record", {"zone_id": "Z123", "name": "a", "type": "A"}),  # set id?
        (
            "aws_route",
            {
                "route_table_id": "rtb-0public",
                "destination_cidr_block": "0.0.0.0/0",
                "destination_ipv6_cidr_block": "::/0",
                "destination_prefix_list_id": None,
            },
        ),  # two destinations
        (
            "aws_route",
            {"route_table_id": "rtb-0public", "destination_cidr_block": "0.0.0.0/0"},
        ),  # the other destinations unknown
        ("aws_route_table_association", {"route_table_id": "rtb-1", "subnet_id": "subnet-1"}),
        ("aws_security_group", {"vpc_id": "vpc-0a1", "name": "tap-other-sg-dev"}),
        ("aws_security_group", {"name": "tap-lambda-sg-dev"}),  # the VPC is not created yet
        ("aws_subnet", {"vpc_id": "vpc-0a1", "cidr_block": "10.0.0.0/16"}),  # overlaps, no match
    ],
)
def test_a_rule_whose_values_are_not_all_known_has_no_id(
    resource_type: str, values: dict[str, Any]
) -> None:
    assert _id(resource_type, values) is None


# --------------------------------------------------------------------------- security group rules

TO_S3 = ui.RULE_TO_S3_PLANNED  # as Terraform plans a rule whose group and endpoint are in the state


def test_an_egress_rule_is_looked_up_by_its_group_and_prefix_list() -> None:
    wanted = SecurityGroupRule(
        "sg-6e3a643c25a2d1e92", True, "tcp", 443, 443, "prefix_list_id", "pl-4f2b99c38388708e9"
    )
    resolver = FakeResolver({wanted: "sgr-0to-s3"})
    assert _id("aws_vpc_security_group_egress_rule", TO_S3, resolver) == "sgr-0to-s3"
    assert resolver.asked == [wanted]


def test_an_ingress_rule_is_looked_up_by_its_referenced_group() -> None:
    values = {**TO_S3, "prefix_list_id": None, "referenced_security_group_id": "sg-0lambda"}
    wanted = SecurityGroupRule(
        "sg-6e3a643c25a2d1e92", False, "tcp", 443, 443, "referenced_security_group_id", "sg-0lambda"
    )
    resolver = FakeResolver({wanted: "sgr-0from-lambda"})
    assert _id("aws_vpc_security_group_ingress_rule", values, resolver) == "sgr-0from-lambda"


def test_a_rule_of_all_protocols_is_looked_up_without_ports() -> None:
    values = {
        **TO_S3,
        "ip_protocol": "-1",
        "from_port": None,
        "to_port": None,
        "prefix_list_id": None,
        "cidr_ipv4": "0.0.0.0/0",
    }
    wanted = SecurityGroupRule(
        "sg-6e3a643c25a2d1e92", True, "-1", None, None, "cidr_ipv4", "0.0.0.0/0"
    )
    resolver = FakeResolver({wanted: "sgr-0all"})
    assert _id("aws_vpc_security_group_egress_rule", values, resolver) == "sgr-0all"


@pytest.mark.parametrize(
    "values",
    [
        {k: v for k, v in TO_S3.items() if k != "security_group_id"},  # its group not created yet
        {k: v for k, v in TO_S3.items() if k != "referenced_security_group_id"},  # a peer unknown
        {**TO_S3, "cidr_ipv4": "10.0.0.0/8"},  # two peers
        {**TO_S3, "prefix_list_id": None},  # no peer
        {k: v for k, v in TO_S3.items() if k != "from_port"},  # a port unknown
        {**TO_S3, "to_port": "443"},  # not a number
    ],
)
def test_a_rule_not_fully_known_is_not_looked_up(values: dict[str, Any]) -> None:
    resolver = FakeResolver()
    assert _id("aws_vpc_security_group_egress_rule", values, resolver) is None
    assert resolver.asked == []
