"""The emulator's side of ``/_tap/lambda/debug``: arm or cancel a function's debug session.

:mod:`tooling.emulator.server` hands requests on :data:`~tooling.emulator.debugging.DEBUG_PATH`
here; :mod:`tooling.emulator.debugging` is the client and defines the wire format. The function
is named by ARN or by name; a name is looked up in the request's region, or in every account
and region the emulator holds, and must name exactly one function. The session is armed in the
server's Lambda runtime (:meth:`~tooling.emulator.runtime.LambdaRuntime.debug_next`), which runs
every invocation of the emulator (Invoke API, HTTP API integrations, S3 notifications).
"""

from __future__ import annotations

import json
from typing import Any, Final

from tooling.emulator import invocations
from tooling.emulator.debugging import DebugSession
from tooling.emulator.runtime import RuntimeUnavailableError
from tooling.emulator.runtime.debug_addon import debugpy_version
from tooling.emulator.runtime.debug_sessions import DebugPortUnavailableError

__all__ = ["FunctionLookupError", "find_function", "handle"]

#: A request body is a few fields; anything larger is not one.
_MAX_BODY_BYTES: Final = 65_536

Answer = tuple[int, dict[str, Any]]


class FunctionLookupError(LookupError):
    """No function, or more than one, answers to the name (``status``: 404 or 409)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def find_function(name_or_arn: str, region: str | None = None) -> Any:
    """moto's model of the function an ARN names, or a name unique in ``region`` (None: across
    every account and region)."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.models import lambda_backends

    if name_or_arn.startswith("arn:"):
        try:
            return invocations.find_function(name_or_arn)
        except (UnknownFunctionException, ValueError):
            raise FunctionLookupError(404, f"no function {name_or_arn}") from None
    matches = [
        function
        for account in list(lambda_backends.values())
        for backend_region, backend in list(account.items())
        if region is None or backend_region == region
        for function in backend.list_functions()
        if function.function_name == name_or_arn
    ]
    if not matches:
        where = "the emulator" if region is None else region
        raise FunctionLookupError(404, f"no function named {name_or_arn!r} in {where}")
    if len(matches) > 1:
        arns = ", ".join(sorted(function.function_arn for function in matches))
        raise FunctionLookupError(
            409, f"{len(matches)} functions are named {name_or_arn!r} ({arns}): name one by ARN"
        )
    return matches[0]


def handle(environ: dict[str, Any]) -> Answer:
    """Answer one request on the debug path: (HTTP status, JSON document)."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method not in {"POST", "DELETE"}:
        return 405, {"error": f"{method} is not supported here: POST or DELETE"}
    try:
        body = _json_body(environ)
    except ValueError as error:
        return 400, {"error": str(error)}
    name = body.get("function")
    if not isinstance(name, str) or not name:
        return 400, {"error": "'function' must name a function (its name or ARN)"}
    region = body.get("region")
    if region is not None and (not isinstance(region, str) or not region):
        return 400, {"error": "'region' must be a region name"}
    try:
        function = find_function(name, region)
    except FunctionLookupError as error:
        return error.status, {"error": str(error)}
    runtime = invocations.current().runtime
    if method == "DELETE":
        cancelled = runtime.cancel_debug(function.function_arn) is not None
        return 200, {"function": function.function_arn, "cancelled": cancelled}
    return _arm(runtime, function, body)


def _arm(runtime: Any, function: Any, body: dict[str, Any]) -> Answer:
    port = body.get("port")
    if not isinstance(port, int) or isinstance(port, bool):
        return 400, {"error": "'port' must be a TCP port number"}
    options: dict[str, float] = {}
    timeout = body.get("attach_timeout_seconds")
    if timeout is not None:
        if not isinstance(timeout, int | float) or isinstance(timeout, bool):
            return 400, {"error": "'attach_timeout_seconds' must be a number of seconds"}
        options["attach_timeout_seconds"] = float(timeout)
    spec = invocations.function_spec(function)
    try:
        target = runtime.debug_next(spec, port=port, **options)
    except DebugPortUnavailableError as error:
        return 409, {"error": str(error)}
    except ValueError as error:
        return 400, {"error": str(error)}
    except RuntimeUnavailableError as error:
        return 503, {"error": str(error)}
    session = DebugSession(
        function=spec.function_arn,
        function_name=spec.function_name,
        host=target.host,
        port=target.port,
        remote_root=str(target.task_root),
        attach_timeout_seconds=target.attach_timeout_seconds,
        debugpy_version=debugpy_version(spec.runtime),
    )
    return 200, session.to_json()


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ValueError("a JSON object body is required") from None
    if length > _MAX_BODY_BYTES:
        raise ValueError(f"the body is over {_MAX_BODY_BYTES} bytes")
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise ValueError("a JSON object body is required")
    return body
