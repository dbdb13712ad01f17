"""Key policies, VPC endpoint policies and security group rules, in every environment and region.

Three keys per region (data, logs, secrets): each administered by the configured key
administrator and the account root (break-glass) only, and used only through the services that
encrypt with it. Every VPC endpoint admits only this account's principals on this account's
resources. The database is reachable only from what uses it.
"""

from __future__ import annotations

import json
from typing import Any

from trading_infra.config import PlatformConfig

from tests.infra.conftest import Stack
from tests.infra.test_iam_least_privilege import ACCOUNT, PARTITION, network_stacks, region_of

ROOT = f"arn:{PARTITION}:iam::{ACCOUNT}:root"
#: The default key administrator: the role <platform>-deployer of the deploying account.
DEFAULT_ADMIN = f"arn:{PARTITION}:iam::{ACCOUNT}:role/tap-deployer"
KEYS = {"data": "Key/Key", "logs": "Key/LogsKey", "secrets": "Key/SecretsKey"}
#: Key administration, written out (the AWS KMS developer guide's "key administrators" set):
#: manage the key and its policy, never encrypt or decrypt with it. Literal, not imported from
#: the code under test: a usage action slipped into the code's set must fail here.
ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*",
    "kms:Enable*", "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:Update*",
]  # fmt: skip
#: Cryptographic use through a service, written out (the guide's "key users" set, without
#: grants: those are one statement of their own, for AWS resources only).
USAGE_ACTIONS = [
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*",
]  # fmt: skip


def key_statements(stack: Stack, purpose: str) -> dict[str, dict[str, Any]]:
    key = stack.by_path("aws_kms_key", KEYS[purpose])
    return {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}


def via(stack: Stack, service: str) -> str:
    return f"{service}.{region_of(stack)}.amazonaws.com"


def test_every_region_has_a_data_a_logs_and_a_secrets_key(aws_stacks: dict[str, Stack]) -> None:
    for stack in network_stacks(aws_stacks):
        suffix = stack.name.split("-")[1]
        aliases = sorted(a["name"] for a in stack.resources("aws_kms_alias").values())
        assert aliases == [f"alias/tap-{p}-{suffix}" for p in ("data", "logs", "secrets")]
        assert len(stack.resources("aws_kms_key")) == 3


def test_the_data_key_keeps_the_terraform_address_of_the_former_platform_key(
    network: Stack,
) -> None:
    # Renaming the construct would replace the key and lose everything encrypted with it.
    assert network.address("aws_kms_key", "Key/Key") == "aws_kms_key.Key_43586C89"
    assert network.address("aws_kms_alias", "Key/Alias") == "aws_kms_alias.Key_Alias_6C2E2031"


def test_network_stack_outputs_each_key_arn(aws_stacks: dict[str, Stack]) -> None:
    for stack in network_stacks(aws_stacks):
        for output, purpose in [
            ("kms_key_arn", "data"),
            ("logs_kms_key_arn", "logs"),
            ("secrets_kms_key_arn", "secrets"),
        ]:
            address = stack.address("aws_kms_key", KEYS[purpose])
            assert stack.outputs[output]["value"] == "${" + address + ".arn}", output


def test_only_the_key_administrator_and_the_account_root_administer_a_key(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        for purpose in KEYS:
            statements = key_statements(stack, purpose).values()
            administering = [
                s for s in statements if set(ADMIN_ACTIONS) & set(_actions(s))
            ]  # fmt: skip
            assert sorted(s["Principal"]["AWS"] for s in administering) == sorted(
                [DEFAULT_ADMIN, ROOT]
            ), f"{stack.name}: {purpose}"
            assert all(sorted(_actions(s)) == sorted(ADMIN_ACTIONS) for s in administering)
            assert all("Condition" not in s for s in administering)


def test_no_key_policy_grants_every_kms_action_or_unconditional_use(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        for purpose in KEYS:
            for statement in key_statements(stack, purpose).values():
                assert "kms:*" not in _actions(statement)
                if set(_actions(statement)) & {*USAGE_ACTIONS, "kms:CreateGrant"}:
                    assert statement.get("Condition"), f"{purpose}: {statement['Sid']}"


def test_data_key_is_used_only_through_s3_dynamodb_rds_lambda_and_sqs(network: Stack) -> None:
    statements = key_statements(network, "data")
    for service, sid in [("s3", "UseThroughS3"), ("dynamodb", "UseThroughDynamoDb"),
                         ("rds", "UseThroughRds"), ("lambda", "UseThroughLambda"),
                         ("sqs", "UseThroughSqs")]:  # fmt: skip
        assert statements[sid] == _usage_through(network, service, sid)
    usage = [s["Sid"] for s in statements.values() if "kms:Decrypt" in _actions(s)]
    assert sorted(usage) == sorted(
        ["UseThroughS3", "UseThroughDynamoDb", "UseThroughRds", "UseThroughLambda",
         "UseThroughSqs", "AlarmPublishingToEncryptedTopic"]
    )  # fmt: skip


def test_only_dynamodb_rds_and_lambda_get_grants_on_the_data_key_for_their_resources(
    network: Stack,
) -> None:
    grant = key_statements(network, "data")["GrantsForAwsResources"]
    assert grant["Action"] == "kms:CreateGrant"
    assert grant["Principal"] == {"AWS": ROOT}
    assert grant["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"},
        "StringEquals": {
            "kms:CallerAccount": ACCOUNT,
            "kms:ViaService": [via(network, s) for s in ("dynamodb", "lambda", "rds")],
        },
    }


def test_alarms_may_publish_to_the_topic_encrypted_with_the_data_key(network: Stack) -> None:
    statement = key_statements(network, "data")["AlarmPublishingToEncryptedTopic"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_logs_key_is_used_only_by_cloudwatch_logs_for_this_accounts_log_groups(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        statements = key_statements(stack, "logs")
        assert set(statements) == {
            "KeyAdministration",
            "AccountRootBreakGlass",
            "CloudWatchLogsEncryption",
        }
        logs = statements["CloudWatchLogsEncryption"]
        region = region_of(stack)
        assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
        assert sorted(logs["Action"]) == sorted(USAGE_ACTIONS)
        assert logs["Condition"] == {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": (
                    f"arn:{PARTITION}:logs:{region}:{ACCOUNT}:log-group:*"
                )
            }
        }


def test_secrets_key_is_used_only_through_secrets_manager(aws_stacks: dict[str, Stack]) -> None:
    for stack in network_stacks(aws_stacks):
        statements = key_statements(stack, "secrets")
        assert set(statements) == {
            "KeyAdministration",
            "AccountRootBreakGlass",
            "UseThroughSecretsManager",
        }
        assert statements["UseThroughSecretsManager"] == _usage_through(
            stack, "secretsmanager", "UseThroughSecretsManager"
        )


def test_key_administrator_is_the_configured_role_by_name_or_arn(
    config: PlatformConfig, tmp_path: Any
) -> None:
    from trading_infra.context import RegionContext

    environment = config.environment("dev")
    for role, expected in [
        ("security-admin", f"arn:{PARTITION}:iam::{ACCOUNT}:role/security-admin"),
        ("arn:aws:iam::111122223333:role/kms/admin", "arn:aws:iam::111122223333:role/kms/admin"),
        (None, DEFAULT_ADMIN),
    ]:
        context = RegionContext(
            platform=config.platform,
            environment=environment.model_copy(update={"key_admin_role": role}),
            region=environment.primary_region,
            account_id=ACCOUNT,
            partition=PARTITION,
        )
        assert context.key_admin_arn == expected


def test_key_administrator_defaults_to_the_deployment_role_when_one_is_set(
    config: PlatformConfig,
) -> None:
    from trading_infra.context import RegionContext

    deployer = "arn:aws:iam::111122223333:role/tap-deployer"
    environment = config.environment("prod").model_copy(update={"aws_role_arn": deployer})
    context = RegionContext(
        platform=config.platform,
        environment=environment,
        region=environment.primary_region,
        account_id=ACCOUNT,
        partition=PARTITION,
    )
    assert context.key_admin_arn == deployer


def test_log_groups_are_encrypted_with_the_logs_key(aws_stacks: dict[str, Stack]) -> None:
    for name, stack in aws_stacks.items():
        prefix = name.rsplit("-", 1)[0]
        for group in stack.resources("aws_cloudwatch_log_group").values():
            if name.endswith("-network"):
                expected = "${" + stack.address("aws_kms_key", KEYS["logs"]) + ".arn}"
            else:
                expected = "${data.terraform_remote_state.Network.outputs.logs_kms_key_arn}"
            assert group["kms_key_id"] == expected, f"{prefix}: {group['name']}"


# --- VPC endpoints -----------------------------------------------------------------------------


def test_every_endpoint_admits_only_this_accounts_principals_on_its_resources(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        endpoints = stack.resources("aws_vpc_endpoint").values()
        assert endpoints
        for endpoint in endpoints:
            service = endpoint["service_name"].rsplit(".", 1)[1]
            if service == "lambda":
                continue  # narrower still: the processor's invocations only (tests below)
            (statement,) = json.loads(endpoint["policy"])["Statement"]
            assert statement == {
                "Sid": "OnlyThisAccountsPrincipalsAndResources",
                "Effect": "Allow",
                "Principal": "*",
                "Action": f"{service}:*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "aws:PrincipalAccount": ACCOUNT,
                        "aws:ResourceAccount": ACCOUNT,
                    }
                },
            }, f"{stack.name}: {service}"


# The Lambda API: the processor continues a large trade file by invoking itself asynchronously
# (stacks.py ContinueOwnFiles) from private subnets without NAT, so every region needs a lambda
# interface endpoint (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html,
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-endpoints.html).


def _lambda_endpoint(stack: Stack) -> dict[str, Any]:
    return stack.by_path("aws_vpc_endpoint", "Network/LambdaInterfaceEndpoint")


def _processor_arn(stack: Stack) -> str:
    environment = stack.name.split("-")[1]
    return (
        f"arn:{PARTITION}:lambda:{region_of(stack)}:{ACCOUNT}:function:tap-processor-{environment}"
    )


def test_every_region_has_a_private_dns_lambda_endpoint_in_its_private_subnets(
    aws_stacks: dict[str, Stack],
) -> None:
    stacks = network_stacks(aws_stacks)
    assert len(stacks) == 6  # dev, staging, prod and global's three regions
    for stack in stacks:
        endpoint = _lambda_endpoint(stack)
        assert {key: endpoint[key] for key in (
            "service_name", "vpc_endpoint_type", "private_dns_enabled", "vpc_id", "subnet_ids",
            "security_group_ids",
        )} == {
            "service_name": f"com.amazonaws.{region_of(stack)}.lambda",
            "vpc_endpoint_type": "Interface",
            "private_dns_enabled": True,
            "vpc_id": "${" + stack.address("aws_vpc", "Network/Vpc") + ".id}",
            "subnet_ids": [
                "${" + stack.address("aws_subnet", f"Network/PrivateSubnet{i}") + ".id}"
                for i in (1, 2, 3)
            ],
            "security_group_ids": [_group(stack, "EndpointSecurityGroup")],
        }, stack.name  # fmt: skip


def test_the_lambda_endpoint_admits_only_the_processor_invoking_itself_by_this_account(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        function = _processor_arn(stack)
        assert json.loads(_lambda_endpoint(stack)["policy"]) == {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OnlyTheProcessorInvokingItself",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "lambda:InvokeFunction",
                    # Lambda endpoint policies need the unqualified and the qualified ARN.
                    "Resource": [function, f"{function}:*"],
                    "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
                }
            ],
        }, stack.name


def test_the_lambda_endpoint_policy_names_the_function_the_processor_invokes(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        application = aws_stacks[stack.name.removesuffix("-network") + "-app"]
        processor = application.by_path("aws_lambda_function", "Processor/Function")
        policy = application.by_path("aws_iam_role_policy", "Processor/Policy")
        (own,) = [
            s for s in json.loads(policy["policy"])["Statement"] if s["Sid"] == "ContinueOwnFiles"
        ]
        function = _processor_arn(stack)
        assert function.endswith(":function:" + processor["function_name"])
        assert own["Resource"] == function
        assert json.loads(_lambda_endpoint(stack)["policy"])["Statement"][0]["Resource"][0] == (
            function
        )


def test_the_lambda_group_and_the_endpoint_group_allow_each_other_https_only(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        lambdas, endpoints = (
            _group(stack, "LambdaSecurityGroup"),
            _group(stack, "EndpointSecurityGroup"),
        )
        egress = [
            (r["ip_protocol"], r["from_port"], r["to_port"])
            for r in _rules(stack, "egress")
            if r["security_group_id"] == lambdas
            and r.get("referenced_security_group_id") == endpoints
        ]
        assert egress == [("tcp", 443, 443)], stack.name
        ingress = [
            (r["ip_protocol"], r["from_port"], r["to_port"])
            for r in _rules(stack, "ingress")
            if r["security_group_id"] == endpoints and r["referenced_security_group_id"] == lambdas
        ]
        assert ingress == [("tcp", 443, 443)], stack.name


# --- Security group rules ----------------------------------------------------------------------


def _rules(stack: Stack, rule_type: str) -> list[dict[str, Any]]:
    return list(stack.resources(f"aws_vpc_security_group_{rule_type}_rule").values())


def _group(stack: Stack, path: str) -> str:
    return "${" + stack.address("aws_security_group", path) + ".id}"


def test_lambda_functions_reach_only_the_gateway_endpoints_and_the_interface_endpoints(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        lambdas = _group(stack, "LambdaSecurityGroup")
        egress = [r for r in _rules(stack, "egress") if r["security_group_id"] == lambdas]
        targets = sorted(r.get("prefix_list_id") or r["referenced_security_group_id"]
                         for r in egress)  # fmt: skip
        assert targets == sorted(
            [
                "${" + stack.address("aws_vpc_endpoint", "S3GatewayEndpoint") + ".prefix_list_id}",
                "${"
                + stack.address("aws_vpc_endpoint", "DynamodbGatewayEndpoint")
                + ".prefix_list_id}",
                _group(stack, "EndpointSecurityGroup"),
            ]
        ), stack.name
        assert all(r["from_port"] == r["to_port"] == 443 for r in egress)
        assert not [r for r in _rules(stack, "ingress") if r["security_group_id"] == lambdas]


def test_database_port_is_open_only_to_the_secret_rotation_group_where_one_exists(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    for stack in network_stacks(aws_stacks):
        environment = config.environment(stack.name.split("-")[1])
        database = _group(stack, "DatabaseSecurityGroup")
        ingress = [r for r in _rules(stack, "ingress") if r["security_group_id"] == database]
        if environment.profile.database.rotation_function_name is None:
            assert ingress == [], stack.name
            assert stack.outputs.get("rotation_security_group_id") is None
            continue
        (rule,) = ingress
        rotation = _group(stack, "RotationSecurityGroup")
        assert rule["referenced_security_group_id"] == rotation
        assert rule["from_port"] == rule["to_port"] == environment.profile.database.port
        assert stack.outputs["rotation_security_group_id"]["value"] == rotation


def test_rotation_group_reaches_only_the_database_port_and_the_interface_endpoints(
    aws_stacks: dict[str, Stack],
) -> None:
    rotating = [s for s in network_stacks(aws_stacks) if "rotation_security_group_id" in s.outputs]
    assert rotating  # the global deployment rotates an existing secret with its own function
    for stack in rotating:
        rotation = _group(stack, "RotationSecurityGroup")
        egress = sorted(
            (r["referenced_security_group_id"], r["from_port"])
            for r in _rules(stack, "egress")
            if r["security_group_id"] == rotation
        )
        assert egress == sorted(
            [(_group(stack, "DatabaseSecurityGroup"), 3306),
             (_group(stack, "EndpointSecurityGroup"), 443)]
        )  # fmt: skip


def test_interface_endpoints_accept_https_only_from_the_platform_groups(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        endpoints = _group(stack, "EndpointSecurityGroup")
        sources = sorted(
            (r["referenced_security_group_id"], r["from_port"], r["to_port"])
            for r in _rules(stack, "ingress")
            if r["security_group_id"] == endpoints
        )
        expected = [(_group(stack, "LambdaSecurityGroup"), 443, 443)]
        if "rotation_security_group_id" in stack.outputs:
            expected.append((_group(stack, "RotationSecurityGroup"), 443, 443))
        assert sources == sorted(expected), stack.name


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _usage_through(stack: Stack, service: str, sid: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": USAGE_ACTIONS,
        "Resource": "*",
        "Condition": {
            "StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": via(stack, service)}
        },
    }
