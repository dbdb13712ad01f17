"""The HTTP API in front of the api_handler function, and the session authorizer of its user
routes. The routes are the handler's own (trading_infra.components.api_routes)."""

from __future__ import annotations

import json
from dataclasses import dataclass

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

from trading_infra.components.api_routes import ApiRoute
from trading_infra.components.keys import RegionKey
from trading_infra.context import RegionContext

#: Where a deployed state may hold each route: at an address numbered by the route's position
#: (``Api/Route<n>``), which shifts whenever an operation is added or reordered. The routes are
#: addressed by their keys (:attr:`ApiRoute.construct_id`); a ``moved`` block per route carries
#: such a state to that address instead of replacing the route. Terraform looks for an object
#: at the ``from`` address in the state and renames it, so a state without one (a new
#: deployment) is not affected (https://developer.hashicorp.com/terraform/language/moved). The
#: blocks can go once every deployment has applied them.
NUMBERED_ROUTE_ADDRESSES: dict[str, str] = {
    "GET /health": "aws_apigatewayv2_route.Api_Route0_D5AC613B",
    "POST /sessions": "aws_apigatewayv2_route.Api_Route1_F32C4B35",
    "GET /sessions/{session_id}": "aws_apigatewayv2_route.Api_Route2_26946137",
    "DELETE /sessions/{session_id}": "aws_apigatewayv2_route.Api_Route3_85E013B7",
    "GET /trades/{trade_id}": "aws_apigatewayv2_route.Api_Route4_65427B8F",
    "GET /accounts/{account_id}/trades": "aws_apigatewayv2_route.Api_Route5_7841AE70",
    "$default": "aws_apigatewayv2_route.Api_Route6_3F375555",
    "GET /sessions/current": "aws_apigatewayv2_route.Api_Route7_A4715846",
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


@dataclass(frozen=True)
class HttpApiProps:
    """The API of ``handler`` (every route) with ``authorizer`` as its session authorizer;
    ``routes`` from the handler's OpenAPI document (:func:`api_routes.load_routes`);
    ``logs_key`` encrypts the access-log group."""

    context: RegionContext
    handler: LambdaFunction
    authorizer: LambdaFunction
    routes: tuple[ApiRoute, ...]
    logs_key: RegionKey


class HttpApi(Construct):
    """HTTP API, Lambda proxy integration (payload 2.0), auto-deployed stage, access logs,
    and the Lambda authorizer (payload 2.0, simple responses) of the user routes.

    Attributes:
        api, stage, endpoint_url, authorizer, routes (by route key).
    """

    def __init__(self, scope: Construct, id_: str, *, props: HttpApiProps) -> None:
        super().__init__(scope, id_)
        namer = props.context.namer
        self._props = props
        self.api = Apigatewayv2Api(
            self,
            "Api",
            name=namer.name("api", kind="api"),
            description="Trading platform sessions and trades API",
            protocol_type="HTTP",
        )
        self._api_id = self.api.id  # one jsii round trip, not one per route
        self.authorizer = Apigatewayv2Authorizer(
            self,
            "SessionAuthorizer",
            api_id=self._api_id,
            name=namer.name("session-authorizer"),
            authorizer_type="REQUEST",
            authorizer_uri=props.authorizer.invoke_arn,
            authorizer_payload_format_version="2.0",
            enable_simple_responses=True,
            identity_sources=[AUTHORIZER_IDENTITY_SOURCE],
            authorizer_result_ttl_in_seconds=props.context.environment.api_authorizer_cache_ttl_seconds,
        )
        self._authorizer_id = self.authorizer.id
        self.routes = self._declare_routes()
        self.stage = self._declare_stage()
        self._declare_invoke_permissions()
        self.endpoint_url = self.stage.invoke_url

    def _declare_routes(self) -> dict[str, Apigatewayv2Route]:
        """Every route to the handler's integration; the user routes through the authorizer."""
        integration = Apigatewayv2Integration(
            self,
            "HandlerIntegration",
            api_id=self._api_id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=self._props.handler.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=INTEGRATION_TIMEOUT_MILLISECONDS,
        )
        target = f"integrations/{integration.id}"
        routes: dict[str, Apigatewayv2Route] = {}
        for route in self._props.routes:
            routes[route.key] = Apigatewayv2Route(
                self,
                route.construct_id,
                api_id=self._api_id,
                route_key=route.key,
                target=target,
                authorization_type=route.authorization,
                authorizer_id=self._authorizer_id if route.authorization == "CUSTOM" else None,
            )
            if route.key in NUMBERED_ROUTE_ADDRESSES:
                routes[route.key].move_from_id(NUMBERED_ROUTE_ADDRESSES[route.key])
        if HEALTH_ROUTE not in routes:
            raise ValueError(f"the API's routes have no {HEALTH_ROUTE} (its throttle needs it)")
        return routes

    def _declare_stage(self) -> Apigatewayv2Stage:
        """The environment's stage, deployed on every change, with JSON access logs."""
        environment = self._props.context.environment
        profile = environment.profile
        access_logs = CloudwatchLogGroup(
            self,
            "AccessLogGroup",
            name=self._props.context.namer.log_group("api-access"),
            retention_in_days=profile.log_retention_days,
            kms_key_id=self._props.logs_key.arn,
        )
        return Apigatewayv2Stage(
            self,
            "Stage",
            api_id=self._api_id,
            name=environment.name,
            auto_deploy=True,
            access_log_settings={"destination_arn": access_logs.arn, "format": _ACCESS_LOG_FORMAT},
            default_route_settings={
                "throttling_rate_limit": profile.api_throttling_rate_limit_rps,
                "throttling_burst_limit": profile.api_throttling_burst_limit,
                "detailed_metrics_enabled": True,
            },
            # GET /health is open and invokes the same function as every other route: its own
            # limit keeps a flood of it from using up that function's concurrency.
            route_settings=[
                Apigatewayv2StageRouteSettings(
                    route_key=HEALTH_ROUTE,
                    throttling_rate_limit=profile.api_health_throttling_rate_limit_rps,
                    throttling_burst_limit=profile.api_health_throttling_burst_limit,
                    detailed_metrics_enabled=True,
                )
            ],
            # API Gateway refuses route settings of a route that does not exist yet.
            depends_on=[self.routes[HEALTH_ROUTE]],
        )

    def _declare_invoke_permissions(self) -> None:
        """The API may invoke the handler through any route, and the authorizer only as this
        API's session authorizer (not through any route or other API)."""
        execution_arn = self.api.execution_arn
        LambdaPermission(
            self,
            "InvokePermission",
            statement_id="AllowThisHttpApi",
            action="lambda:InvokeFunction",
            function_name=self._props.handler.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{execution_arn}/*/*",
        )
        LambdaPermission(
            self,
            "AuthorizerInvokePermission",
            statement_id="AllowThisHttpApiAuthorizer",
            action="lambda:InvokeFunction",
            function_name=self._props.authorizer.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{execution_arn}/authorizers/{self._authorizer_id}",
        )
