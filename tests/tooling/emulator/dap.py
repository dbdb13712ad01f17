"""A tiny Debug Adapter Protocol client: what VS Code does when it attaches to debugpy.

DAP messages are JSON objects framed by a ``Content-Length: N\\r\\n\\r\\n`` header
(https://microsoft.github.io/debug-adapter-protocol/overview#base-protocol). The handshake of
an ``attach``: ``initialize`` (answered with the adapter's capabilities), ``attach`` (with the
path mappings), then, once the ``initialized`` event arrives, the breakpoints and
``configurationDone``. Responses are matched by ``request_seq`` in whatever order they come;
messages read while waiting for another are kept. Every wait is bounded by the socket's
timeout: a debuggee that never answers fails the test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["DapClient", "DapError"]

#: How long one wait (a connection, a message) may take before the test fails.
WAIT_SECONDS: Final = 60.0


class DapError(AssertionError):
    """The debuggee answered a request with ``success: false``, or never answered."""


class DapClient:
    """One connection to a debug adapter, with the messages read but not yet asked for."""

    def __init__(self, connection: socket.socket) -> None:
        self._socket = connection
        self._buffer = b""
        self._seq = 0
        self._unclaimed: list[dict[str, Any]] = []

    @classmethod
    def connect(cls, host: str, port: int, *, wait_seconds: float = WAIT_SECONDS) -> DapClient:
        """Connect once the debuggee listens (its worker starts with the invocation)."""
        give_up = time.monotonic() + wait_seconds
        while True:
            try:
                connection = socket.create_connection((host, port), timeout=wait_seconds)
            except ConnectionRefusedError:
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.05)
                continue
            connection.settimeout(wait_seconds)
            return cls(connection)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.close()

    def request(self, command: str, **arguments: Any) -> int:
        """Send a request; its ``seq``, to wait for its response with :meth:`response`."""
        self._seq += 1
        message = {"seq": self._seq, "type": "request", "command": command}
        if arguments:
            message["arguments"] = arguments
        body = json.dumps(message).encode("utf-8")
        self._socket.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self._seq

    def response(self, seq: int) -> dict[str, Any]:
        """The response to request ``seq`` (DapError if it did not succeed)."""
        message = self._claim(lambda m: m.get("type") == "response" and m["request_seq"] == seq)
        if not message.get("success"):
            raise DapError(f"{message.get('command')} failed: {message.get('message')}")
        return message

    def call(self, command: str, **arguments: Any) -> dict[str, Any]:
        """Send a request and wait for its successful response."""
        return self.response(self.request(command, **arguments))

    def event(self, name: str) -> dict[str, Any]:
        """The next event called ``name`` (other messages are kept for later)."""
        return self._claim(lambda m: m.get("type") == "event" and m.get("event") == name)

    def attach(
        self,
        *,
        path_mappings: Sequence[Mapping[str, str]] = (),
        breakpoints: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        """The attach handshake, with ``breakpoints`` (local path -> lines) set before
        ``configurationDone`` lets the debuggee go on.

        ``configurationDone``'s own answer is not awaited: pydevd lets the debuggee go on before
        it answers, and a debuggee that then finishes its one invocation is killed, possibly
        before the answer is written.
        """
        self.call(
            "initialize",
            clientID="tap-tests",
            adapterID="debugpy",
            pathFormat="path",
            linesStartAt1=True,
            columnsStartAt1=True,
        )
        attach = self.request("attach", justMyCode=True, pathMappings=list(path_mappings))
        self.event("initialized")
        for path, lines in (breakpoints or {}).items():
            answer = self.call(
                "setBreakpoints",
                source={"path": path},
                breakpoints=[{"line": line} for line in lines],
            )
            verified = [point["verified"] for point in answer["body"]["breakpoints"]]
            if not all(verified):
                raise DapError(f"breakpoints in {path} not verified: {answer['body']}")
        self.response(attach)
        self.request("configurationDone")

    def _claim(self, wanted: Any) -> dict[str, Any]:
        for index, message in enumerate(self._unclaimed):
            if wanted(message):
                return self._unclaimed.pop(index)
        while True:
            message = self._read()
            if wanted(message):
                return message
            self._unclaimed.append(message)

    def _read(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self._buffer:
            self._receive()
        header, _, rest = self._buffer.partition(b"\r\n\r\n")
        fields = dict(line.split(b":", 1) for line in header.split(b"\r\n") if b":" in line)
        length = int(fields[b"Content-Length"].strip())
        while len(rest) < length:
            rest += self._receive_more()
        self._buffer = rest[length:]
        document: dict[str, Any] = json.loads(rest[:length])
        return document

    def _receive(self) -> None:
        self._buffer += self._receive_more()

    def _receive_more(self) -> bytes:
        chunk = self._socket.recv(65_536)
        if not chunk:
            raise DapError("the debuggee closed the connection")
        return chunk
