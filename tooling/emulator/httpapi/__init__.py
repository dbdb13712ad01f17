"""The data plane of HTTP APIs deployed into the emulator (moto has only the control plane).

``app`` is the WSGI application and the local URL scheme; ``routing`` chooses stage and route,
``guards``/``sigv4``/``authorizers`` authorize (NONE, AWS_IAM, CUSTOM Lambda authorizers),
``events`` builds payload 2.0/1.0 events, ``responses`` maps results, ``ports`` holds the
catalog and invoker Protocols, ``moto_catalog`` reads the deployed APIs from moto's backend.
"""

from tooling.emulator.httpapi.app import (
    MAX_BODY_BYTES,
    PATH_PREFIX,
    ApiCatalog,
    HttpApiGateway,
    LambdaInvoker,
    LambdaOutcome,
    MotoApiCatalog,
    RouteGuard,
    stage_url,
)

__all__ = [
    "MAX_BODY_BYTES",
    "PATH_PREFIX",
    "ApiCatalog",
    "HttpApiGateway",
    "LambdaInvoker",
    "LambdaOutcome",
    "MotoApiCatalog",
    "RouteGuard",
    "stage_url",
]
