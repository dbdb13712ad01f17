"""Least privilege, read off every IAM policy the stacks synthesize."""

from __future__ import annotations

import json
import re
from typing import Any

from trading_infra.components.functions import UNSCOPED_ACTIONS

from tests.infra.conftest import Stack

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


def test_roles_can_only_be_assumed_by_their_service_from_this_account(stack: Stack) -> None:
    for role in stack.resources("aws_iam_role").values():
        (statement,) = json.loads(role["assume_role_policy"])["Statement"]
        assert set(statement["Principal"]) == {"Service"}
        assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]
