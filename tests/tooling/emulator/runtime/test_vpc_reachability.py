"""A function attached to a VPC reaches only what its network lets it reach, as on AWS, seen
through the emulator's Lambda service against moto's in-process server: its calls to the other
services hang until the SDK's connect timeout or the function's own timeout ends them.

The network: a private subnet whose route table has a DynamoDB gateway endpoint, and a
security group whose only rule is HTTPS out to DynamoDB's prefix list (the platform's shape).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.emulator.conftest import client, create_python_function, named
from tooling.emulator.invocations import LambdaService
from tooling.emulator.patches import patched
from tooling.emulator.runtime.reachability import (
    ENFORCEMENT_ENV,
    Rule,
    from_moto,
    moto_reachability,
)

pytestmark = pytest.mark.moto

REGION = "eu-central-1"
ACCOUNT = "123456789012"
Clients = Callable[[str], Any]

#: Calls DynamoDB, then the Lambda API, with 1 s connect and read timeouts and one attempt.
QUICK = """
import boto3
from botocore.config import Config

QUICK = Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1})


def handler(event, context):
    boto3.client("dynamodb", config=QUICK).put_item(
        TableName="trades", Item={"id": {"S": event["id"]}}
    )
    try:
        boto3.client("lambda", config=QUICK).list_functions()
    except Exception as error:
        return {"dynamodb": "ok", "lambda": type(error).__name__}
    return {"dynamodb": "ok", "lambda": "ok"}
"""

#: The Lambda API with the SDK's defaults (60 s connect timeout, retries).
PATIENT = """
import boto3


def handler(event, context):
    boto3.client("lambda").list_functions()
    return "unreachable"
"""


@pytest.fixture
def aws(endpoint: str) -> Clients:
    """boto3 clients of a freshly reset in-process moto server."""
    reset_moto(endpoint)
    return partial(client, endpoint, region=REGION, reset=False)


@dataclass(frozen=True)
class PrivateNetwork:
    vpc_id: str
    subnet_id: str
    lambda_group_id: str
    dynamodb_prefix_list_id: str


def _private_network(aws: Clients) -> PrivateNetwork:
    ec2 = aws("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
    service_name = f"com.amazonaws.{REGION}.dynamodb"
    ec2.create_vpc_endpoint(
        VpcId=vpc_id,
        ServiceName=service_name,
        VpcEndpointType="Gateway",
        RouteTableIds=[table_id],
    )
    prefix_list_id = ec2.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": [service_name]}]
    )["PrefixLists"][0]["PrefixListId"]
    group_id = ec2.create_security_group(GroupName="lambda", Description="functions", VpcId=vpc_id)[
        "GroupId"
    ]
    # As Terraform's aws_security_group does: no default "all traffic out" rule.
    ec2.revoke_security_group_egress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    ec2.authorize_security_group_egress(
        GroupId=group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "PrefixListIds": [{"PrefixListId": prefix_list_id, "Description": "DynamoDB"}],
            }
        ],
    )
    aws("dynamodb").create_table(
        TableName="trades",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return PrivateNetwork(vpc_id, subnet_id, group_id, prefix_list_id)


def _add_lambda_interface_endpoint(aws: Clients, network: PrivateNetwork) -> None:
    """What the platform's network gives its interface endpoints, for the Lambda API."""
    ec2 = aws("ec2")
    endpoints_group = ec2.create_security_group(
        GroupName="endpoints", Description="interface endpoints", VpcId=network.vpc_id
    )["GroupId"]
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    ec2.authorize_security_group_ingress(
        GroupId=endpoints_group,
        IpPermissions=[{**https, "UserIdGroupPairs": [{"GroupId": network.lambda_group_id}]}],
    )
    ec2.authorize_security_group_egress(
        GroupId=network.lambda_group_id,
        IpPermissions=[{**https, "UserIdGroupPairs": [{"GroupId": endpoints_group}]}],
    )
    ec2.create_vpc_endpoint(
        VpcId=network.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.lambda",
        VpcEndpointType="Interface",
        SubnetIds=[network.subnet_id],
        SecurityGroupIds=[endpoints_group],
        PrivateDnsEnabled=True,
    )


def _deploy(aws: Clients, source: str, network: PrivateNetwork) -> Any:
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    awslambda = aws("lambda")
    create_python_function(
        awslambda,
        "fn",
        role,
        source,
        Timeout=3,
        VpcConfig={"SubnetIds": [network.subnet_id], "SecurityGroupIds": [network.lambda_group_id]},
    )
    return awslambda


def _invoke(awslambda: Any, event: dict[str, str]) -> tuple[Any, str | None]:
    answer = awslambda.invoke(FunctionName="fn", Payload=json.dumps(event).encode())
    return json.loads(answer["Payload"].read()), answer.get("FunctionError")


# --------------------------------------------------------------------------- moto's network


def test_moto_gives_the_platforms_rules_as_aws_describes_them(aws: Clients) -> None:
    network = _private_network(aws)

    seen = from_moto(ACCOUNT, REGION)

    dynamodb = [e for e in seen.endpoints if e.service_name.endswith(".dynamodb")]
    assert [(e.kind, e.prefix_list_id) for e in dynamodb] == [
        ("gateway", network.dynamodb_prefix_list_id)
    ]
    assert seen.security_groups[network.lambda_group_id].egress == (
        Rule("tcp", 443, 443, prefix_list_id=network.dynamodb_prefix_list_id),
    )
    assert seen.prefix_lists[network.dynamodb_prefix_list_id].aws_managed
    vpc = seen.vpcs[network.vpc_id]
    assert (vpc.dns_support, vpc.dns_hostnames) == (True, True)
    [table] = [t for t in seen.route_tables if network.subnet_id in t.subnet_ids]
    assert dynamodb[0].route_table_ids == (table.table_id,)


def test_a_function_moto_does_not_know_has_no_vpc(aws: Clients) -> None:
    reach = moto_reachability(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:nope", ACCOUNT, REGION)

    assert not reach.in_vpc


# --------------------------------------------------------------------------- invocations


def test_unpatched_behaviour_without_the_rule_reaches_the_lambda_api_from_the_vpc(
    aws: Clients, lambda_service: LambdaService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENFORCEMENT_ENV, "off")
    network = _private_network(aws)

    with patched(named("lambda-invoke-local-runtime")):
        payload, error = _invoke(_deploy(aws, QUICK, network), {"id": "t-1"})

    assert error is None, payload
    assert payload == {"dynamodb": "ok", "lambda": "ok"}


def test_a_function_with_only_a_dynamodb_gateway_endpoint_reaches_dynamodb_and_not_lambda(
    aws: Clients, lambda_service: LambdaService
) -> None:
    network = _private_network(aws)

    with patched(named("lambda-invoke-local-runtime")):
        payload, error = _invoke(_deploy(aws, QUICK, network), {"id": "t-1"})

    assert error is None, payload
    assert payload == {"dynamodb": "ok", "lambda": "ConnectTimeoutError"}
    item = aws("dynamodb").get_item(TableName="trades", Key={"id": {"S": "t-1"}})
    assert item["Item"] == {"id": {"S": "t-1"}}


def test_an_unreachable_call_with_the_sdks_defaults_runs_into_the_functions_timeout(
    aws: Clients, lambda_service: LambdaService
) -> None:
    network = _private_network(aws)

    with patched(named("lambda-invoke-local-runtime")):
        payload, error = _invoke(_deploy(aws, PATIENT, network), {})

    assert error == "Unhandled"
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Task timed out after 3.00 seconds")


def test_a_new_endpoint_reaches_the_next_invocation(
    aws: Clients, lambda_service: LambdaService
) -> None:
    network = _private_network(aws)

    with patched(named("lambda-invoke-local-runtime")):
        awslambda = _deploy(aws, QUICK, network)
        before, _ = _invoke(awslambda, {"id": "t-1"})
        _add_lambda_interface_endpoint(aws, network)
        after, error = _invoke(awslambda, {"id": "t-2"})

    assert before == {"dynamodb": "ok", "lambda": "ConnectTimeoutError"}
    assert error is None, after
    assert after == {"dynamodb": "ok", "lambda": "ok"}
    assert (
        lambda_service.runtime.worker_count(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn") == 1
    )
