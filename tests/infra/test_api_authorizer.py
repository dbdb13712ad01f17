"""The HTTP API's two kinds of caller: which route needs what, the session authorizer, and the
exact permissions of the handler's and the authorizer's roles."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_handler.app import OPERATIONS
from api_handler.domain.access import Access
from trading_infra.config import PlatformConfig

from tests.infra import test_iam_least_privilege as least_privilege
from tests.infra.conftest import Stack, stack_of

AUTHORIZER = "ApiAuthorizer/Function"
SERVICE_ROUTES = {
    "POST /sessions",
    "GET /sessions/{session_id}",
    "DELETE /sessions/{session_id}",
    "$default",
}
USER_ROUTES = {
    "GET /sessions/current",
    "GET /trades/{trade_id}",
    "GET /accounts/{account_id}/trades",
}
ENVIRONMENTS = ("dev", "staging", "prod")


def ref(stack: Stack, resource_type: str, path_suffix: str, attribute: str) -> str:
    return "${" + stack.address(resource_type, path_suffix) + "." + attribute + "}"


def routes(stack: Stack) -> dict[str, dict[str, Any]]:
    return {r["route_key"]: r for r in stack.resources("aws_apigatewayv2_route").values()}


def grants(stack: Stack, owner: str) -> set[tuple[str, str]]:
    """Every (action, resource) pair the owner's role policy allows."""
    (policy,) = [
        json.loads(body["policy"])
        for body in stack.resources("aws_iam_role_policy").values()
        if body["//"]["metadata"]["path"].endswith(f"/{owner}/Policy")
    ]
    pairs: set[tuple[str, str]] = set()
    for statement in policy["Statement"]:
        # Conditions only narrow a grant further (test_iam_least_privilege specifies them).
        assert statement["Effect"] == "Allow"
        actions, resources = statement["Action"], statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                pairs.add((action, resource))
    return pairs


def runtime_grants(stack: Stack, owner: str) -> set[tuple[str, str]]:
    """What any of the platform's functions needs to run (functions.py, _runtime_statements),
    as specified once in test_iam_least_privilege."""
    return least_privilege.runtime_grants(stack, owner)


def sessions_arn() -> str:
    return (
        "arn:${data.aws_partition.Partition.partition}:dynamodb:ap-southeast-1:"
        "${data.aws_caller_identity.CallerIdentity.account_id}:table/tap-sessions-dev"
    )


# --- routes ----------------------------------------------------------------------------------


def test_health_is_the_only_open_route(stack: Stack) -> None:
    assert {k for k, r in routes(stack).items() if r["authorization_type"] == "NONE"} == {
        "GET /health"
    }


def test_service_routes_and_default_need_sigv4(stack: Stack) -> None:
    iam = {k for k, r in routes(stack).items() if r["authorization_type"] == "AWS_IAM"}
    assert iam == SERVICE_ROUTES


def test_user_routes_use_the_session_authorizer(stack: Stack) -> None:
    authorizer_id = ref(stack, "aws_apigatewayv2_authorizer", "Api/SessionAuthorizer", "id")
    custom = {
        key: route.get("authorizer_id")
        for key, route in routes(stack).items()
        if route["authorization_type"] == "CUSTOM"
    }
    assert custom == dict.fromkeys(USER_ROUTES, authorizer_id)


def test_only_user_routes_name_an_authorizer(stack: Stack) -> None:
    named = {k for k, r in routes(stack).items() if r.get("authorizer_id")}
    assert named == USER_ROUTES


def test_the_deployed_routes_are_the_handlers_operations(stack: Stack) -> None:
    kinds = {Access.PUBLIC: "NONE", Access.SERVICE: "AWS_IAM", Access.USER: "CUSTOM"}
    declared = {f"{op.method} {op.template}": kinds[op.access] for op in OPERATIONS}
    deployed = {key: route["authorization_type"] for key, route in routes(stack).items()}
    assert {k: v for k, v in deployed.items() if k != "$default"} == declared


# --- the authorizer --------------------------------------------------------------------------


def test_the_authorizer_is_a_request_authorizer_with_simple_responses(stack: Stack) -> None:
    authorizer = stack.only("aws_apigatewayv2_authorizer")
    assert authorizer["authorizer_type"] == "REQUEST"
    assert authorizer["authorizer_payload_format_version"] == "2.0"
    assert authorizer["enable_simple_responses"] is True
    assert authorizer["identity_sources"] == ["$request.header.Authorization"]
    assert authorizer["authorizer_uri"] == ref(
        stack, "aws_lambda_function", AUTHORIZER, "invoke_arn"
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_authorizer_cache_ttl_comes_from_the_environment(
    aws_stacks: dict[str, Stack], config: PlatformConfig, environment: str
) -> None:
    authorizer = stack_of(aws_stacks, config, environment).only("aws_apigatewayv2_authorizer")
    expected = config.environment(environment).api_authorizer_cache_ttl_seconds
    assert authorizer["authorizer_result_ttl_in_seconds"] == expected


def test_environments_configure_different_authorizer_cache_ttls(config: PlatformConfig) -> None:
    ttls = {
        name: config.environment(name).api_authorizer_cache_ttl_seconds for name in ENVIRONMENTS
    }
    assert ttls == {"dev": 0, "staging": 30, "prod": 60}


def test_only_this_apis_authorizer_may_invoke_the_authorizer(stack: Stack) -> None:
    permission = stack.by_path("aws_lambda_permission", "Api/AuthorizerInvokePermission")
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["function_name"] == ref(
        stack, "aws_lambda_function", AUTHORIZER, "function_name"
    )
    execution_arn = ref(stack, "aws_apigatewayv2_api", "Api/Api", "execution_arn")
    authorizer_id = ref(stack, "aws_apigatewayv2_authorizer", "Api/SessionAuthorizer", "id")
    assert permission["source_arn"] == f"{execution_arn}/authorizers/{authorizer_id}"


def test_the_authorizer_is_a_second_entry_point_of_the_api_handler_zip(stack: Stack) -> None:
    authorizer = stack.by_path("aws_lambda_function", AUTHORIZER)
    handler = stack.by_path("aws_lambda_function", "ApiHandler/Function")
    assert authorizer["handler"] == "api_handler.authorizer.lambda_handler"
    assert authorizer["source_code_hash"] == handler["source_code_hash"]
    assert authorizer["filename"].endswith("/api_handler.zip")


def test_the_authorizer_only_knows_the_sessions_table(stack: Stack) -> None:
    variables = stack.by_path("aws_lambda_function", AUTHORIZER)["environment"]["variables"]
    assert variables == {
        "SESSIONS_TABLE_NAME": stack.by_path("aws_dynamodb_table", "SessionsTable")["name"],
        "POWERTOOLS_SERVICE_NAME": "api_authorizer",
        "LOG_LEVEL": "INFO",
    }


def test_the_authorizer_has_its_own_log_group(stack: Stack) -> None:
    function = stack.by_path("aws_lambda_function", AUTHORIZER)
    group = stack.by_path("aws_cloudwatch_log_group", "ApiAuthorizer/LogGroup")
    assert function["logging_config"]["log_group"] == ref(
        stack, "aws_cloudwatch_log_group", "ApiAuthorizer/LogGroup", "name"
    )
    assert group["name"] == f"/aws/lambda/{function['function_name']}"


def test_the_authorizer_function_is_an_output(stack: Stack) -> None:
    assert stack.outputs["api_authorizer_function_name"]["value"] == ref(
        stack, "aws_lambda_function", AUTHORIZER, "function_name"
    )


# --- least privilege: exact action x resource sets -------------------------------------------


def test_the_authorizer_may_only_read_sessions_besides_running(stack: Stack) -> None:
    assert grants(stack, "ApiAuthorizer") == runtime_grants(stack, "ApiAuthorizer") | {
        ("dynamodb:GetItem", sessions_arn())
    }


def test_the_handler_may_manage_sessions_and_read_trades_only(stack: Stack) -> None:
    trades = ref(stack, "aws_dynamodb_table", "TradesTable", "arn")
    assert grants(stack, "ApiHandler") == runtime_grants(stack, "ApiHandler") | {
        ("dynamodb:DeleteItem", sessions_arn()),
        ("dynamodb:GetItem", sessions_arn()),
        ("dynamodb:PutItem", sessions_arn()),
        ("dynamodb:GetItem", trades),
        ("dynamodb:Query", f"{trades}/index/by-account-executed-at"),
    }


def test_the_api_roles_have_no_managed_policies(stack: Stack) -> None:
    attached = stack.resources("aws_iam_role_policy_attachment").values()
    roles = {
        ref(stack, "aws_iam_role", f"{owner}/Role", "name")
        for owner in ("ApiHandler", "ApiAuthorizer")
    }
    assert not [a for a in attached if a["role"] in roles]
