"""The emulator's server process: moto's server, all services on one port, with the patches.

``python -m tooling.emulator.server --host 127.0.0.1 --port N`` applies the compatibility
patches of :mod:`tooling.emulator.patches` and then serves moto exactly as ``moto_server`` does
(werkzeug, threaded, moto's request handler). It also answers ``GET /_tap/emulator`` with its pid,
moto version and applied patches, so :mod:`tooling.emulator.process` can tell its own emulator
from anything else on a port (no valid S3 bucket name starts with ``_``, so the path cannot
shadow an AWS request). Under ``/_tap/execute-api/`` it serves the data plane of every deployed
HTTP API (:mod:`tooling.emulator.httpapi`), whose integrations, like the Invoke API and S3
notifications, run the deployed functions (:mod:`tooling.emulator.invocations`). On
``/_tap/lambda/debug`` it arms and cancels debug sessions of a deployed function
(:mod:`tooling.emulator.debug_control`; the client is :mod:`tooling.emulator.debugging`).
docs/emulator.md describes the emulator and its gaps, docs/debugging.md the debugger.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from types import FrameType
from typing import Any

from tooling.emulator.debugging import DEBUG_PATH
from tooling.emulator.patches import PATCHES, CompatPatch, apply_patches
from tooling.emulator.runtime import reachability

__all__ = ["STATUS_PATH", "WsgiApp", "build_app", "main"]

#: Path answered by the server itself (not by moto) with its pid, version and patches.
STATUS_PATH = "/_tap/emulator"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _DeployedFunctions:
    """The HTTP API's invoker: the function an integration names, run like a synchronous
    Invoke (its current configuration and code, in the local runtime)."""

    def invoke(self, function_arn: str, payload: bytes) -> Any:
        from tooling.emulator import invocations
        from tooling.emulator.httpapi import LambdaOutcome

        result = invocations.current().invoke(invocations.find_function(function_arn), payload)
        return LambdaOutcome(payload=result.payload, function_error=result.function_error)


def build_app(patches: Sequence[CompatPatch]) -> WsgiApp:
    """moto's all-services WSGI application behind the HTTP API data plane, plus the server's
    status and debug endpoints."""
    import moto
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from tooling.emulator.httpapi import HttpApiGateway, MotoApiCatalog

    moto_app = HttpApiGateway(
        MotoApiCatalog(),
        _DeployedFunctions(),
        fallback=DomainDispatcherApplication(create_backend_app),
    )
    status = json.dumps(
        {
            "pid": os.getpid(),
            "moto_version": moto.__version__,
            "patches": [{"name": p.name, "gap": p.gap} for p in patches],
            # Not a patch: the runtime's rule (docs/emulator.md, R6), read once at start.
            "vpc_reachability": reachability.enforced(os.environ),
        }
    ).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == STATUS_PATH:
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(status)))],
            )
            return [status]
        if path == DEBUG_PATH:
            from tooling.emulator import debug_control

            code, document = debug_control.handle(environ)
            body = json.dumps(document).encode()
            start_response(
                f"{code} {HTTPStatus(code).phrase}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        result: Iterable[bytes] = moto_app(environ, start_response)
        return result

    return app


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, apply the patches, serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.emulator.server",
        description="moto's server for the local AWS target, with the project's patches.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, required=True, help="port to bind")
    parser.add_argument(
        "--no-patches", action="store_true", help="serve unpatched moto (to diagnose a patch)"
    )
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import run_simple

    patches = () if args.no_patches else PATCHES
    apply_patches(patches)
    # moto builds some URLs (e.g. SQS queue URLs) from MOTO_PORT, as moto_server does.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    # SIGUSR1 writes every thread's stack to the log: what a stuck request waits on, without
    # stopping the emulator (a hung e2e command sends it before giving up).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    names = ", ".join(f"{p.name} (gap {p.gap})" for p in patches) or "none"
    print(
        f"tap emulator pid {os.getpid()}: patches: {names}; "
        f"serving on http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        run_simple(
            args.host,
            args.port,
            build_app(patches),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    finally:
        from tooling.emulator import invocations

        invocations.shutdown()  # stop the function workers with the server
    return 0


if __name__ == "__main__":
    sys.exit(main())
