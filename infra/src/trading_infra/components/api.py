"""The HTTP API in front of the api_handler function, and the session authorizer of its user
routes."""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.apigatewayv2_api import Apigatewayv2Api
from cdktf_cdktf_provider_aws.apigatewayv2_authorizer import Apigatewayv2Authorizer
from cdktf_cdktf_provider_aws.apigatewayv2_integration import Apigatewayv2Integration
from cdktf_cdktf_provider_aws.apigatewayv2_route import Apigatewayv2Route
from cdktf_cdktf_provider_aws.apigatewayv2_stage import (
    Apigatewayv2Stage,
    Apigatewayv2StageRouteSettings,
)
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from trading_infra.context import RegionContext

#: The api_handler's routes -> authorization (mirrors api_handler.app.OPERATIONS; a test
#: compares them). Service routes (the login backend) need SigV4 credentials (AWS_IAM); user
#: routes need ``Authorization: Bearer <session_id>``, checked by the session authorizer
#: (CUSTOM); the health check is open. ``$default`` sends unknown routes to the handler so that
#: signed clients get its JSON 404/405 instead of API Gateway's plain one.
ROUTES: dict[str, str] = {
    "GET /health": "NONE",
    "POST /sessions": "AWS_IAM",
    "GET /sessions/{session_id}": "AWS_IAM",
    "DELETE /sessions/{session_id}": "AWS_IAM",
    "GET /trades/{trade_id}": "CUSTOM",
    "GET /accounts/{account_id}/trades": "CUSTOM",
    "$default": "AWS_IAM",
    # Appended, so that the earlier routes keep their construct ids (Route0..Route6).
    "GET /sessions/current": "CUSTOM",
}
#: Where the session authorizer finds the token; a request without it is a 401 from API
#: Gateway, without invoking the function. Also the authorizer's cache key.
AUTHORIZER_IDENTITY_SOURCE = "$request.header.Authorization"
INTEGRATION_TIMEOUT_MILLISECONDS = 29_000  # API Gateway's maximum for HTTP APIs
#: The open route with its own, smaller throttle (the profile's api_health_throttling_*).
HEALTH_ROUTE = "GET /health"

#: One JSON line per request: what was asked, how it ended, and who asked. The caller is the
#: source address and user agent for every route, the signing IAM principal on the service
#: routes (AWS_IAM) and the session's account on the user routes: the ``account_id`` of the
#: session authorizer's context (api_handler.domain.access.SessionClaims.to_context). Never
#: its ``session_id``: that is the bearer token itself.
ACCESS_LOG_FIELDS: dict[str, str] = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "callerArn": "$context.identity.userArn",
    "callerAccountId": "$context.identity.accountId",
    "sessionAccountId": "$context.authorizer.account_id",
    "authorizerError": "$context.authorizer.error",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationError": "$context.integrationErrorMessage",
    "latencyMs": "$context.responseLatency",
}
_ACCESS_LOG_FORMAT = json.dumps(ACCESS_LOG_FIELDS, sort_keys=True)


class HttpApi(Construct):
    """HTTP API, Lambda proxy integration (payload 2.0), auto-deployed stage, access logs,
    and the Lambda authorizer (payload 2.0, simple responses) of the user routes.

    Attributes:
        api, stage, endpoint_url, authorizer.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        context: RegionContext,
        handler: LambdaFunction,
        authorizer: LambdaFunction,
        key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        namer = context.namer
        environment = context.environment
        self.api = Apigatewayv2Api(
            self,
            "Api",
            name=namer.name("api", kind="api"),
            description="Trading platform sessions and trades API",
            protocol_type="HTTP",
        )
        api_id = self.api.id  # one jsii round trip, not one per route
        integration = Apigatewayv2Integration(
            self,
            "HandlerIntegration",
            api_id=api_id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=handler.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=INTEGRATION_TIMEOUT_MILLISECONDS,
        )
        self.authorizer = Apigatewayv2Authorizer(
            self,
            "SessionAuthorizer",
            api_id=api_id,
            name=namer.name("session-authorizer"),
            authorizer_type="REQUEST",
            authorizer_uri=authorizer.invoke_arn,
            authorizer_payload_format_version="2.0",
            enable_simple_responses=True,
            identity_sources=[AUTHORIZER_IDENTITY_SOURCE],
            authorizer_result_ttl_in_seconds=environment.api_authorizer_cache_ttl_seconds,
        )
        authorizer_id = self.authorizer.id
        integration_target = f"integrations/{integration.id}"
        routes: dict[str, Apigatewayv2Route] = {}
        for index, (route_key, authorization) in enumerate(ROUTES.items()):
            routes[route_key] = Apigatewayv2Route(
                self,
                f"Route{index}",
                api_id=api_id,
                route_key=route_key,
                target=integration_target,
                authorization_type=authorization,
                authorizer_id=authorizer_id if authorization == "CUSTOM" else None,
            )
        access_logs = CloudwatchLogGroup(
            self,
            "AccessLogGroup",
            name=namer.log_group("api-access"),
            retention_in_days=environment.profile.log_retention_days,
            kms_key_id=key_arn,
        )
        self.stage = Apigatewayv2Stage(
            self,
            "Stage",
            api_id=api_id,
            name=environment.name,
            auto_deploy=True,
            access_log_settings={
                "destination_arn": access_logs.arn,
                "format": _ACCESS_LOG_FORMAT,
            },
            default_route_settings={
                "throttling_rate_limit": environment.profile.api_throttling_rate_limit_rps,
                "throttling_burst_limit": environment.profile.api_throttling_burst_limit,
                "detailed_metrics_enabled": True,
            },
            # GET /health is open and invokes the same function as every other route: its own
            # limit keeps a flood of it from using up that function's concurrency.
            route_settings=[
                Apigatewayv2StageRouteSettings(
                    route_key=HEALTH_ROUTE,
                    throttling_rate_limit=environment.profile.api_health_throttling_rate_limit_rps,
                    throttling_burst_limit=environment.profile.api_health_throttling_burst_limit,
                    detailed_metrics_enabled=True,
                )
            ],
            # API Gateway refuses route settings of a route that does not exist yet.
            depends_on=[routes[HEALTH_ROUTE]],
        )
        LambdaPermission(
            self,
            "InvokePermission",
            statement_id="AllowThisHttpApi",
            action="lambda:InvokeFunction",
            function_name=handler.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self.api.execution_arn}/*/*",
        )
        LambdaPermission(
            self,
            "AuthorizerInvokePermission",
            statement_id="AllowThisHttpApiAuthorizer",
            action="lambda:InvokeFunction",
            function_name=authorizer.function_name,
            principal="apigateway.amazonaws.com",
            # Only as this API's session authorizer, not through any route or other API.
            source_arn=f"{self.api.execution_arn}/authorizers/{authorizer_id}",
        )
        self.endpoint_url = self.stage.invoke_url
