"""What the composition of the application stack deploys, written out as data: the HTTP API's
routes (their Terraform addresses, keys and callers, and the ``moved`` blocks that carry the
routes' deployed states to those addresses), the exact statements and environment of each
function's role in dev, and the network outputs the two stacks exchange.

The literals are the synthesized values of the composition the grants replaced: any change of a
statement, of its order, of a variable or of an address fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from api_handler.app import OPERATIONS
from api_handler.domain.access import Access
from cdktf import App, TerraformStack
from trading_infra.components.api_routes import (
    ApiContractError,
    ApiRoute,
    Authorization,
    load_routes,
    routes_of,
)
from trading_infra.components.functions import (
    FunctionPlacement,
    ServiceFunction,
    ServiceFunctionProps,
)
from trading_infra.components.keys import RegionKey
from trading_infra.config import PlatformConfig
from trading_infra.context import RegionContext

from tests.infra.conftest import Stack, fake_artifacts

PARTITION = "${data.aws_partition.Partition.partition}"
ACCOUNT = "${data.aws_caller_identity.CallerIdentity.account_id}"


def _regional(service: str) -> str:
    """The start of an ARN of this account and region (the dev stack's lookups)."""
    return f"arn:{PARTITION}:{service}:ap-southeast-1:{ACCOUNT}:"


EC2 = _regional("ec2")
NETWORK = "data.terraform_remote_state.Network.outputs"
DATA_KEY = "${" + NETWORK + ".kms_key_arn}"
SESSIONS_TABLE = _regional("dynamodb") + "table/tap-sessions-dev"
TRADES_TABLE = "${aws_dynamodb_table.Tables_TradesTable_12C4979A.arn}"
DATA_BUCKET = "${aws_s3_bucket.Storage_DataBucket_19F1E604.arn}"


def _function_arn(name: str) -> str:
    return _regional("lambda") + f"function:{name}"


# --- the routes ------------------------------------------------------------------------------

#: address -> (route key, authorization type); user routes name the session authorizer.
ROUTES = {
    "Api_RouteGetHealth_FDFB62B9": ("GET /health", "NONE"),
    "Api_RoutePostSessions_F8773138": ("POST /sessions", "AWS_IAM"),
    "Api_RouteGetSessionsCurrent_27FC92A4": ("GET /sessions/current", "CUSTOM"),
    "Api_RouteGetSessionsBySessionId_E953C74E": ("GET /sessions/{session_id}", "AWS_IAM"),
    "Api_RouteDeleteSessionsBySessionId_198B0A68": ("DELETE /sessions/{session_id}", "AWS_IAM"),
    "Api_RouteGetTradesByTradeId_9458A5D6": ("GET /trades/{trade_id}", "CUSTOM"),
    "Api_RouteGetAccountsByAccountIdTrades_CCEB426D": (
        "GET /accounts/{account_id}/trades",
        "CUSTOM",
    ),
    "Api_RouteDefault_011F1335": ("$default", "AWS_IAM"),
}
#: Where deployed states hold the routes (numbered by position) -> where they are now.
MOVED = {
    "Api_Route0_D5AC613B": "Api_RouteGetHealth_FDFB62B9",
    "Api_Route1_F32C4B35": "Api_RoutePostSessions_F8773138",
    "Api_Route2_26946137": "Api_RouteGetSessionsBySessionId_E953C74E",
    "Api_Route3_85E013B7": "Api_RouteDeleteSessionsBySessionId_198B0A68",
    "Api_Route4_65427B8F": "Api_RouteGetTradesByTradeId_9458A5D6",
    "Api_Route5_7841AE70": "Api_RouteGetAccountsByAccountIdTrades_CCEB426D",
    "Api_Route6_3F375555": "Api_RouteDefault_011F1335",
    "Api_Route7_A4715846": "Api_RouteGetSessionsCurrent_27FC92A4",
}
AUTHORIZER_ID = "${aws_apigatewayv2_authorizer.Api_SessionAuthorizer_C25D58C2.id}"
INTEGRATION = "integrations/${aws_apigatewayv2_integration.Api_HandlerIntegration_7A8FE873.id}"


def test_the_routes_have_addresses_of_their_keys(stack: Stack) -> None:
    routes = stack.resources("aws_apigatewayv2_route")
    assert {
        address: (route["route_key"], route["authorization_type"])
        for address, route in routes.items()
    } == ROUTES
    assert {address: route.get("authorizer_id") for address, route in routes.items()} == {
        address: AUTHORIZER_ID if kind == "CUSTOM" else None
        for address, (_, kind) in ROUTES.items()
    }
    assert {route["target"] for route in routes.values()} == {INTEGRATION}


def test_moved_blocks_carry_each_numbered_route_to_its_keyed_address(stack: Stack) -> None:
    route = "aws_apigatewayv2_route."
    moved = sorted(stack.document["moved"], key=lambda block: str(block["from"]))
    assert moved == [{"from": route + old, "to": route + new} for old, new in MOVED.items()]


def test_every_stack_moves_exactly_its_routes(aws_stacks: dict[str, Stack]) -> None:
    moved = {name: len(stack.document.get("moved", [])) for name, stack in aws_stacks.items()}
    assert moved == {name: 8 if name.endswith("-app") else 0 for name in aws_stacks}


def test_the_routes_are_the_handlers_operations_and_the_default_route(stack: Stack) -> None:
    kinds = {Access.PUBLIC: "NONE", Access.SERVICE: "AWS_IAM", Access.USER: "CUSTOM"}
    declared = {f"{op.method} {op.template}": kinds[op.access] for op in OPERATIONS}
    deployed = dict(ROUTES.values())
    assert deployed == {**declared, "$default": "AWS_IAM"}


def test_the_health_throttle_follows_the_health_routes_address(stack: Stack) -> None:
    stage = stack.only("aws_apigatewayv2_stage")
    assert stage["depends_on"] == ["aws_apigatewayv2_route.Api_RouteGetHealth_FDFB62B9"]
    assert [s["route_key"] for s in stage["route_settings"]] == ["GET /health"]


# --- the routes from the OpenAPI document ----------------------------------------------------


def _document(security: Any = ..., **operation: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"operationId": "op", **operation}
    if security is not ...:
        body["security"] = security
    return {"paths": {"/things/{thing_id}": {"summary": "Things", "get": body}}}


@pytest.mark.parametrize(
    ("security", "authorization"),
    [([], "NONE"), ([{"sigv4": []}], "AWS_IAM"), ([{"session": []}], "CUSTOM")],
)
def test_each_security_scheme_is_a_route_authorization(
    security: list[dict[str, list[str]]], authorization: Authorization
) -> None:
    assert routes_of(_document(security)) == (ApiRoute("GET /things/{thing_id}", authorization),)


@pytest.mark.parametrize(
    ("security", "message"),
    [
        (..., "does not say who may call it"),
        ([{"apiKey": []}], "not one of the schemes"),
        ([{"sigv4": []}, {"session": []}], "not one of the schemes"),
        ([{"sigv4": [], "session": []}], "not one of the schemes"),
    ],
)
def test_an_operation_a_route_cannot_enforce_is_refused(security: Any, message: str) -> None:
    with pytest.raises(ApiContractError, match=message):
        routes_of(_document(security))


def test_a_document_without_operations_is_refused() -> None:
    with pytest.raises(ApiContractError, match="no operations"):
        routes_of({"paths": {}})


def test_a_missing_document_says_how_to_generate_it(tmp_path: Path) -> None:
    with pytest.raises(ApiContractError, match=r"api_handler\.openapi --output"):
        load_routes(tmp_path / "openapi.json")


def test_the_committed_document_gives_the_deployed_routes() -> None:
    assert {(r.key, r.authorization) for r in load_routes()} == set(ROUTES.values())


@pytest.mark.parametrize(
    ("key", "construct_id"),
    [
        ("GET /health", "RouteGetHealth"),
        ("GET /sessions/{session_id}", "RouteGetSessionsBySessionId"),
        ("GET /accounts/{account_id}/trades", "RouteGetAccountsByAccountIdTrades"),
        ("PUT /a-b/{proxy+}", "RoutePutABByProxy"),
        ("$default", "RouteDefault"),
    ],
)
def test_a_routes_construct_id_is_its_key_in_camel_case(key: str, construct_id: str) -> None:
    assert ApiRoute(key, "NONE").construct_id == construct_id


# --- each function's role and environment ----------------------------------------------------


def _runtime(function: str, key_services: list[str]) -> list[dict[str, Any]]:
    """The statements every function's role starts with, for the function ``function``."""
    log_group = {
        "Processor": "${aws_cloudwatch_log_group.Processor_LogGroup_B3034378.arn}",
        "ApiHandler": "${aws_cloudwatch_log_group.ApiHandler_LogGroup_0D20E157.arn}",
        "ApiAuthorizer": "${aws_cloudwatch_log_group.ApiAuthorizer_LogGroup_76993085.arn}",
    }[function]
    queue = {
        "Processor": "${aws_sqs_queue.Processor_DeadLetterQueue_A4101D16.arn}",
        "ApiHandler": "${aws_sqs_queue.ApiHandler_DeadLetterQueue_8D52EDDD.arn}",
        "ApiAuthorizer": "${aws_sqs_queue.ApiAuthorizer_DeadLetterQueue_DC4433F9.arn}",
    }[function]
    subnets = [f"{EC2}subnet/${{element({NETWORK}.private_subnet_ids, {i})}}" for i in range(3)]
    return [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group, f"{log_group}:*"],
        },
        {
            "Sid": "CreateNetworkInterfacesInPlatformSubnets",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterface",
            "Resource": f"{EC2}network-interface/*",
        },
        {
            "Sid": "UsePlatformSubnetsAndSecurityGroups",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterface",
            "Resource": [
                *subnets,
                f"{EC2}security-group/${{{NETWORK}.lambda_security_group_id}}",
            ],
        },
        {
            "Sid": "ManageNetworkInterfaces",
            "Effect": "Allow",
            "Action": [
                "ec2:AssignPrivateIpAddresses",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": f"{EC2}network-interface/*",
        },
        {
            "Sid": "DescribeVpcNetwork",
            "Effect": "Allow",
            "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            "Resource": "*",
        },
        {
            "Sid": "WriteTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Resource": "*",
        },
        {
            "Sid": "SendFailedEventsToDeadLetterQueue",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": queue,
        },
        {
            "Sid": "UseDataKeyThroughServices",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": DATA_KEY,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": [f"{s}.ap-southeast-1.amazonaws.com" for s in key_services]
                }
            },
        },
    ]


def _own(function_name: str) -> dict[str, Any]:
    return {"ArnEquals": {"lambda:SourceFunctionArn": _function_arn(function_name)}}


PROCESSOR_CODE = [
    {
        "Sid": "ReadIncomingTradeFiles",
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:GetObjectVersion"],
        "Resource": f"{DATA_BUCKET}/incoming/*",
        "Condition": _own("tap-processor-dev"),
    },
    {
        "Sid": "WriteQuarantine",
        "Effect": "Allow",
        "Action": "s3:PutObject",
        "Resource": f"{DATA_BUCKET}/quarantine/*",
        "Condition": _own("tap-processor-dev"),
    },
    {
        "Sid": "IngestTrades",
        "Effect": "Allow",
        "Action": ["dynamodb:BatchGetItem", "dynamodb:PutItem"],
        "Resource": TRADES_TABLE,
        "Condition": _own("tap-processor-dev"),
    },
    {
        "Sid": "ContinueOwnFiles",
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Resource": _function_arn("tap-processor-dev"),
        "Condition": _own("tap-processor-dev"),
    },
]
API_HANDLER_CODE = [
    {
        "Sid": "ManageSessions",
        "Effect": "Allow",
        "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
        "Resource": SESSIONS_TABLE,
        "Condition": _own("tap-api-handler-dev"),
    },
    {
        "Sid": "ReadTrades",
        "Effect": "Allow",
        "Action": "dynamodb:GetItem",
        "Resource": TRADES_TABLE,
        "Condition": _own("tap-api-handler-dev"),
    },
    {
        "Sid": "ListTradesOfAccount",
        "Effect": "Allow",
        "Action": "dynamodb:Query",
        "Resource": f"{TRADES_TABLE}/index/by-account-executed-at",
        "Condition": _own("tap-api-handler-dev"),
    },
]
API_AUTHORIZER_CODE = [
    {
        "Sid": "ReadSessions",
        "Effect": "Allow",
        "Action": "dynamodb:GetItem",
        "Resource": SESSIONS_TABLE,
        "Condition": _own("tap-api-authorizer-dev"),
    },
]
STATEMENTS = {
    "Processor_Policy_2927B29C": _runtime("Processor", ["dynamodb", "lambda", "s3", "sqs"])
    + PROCESSOR_CODE,
    "ApiHandler_Policy_E9EA3682": _runtime("ApiHandler", ["dynamodb", "lambda", "sqs"])
    + API_HANDLER_CODE,
    "ApiAuthorizer_Policy_BA3516DA": _runtime("ApiAuthorizer", ["dynamodb", "lambda", "sqs"])
    + API_AUTHORIZER_CODE,
}
TRADES_TABLE_NAME = "${aws_dynamodb_table.Tables_TradesTable_12C4979A.name}"
ENVIRONMENT = {
    "Processor_Function_BE9FBF91": {
        "LOG_LEVEL": "INFO",
        "POWERTOOLS_SERVICE_NAME": "processor",
        "QUARANTINE_PREFIX": "quarantine/",
        "TRADES_TABLE_NAME": TRADES_TABLE_NAME,
    },
    "ApiHandler_Function_AD5C6997": {
        "LOG_LEVEL": "INFO",
        "POWERTOOLS_SERVICE_NAME": "api_handler",
        "SESSIONS_TABLE_NAME": "tap-sessions-dev",
        "TRADES_BY_ACCOUNT_INDEX": "by-account-executed-at",
        "TRADES_TABLE_NAME": TRADES_TABLE_NAME,
    },
    "ApiAuthorizer_Function_A57F78B9": {
        "LOG_LEVEL": "INFO",
        "POWERTOOLS_SERVICE_NAME": "api_authorizer",
        "SESSIONS_TABLE_NAME": "tap-sessions-dev",
    },
}


def test_each_functions_role_has_exactly_these_statements_in_this_order(stack: Stack) -> None:
    policies = stack.resources("aws_iam_role_policy")
    assert {
        address: json.loads(body["policy"])["Statement"] for address, body in policies.items()
    } == STATEMENTS
    assert {json.loads(body["policy"])["Version"] for body in policies.values()} == {"2012-10-17"}


def test_each_function_is_told_where_its_granted_resources_are(stack: Stack) -> None:
    functions = stack.resources("aws_lambda_function")
    assert {
        address: body["environment"]["variables"] for address, body in functions.items()
    } == ENVIRONMENT


# --- grants a function refuses ---------------------------------------------------------------


@pytest.fixture(scope="module")
def function(config: PlatformConfig, tmp_path_factory: pytest.TempPathFactory) -> ServiceFunction:
    environment = config.environment("dev")
    context = RegionContext(
        platform=config.platform,
        environment=environment,
        region=environment.regions[0],
        account_id="111122223333",
        partition="aws",
    )
    artifacts = fake_artifacts(tmp_path_factory.mktemp("artifacts"))
    stack = TerraformStack(App(outdir=str(tmp_path_factory.mktemp("out"))), "grants")
    return ServiceFunction(
        stack,
        "Function",
        props=ServiceFunctionProps(
            context=context,
            service="processor",
            artifact=artifacts["processor"],
            handler="processor.handler.lambda_handler",
            data_key=RegionKey("arn:aws:kms:ap-southeast-1:111122223333:key/data"),
            logs_key=RegionKey("arn:aws:kms:ap-southeast-1:111122223333:key/logs"),
            placement=FunctionPlacement(subnet_ids=["subnet-1"], security_group_ids=["sg-1"]),
        ),
    )


def test_two_grants_may_not_set_one_variable_to_different_values(
    function: ServiceFunction,
) -> None:
    function.add_environment("TABLE_NAME", "one")
    function.add_environment("TABLE_NAME", "one")
    with pytest.raises(ValueError, match="two grants set TABLE_NAME to different values"):
        function.add_environment("TABLE_NAME", "two")


def test_a_grant_through_another_key_than_the_data_key_is_refused(
    function: ServiceFunction,
) -> None:
    with pytest.raises(ValueError, match="s3 encrypts with a key other than the function's"):
        RegionKey("arn:aws:kms:ap-southeast-1:111122223333:key/logs").grant_encrypt_decrypt(
            function, via="s3"
        )


# --- the network outputs ---------------------------------------------------------------------

NETWORK_OUTPUTS = {
    "vpc_id",
    "public_subnet_ids",
    "private_subnet_ids",
    "lambda_security_group_id",
    "database_security_group_id",
    "kms_key_arn",
    "logs_kms_key_arn",
    "secrets_kms_key_arn",
}
#: What the application stack reads of them (the VPC for its check, the rest to use).
READ_BY_THE_APPLICATION = NETWORK_OUTPUTS - {"public_subnet_ids"}


def test_the_network_stack_publishes_these_outputs(network: Stack) -> None:
    assert set(network.outputs) == NETWORK_OUTPUTS


def test_the_application_reads_only_outputs_the_network_publishes(stack: Stack) -> None:
    read = set(re.findall(re.escape(NETWORK) + r"\.([a-z_]+)", json.dumps(stack.document)))
    assert read == READ_BY_THE_APPLICATION
