"""The commands on a deployed environment: ``./tap logs``, ``upload`` and ``invoke``.

Each task checks its options and reads the deployment (its flat outputs, the key prefix of the
environment or region, the session of the target); the function here takes it from there to
the steps of :mod:`tooling.function_logs`, :mod:`tooling.upload` and
:mod:`tooling.invoke_function`. Failures are those packages' errors (``FunctionLogsError``,
``UploadError``, ``InvokeError``), each carrying what the task reports.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from tooling.lifecycle.session import Session

__all__ = ["InvokeRequest", "invoke", "show_logs", "upload_file"]


def show_logs(
    session: Session,
    outputs: dict[str, Any],
    prefix: str,
    service: str,
    *,
    region: str | None = None,
    follow: bool = False,
    out: TextIO | None = None,
) -> None:
    """Print the log events of ``service``'s function in the deployment whose flat outputs
    start with ``prefix``; with ``follow``, keep printing new ones (until Ctrl-C)."""
    from tooling.function_logs import function_log_group, tail

    group = function_log_group(outputs, prefix, service)
    found_region = str(outputs.get(f"{prefix}_aws_region") or region or "")
    stream = out if out is not None else sys.stdout
    tail(session.client("logs", found_region), group, out=stream, follow=follow)


def upload_file(
    session: Session,
    outputs: dict[str, Any],
    prefix: str,
    path: Path,
    *,
    key: str | None = None,
    wait: bool = False,
    timeout_seconds: int,
) -> None:
    """Put ``path`` into the data bucket of the deployment whose flat outputs start with
    ``prefix`` (under ``key``); with ``wait``, follow it to its final summary."""
    from tooling import upload as uploader

    deployment = uploader.Deployment.from_outputs(outputs, prefix)
    uploader.run(
        lambda service: session.client(service, deployment.region),
        deployment,
        path,
        key=key,
        wait=wait,
        timeout_seconds=timeout_seconds,
    )


@dataclass(frozen=True)
class InvokeRequest:
    """What to invoke and how: the function's short or full name, the event file or the
    sample's name (True: list the samples), the sample's object key, InvocationType Event, the
    seconds to wait for the log, the region of a multi-region deployment, a debugger."""

    function: str
    event: Path | None = None
    sample: str | bool | None = None
    key: str | None = None
    asynchronous: bool = False
    timeout_seconds: int = 120
    region: str | None = None
    debug: bool = False


def invoke(
    session: Session,
    outputs: dict[str, Any],
    prefix: str,
    request: InvokeRequest,
    *,
    out: TextIO | None = None,
) -> None:
    """Invoke the function ``request`` names in the deployment whose flat outputs start with
    ``prefix`` (or list its samples); print its answer and log to ``out`` (default: stdout)."""
    from tooling import invoke_function as invoker

    stream = out if out is not None else sys.stdout
    sample = request.sample
    found = invoker.resolve(outputs, prefix, request.function, request.region)
    if sample is True or sample == invoker.LIST:
        print("\n".join(invoker.sample_lines(found)), file=stream, flush=True)
        return
    payload, notes = invoker.payload_for(
        found,
        outputs,
        prefix,
        event=request.event,
        sample=sample if isinstance(sample, str) else None,
        key=request.key,
        s3=session.client("s3", found.region) if sample else None,
    )
    for note in notes:
        print(note, file=stream, flush=True)
    emulator = session.emulator if request.debug else None
    invoker.run(
        invoker.lambda_client(session, found.region, debugging=request.debug),
        session.client("logs", found.region),
        found,
        payload,
        out=stream,
        asynchronous=request.asynchronous,
        timeout_seconds=request.timeout_seconds,
        debug=invoker.debug_hook(emulator.endpoint, found.kind) if emulator else None,
    )
