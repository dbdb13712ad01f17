"""Least privilege, read off every IAM policy the stacks synthesize."""

from __future__ import annotations

import json
import re
from typing import Any

from trading_infra.components.functions import UNSCOPED_ACTIONS

from tests.infra.conftest import Stack, remote

SERVICE_WIDE = re.compile(r"^[a-z0-9-]+:\*$")


def statements(body: dict[str, Any]) -> list[dict[str, Any]]:
    document = json.loads(body["policy"])
    return list(document["Statement"])


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def role_policies(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    return {
        body["//"]["metadata"]["path"].split("/")[-2]: statements(body)
        for body in stack.resources("aws_iam_role_policy").values()
    }


def test_no_role_policy_grants_every_action_or_a_whole_service(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in aws_stacks.values():
        for owner, policy in role_policies(stack).items():
            for statement in policy:
                for action in as_list(statement["Action"]):
                    assert action != "*", owner
                    assert not SERVICE_WIDE.match(action), f"{owner}: {action}"


def test_resource_star_only_for_actions_aws_cannot_scope(aws_stacks: dict[str, Stack]) -> None:
    for stack in aws_stacks.values():
        for owner, policy in role_policies(stack).items():
            for statement in policy:
                if "*" in as_list(statement["Resource"]):
                    unscoped = set(as_list(statement["Action"])) - set(UNSCOPED_ACTIONS)
                    assert not unscoped, f"{owner} grants {unscoped} on *"


def test_every_unscoped_action_has_a_documented_reason() -> None:
    assert all(len(reason) > 40 for reason in UNSCOPED_ACTIONS.values())


def granted(policy: list[dict[str, Any]], prefix: str) -> dict[str, set[str]]:
    """action -> resources, for actions of one service."""
    result: dict[str, set[str]] = {}
    for statement in policy:
        for action in as_list(statement["Action"]):
            if action.startswith(prefix):
                result.setdefault(action, set()).update(as_list(statement["Resource"]))
    return result


def test_processor_reads_incoming_writes_quarantine_and_ingests_trades_only(stack: Stack) -> None:
    policy = role_policies(stack)["Processor"]
    s3 = granted(policy, "s3:")
    assert set(s3) == {"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}
    assert all(r.endswith("/incoming/*") for r in s3["s3:GetObject"] | s3["s3:GetObjectVersion"])
    assert all(r.endswith("/quarantine/*") for r in s3["s3:PutObject"])
    dynamodb = granted(policy, "dynamodb:")
    assert all(r == {"${" + stack.address("aws_dynamodb_table", "TradesTable") + ".arn}"}
               for r in dynamodb.values())  # fmt: skip
    assert set(dynamodb) == {"dynamodb:BatchGetItem", "dynamodb:PutItem"}
    function_name = stack.by_path("aws_lambda_function", "Processor/Function")["function_name"]
    lambda_ = granted(policy, "lambda:")
    assert set(lambda_) == {"lambda:InvokeFunction"}
    (own_arn,) = lambda_["lambda:InvokeFunction"]
    # Its own function only, by name: a reference to the function resource would be a cycle.
    assert own_arn.endswith(f":function:{function_name}")
    assert own_arn.startswith("arn:") and ":lambda:" in own_arn
    assert "aws_lambda_function" not in own_arn


def test_api_handler_cannot_write_trades_or_touch_the_bucket(stack: Stack) -> None:
    policy = role_policies(stack)["ApiHandler"]
    assert granted(policy, "s3:") == {}
    trades = "${" + stack.address("aws_dynamodb_table", "TradesTable") + ".arn}"
    writes = {
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
    }
    for action, resources in granted(policy, "dynamodb:").items():
        if action in writes:
            assert trades not in resources, action


def test_processor_cannot_touch_sessions(stack: Stack) -> None:
    sessions = stack.address("aws_dynamodb_table", "SessionsTable")
    text = json.dumps(role_policies(stack)["Processor"])
    assert sessions not in text


def test_each_function_may_only_send_to_its_own_dead_letter_queue(stack: Stack) -> None:
    for owner in ("Processor", "ApiHandler"):
        sqs = granted(role_policies(stack)[owner], "sqs:")
        queue = "${" + stack.address("aws_sqs_queue", f"{owner}/DeadLetterQueue") + ".arn}"
        assert sqs == {"sqs:SendMessage": {queue}}


def test_each_function_may_only_write_its_own_log_group(stack: Stack) -> None:
    for owner in ("Processor", "ApiHandler"):
        logs = granted(role_policies(stack)[owner], "logs:")
        group = "${" + stack.address("aws_cloudwatch_log_group", f"{owner}/LogGroup") + ".arn}"
        assert all(resources == {group, f"{group}:*"} for resources in logs.values())


def test_roles_can_only_be_assumed_by_their_service_from_this_account(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in aws_stacks.values():
        for role in stack.resources("aws_iam_role").values():
            (statement,) = json.loads(role["assume_role_policy"])["Statement"]
            assert set(statement["Principal"]) == {"Service"}
            assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


# --- The exact grants of every role, in every environment and region -------------------------

ACCOUNT = "${data.aws_caller_identity.CallerIdentity.account_id}"
PARTITION = "${data.aws_partition.Partition.partition}"
SUBNETS = [
    "${element(data.terraform_remote_state.Network.outputs.private_subnet_ids, " + f"{i})}}"
    for i in range(3)
]
FUNCTIONS = ("Processor", "ApiHandler", "ApiAuthorizer")


def arn(stack: Stack, service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region_of(stack)}:{ACCOUNT}:{resource}"


def region_of(stack: Stack) -> str:
    return str(stack.document["provider"]["aws"][0]["region"])


def attribute(stack: Stack, resource_type: str, path_suffix: str, name: str = "arn") -> str:
    return "${" + stack.address(resource_type, path_suffix) + f".{name}}}"


def grants(policy: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (action, resource) pair the policy allows."""
    return {
        (action, resource)
        for statement in policy
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def pairs(actions: list[str], resources: list[str]) -> set[tuple[str, str]]:
    return {(action, resource) for action in actions for resource in resources}


def runtime_grants(stack: Stack, owner: str) -> set[tuple[str, str]]:
    """What every function's role holds to run: logs, network interfaces, traces, DLQ, key."""
    log_group = attribute(stack, "aws_cloudwatch_log_group", f"{owner}/LogGroup")
    interfaces = arn(stack, "ec2", "network-interface/*")
    subnets = [arn(stack, "ec2", f"subnet/{subnet}") for subnet in SUBNETS]
    lambda_group = arn(stack, "ec2", "security-group/" + remote("lambda_security_group_id"))
    interface_management = [
        "ec2:AssignPrivateIpAddresses",
        "ec2:DeleteNetworkInterface",
        "ec2:UnassignPrivateIpAddresses",
    ]
    dead_letter_queue = attribute(stack, "aws_sqs_queue", f"{owner}/DeadLetterQueue")
    return (
        pairs(["logs:CreateLogStream", "logs:PutLogEvents"], [log_group, f"{log_group}:*"])
        | pairs(["ec2:CreateNetworkInterface"], [interfaces, *subnets, lambda_group])
        | pairs(interface_management, [interfaces])
        | pairs(["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], ["*"])
        | pairs(["xray:PutTelemetryRecords", "xray:PutTraceSegments"], ["*"])
        | pairs(["sqs:SendMessage"], [dead_letter_queue])
        | pairs(["kms:Decrypt", "kms:GenerateDataKey"], [remote("kms_key_arn")])
    )


def own_grants(stack: Stack, owner: str) -> set[tuple[str, str]]:
    """What each function's code may call, beyond its runtime."""
    trades = attribute(stack, "aws_dynamodb_table", "TradesTable")
    sessions = arn(stack, "dynamodb", "table/" + function_env(stack, "ApiAuthorizer")[
        "SESSIONS_TABLE_NAME"])  # fmt: skip
    bucket = attribute(stack, "aws_s3_bucket", "Storage/DataBucket")
    if owner == "Processor":
        name = stack.by_path("aws_lambda_function", "Processor/Function")["function_name"]
        return (
            pairs(["s3:GetObject", "s3:GetObjectVersion"], [f"{bucket}/incoming/*"])
            | pairs(["s3:PutObject"], [f"{bucket}/quarantine/*"])
            | pairs(["dynamodb:BatchGetItem", "dynamodb:PutItem"], [trades])
            | pairs(["lambda:InvokeFunction"], [arn(stack, "lambda", f"function:{name}")])
        )
    if owner == "ApiHandler":
        return (
            pairs(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"], [sessions])
            | pairs(["dynamodb:GetItem"], [trades])
            | pairs(["dynamodb:Query"], [f"{trades}/index/by-account-executed-at"])
        )
    return pairs(["dynamodb:GetItem"], [sessions])


def function_env(stack: Stack, owner: str) -> dict[str, str]:
    function = stack.by_path("aws_lambda_function", f"{owner}/Function")
    return dict(function["environment"]["variables"])


def application_stacks(stacks: dict[str, Stack]) -> list[Stack]:
    return [stack for name, stack in sorted(stacks.items()) if name.endswith("-app")]


def network_stacks(stacks: dict[str, Stack]) -> list[Stack]:
    return [stack for name, stack in sorted(stacks.items()) if name.endswith("-network")]


def test_every_function_role_holds_exactly_its_runtime_and_its_own_grants(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in application_stacks(aws_stacks):
        policies = role_policies(stack)
        for owner in FUNCTIONS:
            expected = runtime_grants(stack, owner) | own_grants(stack, owner)
            assert grants(policies[owner]) == expected, f"{stack.name}: {owner}"


def test_the_application_stack_has_no_other_inline_role_policy(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in application_stacks(aws_stacks):
        assert set(role_policies(stack)) == set(FUNCTIONS), stack.name


def test_function_code_grants_hold_only_for_calls_from_the_function_itself(
    aws_stacks: dict[str, Stack],
) -> None:
    runtime_sids = {
        "WriteOwnLogs", "CreateNetworkInterfacesInPlatformSubnets",
        "UsePlatformSubnetsAndSecurityGroups", "ManageNetworkInterfaces",
        "DescribeVpcNetwork", "WriteTraces", "SendFailedEventsToDeadLetterQueue",
        "UseDataKeyThroughServices",
    }  # fmt: skip
    for stack in application_stacks(aws_stacks):
        for owner, policy in role_policies(stack).items():
            name = stack.by_path("aws_lambda_function", f"{owner}/Function")["function_name"]
            for statement in policy:
                if statement["Sid"] in runtime_sids:
                    continue
                assert statement["Condition"]["ArnEquals"] == {
                    "lambda:SourceFunctionArn": arn(stack, "lambda", f"function:{name}")
                }, f"{stack.name}: {owner}/{statement['Sid']}"


def test_network_interfaces_are_created_only_in_the_platform_private_subnets(
    aws_stacks: dict[str, Stack],
) -> None:
    # EC2 authorizes CreateNetworkInterface on the interface, its subnet and its security
    # groups: naming only the platform's subnets confines the interfaces without a condition.
    for stack in application_stacks(aws_stacks):
        subnets = {arn(stack, "ec2", f"subnet/{subnet}") for subnet in SUBNETS}
        lambda_group = arn(stack, "ec2", "security-group/" + remote("lambda_security_group_id"))
        interfaces = arn(stack, "ec2", "network-interface/*")
        for owner, policy in role_policies(stack).items():
            created_on = {r for a, r in grants(policy) if a == "ec2:CreateNetworkInterface"}
            assert created_on == {interfaces, *subnets, lambda_group}, owner


def test_network_interface_statements_carry_no_condition_lambdas_check_cannot_satisfy(
    aws_stacks: dict[str, Stack],
) -> None:
    # Lambda checks the execution role's ENI permissions when a function is created or
    # updated, on network-interface/*: DeleteNetworkInterface must cover all interface IDs
    # (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html) and a subnet
    # condition has no subnet to match there.
    for stack in application_stacks(aws_stacks):
        interfaces = arn(stack, "ec2", "network-interface/*")
        for owner, policy in role_policies(stack).items():
            on_interfaces = [s for s in policy if interfaces in as_list(s["Resource"])]
            assert [(s["Sid"], s["Resource"], "Condition" in s) for s in on_interfaces] == [
                ("CreateNetworkInterfacesInPlatformSubnets", interfaces, False),
                ("ManageNetworkInterfaces", interfaces, False),
            ], owner
            (describe,) = [s for s in policy if s["Sid"] == "DescribeVpcNetwork"]
            assert describe["Resource"] == "*"
            assert "Condition" not in describe


def test_functions_use_the_data_key_only_through_the_services_they_call(
    aws_stacks: dict[str, Stack],
) -> None:
    expected = {
        "Processor": ["dynamodb", "lambda", "s3", "sqs"],
        "ApiHandler": ["dynamodb", "lambda", "sqs"],
        "ApiAuthorizer": ["dynamodb", "lambda", "sqs"],
    }
    for stack in application_stacks(aws_stacks):
        region = region_of(stack)
        for owner, policy in role_policies(stack).items():
            (statement,) = [s for s in policy if s["Sid"] == "UseDataKeyThroughServices"]
            assert statement["Condition"] == {
                "StringEquals": {
                    "kms:ViaService": [f"{s}.{region}.amazonaws.com" for s in expected[owner]]
                }
            }, owner


def test_lambda_roles_trust_only_lambda_acting_for_this_account(
    aws_stacks: dict[str, Stack],
) -> None:
    # Lambda documents aws:SourceArn only where a function is the target; the execution role is
    # tied to its function by lambda:SourceFunctionArn in its policy (tested above).
    for stack in application_stacks(aws_stacks):
        for owner in FUNCTIONS:
            role = stack.by_path("aws_iam_role", f"{owner}/Role")
            (statement,) = json.loads(role["assume_role_policy"])["Statement"]
            assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
            assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_database_monitoring_role_trusts_rds_only_for_the_platform_database_instance(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in application_stacks(aws_stacks):
        role = stack.by_path("aws_iam_role", "Database/MonitoringRole")
        (statement,) = json.loads(role["assume_role_policy"])["Statement"]
        instances = [
            *stack.resources("aws_rds_cluster_instance").values(),
            *stack.resources("aws_db_instance").values(),
        ]
        (instance,) = instances
        assert statement["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
        assert statement["Condition"]["ArnLike"] == {
            "aws:SourceArn": arn(stack, "rds", f"db:{instance['identifier']}")
        }


def test_database_monitoring_role_holds_only_the_aws_enhanced_monitoring_policy(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in application_stacks(aws_stacks):
        attachments = stack.resources("aws_iam_role_policy_attachment").values()
        assert [a["policy_arn"] for a in attachments] == [
            f"arn:{PARTITION}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
        ], stack.name


def test_flow_log_role_may_only_write_its_own_log_group(aws_stacks: dict[str, Stack]) -> None:
    for stack in network_stacks(aws_stacks):
        (policy,) = role_policies(stack).values()
        group = attribute(stack, "aws_cloudwatch_log_group", "Network/FlowLogGroup")
        actions = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
        assert grants(policy) == pairs(actions, [group, f"{group}:*"]), stack.name


def test_flow_log_role_trusts_vpc_flow_logs_only_for_this_accounts_flow_logs(
    aws_stacks: dict[str, Stack],
) -> None:
    for stack in network_stacks(aws_stacks):
        (statement,) = json.loads(stack.only("aws_iam_role")["assume_role_policy"])["Statement"]
        assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
        assert statement["Condition"]["ArnLike"] == {
            "aws:SourceArn": arn(stack, "ec2", "vpc-flow-log/*")
        }
