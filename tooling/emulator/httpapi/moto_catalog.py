"""The HTTP API catalog of moto's in-process API Gateway v2 backend (the control plane).

moto keeps what Terraform created (APIs, routes, integrations, stages, authorizers) as model
objects of ``moto.apigatewayv2.models``; this adapter reads them at each request, so the data
plane always serves the configuration as last deployed. moto is imported on first use, so the
data plane itself does not need moto.
"""

from __future__ import annotations

from typing import Any

from tooling.emulator.httpapi.ports import (
    DEFAULT_TIMEOUT_MILLIS,
    Authorizer,
    HttpApi,
    Integration,
    Route,
    Stage,
)

__all__ = ["MotoApiCatalog"]


class MotoApiCatalog:
    """Finds an HTTP API by id in whichever account and region of moto's backend holds it."""

    def find(self, api_id: str) -> HttpApi | None:
        """The HTTP API ``api_id`` as moto holds it now, or None (also for WebSocket APIs)."""
        from moto.apigatewayv2.models import apigatewayv2_backends

        for account_id, region, backend in list(apigatewayv2_backends.iter_backends()):
            api = getattr(backend, "apis", {}).get(api_id)
            if api is not None:
                return _snapshot(api, account_id, region) if api.protocol_type == "HTTP" else None
        return None


def _snapshot(api: Any, account_id: str, region: str) -> HttpApi:
    return HttpApi(
        api_id=api.api_id,
        region=region,
        account_id=account_id,
        stages=tuple(
            Stage(name=stage.name, variables=dict(stage.stage_variables or {}))
            for stage in list(api.stages.values())
        ),
        routes=tuple(
            Route(
                route_key=route.route_key,
                target=route.target,
                authorization_type=route.authorization_type or "NONE",
                authorizer_id=route.authorizer_id,
            )
            for route in list(api.routes.values())
        ),
        integrations={
            integration_id: Integration(
                integration_id=integration_id,
                integration_type=integration.integration_type or "",
                integration_uri=integration.integration_uri or "",
                payload_format_version=integration.payload_format_version or "2.0",
                timeout_in_millis=int(integration.timeout_in_millis or DEFAULT_TIMEOUT_MILLIS),
            )
            for integration_id, integration in list(api.integrations.items())
        },
        authorizers={
            authorizer_id: _authorizer(authorizer_id, authorizer)
            for authorizer_id, authorizer in list(api.authorizers.items())
        },
    )


def _authorizer(authorizer_id: str, authorizer: Any) -> Authorizer:
    identity = authorizer.identity_source or []
    if isinstance(identity, str):  # the 1.0 style: one comma-separated string
        identity = identity.split(",")
    return Authorizer(
        authorizer_id=authorizer_id,
        authorizer_type=authorizer.authorizer_type or "",
        authorizer_uri=authorizer.authorizer_uri,
        identity_source=tuple(source.strip() for source in identity if source.strip()),
        result_ttl_seconds=int(authorizer.auth_result_ttl or 0),
        enable_simple_responses=bool(authorizer.enable_simple_response),
        payload_format_version=authorizer.auth_payload_format_version or "2.0",
    )
