"""tooling.lifecycle.import_ids: the ID ``terraform import`` needs per resource type, from the
synthesized configuration, the stack's state (references to what exists already) and AWS (a
fake :class:`Resolver`; :class:`Boto3Resolver` against a moto server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.lifecycle import crash_support as crash
from tooling.lifecycle.import_ids import (
    Boto3Resolver,
    SecurityGroupRule,
    import_id,
    rule_matches,
    state_attributes,
)

REGION = "eu-west-1"


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

    def security_group_rule_id(self, rule: SecurityGroupRule) -> str | None:
        self.asked.append(rule)
        return self.rules.get(rule)


BUCKET_REF = "${aws_s3_bucket.Data.bucket}"
DOCUMENT: dict[str, Any] = {
    "variable": {"suffix": {"type": "string"}},
    "resource": {
        "aws_s3_bucket": {
            "Data": {"bucket": "tap-data-dev"},
            "FromVar": {"bucket": "tap-${var.suffix}"},
            "Prefixed": {"bucket_prefix": "tap-"},
            "Counted": {"bucket": "tap-x", "count": 2},
        },
        "aws_s3_bucket_versioning": {"V": {"bucket": BUCKET_REF}},
        "aws_s3_bucket_server_side_encryption_configuration": {"E": {"bucket": BUCKET_REF}},
        "aws_s3_bucket_public_access_block": {"P": {"bucket": "${aws_s3_bucket.Data.id}"}},
        "aws_s3_bucket_policy": {"Po": {"bucket": BUCKET_REF}},
        "aws_s3_bucket_logging": {"Lg": {"bucket": BUCKET_REF}},
        "aws_s3_bucket_lifecycle_configuration": {"Lc": {"bucket": BUCKET_REF}},
        "aws_s3_bucket_notification": {"N": {"bucket": BUCKET_REF}},
        "aws_dynamodb_table": {"T": {"name": "tap-trades-dev"}},
        "aws_iam_role": {"R": {"name": "tap-processor-dev"}},
        "aws_iam_role_policy": {
            "Rp": {"role": "${aws_iam_role.R.name}", "name": "tables"},
            "ById": {"role": "${aws_iam_role.R.id}", "name": "queues"},
            "Computed": {"role": "${aws_iam_role.R.unique_id}", "name": "x"},
        },
        "aws_cloudwatch_log_group": {"L": {"name": "/aws/lambda/tap-processor-dev"}},
        "aws_lambda_function": {"F": {"function_name": "tap-processor-dev"}},
        "aws_kms_alias": {"A": {"name": "alias/tap-data-dev"}},
        "aws_rds_cluster": {"C": {"cluster_identifier": "tap-db-dev"}},
        "aws_rds_cluster_instance": {"I": {"identifier": "tap-db-dev-1"}},
        "aws_db_instance": {"Di": {"identifier": "tap-pg-dev"}},
        "aws_db_subnet_group": {"G": {"name": "tap-db-dev"}},
        "aws_rds_cluster_parameter_group": {"Cp": {"name": "tap-db-params-dev"}},
        "aws_db_parameter_group": {"Dp": {"name": "tap-db-instance-params-dev"}},
        "aws_secretsmanager_secret": {
            "S": {"name": "tap/dev/api-access"},
            "M": {"name": "missing"},
        },
        "aws_sqs_queue": {"Q": {"name": "tap-orders-dev"}},
        "aws_sns_topic": {"Tp": {"name": "tap-alerts-dev"}},
        "aws_cloudwatch_metric_alarm": {"Al": {"alarm_name": "tap-errors-dev"}},
        "aws_apigatewayv2_domain_name": {"D": {"domain_name": "api.example.com"}},
        "aws_route53_record": {
            "Rec": {"zone_id": "Z123", "name": "api.example.com", "type": "A"},
            "Weighted": {
                "zone_id": "Z123",
                "name": "api.example.com",
                "type": "A",
                "set_identifier": "primary",
            },
            "ZoneRef": {"zone_id": "${data.aws_route53_zone.z.zone_id}", "name": "a", "type": "A"},
        },
        "aws_kms_key": {"K": {"description": "data"}},
    },
}


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("aws_s3_bucket.Data", "tap-data-dev"),
        ("aws_s3_bucket_versioning.V", "tap-data-dev"),
        ("aws_s3_bucket_server_side_encryption_configuration.E", "tap-data-dev"),
        ("aws_s3_bucket_public_access_block.P", "tap-data-dev"),
        ("aws_s3_bucket_policy.Po", "tap-data-dev"),
        ("aws_s3_bucket_logging.Lg", "tap-data-dev"),
        ("aws_s3_bucket_lifecycle_configuration.Lc", "tap-data-dev"),
        ("aws_s3_bucket_notification.N", "tap-data-dev"),
        ("aws_dynamodb_table.T", "tap-trades-dev"),
        ("aws_iam_role.R", "tap-processor-dev"),
        ("aws_iam_role_policy.Rp", "tap-processor-dev:tables"),
        ("aws_iam_role_policy.ById", "tap-processor-dev:queues"),
        ("aws_cloudwatch_log_group.L", "/aws/lambda/tap-processor-dev"),
        ("aws_lambda_function.F", "tap-processor-dev"),
        ("aws_kms_alias.A", "alias/tap-data-dev"),
        ("aws_rds_cluster.C", "tap-db-dev"),
        ("aws_rds_cluster_instance.I", "tap-db-dev-1"),
        ("aws_db_instance.Di", "tap-pg-dev"),
        ("aws_db_subnet_group.G", "tap-db-dev"),
        ("aws_rds_cluster_parameter_group.Cp", "tap-db-params-dev"),
        ("aws_db_parameter_group.Dp", "tap-db-instance-params-dev"),
        (
            "aws_secretsmanager_secret.S",
            "arn:aws:secretsmanager:eu-west-1:1:secret:tap/dev/api-access-Ab",
        ),
        ("aws_sqs_queue.Q", "https://sqs.eu-west-1.amazonaws.com/123456789012/tap-orders-dev"),
        ("aws_sns_topic.Tp", "arn:aws:sns:eu-west-1:123456789012:tap-alerts-dev"),
        ("aws_cloudwatch_metric_alarm.Al", "tap-errors-dev"),
        ("aws_apigatewayv2_domain_name.D", "api.example.com"),
        ("aws_route53_record.Rec", "Z123_api.example.com_A"),
        ("aws_route53_record.Weighted", "Z123_api.example.com_A_primary"),
    ],
)
def test_import_id_of_each_supported_type(address: str, expected: str) -> None:
    assert import_id(address, DOCUMENT, resolve=FakeResolver()) == expected


@pytest.mark.parametrize(
    "address",
    [
        "aws_s3_bucket.FromVar",  # from a variable
        "aws_s3_bucket.Prefixed",  # a generated name
        "aws_s3_bucket.Counted",  # count instances
        "aws_iam_role_policy.Computed",  # a computed attribute
        "aws_secretsmanager_secret.M",  # not found in AWS
        "aws_route53_record.ZoneRef",  # a data source
        "aws_kms_key.K",  # a random key ID
        "aws_s3_bucket.Nope",  # not in the document
        "module.m.aws_s3_bucket.Data",
    ],
)
def test_import_id_is_none_when_not_deterministic(address: str) -> None:
    assert import_id(address, DOCUMENT, resolve=FakeResolver()) is None


# --------------------------------------------------------------------------- the state

LAMBDA_SG = "aws_security_group.Network_LambdaSecurityGroup_AAAA1111"
ENDPOINT_SG = "aws_security_group.Network_EndpointSecurityGroup_7A30837F"
S3_ENDPOINT = "aws_vpc_endpoint.Network_S3GatewayEndpoint_BBBB2222"
TO_S3 = "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE"
TO_ENDPOINTS = "aws_vpc_security_group_egress_rule.Network_LambdaToEndpoints_EEEE5555"
FROM_LAMBDA = "aws_vpc_security_group_ingress_rule.Network_EndpointFromLambda_9E8F7A6B"
ALL_OUT = "aws_vpc_security_group_egress_rule.Network_AllOut_FFFF6666"

STATE = {
    "version": 4,
    "terraform_version": "1.11.4",
    "serial": 7,
    "lineage": "5c1f0e4e-0000-0000-0000-000000000000",
    "outputs": {},
    "resources": [
        {
            "mode": "managed",
            "type": "aws_security_group",
            "name": "Network_LambdaSecurityGroup_AAAA1111",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"schema_version": 1, "attributes": {"id": "sg-0lambda", "vpc_id": "v"}}],
        },
        {
            "mode": "managed",
            "type": "aws_security_group",
            "name": "Network_EndpointSecurityGroup_7A30837F",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"schema_version": 1, "attributes": {"id": "sg-0endpoint"}}],
        },
        {
            "mode": "managed",
            "type": "aws_vpc_endpoint",
            "name": "Network_S3GatewayEndpoint_BBBB2222",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [
                {"schema_version": 0, "attributes": {"id": "vpce-1", "prefix_list_id": "pl-0s3"}}
            ],
        },
        {
            "mode": "managed",
            "type": "aws_vpc_security_group_egress_rule",
            "name": "Network_AlreadyManaged_0A0B0C0D",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [
                {
                    "schema_version": 0,
                    "attributes": {"id": "sgr-0managed", "security_group_rule_id": "sgr-0managed"},
                }
            ],
        },
        {
            "mode": "data",
            "type": "aws_caller_identity",
            "name": "CallerIdentity",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [
                {
                    "schema_version": 0,
                    "attributes": {
                        "account_id": "123456789012",
                        "arn": "arn:aws:iam::123456789012:user/deployer",
                        "id": "123456789012",
                        "user_id": "AIDAEXAMPLE",
                    },
                    "sensitive_attributes": [],
                }
            ],
        },
        {
            "mode": "data",
            "type": "aws_partition",
            "name": "Partition",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [
                {
                    "schema_version": 0,
                    "attributes": {
                        "dns_suffix": "amazonaws.com",
                        "id": "aws",
                        "partition": "aws",
                        "reverse_dns_prefix": "com.amazonaws",
                    },
                    "sensitive_attributes": [],
                }
            ],
        },
        {
            "mode": "data",
            "type": "aws_availability_zones",
            "name": "Counted",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"index_key": 0, "schema_version": 0, "attributes": {"id": "r"}}],
        },
        {
            "module": "module.m",
            "mode": "data",
            "type": "aws_caller_identity",
            "name": "Inner",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"schema_version": 0, "attributes": {"account_id": "210987654321"}}],
        },
        {
            "module": "module.m",
            "mode": "managed",
            "type": "aws_security_group",
            "name": "Inner",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"schema_version": 1, "attributes": {"id": "sg-0inner"}}],
        },
        {
            "mode": "managed",
            "type": "aws_security_group",
            "name": "Counted",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [
                {"index_key": 0, "schema_version": 1, "attributes": {"id": "sg-0c0"}},
            ],
        },
    ],
    "check_results": None,
}


def test_state_attributes_are_those_of_single_resources_and_data_sources_outside_modules() -> None:
    attributes = state_attributes(json.dumps(STATE))
    assert sorted(attributes) == sorted(
        [
            LAMBDA_SG,
            ENDPOINT_SG,
            S3_ENDPOINT,
            "aws_vpc_security_group_egress_rule.Network_AlreadyManaged_0A0B0C0D",
            "data.aws_caller_identity.CallerIdentity",
            "data.aws_partition.Partition",
        ]
    )  # nothing of a module, no count/for_each instance
    assert attributes[S3_ENDPOINT]["prefix_list_id"] == "pl-0s3"
    assert attributes["data.aws_caller_identity.CallerIdentity"]["account_id"] == "123456789012"


@pytest.mark.parametrize("pulled", ["", "\n", "{}", '{"version": 4, "resources": []}'])
def test_an_empty_or_missing_state_has_no_attributes(pulled: str) -> None:
    assert state_attributes(pulled) == {}


def test_references_resolve_from_the_configuration_first_then_from_the_state() -> None:
    # GIVEN a state whose bucket name differs from the configuration's, and a role in the state
    state = {
        "aws_s3_bucket.Data": {"id": "old-name", "bucket": "old-name"},
        "aws_iam_role.R": {"id": "tap-processor-dev", "unique_id": "AROAEXAMPLE"},
    }
    resolver = FakeResolver()

    def ident(address: str) -> str | None:
        return import_id(address, DOCUMENT, resolve=resolver, state=state)

    # THEN a literal of the configuration wins; what it does not have comes from the state
    assert ident("aws_s3_bucket_versioning.V") == "tap-data-dev"
    assert ident("aws_iam_role_policy.Computed") == "AROAEXAMPLE:x"


# --------------------------------------------------------------------------- data sources

ACCOUNT_ID = "${data.aws_caller_identity.CallerIdentity.account_id}"
NAMED_AFTER_THE_ACCOUNT: dict[str, Any] = {
    "data": {"aws_route53_zone": {"Zone": {"name": "example.com"}}},
    "resource": {
        "aws_s3_bucket": {
            "Storage_DataBucket_19F1E604": {"bucket": f"tap-data-dev-ap-southeast-1-{ACCOUNT_ID}"}
        },
        "aws_s3_bucket_versioning": {
            "Storage_DataBucketVersioning_1A2B3C4D": {
                "bucket": "${aws_s3_bucket.Storage_DataBucket_19F1E604.id}"
            }
        },
        "aws_iam_role": {"Database_MonitoringRole_73427386": {"name": "tap-db-monitoring-dev"}},
        "aws_iam_role_policy_attachment": {
            "Database_MonitoringPolicy_2F2DD9FB": {
                "role": "${aws_iam_role.Database_MonitoringRole_73427386.name}",
                "policy_arn": (
                    "arn:${data.aws_partition.Partition.partition}:iam::aws:policy/"
                    "service-role/AmazonRDSEnhancedMonitoringRole"
                ),
            }
        },
        "aws_route53_record": {
            "Api": {"zone_id": "${data.aws_route53_zone.Zone.zone_id}", "name": "api", "type": "A"},
            "ByZoneName": {
                "zone_id": "Z0EXAMPLE",
                "name": "api.${data.aws_route53_zone.Zone.name}",
                "type": "A",
            },
        },
        "aws_sqs_queue": {
            "Remote": {"name": "tap-${data.terraform_remote_state.Network.outputs.suffix}"}
        },
    },
}
DATA_BUCKET = "aws_s3_bucket.Storage_DataBucket_19F1E604"
DATA_BUCKET_VERSIONING = "aws_s3_bucket_versioning.Storage_DataBucketVersioning_1A2B3C4D"
MONITORING_POLICY = "aws_iam_role_policy_attachment.Database_MonitoringPolicy_2F2DD9FB"


def _data_source(resource_type: str, name: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """A data source as the state records it once terraform has read it."""
    return {
        "mode": "data",
        "type": resource_type,
        "name": name,
        "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
        "instances": [{"schema_version": 0, "attributes": attributes, "sensitive_attributes": []}],
    }


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (DATA_BUCKET, "tap-data-dev-ap-southeast-1-123456789012"),
        # the bucket's name, itself made of the data source, through the bucket's configuration
        (DATA_BUCKET_VERSIONING, "tap-data-dev-ap-southeast-1-123456789012"),
        (
            MONITORING_POLICY,
            "tap-db-monitoring-dev/arn:aws:iam::aws:policy/service-role/"
            "AmazonRDSEnhancedMonitoringRole",
        ),
    ],
)
def test_a_name_made_of_the_accounts_data_sources_resolves_from_the_state(
    address: str, expected: str
) -> None:
    # GIVEN the state of an apply that read the caller identity and the partition
    state = STATE_ATTRIBUTES
    # THEN their attributes complete the names of the configuration
    assert import_id(address, NAMED_AFTER_THE_ACCOUNT, resolve=FakeResolver(), state=state) == (
        expected
    )


def test_any_data_source_attribute_recorded_in_the_state_resolves() -> None:
    state = state_attributes(
        json.dumps(
            {
                "version": 4,
                "resources": [
                    _data_source("aws_partition", "Partition", {"partition": "aws-cn"}),
                    _data_source("aws_route53_zone", "Zone", {"zone_id": "Z0EX", "name": "ex.com"}),
                ],
            }
        )
    )

    def ident(address: str) -> str | None:
        return import_id(address, NAMED_AFTER_THE_ACCOUNT, resolve=FakeResolver(), state=state)

    assert ident("aws_route53_record.Api") == "Z0EX_api_A"
    assert ident("aws_route53_record.ByZoneName") == "Z0EXAMPLE_api.ex.com_A"
    assert ident(MONITORING_POLICY) == (
        "tap-db-monitoring-dev/arn:aws-cn:iam::aws:policy/service-role/"
        "AmazonRDSEnhancedMonitoringRole"
    )


@pytest.mark.parametrize(
    ("state", "address"),
    [
        # no state yet: an apply killed before its first state snapshot
        ({}, DATA_BUCKET),
        ({}, DATA_BUCKET_VERSIONING),
        # a state without the data sources
        ({LAMBDA_SG: {"id": "sg-0lambda"}}, DATA_BUCKET),
        ({LAMBDA_SG: {"id": "sg-0lambda"}}, MONITORING_POLICY),
        # the data source without the attribute, or with an empty one
        ({"data.aws_caller_identity.CallerIdentity": {"id": "123456789012"}}, DATA_BUCKET),
        ({"data.aws_caller_identity.CallerIdentity": {"account_id": ""}}, DATA_BUCKET),
        # a managed resource of the same type and name is not the data source
        ({"aws_caller_identity.CallerIdentity": {"account_id": "123456789012"}}, DATA_BUCKET),
        # a data source's arguments in the configuration are not what it read
        ({}, "aws_route53_record.ByZoneName"),
        # an attribute inside one of a data source's attributes (a remote state's output,
        # recorded with its type)
        (
            {
                "data.terraform_remote_state.Network": {
                    "outputs": {"value": {"suffix": "x"}, "type": ["object", {"suffix": "string"}]}
                }
            },
            "aws_sqs_queue.Remote",
        ),
    ],
)
def test_a_data_source_not_read_into_the_state_leaves_the_id_unknown(
    state: dict[str, dict[str, Any]], address: str
) -> None:
    resolver = FakeResolver()
    assert import_id(address, NAMED_AFTER_THE_ACCOUNT, resolve=resolver, state=state) is None


# --------------------------------------------------------------------------- security group rules

TO_S3_CONFIG = {
    "from_port": 443,
    "ip_protocol": "tcp",
    "to_port": 443,
    "prefix_list_id": "${aws_vpc_endpoint.Network_S3GatewayEndpoint_BBBB2222.prefix_list_id}",
    "security_group_id": "${aws_security_group.Network_LambdaSecurityGroup_AAAA1111.id}",
}
TO_ENDPOINTS_CONFIG = {
    "from_port": 443,
    "ip_protocol": "tcp",
    "to_port": 443,
    "referenced_security_group_id": (
        "${aws_security_group.Network_EndpointSecurityGroup_7A30837F.id}"
    ),
    "security_group_id": "${aws_security_group.Network_LambdaSecurityGroup_AAAA1111.id}",
}
LAMBDA_SG_ID = "${aws_security_group.Network_LambdaSecurityGroup_AAAA1111.id}"
RULES_DOCUMENT: dict[str, Any] = {
    "resource": {
        "aws_vpc_security_group_egress_rule": {
            "Network_LambdaToS3_136841EE": TO_S3_CONFIG,
            "Network_LambdaToEndpoints_EEEE5555": TO_ENDPOINTS_CONFIG,
            "Network_AllOut_FFFF6666": {
                "ip_protocol": "-1",
                "cidr_ipv4": "0.0.0.0/0",
                "security_group_id": LAMBDA_SG_ID,
            },
            "Network_Unknown_2B3C4D5E": {
                **TO_S3_CONFIG,
                "security_group_id": "${aws_security_group.Network_NotYetCreated_6F7A8B9C.id}",
            },
            "Network_TwoPeers_3C4D5E6F": {**TO_S3_CONFIG, "cidr_ipv4": "10.0.0.0/8"},
            "Network_PortFromVar_4D5E6F7A": {**TO_S3_CONFIG, "from_port": "${var.port}"},
        },
        "aws_vpc_security_group_ingress_rule": {
            "Network_EndpointFromLambda_9E8F7A6B": {
                "from_port": 443,
                "ip_protocol": "tcp",
                "to_port": 443,
                "referenced_security_group_id": (
                    "${aws_security_group.Network_LambdaSecurityGroup_AAAA1111.id}"
                ),
                "security_group_id": (
                    "${aws_security_group.Network_EndpointSecurityGroup_7A30837F.id}"
                ),
            }
        },
    }
}
STATE_ATTRIBUTES = state_attributes(json.dumps(STATE))


def test_an_egress_rule_is_looked_up_by_its_group_and_prefix_list_from_the_state() -> None:
    # GIVEN the security group and the S3 endpoint in the state, and the rule in AWS
    wanted = SecurityGroupRule("sg-0lambda", True, "tcp", 443, 443, "prefix_list_id", "pl-0s3")
    resolver = FakeResolver({wanted: "sgr-0to-s3"})
    # WHEN its import ID is computed
    found = import_id(TO_S3, RULES_DOCUMENT, resolve=resolver, state=STATE_ATTRIBUTES)
    # THEN AWS was asked for exactly that rule, and its ID is the import ID
    assert resolver.asked == [wanted]
    assert found == "sgr-0to-s3"


def test_an_ingress_rule_is_looked_up_by_its_referenced_group() -> None:
    wanted = SecurityGroupRule(
        "sg-0endpoint", False, "tcp", 443, 443, "referenced_security_group_id", "sg-0lambda"
    )
    resolver = FakeResolver({wanted: "sgr-0from-lambda"})
    found = import_id(FROM_LAMBDA, RULES_DOCUMENT, resolve=resolver, state=STATE_ATTRIBUTES)
    assert (found, resolver.asked) == ("sgr-0from-lambda", [wanted])


def test_a_rule_of_all_protocols_is_looked_up_without_ports() -> None:
    wanted = SecurityGroupRule("sg-0lambda", True, "-1", None, None, "cidr_ipv4", "0.0.0.0/0")
    resolver = FakeResolver({wanted: "sgr-0all"})
    assert import_id(ALL_OUT, RULES_DOCUMENT, resolve=resolver, state=STATE_ATTRIBUTES) == (
        "sgr-0all"
    )


def test_a_rule_whose_group_is_not_in_the_state_has_no_import_id() -> None:
    resolver = FakeResolver()
    address = "aws_vpc_security_group_egress_rule.Network_Unknown_2B3C4D5E"
    assert import_id(address, RULES_DOCUMENT, resolve=resolver, state=STATE_ATTRIBUTES) is None
    assert resolver.asked == []  # nothing to ask AWS without the group's ID


def test_without_a_state_a_rule_has_no_import_id() -> None:
    resolver = FakeResolver()
    assert import_id(TO_S3, RULES_DOCUMENT, resolve=resolver) is None
    assert resolver.asked == []


@pytest.mark.parametrize(
    "name",
    [
        "Network_TwoPeers_3C4D5E6F",  # not exactly one peer
        "Network_PortFromVar_4D5E6F7A",  # a port from a variable
    ],
)
def test_a_rule_not_fully_known_has_no_import_id(name: str) -> None:
    resolver = FakeResolver()
    address = f"aws_vpc_security_group_egress_rule.{name}"
    assert import_id(address, RULES_DOCUMENT, resolve=resolver, state=STATE_ATTRIBUTES) is None
    assert resolver.asked == []


def test_a_rule_found_is_not_adopted_when_another_address_manages_it() -> None:
    # GIVEN AWS answers with the ID of a rule the state has under another address
    wanted = SecurityGroupRule(
        "sg-0lambda", True, "tcp", 443, 443, "referenced_security_group_id", "sg-0endpoint"
    )
    resolver = FakeResolver({wanted: "sgr-0managed"})
    # THEN it is not an orphan (the same rule configured twice): no import ID
    found = import_id(TO_ENDPOINTS, RULES_DOCUMENT, resolve=resolver, state=STATE_ATTRIBUTES)
    assert (found, resolver.asked) == (None, [wanted])


def test_a_rule_a_data_source_reads_is_still_adopted() -> None:
    # GIVEN a data source of the state that reads the rule AWS answers with
    wanted = SecurityGroupRule(
        "sg-0lambda", True, "tcp", 443, 443, "referenced_security_group_id", "sg-0endpoint"
    )
    resolver = FakeResolver({wanted: "sgr-0read"})
    state = {
        **STATE_ATTRIBUTES,
        "data.aws_vpc_security_group_rule.Existing": {
            "id": "sgr-0read",
            "security_group_rule_id": "sgr-0read",
        },
    }
    # THEN reading it does not manage it: its ID is the import ID
    found = import_id(TO_ENDPOINTS, RULES_DOCUMENT, resolve=resolver, state=state)
    assert found == "sgr-0read"


def _described(**fields: Any) -> dict[str, Any]:
    rule = {
        "SecurityGroupRuleId": "sgr-1",
        "GroupId": "sg-1",
        "IsEgress": True,
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "PrefixListId": "pl-1",
    }
    rule.update(fields)
    return {key: value for key, value in rule.items() if value is not None}


HTTPS_TO_PL = SecurityGroupRule("sg-1", True, "tcp", 443, 443, "prefix_list_id", "pl-1")


@pytest.mark.parametrize(
    ("rule", "described", "matches"),
    [
        (HTTPS_TO_PL, _described(), True),
        (HTTPS_TO_PL, _described(IsEgress=False), False),
        (HTTPS_TO_PL, _described(ToPort=444), False),
        (HTTPS_TO_PL, _described(IpProtocol="udp"), False),
        (HTTPS_TO_PL, _described(PrefixListId="pl-2"), False),
        (HTTPS_TO_PL, _described(GroupId="sg-2"), False),
        (  # the right port range, another kind of peer
            HTTPS_TO_PL,
            _described(PrefixListId=None, ReferencedGroupInfo={"GroupId": "pl-1"}),
            False,
        ),
        (  # "all" and "-1" are the same protocol, and AWS answers ports -1 for it
            SecurityGroupRule("sg-1", True, "all", None, None, "cidr_ipv4", "0.0.0.0/0"),
            _described(
                IpProtocol="-1", FromPort=-1, ToPort=-1, PrefixListId=None, CidrIpv4="0.0.0.0/0"
            ),
            True,
        ),
        (  # protocol numbers are the names AWS answers
            SecurityGroupRule("sg-1", False, "6", 5432, 5432, "cidr_ipv6", "2001:DB8::/32"),
            _described(
                IsEgress=False,
                FromPort=5432,
                ToPort=5432,
                PrefixListId=None,
                CidrIpv6="2001:db8::/32",
            ),
            True,
        ),
        (
            SecurityGroupRule(
                "sg-1", False, "tcp", 443, 443, "referenced_security_group_id", "sg-9"
            ),
            _described(
                IsEgress=False,
                PrefixListId=None,
                ReferencedGroupInfo={"GroupId": "sg-9", "UserId": "123456789012"},
            ),
            True,
        ),
    ],
)
def test_rule_matches_compares_what_identifies_a_rule(
    rule: SecurityGroupRule, described: dict[str, Any], matches: bool
) -> None:
    assert rule_matches(rule, described) is matches


def test_a_rule_has_one_of_the_four_peers() -> None:
    with pytest.raises(ValueError, match="peer_kind"):
        SecurityGroupRule("sg-1", True, "tcp", 443, 443, "cidr_block", "10.0.0.0/8")


@pytest.mark.moto
def test_boto3_resolver_looks_ids_up(endpoint: str) -> None:
    reset_moto(endpoint)
    resolver = Boto3Resolver(lambda service: crash.client(endpoint, service, REGION))
    url = crash.client(endpoint, "sqs", REGION).create_queue(QueueName="tap-q")["QueueUrl"]
    arn = crash.client(endpoint, "sns", REGION).create_topic(Name="tap-t")["TopicArn"]
    secret = crash.client(endpoint, "secretsmanager", REGION).create_secret(Name="tap/s")["ARN"]
    assert (resolver.queue_url("tap-q"), resolver.topic_arn("tap-t")) == (url, arn)
    assert resolver.secret_arn("tap/s") == secret
    assert resolver.queue_url("nope") is resolver.topic_arn("nope") is resolver.secret_arn("x")


@pytest.mark.moto
def test_boto3_resolver_finds_security_group_rules(endpoint: str) -> None:
    # GIVEN a group with an egress rule to the S3 prefix list and an ingress rule from another
    # group, in moto
    reset_moto(endpoint)
    ec2 = crash.client(endpoint, "ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="lambda", Description="l", VpcId=vpc)["GroupId"]
    other = ec2.create_security_group(GroupName="endpoints", Description="e", VpcId=vpc)
    prefix_list = next(
        p["PrefixListId"]
        for p in ec2.describe_prefix_lists()["PrefixLists"]
        if p["PrefixListName"] == f"com.amazonaws.{REGION}.s3"
    )
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    to_s3 = ec2.authorize_security_group_egress(
        GroupId=group, IpPermissions=[{**https, "PrefixListIds": [{"PrefixListId": prefix_list}]}]
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    from_other = ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{**https, "UserIdGroupPairs": [{"GroupId": other["GroupId"]}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    resolver = Boto3Resolver(lambda service: crash.client(endpoint, service, REGION))

    def find(egress: bool, port: int, kind: str, peer: str) -> str | None:
        rule = SecurityGroupRule(group, egress, "tcp", port, port, kind, peer)
        return resolver.security_group_rule_id(rule)

    # THEN each is found by what identifies it
    assert find(True, 443, "prefix_list_id", prefix_list) == to_s3
    assert find(False, 443, "referenced_security_group_id", other["GroupId"]) == from_other
    # AND the group's default egress rule (all protocols: AWS answers ports -1)
    everything = SecurityGroupRule(group, True, "-1", None, None, "cidr_ipv4", "0.0.0.0/0")
    assert str(resolver.security_group_rule_id(everything)).startswith("sgr-")
    # AND a rule that does not exist, or of another direction, port or group, is None
    assert find(True, 80, "prefix_list_id", prefix_list) is None
    assert find(True, 443, "referenced_security_group_id", other["GroupId"]) is None
    assert find(False, 443, "prefix_list_id", prefix_list) is None
    elsewhere = SecurityGroupRule(
        other["GroupId"], True, "tcp", 443, 443, "prefix_list_id", prefix_list
    )
    assert resolver.security_group_rule_id(elsewhere) is None
