"""The synth-time reachability rule (trading_infra.checks.reachability) over synthesized stacks.

Every AWS API a function's code calls, read off its role, must be reachable from its subnets:
through an interface endpoint with private DNS, a gateway endpoint on its route table, or a NAT
route, with the security group rules and the endpoint policy letting the call through. The
shipped stacks pass; each broken variant below is the shipped JSON with one thing changed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trading_infra.components.network as network_module
from trading_infra.app import SynthRequest, synthesize
from trading_infra.checks.reachability import (
    Call,
    ReachabilityError,
    RegionStacks,
    functions,
    unreachable_calls,
)
from trading_infra.checks.synthesized import SynthesizedStack
from trading_infra.config import PlatformConfig
from trading_infra.target import DeployTarget

from tests.infra.conftest import Stack, fake_artifacts

ACCOUNT = "${data.aws_caller_identity.CallerIdentity.account_id}"
PARTITION = "${data.aws_partition.Partition.partition}"
NETWORK_MODULE = "infra/src/trading_infra/components/network.py"
PROCESSOR_ARN = f"arn:{PARTITION}:lambda:ap-southeast-1:{ACCOUNT}:function:tap-processor-dev"
CONTINUE = (
    "function tap-processor-dev calls lambda (lambda:InvokeFunction, statement ContinueOwnFiles)"
)
NO_LAMBDA_PATH = (
    f"{CONTINUE} but its subnets reach lambda through no endpoint and no NAT: add a lambda "
    f"interface endpoint with private DNS (PLATFORM_INTERFACE_ENDPOINTS in {NETWORK_MODULE}), "
    "or a NAT route to those subnets"
)


def regions(stacks: dict[str, Stack], config: PlatformConfig) -> Iterator[RegionStacks]:
    for environment in config.environments:
        for region in environment.regions:
            prefix = f"{config.platform.name}-{environment.name}-{region.name}"
            yield RegionStacks(
                environment=environment.name,
                network=SynthesizedStack(f"{prefix}-network", stacks[f"{prefix}-network"].document),
                application=SynthesizedStack(f"{prefix}-app", stacks[f"{prefix}-app"].document),
            )


@pytest.fixture
def dev(aws_stacks: dict[str, Stack]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copies of dev's network and application JSON, to break one thing in."""
    return (
        copy.deepcopy(aws_stacks["tap-dev-ap-southeast-1-network"].document),
        copy.deepcopy(aws_stacks["tap-dev-ap-southeast-1-app"].document),
    )


def messages(network: dict[str, Any], application: dict[str, Any]) -> list[str]:
    region = RegionStacks(
        environment="dev",
        network=SynthesizedStack("tap-dev-ap-southeast-1-network", network),
        application=SynthesizedStack("tap-dev-ap-southeast-1-app", application),
    )
    return [violation.message for violation in unreachable_calls(region)]


def address(document: dict[str, Any], resource_type: str, path_suffix: str) -> str:
    for name, body in document["resource"][resource_type].items():
        if body["//"]["metadata"]["path"].endswith(path_suffix):
            return str(name)
    raise AssertionError(f"no {resource_type} at */{path_suffix}")


def drop(document: dict[str, Any], resource_type: str, path_suffix: str) -> None:
    del document["resource"][resource_type][address(document, resource_type, path_suffix)]


def resource(document: dict[str, Any], resource_type: str, path_suffix: str) -> dict[str, Any]:
    body: dict[str, Any] = document["resource"][resource_type][
        address(document, resource_type, path_suffix)
    ]
    return body


def reference(document: dict[str, Any], resource_type: str, path_suffix: str, attr: str) -> str:
    return "${" + f"{resource_type}.{address(document, resource_type, path_suffix)}.{attr}" + "}"


def add_statement(application: dict[str, Any], owner: str, statement: dict[str, Any]) -> None:
    policy = resource(application, "aws_iam_role_policy", f"{owner}/Policy")
    document = json.loads(policy["policy"])
    document["Statement"].append(statement)
    policy["policy"] = json.dumps(document)


# --- the shipped stacks ------------------------------------------------------------------------


def test_every_shipped_region_passes_on_both_targets(
    aws_stacks: dict[str, Stack], local_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    checked = 0
    for stacks in (aws_stacks, local_stacks):
        for region in regions(stacks, config):
            assert unreachable_calls(region) == (), region.application.name
            checked += 1
    assert checked == 12  # dev, staging, prod and global's three regions, both targets


def test_the_calls_checked_are_read_off_each_functions_role(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    dev = next(regions(aws_stacks, config))
    calls = {function.name: function.code_calls() for function in functions(dev)}
    assert {name: sorted(by_service) for name, by_service in calls.items()} == {
        "tap-api-authorizer-dev": ["dynamodb"],
        "tap-api-handler-dev": ["dynamodb"],
        "tap-processor-dev": ["dynamodb", "lambda", "s3"],
    }
    assert calls["tap-processor-dev"]["lambda"] == (
        Call("lambda:InvokeFunction", "ContinueOwnFiles", (PROCESSOR_ARN,)),
    )


def test_lambdas_own_use_of_the_role_is_told_apart_from_the_code(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    dev = next(regions(aws_stacks, config))
    (processor,) = [f for f in functions(dev) if f.name == "tap-processor-dev"]
    interfaces = "Lambda manages the function's network interfaces"
    via = ", ".join(
        f"{service}.ap-southeast-1.amazonaws.com" for service in ("dynamodb", "lambda", "s3", "sqs")
    )
    assert sorted((s.actions, use) for s, use in processor.lambda_statements()) == sorted(
        [
            (("logs:CreateLogStream", "logs:PutLogEvents"), "Lambda delivers the function's logs"),
            (("ec2:CreateNetworkInterface",), interfaces),
            (("ec2:CreateNetworkInterface",), interfaces),
            (
                (
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:DeleteNetworkInterface",
                    "ec2:UnassignPrivateIpAddresses",
                ),
                interfaces,
            ),
            (("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"), interfaces),
            (
                ("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
                "Lambda sends the function's traces",
            ),
            (
                ("sqs:SendMessage",),
                "Lambda delivers the function's asynchronous invocation records",
            ),
            (("kms:Decrypt", "kms:GenerateDataKey"), f"{via} use the key for the function"),
        ]
    )


def test_lambdas_own_calls_need_no_path_from_the_subnets(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # No endpoint for logs, ec2, xray, sqs or kms: Lambda delivers the logs, manages the
    # interfaces, sends the traces and the failed events, and the services use the key.
    network, application = dev
    drop(network, "aws_vpc_endpoint", "Network/LogsInterfaceEndpoint")
    services = sorted(e["service_name"] for e in network["resource"]["aws_vpc_endpoint"].values())
    assert services == [
        "com.amazonaws.ap-southeast-1.dynamodb",
        "com.amazonaws.ap-southeast-1.lambda",
        "com.amazonaws.ap-southeast-1.s3",
        "com.amazonaws.ap-southeast-1.secretsmanager",
    ]
    assert messages(network, application) == []


# --- a service without a path ------------------------------------------------------------------


def test_the_processor_without_the_lambda_endpoint_fails(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    drop(network, "aws_vpc_endpoint", "Network/LambdaInterfaceEndpoint")
    assert messages(network, application) == [NO_LAMBDA_PATH]


def test_synth_of_the_network_without_the_lambda_endpoint_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: PlatformConfig
) -> None:
    monkeypatch.setattr(network_module, "PLATFORM_INTERFACE_ENDPOINTS", {})
    request = SynthRequest(
        config=config,
        environments=("dev",),
        target=DeployTarget(kind="aws", emulator_port=4566),
        artifacts=fake_artifacts(tmp_path / "artifacts"),
        outdir=tmp_path,
    )
    with pytest.raises(ReachabilityError) as refused:
        synthesize(request)
    assert str(refused.value) == (
        "synth refused: the code of a function calls an AWS API that its subnets cannot reach "
        "(trading_infra/checks/reachability.py):\n"
        f"  - tap-dev-ap-southeast-1-app: {NO_LAMBDA_PATH}"
    )


def test_a_code_call_to_a_service_without_an_endpoint_fails(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    queue = f"arn:{PARTITION}:sqs:ap-southeast-1:{ACCOUNT}:tap-downstream-dev"
    add_statement(
        application,
        "Processor",
        {"Sid": "NotifyDownstream", "Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": queue},
    )  # fmt: skip
    assert messages(network, application) == [
        "function tap-processor-dev calls sqs (sqs:SendMessage, statement NotifyDownstream) but "
        'its subnets reach sqs through no endpoint and no NAT: add "sqs" to interface_endpoints '
        "of environment dev (its profile in infra/src/trading_infra/profiles.toml, or "
        "[environments.dev.overrides] in platform.toml)"
    ]


def test_a_lambda_shaped_statement_limited_to_the_code_is_the_codes(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # The dead-letter queue's own ARN, but only for requests from the execution environment
    # (lambda:SourceFunctionArn): that is the code sending, which needs a path.
    network, application = dev
    queue = reference(application, "aws_sqs_queue", "Processor/DeadLetterQueue", "arn")
    add_statement(
        application,
        "Processor",
        {
            "Sid": "ReplayFailures",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": queue,
            "Condition": {"ArnEquals": {"lambda:SourceFunctionArn": PROCESSOR_ARN}},
        },
    )
    (message,) = messages(network, application)
    assert message.startswith(
        "function tap-processor-dev calls sqs (sqs:SendMessage, statement ReplayFailures) but its "
        "subnets reach sqs through no endpoint and no NAT"
    )


def test_log_calls_to_another_log_group_are_the_codes(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    drop(network, "aws_vpc_endpoint", "Network/LogsInterfaceEndpoint")
    other = reference(application, "aws_cloudwatch_log_group", "ApiHandler/LogGroup", "arn")
    add_statement(
        application,
        "Processor",
        {"Sid": "WriteAuditLog", "Effect": "Allow", "Action": "logs:PutLogEvents",
         "Resource": f"{other}:*"},
    )  # fmt: skip
    assert messages(network, application) == [
        "function tap-processor-dev calls logs (logs:PutLogEvents, statement WriteAuditLog) but "
        'its subnets reach logs through no endpoint and no NAT: add "logs" to '
        "interface_endpoints of environment dev (its profile in "
        "infra/src/trading_infra/profiles.toml, or [environments.dev.overrides] in platform.toml)"
    ]


def test_a_gateway_endpoint_off_the_subnets_route_table_is_no_path(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    resource(network, "aws_vpc_endpoint", "Network/S3GatewayEndpoint")["route_table_ids"] = [
        reference(network, "aws_route_table", "Network/PublicRouteTable", "id")
    ]
    assert messages(network, application) == [
        "function tap-processor-dev calls s3 (s3:GetObject, s3:GetObjectVersion, statement "
        "ReadIncomingTradeFiles; s3:PutObject, statement WriteQuarantine) but its subnets reach "
        "s3 through no endpoint and no NAT: put the s3 gateway endpoint on those subnets' route "
        f"table ({NETWORK_MODULE})"
    ]


def test_an_interface_endpoint_without_private_dns_is_no_path(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    resource(network, "aws_vpc_endpoint", "Network/LambdaInterfaceEndpoint")[
        "private_dns_enabled"
    ] = False
    assert messages(network, application) == [
        f"{CONTINUE} but its subnets reach lambda through no endpoint and no NAT (its interface "
        "endpoint has private DNS off, or the VPC's DNS support or DNS hostnames, so lambda's "
        "default DNS name does not resolve to it): add a lambda interface endpoint with private "
        f"DNS (PLATFORM_INTERFACE_ENDPOINTS in {NETWORK_MODULE}), or a NAT route to those subnets"
    ]


# --- an endpoint the security groups or its policy keep the function from ----------------------


def test_an_endpoint_without_the_functions_egress_fails(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    drop(network, "aws_vpc_security_group_egress_rule", "Network/LambdaToEndpoints")
    assert messages(network, application) == [
        f"{CONTINUE} but its security group tap-lambda-sg-dev allows no TCP 443 egress to the "
        "lambda endpoint's security group tap-endpoints-sg-dev: add that egress rule "
        f"({NETWORK_MODULE})"
    ]


def test_an_endpoint_group_that_does_not_admit_the_function_fails(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    drop(network, "aws_vpc_security_group_ingress_rule", "Network/EndpointsFromLambda")
    assert messages(network, application) == [
        f"{CONTINUE} but the lambda endpoint's security group tap-endpoints-sg-dev admits no "
        f"TCP 443 from its security group tap-lambda-sg-dev: add that ingress rule "
        f"({NETWORK_MODULE})"
    ]


def test_a_gateway_endpoint_without_egress_to_its_prefix_list_fails(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    drop(network, "aws_vpc_security_group_egress_rule", "Network/LambdaToDynamodb")
    missing = (
        "but its security group tap-lambda-sg-dev allows no TCP 443 egress to the prefix list of "
        f"the dynamodb gateway endpoint: add that egress rule ({NETWORK_MODULE})"
    )
    assert messages(network, application) == [
        f"function tap-api-authorizer-dev calls dynamodb (dynamodb:GetItem, statement "
        f"ReadSessions) {missing}",
        "function tap-api-handler-dev calls dynamodb (dynamodb:DeleteItem, dynamodb:GetItem, "
        "dynamodb:PutItem, statement ManageSessions; dynamodb:GetItem, statement ReadTrades; "
        f"dynamodb:Query, statement ListTradesOfAccount) {missing}",
        "function tap-processor-dev calls dynamodb (dynamodb:BatchGetItem, dynamodb:PutItem, "
        f"statement IngestTrades) {missing}",
    ]


def test_a_lambda_endpoint_policy_naming_another_function_fails(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    endpoint = resource(network, "aws_vpc_endpoint", "Network/LambdaInterfaceEndpoint")
    policy = json.loads(endpoint["policy"])
    other = PROCESSOR_ARN.replace("tap-processor-dev", "tap-api-handler-dev")
    policy["Statement"][0]["Resource"] = [other, f"{other}:*"]
    endpoint["policy"] = json.dumps(policy)
    assert messages(network, application) == [
        f"{CONTINUE} but the lambda endpoint's policy refuses it: it allows "
        f"lambda:InvokeFunction on {PROCESSOR_ARN} by no statement: allow the call in the "
        f"endpoint's policy ({NETWORK_MODULE})"
    ]


# --- NAT ---------------------------------------------------------------------------------------


def nat_network(network: dict[str, Any], *, egress_anywhere: bool, connectivity: str) -> None:
    """No endpoint at all; the private subnets' default route goes to a NAT gateway in a public
    subnet (whose own default route goes to the internet gateway)."""
    network["resource"]["aws_vpc_endpoint"] = {}
    network["resource"]["aws_nat_gateway"] = {
        "Nat": {
            "subnet_id": reference(network, "aws_subnet", "Network/PublicSubnet1", "id"),
            "connectivity_type": connectivity,
        }
    }
    network["resource"]["aws_route"]["PrivateDefaultRoute"] = {
        "route_table_id": reference(network, "aws_route_table", "Network/PrivateRouteTable", "id"),
        "destination_cidr_block": "0.0.0.0/0",
        "nat_gateway_id": "${aws_nat_gateway.Nat.id}",
    }
    if egress_anywhere:
        network["resource"]["aws_vpc_security_group_egress_rule"]["LambdaToAnywhere"] = {
            "security_group_id": reference(
                network, "aws_security_group", "Network/LambdaSecurityGroup", "id"
            ),
            "ip_protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
            "cidr_ipv4": "0.0.0.0/0",
        }


def test_a_nat_route_makes_every_service_reachable(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    nat_network(network, egress_anywhere=True, connectivity="public")
    assert messages(network, application) == []


def test_a_nat_route_without_egress_to_anywhere_fails(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    nat_network(network, egress_anywhere=False, connectivity="public")
    found = messages(network, application)
    assert len(found) == 5  # dynamodb x3, lambda, s3
    assert found[3] == (
        f"{CONTINUE} but its security group tap-lambda-sg-dev allows no TCP 443 egress to "
        f"0.0.0.0/0 for the NAT route of its subnets: add that egress rule ({NETWORK_MODULE})"
    )


def test_a_private_nat_gateway_reaches_no_aws_service(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    nat_network(network, egress_anywhere=True, connectivity="private")
    assert NO_LAMBDA_PATH in messages(network, application)


# --- what the rule cannot read is refused -------------------------------------------------------


def test_a_managed_policy_on_a_function_role_is_refused(
    dev: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    network, application = dev
    role = reference(application, "aws_iam_role", "Processor/Role", "name")
    application["resource"]["aws_iam_role_policy_attachment"]["Extra"] = {
        "role": role,
        "policy_arn": "arn:aws:iam::aws:policy/AmazonSQSFullAccess",
    }
    assert messages(network, application) == [
        "function tap-processor-dev: its role has attached managed policies "
        "(aws_iam_role_policy_attachment.Extra), whose statements the rule cannot read: grant "
        "the role inline statements instead"
    ]


def test_network_acls_are_refused(dev: tuple[dict[str, Any], dict[str, Any]]) -> None:
    network, application = dev
    network["resource"]["aws_network_acl"] = {"Private": {"vpc_id": "${aws_vpc.X.id}"}}
    found = messages(network, application)
    assert len(found) == 3
    assert found[0] == (
        "function tap-api-authorizer-dev: its network tap-dev-ap-southeast-1-network has network "
        "ACLs (aws_network_acl.Private), which the rule does not evaluate: evaluate them in "
        "trading_infra/checks/network_paths.py before adding them"
    )
