"""A local HTTP front for the deployed API, like ``sam local start-api``.

Each HTTP request on 127.0.0.1 becomes an API Gateway HTTP API payload-2.0 event
(:func:`api_handler.events.http_api_event`) and is answered by the real
``api_handler.handler.lambda_handler``, in this process, against the tables the local deploy
created (names from ``cfn-outputs/flat-outputs.json``) in the emulator (endpoint and fake
credentials from :func:`tooling.emulator.process.local_aws_env`).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tooling.deploy import OUTPUTS_FILE, assert_loopback
from tooling.emulator.process import Emulator, local_aws_env

__all__ = ["HOST", "ServeError", "handler_environment", "make_server"]

HOST = "127.0.0.1"
MAX_BODY = 1024 * 1024  # read at most this much; the handler itself refuses > 16 KiB with 413

#: The handler reads its configuration from os.environ on first use; one server per process.
_ENV_LOCK = threading.Lock()


class ServeError(RuntimeError):
    """The local API cannot be served; the message says what to do."""


def handler_environment(root: Path, environment: str, emulator: Emulator) -> dict[str, str]:
    """The api_handler's variables: deployed table names (from the outputs) and the emulator."""
    path = root / OUTPUTS_FILE
    try:
        outputs: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ServeError(
            f"{path} is missing or unreadable: run `./tap deploy --env {environment}`"
        ) from None
    wanted = {
        "SESSIONS_TABLE_NAME": f"{environment}_sessions_table_name",
        "TRADES_TABLE_NAME": f"{environment}_trades_table_name",
        "TRADES_BY_ACCOUNT_INDEX": f"{environment}_trades_by_account_index_name",
    }
    missing = [key for key in wanted.values() if not outputs.get(key)]
    if missing:
        raise ServeError(
            f"{path} has no {', '.join(missing)}: deploy {environment} first "
            f"(`./tap deploy --env {environment}`)"
        )
    assert_loopback(emulator.endpoint)
    region = str(outputs.get(f"{environment}_aws_region") or _region_of(outputs, environment))
    env = {name: str(outputs[key]) for name, key in wanted.items()}
    env.update(local_aws_env(emulator, region=region))
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def _region_of(outputs: dict[str, Any], environment: str) -> str:
    arn = str(outputs.get(f"{environment}_kms_key_arn", ""))
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


class _Handler(BaseHTTPRequestHandler):
    server_version = "tap-serve/1"
    protocol_version = "HTTP/1.1"

    def _dispatch(self) -> None:
        from api_handler.events import http_api_event, lambda_context
        from api_handler.handler import lambda_handler

        split = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._send(413, {"content-type": "application/json"}, b'{"error": "too large"}')
            return
        raw = self.rfile.read(length) if length else None
        query: dict[str, list[str]] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        headers = {name.lower(): value for name, value in self.headers.items()}
        headers.pop("content-length", None)
        body: str | bytes | None = None
        if raw is not None:
            try:
                body = raw.decode("utf-8")
            except UnicodeDecodeError:
                body = raw
        event = http_api_event(
            self.command,
            split.path or "/",
            query={k: v if len(v) > 1 else v[0] for k, v in query.items()} or None,
            headers=headers,
            body=body,
            source_ip=self.client_address[0],
        )
        result = lambda_handler(event, lambda_context(function_name="api_handler-local"))
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        self._send(int(result["statusCode"]), dict(result.get("headers") or {}), data)

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, str(value))
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("TAP_SERVE_QUIET") != "1":
            super().log_message(format, *args)


def make_server(
    root: Path, environment: str, emulator: Emulator, *, port: int = 3000
) -> ThreadingHTTPServer:
    """A server on 127.0.0.1:``port`` (0: a free one) for the deployed ``environment``.

    Sets the handler's variables in this process's environment (the handler reads them on first
    use, like a Lambda cold start) and forgets any application built before.
    """
    from api_handler.wiring import get_app

    env = handler_environment(root, environment, emulator)
    with _ENV_LOCK:
        os.environ.update(env)
        get_app.cache_clear()
    try:
        server = ThreadingHTTPServer((HOST, port), _Handler)
    except OSError as error:
        raise ServeError(
            f"cannot listen on {HOST}:{port}: {error}; choose another --port"
        ) from None
    server.daemon_threads = True
    return server
