"""The ``./tap`` tasks that work on a deployed environment's functions and data: ``logs``,
``sync``, ``upload``, ``verify`` and ``invoke``. Each parses its options, calls one module
(:mod:`tooling.deployment_commands`, :mod:`tooling.sync`, :mod:`tooling.verify`) and maps that
module's error to ``invoke.Exit``; ``tasks.py`` lists them with the lifecycle tasks.
"""

from __future__ import annotations

import os
from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from tooling.cli.shell import TARGET_HELP, deployed, exits, workspace

__all__ = ["caller_path", "invoke_function", "logs", "sync", "upload", "verify"]


def caller_path(path: str) -> Path:
    """``path`` as the user meant it: relative to the directory ./tap was started in
    (``TAP_CALLER_DIR``, which ./tap sets before it changes to the repository)."""
    return Path(os.environ.get("TAP_CALLER_DIR") or os.getcwd()) / path


@task(
    help={
        "service": "processor or api_handler",
        "env": "environment (default: the default environment)",
        "region": "region of a multi-region deployment (default: its primary region)",
        "target": "local (default) or aws",
        "follow": "keep printing new events (Ctrl-C to stop)",
    }
)
def logs(
    c: Context, service: str, env: str | None = None, region: str | None = None,
    target: str = "local", follow: bool = False,
) -> None:  # fmt: skip
    """Print a deployed function's logs (START/END/REPORT and its own output); --follow tails."""
    from tooling.deployment_commands import show_logs
    from tooling.function_logs import FunctionLogsError

    try:
        _, prefix, outputs, session = deployed("logs", env, target, region)
        show_logs(session, outputs, prefix, service, region=region, follow=follow)
    except FunctionLogsError as error:
        raise Exit(f"logs: {error}", code=1) from None
    except KeyboardInterrupt:
        pass


@task(
    help={
        "env": "environment (default: the default environment)",
        "watch": "keep going: sync a service each time one of its files changes (Ctrl-C stops)",
        "region": "only this region of a multi-region deployment (default: every region)",
        "target": TARGET_HELP,
    }
)
def sync(
    c: Context, env: str | None = None, watch: bool = False, region: str | None = None,
    target: str = "local",
) -> None:  # fmt: skip
    """Rebuild changed services' zips and put them into the deployed functions (Lambda API)."""
    from tooling import sync as syncer

    environment, _, outputs, session = deployed("sync", env, target)
    try:
        with exits():
            syncer.run(workspace(target), session, outputs, environment, region=region, watch=watch)
    except syncer.SyncError as error:
        raise Exit(f"sync: {error}", code=error.code) from None
    except KeyboardInterrupt:
        print("sync: stopped")


@task(
    help={
        "file": "the trade file to upload (relative to the repository: ./tap runs from there)",
        "env": "environment (default: the default environment)",
        "key": "object key (default: incoming/<file name>; ending in /: that folder)",
        "wait": "follow the processor until the whole file is accounted for (exit 1 if it fails)",
        "timeout": "--wait: seconds to wait for the file's final summary (default 900)",
        "region": "region of a multi-region deployment (default: its primary region)",
        "target": TARGET_HELP,
    }
)
def upload(
    c: Context, file: str, env: str | None = None, key: str | None = None, wait: bool = False,
    timeout: int = 900, region: str | None = None, target: str = "local",
) -> None:  # fmt: skip
    """Put a trade file into the deployed data bucket (like aws s3 cp); --wait follows it."""
    from tooling import upload as uploader
    from tooling.deployment_commands import upload_file

    _, prefix, outputs, session = deployed("upload", env, target, region)
    try:
        path = caller_path(file)
        upload_file(session, outputs, prefix, path, key=key, wait=wait, timeout_seconds=timeout)
    except uploader.UploadError as error:
        raise Exit(f"upload: {error}", code=error.code) from None
    except KeyboardInterrupt:
        raise Exit("upload: interrupted (an uploaded file is still processed).", 130) from None


@task(
    help={
        "env": "environment (default: the default environment)",
        "timeout": "seconds to wait, after the upload, for the canary's trades (default 300)",
        "region": "region of a multi-region deployment (default: its primary region)",
        "target": TARGET_HELP,
    }
)
def verify(
    c: Context, env: str | None = None, timeout: int = 300, region: str | None = None,
    target: str = "local",
) -> None:  # fmt: skip
    """Smoke-test a deployment: health, a canary trade file ingested and read back, removed."""
    from tooling import verify as verifier

    _, prefix, outputs, session = deployed("verify", env, target, region)
    try:
        verifier.run(session, outputs, prefix, timeout_seconds=timeout)
    except verifier.VerifyError as error:
        raise Exit(f"verify: {error}", code=error.code) from None
    except KeyboardInterrupt:
        raise Exit("verify: interrupted (after the canary's cleanup).", 130) from None


@task(
    name="invoke",
    optional=["sample"],
    help={
        "function": "processor, api_handler, api_authorizer or a function's full name",
        "env": "environment (default: the default environment)",
        "event": "a JSON file sent as the event (relative to where you run ./tap)",
        "sample": "a sample event of the function filled from the deployment; "
        "without a name (or 'list'): list them",
        "key": "--sample s3-put: the object the event names (default incoming/trades.csv)",
        "async_": "InvocationType Event: print the 202, then follow the log to its REPORT",
        "timeout": "seconds to wait for the invocation's log (--async: its REPORT; default 120)",
        "region": "region of a multi-region deployment (default: its primary region)",
        "target": TARGET_HELP,
        "debug": "local target: the invocation waits for a debugger (debugpy)",
    },
)
def invoke_function(
    c: Context, function: str, env: str | None = None, event: str | None = None,
    sample: str | bool | None = None, key: str | None = None, async_: bool = False,
    timeout: int = 120, region: str | None = None, target: str = "local", debug: bool = False,
) -> None:  # fmt: skip
    """Invoke a deployed function with --event FILE or --sample NAME; print its answer and log."""
    from tooling import invoke_function as invoker
    from tooling.deployment_commands import InvokeRequest, invoke

    if event is not None and sample is not None:
        raise Exit("invoke: give --event FILE or --sample NAME, not both.", code=2)
    if debug and target != "local":
        raise Exit("invoke: --debug needs the local target (the emulator runs the function).", 2)
    _, prefix, outputs, session = deployed("invoke", env, target, region)
    request = InvokeRequest(
        function, event=caller_path(event) if event else None, sample=sample, key=key,
        asynchronous=async_, timeout_seconds=timeout, region=region, debug=debug,
    )  # fmt: skip
    try:
        invoke(session, outputs, prefix, request)
    except invoker.InvokeError as error:
        raise Exit(f"invoke: {error}", code=error.code) from None
    except KeyboardInterrupt:
        raise Exit("invoke: interrupted.", 130) from None
