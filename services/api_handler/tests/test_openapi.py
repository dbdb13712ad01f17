"""The OpenAPI document: generated from the routes and models, committed, never stale."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from api_handler.app import OPERATIONS
from api_handler.openapi import build_document, render
from openapi_spec_validator import validate

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "api" / "openapi.json"
REGENERATE = ".venv/bin/python -m api_handler.openapi --output docs/api/openapi.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method.lower()]
    return found


def error_codes(response: dict[str, Any]) -> set[str]:
    schema = response["content"]["application/json"]["schema"]
    variants = schema.get("anyOf", [schema])
    return {
        code
        for variant in variants
        for part in variant["allOf"]
        for code in part.get("properties", {}).get("error", {}).get("properties", {})
        .get("code", {}).get("enum", [])
    }  # fmt: skip


def test_the_committed_document_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), f"stale: run {REGENERATE}"


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_operation_is_documented(document: dict[str, Any]) -> None:
    documented = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert documented == {(op.method, op.template) for op in OPERATIONS}


@pytest.mark.parametrize(
    ("method", "path", "security"),
    [
        ("GET", "/health", []),
        ("POST", "/sessions", [{"sigv4": []}]),
        ("GET", "/sessions/{session_id}", [{"sigv4": []}]),
        ("DELETE", "/sessions/{session_id}", [{"sigv4": []}]),
        ("GET", "/sessions/current", [{"session": []}]),
        ("GET", "/trades/{trade_id}", [{"session": []}]),
        ("GET", "/accounts/{account_id}/trades", [{"session": []}]),
    ],
)
def test_each_route_names_its_callers_scheme(
    document: dict[str, Any], method: str, path: str, security: list[Any]
) -> None:
    assert operation(document, method, path)["security"] == security


def test_sigv4_is_an_authorization_header_scheme_with_a_description(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["sigv4"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert "Signature Version 4" in scheme["description"]


def test_the_session_scheme_is_a_bearer_token(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["session"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_listing_documents_every_error_with_its_code(document: dict[str, Any]) -> None:
    responses = operation(document, "GET", "/accounts/{account_id}/trades")["responses"]
    assert {status: error_codes(r) for status, r in responses.items() if status >= "400"} == {
        "400": {
            "invalid_path_parameter",
            "invalid_query_parameter",
            "invalid_body",
            "invalid_next_token",
        },
        "401": {"unauthorized"},
        "403": {"forbidden"},
        "413": {"payload_too_large"},
        "500": {"internal_error"},
    }


def test_user_routes_document_the_gateways_own_refusals(document: dict[str, Any]) -> None:
    responses = operation(document, "GET", "/trades/{trade_id}")["responses"]
    for status, message in (("401", "Unauthorized"), ("403", "Forbidden")):
        schema = responses[status]["content"]["application/json"]["schema"]
        parts = [part for variant in schema.get("anyOf", [schema]) for part in variant["allOf"]]
        assert {"properties": {"message": {"const": message}}} in parts


def test_a_foreign_trade_is_documented_as_not_found(document: dict[str, Any]) -> None:
    responses = operation(document, "GET", "/trades/{trade_id}")["responses"]
    assert error_codes(responses["404"]) == {"trade_not_found"}


def test_the_request_body_schema_is_strict(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["CreateSessionRequest"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["account_id"]
    assert schema["properties"]["account_id"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"


def test_the_module_prints_the_document() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api_handler.openapi"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == json.loads(render())
