"""The process side of one execution environment: what ``/var/runtime/bootstrap`` does on Lambda.

Run by file path with the runtime environment's interpreter (``python -I -u bootstrap.py FD
TOKEN [--drop-coerced-locale] [--debugger HOST:PORT SITE_DIR]``), with none of the project on
``sys.path``: standard library only, Python 3.11+ syntax. It puts ``LAMBDA_TASK_ROOT`` first on
``sys.path`` (before the runtime's site-packages, as ``/var/task`` comes before
``/var/runtime``), imports the handler once (the init phase) and then serves invocations one at
a time over the protocol socket ``FD``, until the socket closes.

Protocol: every message is a header frame (UTF-8 JSON object) then a body frame (raw bytes);
a frame is a 4-byte big-endian length and that many bytes. The worker first sends
``{"type": "init", "error": <error document or null>}``; after an init error it exits with
status 1, as Lambda's runtime does. For each ``{"request_id", "deadline_ms",
"invoked_function_arn"}`` + event it answers ``{"type": "result", "error": bool,
"duration_ms"}`` + the JSON result or the error document. Its memory is measured (and limited)
by the parent, from ``/proc``: the process's own ``getrusage`` high-water mark would include that
of the process that spawned it (see :mod:`tooling.emulator.runtime.memory`).

A debug worker (``--debugger``, :mod:`tooling.emulator.runtime.debug_sessions`) first appends
``SITE_DIR`` (the debugger add-on) to ``sys.path``, listens with debugpy's in-process adapter on
``HOST:PORT`` and waits for a client's ``configurationDone``; then it sends ``{"type":
"debugger", "error": null}`` and goes on with the init phase. If it cannot listen it sends the
reason as ``error`` and exits with status 1. A debug worker held by its debugger (waiting for it,
or stopped at a breakpoint) does not read the channel, so a thread watches it and ends the
process when the parent's end closes, as a normal worker ends when its read finds it closed.

The function's own output (fd 1 and 2, merged by the parent) is its log. After the init phase
and after each invocation the bootstrap flushes and writes a sentinel line ``NUL TOKEN ID`` to
fd 1, so that the parent knows when it has all the output of that phase.

Errors are reported as Lambda's Python runtime (awslambdaric) reports them: same error types,
messages, ``stackTrace`` (frames of this file left out) and document keys. The parent module
:mod:`tooling.emulator.runtime.worker` imports the framing functions from here, so both sides
share one definition.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import json
import logging
import math
import os
import select
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

_FRAME_LENGTH = struct.Struct(">I")
_BOOTSTRAP_FILE = "/bootstrap.py"

Handler = Callable[[Any, Any], Any]
ErrorDocument = dict[str, Any]

_current_request_id = ""


# --- framing (shared with the parent) ----------------------------------------------------------


def read_exact(channel: socket.socket, size: int, deadline: float | None = None) -> bytes | None:
    """``size`` bytes from ``channel``; None if it closes first.

    With a ``deadline`` (``time.monotonic()``), raises TimeoutError once it has passed.
    """
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline passed")
            channel.settimeout(remaining)
        count = channel.recv_into(view[received:], size - received)
        if count == 0:
            return None
        received += count
    return bytes(buffer)


def read_frame(channel: socket.socket, deadline: float | None = None) -> bytes | None:
    """One frame's bytes, or None if the channel closed."""
    prefix = read_exact(channel, _FRAME_LENGTH.size, deadline)
    if prefix is None:
        return None
    (length,) = _FRAME_LENGTH.unpack(prefix)
    return read_exact(channel, length, deadline) if length else b""


def write_message(channel: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    """Send a header and a body frame."""
    encoded = json.dumps(header).encode("utf-8")
    channel.sendall(_FRAME_LENGTH.pack(len(encoded)) + encoded + _FRAME_LENGTH.pack(len(body)))
    if body:
        channel.sendall(body)


def read_message(
    channel: socket.socket, deadline: float | None = None
) -> tuple[dict[str, Any], bytes] | None:
    """Receive a header and a body frame; None if the channel closed."""
    header = read_frame(channel, deadline)
    body = read_frame(channel, deadline) if header is not None else None
    if header is None or body is None:
        return None
    decoded: dict[str, Any] = json.loads(header)
    return decoded, body


# --- errors, as awslambdaric builds them -------------------------------------------------------


class _FaultError(Exception):
    """An error of the runtime itself (bad handler, unmarshalable result...)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


def make_error(
    message: str, error_type: str, stack_trace: list[str], request_id: str = ""
) -> ErrorDocument:
    """Lambda's error document, keys in the runtime's order."""
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack_trace,
    }


def _exception_document(
    error: BaseException, tb: TracebackType | None, request_id: str
) -> ErrorDocument:
    frames = traceback.extract_tb(tb)
    for index, frame in enumerate(frames):
        if _BOOTSTRAP_FILE not in frame.filename:
            frames = traceback.StackSummary.from_list(frames[index:])
            break
    return make_error(str(error), type(error).__name__, traceback.format_list(frames), request_id)


# --- init phase --------------------------------------------------------------------------------


def _arrange_sys_path(task_root: str) -> None:
    """Task root first, then a configured PYTHONPATH, then the runtime's site-packages."""
    runtime_dir = os.environ.get("LAMBDA_RUNTIME_DIR", "")
    configured = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    leading = [task_root, *configured, *([runtime_dir] if runtime_dir else [])]
    sys.path[:] = leading + [entry for entry in sys.path if entry not in leading]


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        return True


def _setup_logging() -> None:
    """The root logger handler Lambda's Python runtime installs (so basicConfig is a no-op)."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _fault_handler(fault: _FaultError) -> Handler:
    def handler(event: Any, context: Any) -> Any:
        raise fault

    return handler


def load_handler(name: str) -> tuple[Handler | None, ErrorDocument | None]:
    """Import the handler's module and find the handler, as awslambdaric's ``_get_handler``."""
    try:
        module_name, function_name = name.rsplit(".", 1)
    except ValueError as error:
        return None, make_error(
            f"Bad handler '{name}': {error}", "Runtime.MalformedHandlerName", []
        )
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            message = f"Cannot use built-in module {module_name} as a handler module"
            return None, make_error(message, "Runtime.BuiltInModuleConflict", [])
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        message = f"Unable to import module '{module_name}': {error}"
        return None, make_error(message, "Runtime.ImportModuleError", [])
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        message = f"Syntax error in module '{module_name}': {error}"
        return None, make_error(message, "Runtime.UserCodeSyntaxError", trace)
    except Exception as error:
        return None, _exception_document(error, error.__traceback__, "")
    try:
        handler: Handler = getattr(module, function_name)
    except AttributeError:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        handler = _fault_handler(_FaultError("Runtime.HandlerNotFound", message))
    return handler, None


# --- invoke phase ------------------------------------------------------------------------------


class CognitoIdentity:
    """``context.identity``: set only for calls through the mobile SDK, so its fields are None."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The handler's ``context``, with the attributes of Lambda's Python runtime."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id: str | None = None
        self.client_context: Any = None
        self.identity = CognitoIdentity()
        self._epoch_deadline_time_in_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out (never negative)."""
        remaining = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return max(remaining, 0)

    def log(self, message: str) -> None:
        """Write to the function's log, as ``context.log`` does."""
        sys.stdout.write(str(message))


def _json_default(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return math.nan if value.is_nan() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal(result: Any) -> bytes:
    """The response body: bytes as they are, anything else as JSON (non-ASCII kept as UTF-8)."""
    if isinstance(result, bytes):
        return result
    try:
        text = json.dumps(result, ensure_ascii=False, allow_nan=True, default=_json_default)
        return text.encode("utf-8")
    except (TypeError, ValueError) as error:
        raise _FaultError("Runtime.MarshalError", f"Unable to marshal response: {error}") from None


def invoke(handler: Handler, header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
    """Run one invocation; its response header and body."""
    global _current_request_id
    request_id = str(header["request_id"])
    _current_request_id = request_id
    started = time.perf_counter()
    context = LambdaContext(request_id, int(header["deadline_ms"]), header["invoked_function_arn"])
    document: ErrorDocument | None = None
    payload = b""
    try:
        try:
            event = json.loads(body)
        except ValueError as error:
            raise _FaultError(
                "Runtime.UnmarshalError", f"Unable to unmarshal input: {error}"
            ) from None
        payload = marshal(handler(event, context))
    except _FaultError as fault:
        document = make_error(fault.message, fault.error_type, fault.trace, request_id)
    except Exception as error:
        document = _exception_document(error, error.__traceback__, request_id)
    duration_ms = (time.perf_counter() - started) * 1000
    response = {"type": "result", "error": document is not None, "duration_ms": duration_ms}
    if document is not None:
        payload = json.dumps(document).encode("utf-8")
    return response, payload


def _mark_output(token: str, phase_id: str) -> None:
    """Flush the function's output and write the sentinel that ends this phase's output."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    with contextlib.suppress(OSError):
        os.write(1, f"\0{token} {phase_id}\n".encode())


# --- debug workers ------------------------------------------------------------------------------


def port_is_free(host: str, port: int) -> bool:
    """Whether a listening socket could bind ``host:port`` now, as pydevd binds it.

    With ``SO_REUSEADDR``: a port whose last connection lingers in TIME_WAIT (a previous session
    just ended) is free, one another process listens on is not. The bootstrap checks it before
    listening because pydevd binds on a thread of its own, and a failed bind there would leave
    ``listen`` waiting for a socket that never comes; the parent checks it when a session is
    asked for (:mod:`tooling.emulator.runtime.debug_sessions`).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def start_debugger(address: str, site: str) -> str | None:
    """Listen on ``address`` (``host:port``) with debugpy from ``site`` and wait for a client.

    Returns once a client has attached and finished configuring (its breakpoints are set), or
    at once with the reason it cannot listen. The add-on's directory goes last on ``sys.path``,
    so it never shadows a module of the function or of the runtime.
    """
    host, _, port_text = address.rpartition(":")
    port = int(port_text)
    if not port_is_free(host, port):
        return f"{address} is in use by another process"
    sys.path.append(site)
    try:
        debugpy = importlib.import_module("debugpy")
        debugpy.listen((host, port), in_process_debug_adapter=True)
    except Exception as error:
        return f"debugpy cannot listen on {address}: {error}"
    debugpy.wait_for_client()
    return None


def exit_with_parent(channel: socket.socket) -> threading.Thread:
    """End this process (status 1) once the parent's end of ``channel`` closes.

    Watches for the peer's hang-up only (``POLLRDHUP``), never for data, so the messages on the
    channel stay for the main thread.
    """
    watch = select.poll()
    watch.register(channel.fileno(), select.POLLRDHUP)
    hang_up = select.POLLRDHUP | select.POLLHUP | select.POLLERR | select.POLLNVAL

    def run() -> None:
        while True:
            if any(event & hang_up for _, event in watch.poll()):
                os._exit(1)

    watcher = threading.Thread(target=run, name="exit-with-parent", daemon=True)
    # pydevd neither traces nor suspends a thread so marked: stopping at a breakpoint stops every
    # other thread, and this one must still end the process.
    watcher.pydev_do_not_trace = True  # type: ignore[attr-defined]
    watcher.is_pydev_daemon_thread = True  # type: ignore[attr-defined]
    watcher.start()
    return watcher


def _options(arguments: list[str]) -> tuple[bool, tuple[str, str] | None]:
    """``--drop-coerced-locale`` and ``--debugger ADDRESS SITE`` of the command line."""
    debugger = None
    if "--debugger" in arguments:
        position = arguments.index("--debugger")
        debugger = (arguments[position + 1], arguments[position + 2])
    return "--drop-coerced-locale" in arguments, debugger


def main(argv: list[str]) -> int:
    """Init, then serve invocations until the parent closes the channel."""
    channel = socket.socket(fileno=int(argv[1]))
    token = argv[2]
    drop_coerced_locale, debugger = _options(argv[3:])
    if drop_coerced_locale:
        # CPython sets LC_CTYPE when LANG names a locale this machine lacks (PEP 538); Lambda
        # has the locale, so the function must not see a variable Lambda does not set.
        os.environ.pop("LC_CTYPE", None)
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    _arrange_sys_path(task_root)
    _setup_logging()
    if debugger is not None:
        exit_with_parent(channel)
        failure = start_debugger(*debugger)
        write_message(channel, {"type": "debugger", "error": failure})
        if failure is not None:
            return 1
    handler, init_error = load_handler(os.environ["_HANDLER"])
    _mark_output(token, "init")
    write_message(channel, {"type": "init", "error": init_error})
    if handler is None:
        return 1
    while True:
        message = read_message(channel)
        if message is None:
            return 0
        header, body = message
        response, payload = invoke(handler, header, body)
        _mark_output(token, str(header["request_id"]))
        write_message(channel, response, payload)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
