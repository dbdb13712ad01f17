"""Running the sizes: for each, a trade file generated, uploaded and followed to its final
summary with the functions of ``./tap upload --wait`` while the emulator's memory is sampled;
the first file that is not processed ends the run."""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from rich.console import Console

from tooling.ingest_bench.errors import IngestBenchError
from tooling.ingest_bench.figures import FileFigure, IngestFigures
from tooling.ingest_bench.memory import SAMPLE_SECONDS, RssSampler, emulator_pid, read_rss
from tooling.ingest_bench.trade_files import TradeFile, new_run_id, write_trade_file
from tooling.upload import (
    DEFAULT_TIMEOUT_SECONDS,
    INCOMING_PREFIX,
    Deployment,
    FileState,
    ObjectWatch,
    Outcome,
    UploadedObject,
    UploadError,
    failure_message,
    follow,
    outcome_lines,
    upload_file,
    upload_lines,
)

__all__ = [
    "DEFAULT_SIZES",
    "KEY_PREFIX",
    "SLOWEST_LINES_PER_SECOND",
    "Clients",
    "ingest_file",
    "parse_sizes",
    "run",
    "wait_timeout",
]

DEFAULT_SIZES: Final = (1_000, 10_000, 100_000, 1_000_000)
#: Where the files go: under the prefix the processor is notified for.
KEY_PREFIX: Final = f"{INCOMING_PREFIX}bench/"
#: A file is given up on when it is slower than this (the wait's timeout, at least the upload's).
SLOWEST_LINES_PER_SECOND: Final = 200


def parse_sizes(text: str) -> tuple[int, ...]:
    """``--sizes 1000,10000``: the files' numbers of lines, in that order."""
    sizes = []
    for word in text.split(","):
        value = word.strip().replace("_", "")
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise IngestBenchError(
                f"--sizes {text!r}: comma-separated numbers of lines, each 1 or more "
                "(e.g. 1000,10000).",
                2,
            )
        sizes.append(int(value))
    return tuple(sizes)


def wait_timeout(lines: int) -> float:
    """Seconds to wait for a file's final summary: its lines at
    :data:`SLOWEST_LINES_PER_SECOND`, at least ``./tap upload``'s default timeout."""
    return max(float(DEFAULT_TIMEOUT_SECONDS), lines / SLOWEST_LINES_PER_SECOND)


@dataclass(frozen=True)
class Clients:
    """The boto3 clients of the emulator a file's ingest uses (made once, before any clock runs)."""

    s3: Any
    logs: Any
    sqs: Any


def _say(console: Console, lines: Iterable[str]) -> None:
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _figure(
    trade_file: TradeFile,
    uploaded: UploadedObject,
    outcome: Outcome,
    seconds: float,
    sampler: RssSampler,
    rss_after: int,
) -> FileFigure:
    summary = outcome.summary
    return FileFigure(
        lines=trade_file.lines,
        size=trade_file.size,
        upload_parts=uploaded.parts,
        processor_parts=summary.part if summary is not None else None,
        seconds=seconds,
        result=outcome.result,
        counts=dict(summary.counts) if summary is not None else {},
        peak_rss=max(sampler.peak_bytes, rss_after),
        rss_after=rss_after,
    )


def ingest_file(
    clients: Clients,
    deployment: Deployment,
    trade_file: TradeFile,
    pid: int,
    *,
    console: Console,
    sample_seconds: float = SAMPLE_SECONDS,
) -> tuple[FileFigure, str | None]:
    """Upload ``trade_file`` and follow it to its final summary, sampling the emulator's memory:
    its figure, and why it failed (None when it was processed)."""
    key = f"{KEY_PREFIX}{trade_file.path.name}"
    with RssSampler(pid, sample_seconds) as sampler:
        started = time.monotonic()
        uploaded = upload_file(clients.s3, trade_file.path, deployment.bucket, key)
        _say(console, upload_lines(trade_file.path, uploaded))
        watch = ObjectWatch(clients.logs, clients.sqs, uploaded, deployment)
        state = FileState(total_lines=trade_file.lines + 1)  # the header is a line too
        outcome = follow(
            watch, state, console=console, timeout_seconds=wait_timeout(trade_file.lines)
        )
        seconds = time.monotonic() - started
    rss_after = read_rss(pid)
    _say(console, outcome_lines(uploaded, outcome))
    failure = None if outcome.succeeded else failure_message(uploaded, deployment, outcome)
    return _figure(trade_file, uploaded, outcome, seconds, sampler, rss_after), failure


def run(
    client: Callable[[str], Any],
    deployment: Deployment,
    endpoint: str,
    sizes: Sequence[int] = DEFAULT_SIZES,
    *,
    environment: str,
    console: Console | None = None,
    sample_seconds: float = SAMPLE_SECONDS,
) -> IngestFigures:
    """Ingest a generated file of each size into ``deployment`` (``client(service)``: a boto3
    client of the emulator at ``endpoint`` in the deployment's region), one after the other;
    the progress goes to ``console`` (default: stderr)."""
    out = console or Console(stderr=True)
    pid = emulator_pid(endpoint)
    clients = Clients(client("s3"), client("logs"), client("sqs"))
    load_before = os.getloadavg()[0]
    rss_before = read_rss(pid)
    run_id = new_run_id()
    files: list[FileFigure] = []
    failure = None
    not_run: tuple[int, ...] = ()
    with tempfile.TemporaryDirectory(prefix="tap-ingest-bench-") as scratch:
        for index, lines in enumerate(sizes):
            _say(out, [f"ingest bench: {lines:,} lines (file {index + 1} of {len(sizes)})"])
            trade_file = write_trade_file(Path(scratch), lines, run_id=run_id, index=index)
            try:
                figure, failure = ingest_file(
                    clients, deployment, trade_file, pid, console=out, sample_seconds=sample_seconds
                )
                files.append(figure)
            except UploadError as error:
                failure = str(error)
            finally:
                trade_file.path.unlink()  # a 1,000,000-line file is ~90 MB
            if failure is not None:
                not_run = tuple(sizes[index + 1 :])
                break
    return IngestFigures(
        environment=environment,
        function_name=deployment.function_name,
        run_id=run_id,
        machine=platform.machine(),
        cpus=os.cpu_count(),
        load_before=load_before,
        load_after=os.getloadavg()[0],
        pid=pid,
        rss_before=rss_before,
        files=tuple(files),
        failure=failure,
        not_run=not_run,
    )
