"""``./tap upload FILE [--key KEY] [--wait]``: the upload, then with ``--wait`` the file followed
to its final summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from processor.domain.parsing import SUPPORTED_EXTENSIONS, detect_file_type
from rich.console import Console

from tooling.upload.deployment import INCOMING_PREFIX, Deployment, object_key
from tooling.upload.errors import UploadError
from tooling.upload.progress import (
    DEFAULT_TIMEOUT_SECONDS,
    POLL_SECONDS,
    FileState,
    Outcome,
    count_lines,
)
from tooling.upload.report import failure_message, follow, outcome_lines, say, upload_lines
from tooling.upload.transfer import upload_file
from tooling.upload.watch import ObjectWatch

__all__ = ["run"]


def run(
    client: Callable[[str], Any],
    deployment: Deployment,
    path: Path,
    *,
    key: str | None = None,
    wait: bool = False,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    console: Console | None = None,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome | None:
    """``./tap upload``: upload ``path``; with ``wait``, follow it to its final summary.

    ``client(service)`` is a boto3 client in the deployment's region. Raises
    :class:`UploadError` (after printing the summary) when the file failed or the wait timed
    out; returns the outcome (None without ``wait``).
    """
    out = console or Console()
    target = object_key(path, key)
    if wait and not target.startswith(INCOMING_PREFIX):
        raise UploadError(
            f"--wait: the processor is notified only for keys under {INCOMING_PREFIX} "
            f"({target} never is); drop --key or choose a key under it.",
            2,
        )
    if timeout_seconds <= 0:
        raise UploadError(f"--timeout {timeout_seconds:g}: a number of seconds above 0.", 2)
    file_type = detect_file_type(target)
    total = count_lines(path, compressed=file_type is not None and file_type.gzip) if wait else 0
    uploaded = upload_file(client("s3"), path, deployment.bucket, target)
    for line in upload_lines(path, uploaded):
        say(out, line)
    if not wait:
        return None
    if file_type is None:
        say(out, f"note: not a {SUPPORTED_EXTENSIONS} key: the processor rejects the file")
    say(
        out,
        f"waiting for {deployment.function_name} to account for "
        f"{f'{total:,}' if total is not None else 'every'} lines "
        f"(timeout {timeout_seconds:g} s)",
    )
    watch = ObjectWatch(client("logs"), client("sqs"), uploaded, deployment)
    state = FileState(total_lines=total)
    outcome = follow(
        watch,
        state,
        console=out,
        timeout_seconds=timeout_seconds,
        poll_seconds=poll_seconds,
        clock=clock,
        sleep=sleep,
    )
    for line in outcome_lines(uploaded, outcome):
        say(out, line)
    if not outcome.succeeded:
        raise UploadError(failure_message(uploaded, deployment, outcome))
    return outcome
