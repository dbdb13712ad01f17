"""The deployed API's routes a verify run calls, as a client calls them
(``api_handler.app.OPERATIONS``): ``GET /health`` unsigned, the session routes signed with
SigV4 (:class:`tooling.verify.transport.SigV4Signer`), the user routes with
``Authorization: Bearer <session id>``."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

from tooling.verify.transport import HttpAnswer, HttpRequest, Transport

__all__ = ["ApiClient"]

Signer = Callable[[HttpRequest], HttpRequest]


class ApiClient:
    """The routes of the API at ``base_url`` (the stage's URL, no trailing slash)."""

    def __init__(self, base_url: str, transport: Transport, signer: Signer) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport
        self._signer = signer

    def health(self) -> HttpAnswer:
        return self._send("GET", "/health")

    def create_session(self, account_id: str, ttl_seconds: int) -> HttpAnswer:
        body = {"account_id": account_id, "ttl_seconds": ttl_seconds}
        return self._send("POST", "/sessions", body=body, signed=True)

    def delete_session(self, session_id: str) -> HttpAnswer:
        return self._send("DELETE", f"/sessions/{quote(session_id, safe='')}", signed=True)

    def current_session(self, bearer: str) -> HttpAnswer:
        return self._send("GET", "/sessions/current", bearer=bearer)

    def trade(self, trade_id: str, bearer: str) -> HttpAnswer:
        return self._send("GET", f"/trades/{quote(trade_id, safe='')}", bearer=bearer)

    def account_trades(self, account_id: str, bearer: str, *, limit: int) -> HttpAnswer:
        path = f"/accounts/{quote(account_id, safe='')}/trades?limit={limit}"
        return self._send("GET", path, bearer=bearer)

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: object = None,
        signed: bool = False,
        bearer: str | None = None,
    ) -> HttpAnswer:
        headers = {"accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if bearer is not None:
            headers["authorization"] = f"Bearer {bearer}"
        request = HttpRequest(method, f"{self.base_url}{path}", headers, data)
        return self._transport.send(self._signer(request) if signed else request)
