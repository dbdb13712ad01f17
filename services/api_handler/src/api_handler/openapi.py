"""The OpenAPI 3.1 document of the API, generated from the routes and the body models.

``python -m api_handler.openapi`` prints it; ``--output docs/api/openapi.json`` writes the
committed copy (a test fails when that copy is stale). Everything here is read off
:data:`api_handler.app.OPERATIONS` (paths, methods, callers, parameters, errors),
:func:`api_handler.app.checks_of` (the checks every request goes through),
:func:`api_handler.httpapi.status_of` (the one error -> status map) and the pydantic models,
so the document describes what the code does rather than what someone remembered.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api_handler.app import OPERATIONS, PATH_PARAMETERS, Operation, checks_of
from api_handler.domain.access import Access
from api_handler.domain.errors import ApiError
from api_handler.httpapi import INTERNAL_ERROR_BODY, MAX_BODY_BYTES, status_of
from api_handler.schemas import (
    ErrorBody,
    GatewayErrorBody,
    HealthBody,
    SessionBody,
    TradeBody,
    TradePageBody,
)

API_VERSION = "1.0.0"
OPENAPI_VERSION = "3.1.0"
_REF = "#/components/schemas/{model}"
_JSON = "application/json"

#: The security scheme of each kind of caller (the keys of ``components.securitySchemes``).
SECURITY: dict[Access, list[dict[str, list[str]]]] = {
    Access.PUBLIC: [],
    Access.SERVICE: [{"sigv4": []}],
    Access.USER: [{"session": []}],
}
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": (
            "Service routes (the login backend): the request is signed with AWS Signature "
            "Version 4 for the service `execute-api` in the API's region (`Authorization: "
            "AWS4-HMAC-SHA256 Credential=...`, with `x-amz-date` and, for temporary "
            "credentials, `x-amz-security-token`). API Gateway verifies the signature "
            "(route authorization AWS_IAM) and answers 403 with a `message` that says why: "
            '`"Forbidden"` (no signature), a signature mismatch, an expired signature, or '
            "a caller whose IAM policy does not allow `execute-api:Invoke` on the route."
        ),
    },
    "session": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "session_id (43 characters of base64url)",
        "description": (
            "User routes: `Authorization: Bearer <session_id>` from POST /sessions. A Lambda "
            "authorizer checks that the session exists and has not expired: no header is a "
            '401 `{"message": "Unauthorized"}`, an unknown, malformed or expired token a '
            '403 `{"message": "Forbidden"}`. The answer is cached per token for the '
            "environment's authorizer TTL, so a revoked session may keep working on the "
            "look-up routes for that long (GET /sessions/current re-reads the session)."
        ),
    },
}

_DESCRIPTION = f"""Sessions and read-only trade look-ups of the trading platform, behind an
API Gateway HTTP API (Lambda proxy, payload 2.0).

Two kinds of caller: **service routes** (`sigv4`) are called by the trusted login backend,
signed with SigV4; **user routes** (`session`) take `Authorization: Bearer <session_id>` and
only ever see the session's own account. `GET /health` is open.

Every response is JSON with `cache-control: no-store` except 204. Errors of the handler have
the shape `{{"error": {{"code": "...", "message": "..."}}}}` and never contain stack traces or
resource names; errors API Gateway answers itself have the shape `{{"message": "..."}}`.
Request bodies are limited to {MAX_BODY_BYTES} bytes. Unknown query parameters are refused on
every route. Paths that match no route are a 404 `route_not_found`, and a known path with
another method a 405 `method_not_allowed` with an `Allow` header (both reach the handler
through the `$default` route, which needs SigV4)."""

#: What API Gateway answers itself, before the handler, per kind of caller and status.
#: A message of None: API Gateway words it per cause (SigV4 denials name the cause).
_GATEWAY_REFUSALS: dict[Access, dict[int, tuple[str | None, str]]] = {
    Access.PUBLIC: {},
    Access.SERVICE: {403: (None, "missing or invalid SigV4 signature, or not allowed by IAM")},
    Access.USER: {
        401: ("Unauthorized", "no Authorization header"),
        403: ("Forbidden", "unknown, malformed or expired session token"),
    },
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _summary(kind: type[ApiError]) -> str:
    """The first paragraph of the error class's docstring, as Markdown."""
    paragraph = (kind.__doc__ or kind.code).strip().split("\n\n")[0]
    return " ".join(paragraph.split()).replace("``", "`").rstrip(".")


def _handler_error_schema(codes: Sequence[str]) -> dict[str, Any]:
    return {
        "allOf": [
            _ref(ErrorBody),
            {"properties": {"error": {"properties": {"code": {"enum": list(codes)}}}}},
        ]
    }


def _gateway_error_schema(message: str | None) -> dict[str, Any]:
    if message is None:
        return _ref(GatewayErrorBody)
    return {"allOf": [_ref(GatewayErrorBody), {"properties": {"message": {"const": message}}}]}


def _error_responses(operation: Operation) -> dict[str, Any]:
    by_status: dict[int, list[type[ApiError]]] = {}
    for kind in checks_of(operation):
        by_status.setdefault(status_of(kind), []).append(kind)
    gateway = _GATEWAY_REFUSALS[operation.access]
    responses: dict[str, Any] = {}
    for status in sorted({*by_status, *gateway}):
        kinds = by_status.get(status, [])
        lines = [f"- `{kind.code}`: {_summary(kind)}." for kind in kinds]
        schemas = [_handler_error_schema([kind.code for kind in kinds])] if kinds else []
        if status in gateway:
            message, why = gateway[status]
            lines.insert(0, f'- API Gateway `{{"message": "{message}"}}`: {why}.')
            schemas.insert(0, _gateway_error_schema(message))
        schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
        responses[str(status)] = {
            "description": "\n".join(lines),
            "content": {_JSON: {"schema": schema}},
        }
    internal = INTERNAL_ERROR_BODY["error"]
    responses["500"] = {
        "description": "- `internal_error`: a server fault (logged); the body reveals nothing.",
        "content": {_JSON: {"schema": _handler_error_schema([internal["code"]])}},
    }
    return responses


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": f"{PATH_PARAMETERS[name].rule} (percent-decoded before the check).",
            "schema": {"type": "string", "pattern": PATH_PARAMETERS[name].pattern},
        }
        for name in operation.path_parameters
    ]
    parameters += [
        {
            "name": query.name,
            "in": "query",
            "required": False,
            "description": query.description,
            "schema": dict(query.schema),
        }
        for query in operation.query
    ]
    return parameters


def _operation(operation: Operation) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": operation.name,
        "summary": operation.summary,
        "description": operation.description,
        "tags": [operation.access.value],
        "security": SECURITY[operation.access],
    }
    parameters = _parameters(operation)
    if parameters:
        document["parameters"] = parameters
    if operation.request is not None:
        document["requestBody"] = {
            "required": True,
            "content": {_JSON: {"schema": _ref(operation.request)}},
        }
    success: dict[str, Any] = {"description": operation.summary}
    if operation.response is not None:
        success["content"] = {_JSON: {"schema": _ref(operation.response)}}
    document["responses"] = {str(operation.status): success, **_error_responses(operation)}
    return document


def _component_schemas() -> dict[str, Any]:
    models: list[type[BaseModel]] = [HealthBody, SessionBody, TradeBody, TradePageBody]
    models += [ErrorBody, GatewayErrorBody]
    requests = [op.request for op in OPERATIONS if op.request is not None]
    pairs = [(model, "serialization") for model in models]
    pairs += [(model, "validation") for model in dict.fromkeys(requests)]
    _, definitions = models_json_schema(pairs, ref_template=_REF)  # type: ignore[arg-type]
    schemas: dict[str, Any] = definitions.get("$defs", {})
    return dict(sorted(schemas.items()))


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a JSON-ready dict, deterministic key order)."""
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.template, {})[operation.method.lower()] = _operation(operation)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Trading platform API",
            "version": API_VERSION,
            "description": _DESCRIPTION,
        },
        "servers": [
            {
                "url": "https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
                "variables": {
                    "api_id": {"default": "api", "description": "output api_id"},
                    "region": {"default": "ap-southeast-1"},
                    "stage": {"default": "dev", "description": "output api_stage_name"},
                },
            }
        ],
        "tags": [
            {"name": Access.PUBLIC.value, "description": "Open to anyone."},
            {"name": Access.SERVICE.value, "description": "Login backend, SigV4-signed."},
            {"name": Access.USER.value, "description": "Bearer session, own account only."},
        ],
        "paths": paths,
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render() -> str:
    """The document as committed: 2-space JSON, UTF-8, final newline."""
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m api_handler.openapi [--output PATH]``: print or write the document."""
    parser = argparse.ArgumentParser(prog="python -m api_handler.openapi", description=__doc__)
    parser.add_argument("--output", type=Path, help="write here instead of printing")
    arguments = parser.parse_args(argv)
    text = render()
    if arguments.output is None:
        sys.stdout.write(text)
    else:
        arguments.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
