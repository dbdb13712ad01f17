"""Contract fuzzing in-process: schemathesis against docs/api/openapi.json, through a local
HTTP server that plays API Gateway in front of ``lambda_handler`` over moto tables.

The run is the schemathesis CLI (``st run``) invoked in-process, with the very options and
hooks the e2e contract run uses (docs/api/README.md), after the gateway is up: schemathesis'
pytest integration would need the server (and a session) already while collecting.

The fake gateway does what the real one does before the handler runs: route selection (literal
segments before parameters, ``$default`` otherwise), AWS_IAM routes refuse unsigned requests
(403; it only checks that a SigV4 header is present, the signature itself is the emulator's and
AWS's business), CUSTOM routes answer 401 without an ``Authorization`` header and otherwise run
the real authorizer entry point (403 when it denies) and pass its context on. The requests are
authenticated by the same hooks the e2e contract run uses (docs/api/schemathesis_hooks.py).

Checks: no 5xx, only documented status codes, documented content types and headers, and every
body valid against its schema, for positive and negative (invalid) inputs. Examples per
operation are limited to keep this a few seconds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pytest
from api_handler.app import OPERATIONS, Route
from api_handler.authorizer import lambda_handler as authorizer_handler
from api_handler.domain.access import Access
from api_handler.events import http_api_event, iam_authorizer, lambda_authorizer, lambda_context
from api_handler.handler import lambda_handler
from api_handler.wiring import get_authorizer
from click.testing import CliRunner
from schemathesis.cli import schemathesis as schemathesis_cli

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parents[3]
API_DOCS = ROOT / "docs" / "api"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
#: The e2e invocation's options (docs/api/README.md), with fewer examples.
CONTRACT_OPTIONS = (
    f"--checks={','.join(CHECKS)}",
    "--phases=examples,coverage,fuzzing",
    "--mode=all",
    "--max-examples=10",
    "--generation-deterministic",
    "--continue-on-failure",
    "--suppress-health-check=all",
)
CONTRACT_ACCOUNT = "acc-contract"


# The gateway's routes, as infra declares them (tests/infra checks infra against OPERATIONS),
# in table order: literal paths before parameters, as API Gateway prefers them.
_ROUTES = tuple((Route(op.template, {}), op.method, op.access) for op in OPERATIONS)


def _gateway_access(method: str, path: str) -> Access:
    """The access of the route API Gateway picks; ``$default`` (AWS_IAM) when none matches."""
    for route, route_method, access in _ROUTES:
        if route_method == method and route.match(path) is not None:
            return access
    return Access.SERVICE


def _refusal(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps({"message": message}).encode()


def _serve(method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
    path, _, query_string = target.partition("?")
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        query.setdefault(name, []).append(value)
    access = _gateway_access(method, path)
    authorization = headers.get("authorization", "")
    authorizer: dict[str, Any] | None = None
    if access is Access.SERVICE:
        if not authorization.startswith("AWS4-HMAC-SHA256 Credential="):
            return _refusal(403, "Forbidden")
        authorizer = iam_authorizer()
    elif access is Access.USER:
        if not authorization:
            return _refusal(401, "Unauthorized")
        event = http_api_event(method, path, headers=headers)
        event.update(type="REQUEST", identitySource=[authorization])
        verdict = authorizer_handler(event, lambda_context())
        if verdict.get("isAuthorized") is not True:
            return _refusal(403, "Forbidden")
        authorizer = lambda_authorizer(verdict.get("context") or {})
    try:
        text: str | bytes | None = body.decode("utf-8") if body else None
    except UnicodeDecodeError:
        text = body
    event = http_api_event(
        method, path, query=query or None, headers=headers, body=text, authorizer=authorizer
    )
    response = lambda_handler(event, lambda_context())
    answer_headers = dict(response.get("headers") or {})
    return response["statusCode"], answer_headers, (response.get("body") or "").encode()


class _Gateway(BaseHTTPRequestHandler):
    def _any(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, answer_headers, payload = _serve(self.command, self.path, headers, body)
        self.send_response(status)
        for name, value in answer_headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def __getattr__(self, name: str) -> Any:
        """Every method (TRACE, QUERY...) reaches the routing, as at API Gateway."""
        if name.startswith("do_"):
            return self._any
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the handler's own request log is enough."""


@pytest.fixture
def gateway(
    lambda_env: None,
    dynamodb: DynamoDBClient,
    trades_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """The fake gateway's base URL, with a few trades of the contract account stored."""
    get_authorizer.cache_clear()
    start = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    for index in range(3):
        executed = (start + timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        dynamodb.put_item(
            TableName=trades_table,
            Item={
                "trade_id": {"S": f"C-{index}"},
                "account_id": {"S": CONTRACT_ACCOUNT},
                "symbol": {"S": "D05.SI"},
                "side": {"S": "BUY"},
                "quantity": {"N": "100"},
                "price": {"N": "35.125"},
                "currency": {"S": "SGD"},
                "executed_at": {"S": executed},
            },
        )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("TAP_API_URL", url)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        get_authorizer.cache_clear()


@pytest.mark.moto
def test_the_api_honours_its_contract(
    gateway: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # schemathesis keeps a cache in ./.schemathesis
    monkeypatch.syspath_prepend(str(API_DOCS))
    monkeypatch.setenv("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
    arguments = ["run", str(API_DOCS / "openapi.json"), f"--url={gateway}", *CONTRACT_OPTIONS]
    result = CliRunner().invoke(schemathesis_cli, arguments, catch_exceptions=False)
    assert result.exit_code == 0, result.output
