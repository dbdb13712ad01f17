"""What ``./tap upload`` prints: the upload, each thing read about the file while waiting (behind
a progress bar of the lines accounted for, :func:`follow`), its final summary, and why it
failed."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from processor.domain.checkpoint import COUNTS
from processor.domain.service import FileStatus
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tooling.upload.deployment import Deployment
from tooling.upload.progress import POLL_SECONDS, FileState, Outcome, wait_for_file
from tooling.upload.records import DeadLetter, FailedAttempt, Observation
from tooling.upload.transfer import MIB, MULTIPART_CHUNKSIZE, MULTIPART_THRESHOLD, UploadedObject
from tooling.upload.watch import ObjectWatch

__all__ = [
    "describe",
    "failure_message",
    "follow",
    "outcome_lines",
    "say",
    "upload_lines",
]


def say(console: Console, text: str) -> None:
    """``text`` as it is: no markup, no highlighting, long lines left whole."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _size(size: int) -> str:
    return f"{size:,} bytes ({size / MIB:.1f} MiB)"


def upload_lines(path: Path, uploaded: UploadedObject) -> list[str]:
    """What the upload printed: the URI, size, multipart or not, ETag, version, encryption."""
    if uploaded.multipart:
        how = (
            f"yes: {uploaded.parts} parts of up to {MULTIPART_CHUNKSIZE // MIB} MiB "
            "(CompleteMultipartUpload)"
        )
    else:
        how = f"no: one PutObject (under {MULTIPART_THRESHOLD // MIB} MiB)"
    encryption = uploaded.encryption or "none reported"
    if uploaded.bucket_key:
        encryption += ", bucket key"
    if uploaded.kms_key_id:
        encryption += f" ({uploaded.kms_key_id})"
    return [
        f"uploaded {path.name} to {uploaded.uri}",
        f"  size        {_size(uploaded.size)}",
        f"  multipart   {how}",
        f"  etag        {uploaded.etag}",
        f"  version     {uploaded.version_id or '- (bucket not versioned)'}",
        f"  encryption  {encryption}",
    ]


def describe(observation: Observation) -> str:
    """One line per thing read about the file while waiting."""
    if isinstance(observation, FailedAttempt):
        return f"attempt failed: {observation.error} (Lambda retries the event)"
    if isinstance(observation, DeadLetter):
        where = (
            f"continuation of part {observation.continuation_part}"
            if observation.continuation_part
            else "event"
        )
        return f"dead-lettered: the {where} failed every attempt: {observation.error}"
    counts = ", ".join(f"{name} {observation.counts[name]:,}" for name in COUNTS)
    if observation.status is FileStatus.CONTINUED:
        return (
            f"part {observation.part}: continued at line {observation.resume_at_line:,} ({counts})"
        )
    return f"part {observation.part}: {observation.status.value} ({counts})"


def outcome_lines(uploaded: UploadedObject, outcome: Outcome) -> list[str]:
    """The file's final summary."""
    total = f"{outcome.total_lines:,}" if outcome.total_lines is not None else "?"
    head = f"{outcome.result} {uploaded.uri}: {outcome.lines_done:,} of {total} lines"
    summary = outcome.summary
    if summary is not None:
        head += f" in {summary.part} part{'s' if summary.part != 1 else ''}"
    head += f", {outcome.elapsed_seconds:.1f} s"
    if outcome.succeeded and outcome.elapsed_seconds > 0:
        head += f", {outcome.lines_done / outcome.elapsed_seconds:,.0f} lines/s"
    lines = [head]
    if summary is not None:
        labels = {"blank_lines": "blank"}
        lines += [f"  {labels.get(name, name):<11} {summary.counts[name]:,}" for name in COUNTS]
        keys = ", ".join(summary.quarantine_keys) or "-"
        lines.append(f"  {'quarantine':<11} {keys}")
    return lines


def failure_message(uploaded: UploadedObject, deployment: Deployment, outcome: Outcome) -> str:
    """Why the task exits 1, and where to look."""
    summary = outcome.summary
    if outcome.result == "dead_lettered" and outcome.dead_letter is not None:
        return (
            f"{uploaded.uri} was dead-lettered: {outcome.dead_letter.error}; the event is in "
            f"{deployment.dead_letter_queue_url} (Lambda retried it and gave up)."
        )
    if outcome.result in (FileStatus.FILE_ERROR.value, FileStatus.IGNORED.value):
        reason = summary.reason if summary is not None else None
        return f"the processor rejected {uploaded.uri} as a whole: {reason or outcome.result}."
    last = describe(summary) if summary is not None else "nothing logged for it yet"
    failed = f"; last failed attempt: {outcome.failures[-1].error}" if outcome.failures else ""
    return (
        f"no final summary of {uploaded.uri} after {outcome.elapsed_seconds:.0f} s "
        f"(last: {last}{failed}); see the function's logs ({deployment.log_group}) and its "
        f"dead-letter queue ({deployment.dead_letter_queue_url or 'not in the outputs'})."
    )


def follow(
    watch: ObjectWatch,
    state: FileState,
    *,
    console: Console,
    timeout_seconds: float,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """:func:`wait_for_file` behind a progress bar of the lines accounted for."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, get_time=clock) as progress:
        bar = progress.add_task("processing", total=state.total_lines)

        def report(observation: Observation, current: FileState) -> None:
            say(progress.console, describe(observation))
            progress.update(bar, completed=current.lines_done)

        outcome = wait_for_file(
            watch,
            state,
            timeout_seconds=timeout_seconds,
            poll_seconds=poll_seconds,
            clock=clock,
            sleep=sleep,
            report=report,
        )
        for note in watch.notes:
            say(progress.console, f"note: {note}")
        progress.update(bar, completed=outcome.lines_done)
    return outcome
