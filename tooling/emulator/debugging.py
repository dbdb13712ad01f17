"""Debug a deployed function in the local emulator: the client of ``/_tap/lambda/debug``.

:func:`request_debug` asks the emulator at ``endpoint`` to start the next execution environment
of one function under debugpy, listening on ``127.0.0.1:<port>``
(:mod:`tooling.emulator.runtime.debug_sessions` has the semantics). It returns at once with a
:class:`DebugSession` saying where to attach; the function's next invocation, whatever triggers
it (``./tap invoke``, an S3 upload, an HTTP request), then waits for a debugger client before
its handler module is imported, so breakpoints in the import and in the handler both stop. The
session covers that one invocation; the environment is then retired and the function goes back
to normal workers. :func:`cancel_debug` disarms a session no invocation has taken yet.

The first session of a runtime installs its debugger add-on (debugpy, pinned in
``tooling/emulator/runtime/<runtime>-debug.txt``), which takes a few seconds; the request
waits for it.

Wire format, JSON both ways: ``POST`` with ``{"function": name or ARN, "port": n,
"region": r (optional), "attach_timeout_seconds": s (optional)}`` answers 200 with the session
(the fields of :class:`DebugSession`); ``DELETE`` with ``{"function": ..., "region": ...}``
answers ``{"function": arn, "cancelled": bool}``. A name is looked up in ``region`` when given,
else in every region, where it must be unique (a multi-region deployment has the same function
name in each of its regions). Errors answer ``{"error": message}``: 400 (bad request), 404 (no
such function), 409 (the port is taken, or the name is ambiguous), 503 (no runtime or add-on).
docs/debugging.md describes the developer's side (VS Code).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "DEBUG_PATH",
    "DEFAULT_LOCAL_ROOT",
    "DEFAULT_PORT",
    "DebugRequestError",
    "DebugSession",
    "cancel_debug",
    "request_debug",
]

#: Answered by the emulator's server itself (:mod:`tooling.emulator.server`), not by moto.
DEBUG_PATH: Final = "/_tap/lambda/debug"
#: debugpy's customary port, and VS Code's default for an attach configuration.
DEFAULT_PORT: Final = 5678
#: Where the API handler's sources are, relative to the workspace (its package's ``src``).
DEFAULT_LOCAL_ROOT: Final = "${workspaceFolder}/services/api_handler/src"
#: The first session of a runtime pip-installs the add-on: allow for a slow download.
_REQUEST_SECONDS: Final = 600.0


class DebugRequestError(Exception):
    """The emulator refused the request (``status`` is its HTTP status; 0: not reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class DebugSession:
    """An armed debug session: where to attach, and the path the function's code runs from."""

    #: The function's ARN.
    function: str
    function_name: str
    host: str
    port: int
    #: The task root of the debug worker (``<emulator dir>/lambda/debug/<function name>``): the
    #: "remoteRoot" of a path mapping. It stays the same across code updates.
    remote_root: str
    attach_timeout_seconds: float
    debugpy_version: str

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> DebugSession:
        """The session the emulator answered with."""
        return cls(
            function=str(document["function"]),
            function_name=str(document["function_name"]),
            host=str(document["host"]),
            port=int(document["port"]),
            remote_root=str(document["remote_root"]),
            attach_timeout_seconds=float(document["attach_timeout_seconds"]),
            debugpy_version=str(document["debugpy_version"]),
        )

    def to_json(self) -> dict[str, Any]:
        """The emulator's answer (the inverse of :meth:`from_json`)."""
        return {
            "function": self.function,
            "function_name": self.function_name,
            "host": self.host,
            "port": self.port,
            "remote_root": self.remote_root,
            "attach_timeout_seconds": self.attach_timeout_seconds,
            "debugpy_version": self.debugpy_version,
        }

    def launch_configuration(self, local_root: str = DEFAULT_LOCAL_ROOT) -> dict[str, Any]:
        """A VS Code ``launch.json`` configuration that attaches to this session.

        ``local_root`` is the directory whose layout matches the deployment package: a
        service's ``src`` (the zip holds its package at the top, beside its dependencies).
        """
        return {
            "name": f"Attach to {self.function_name} (tap emulator)",
            "type": "debugpy",
            "request": "attach",
            "connect": {"host": self.host, "port": self.port},
            "pathMappings": [{"localRoot": local_root, "remoteRoot": self.remote_root}],
            "justMyCode": True,
        }

    def instructions(self) -> str:
        """What to tell the developer: where to attach, and for how long the worker waits."""
        return (
            f"debug session armed for {self.function_name}: its next invocation waits up to "
            f"{self.attach_timeout_seconds:g} s for a debugger on {self.host}:{self.port} "
            f"(debugpy {self.debugpy_version}); attach with a debugpy 'attach' configuration "
            f'mapping your sources to "{self.remote_root}" (docs/debugging.md)'
        )


def request_debug(
    endpoint: str,
    function_name: str,
    *,
    port: int = DEFAULT_PORT,
    region: str | None = None,
    attach_timeout_seconds: float | None = None,
) -> DebugSession:
    """Arm a debug session of ``function_name`` (a name or an ARN; a name is looked up in
    ``region``, or in every region) in the emulator at ``endpoint``: its next invocation starts
    under debugpy on ``127.0.0.1:port``.

    Call it right before the invocation; the invocation then blocks until a debugger attaches
    and lets the function go on (so give the invoking client a long read timeout and no
    retries). Raises DebugRequestError when the emulator refuses (e.g. the port is in use) or
    cannot be reached.
    """
    body: dict[str, Any] = {"function": function_name, "port": port}
    if region is not None:
        body["region"] = region
    if attach_timeout_seconds is not None:
        body["attach_timeout_seconds"] = attach_timeout_seconds
    return DebugSession.from_json(_call(endpoint, "POST", body))


def cancel_debug(endpoint: str, function_name: str, *, region: str | None = None) -> bool:
    """Disarm the debug session of ``function_name`` that no invocation has taken yet; whether
    there was one."""
    body: dict[str, Any] = {"function": function_name}
    if region is not None:
        body["region"] = region
    return bool(_call(endpoint, "DELETE", body)["cancelled"])


def _call(endpoint: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    url = endpoint.rstrip("/") + DEBUG_PATH
    if not url.startswith(("http://", "https://")):
        raise DebugRequestError(0, f"not an emulator endpoint URL: {endpoint!r}")
    request = urllib.request.Request(  # noqa: S310 - checked to be an http(s) URL above
        url,
        data=json.dumps(body).encode("utf-8"),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=_REQUEST_SECONDS) as answer:  # noqa: S310
            document: dict[str, Any] = json.loads(answer.read())
            return document
    except urllib.error.HTTPError as error:
        raise DebugRequestError(error.code, _error_message(error.read())) from None
    except (urllib.error.URLError, OSError) as error:
        raise DebugRequestError(0, f"the emulator at {endpoint} did not answer: {error}") from None


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", "replace")
