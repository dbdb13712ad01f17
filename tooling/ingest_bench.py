"""``./tap bench --ingest``: the local platform ingesting trade files end to end (a report, not a
timed test: it prints numbers and never fails on them).

Against an environment already deployed locally (``./tap deploy``), for each size (lines, in the
order given; default 1,000 / 10,000 / 100,000 / 1,000,000):

* a CSV trade file is generated into a temporary directory (:func:`write_trade_file`): the lines
  of ``services/processor/benchmarks/report.py`` (1 in 100 has the side ``HOLD``, which the
  processor rejects), with trade ids unique to this run and file, so no line is a duplicate of
  an earlier run's;
* it is uploaded and followed with the functions of ``./tap upload --wait``
  (:mod:`tooling.upload`: multipart from 8 MiB like the AWS CLI, then the processor's part
  summaries in the function's logs until every line is accounted for); the seconds run from the
  start of the upload to the final summary (read every second, :data:`tooling.upload.POLL_SECONDS`);
* meanwhile the emulator server's resident memory (the process answering ``GET
  <endpoint>/_tap/emulator``; the workers running the functions are processes of their own and
  not counted) is sampled every :data:`SAMPLE_SECONDS` (:class:`RssSampler`): its peak during
  the file, and its size right after it. Its size before the first file is read too.

What the files leave behind (the objects, the quarantined lines, the trades in the table) stays
in the deployment: the emulator's memory after the largest file includes them.

The first file that is not processed (rejected as a whole, dead-lettered, or not done at
:func:`wait_timeout`) ends the run: the report shows what was measured and why it stopped.
"""

from __future__ import annotations

import io
import json
import os
import platform
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from processor.domain.checkpoint import COUNTS
from processor.domain.model import FIELDS
from rich import box
from rich.console import Console
from rich.table import Table

from tooling.emulator.server import STATUS_PATH
from tooling.upload import (
    DEFAULT_TIMEOUT_SECONDS,
    INCOMING_PREFIX,
    MULTIPART_CHUNKSIZE,
    POLL_SECONDS,
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
    "GOAL_RSS_BYTES",
    "GOAL_SECONDS",
    "SAMPLE_SECONDS",
    "Clients",
    "FileFigure",
    "IngestBenchError",
    "IngestFigures",
    "RssSampler",
    "TradeFile",
    "csv_line",
    "emulator_pid",
    "goals",
    "ingest_file",
    "new_run_id",
    "parse_sizes",
    "read_rss",
    "report",
    "run",
    "trade_fields",
    "wait_timeout",
    "write_trade_file",
]

MIB: Final = 1024 * 1024
DEFAULT_SIZES: Final = (1_000, 10_000, 100_000, 1_000_000)
SAMPLE_SECONDS: Final = 0.5
#: Where the files go: under the prefix the processor is notified for.
KEY_PREFIX: Final = f"{INCOMING_PREFIX}bench/"
#: A file is given up on when it is slower than this (the wait's timeout, at least the upload's).
SLOWEST_LINES_PER_SECOND: Final = 200
#: The goals the report sets today's figures beside (never enforced): a file's lines, the
#: seconds from its upload to its final summary, and how the goal reads.
GOAL_SECONDS: Final = (
    (100_000, 60.0, "100,000 lines end to end <= 60 s"),
    (1_000_000, 600.0, "1,000,000 lines <= 600 s"),
)
#: "Below 2 GB resident throughout": 2 * 10^9 bytes (1,907.3 MiB), the stricter reading.
GOAL_RSS_BYTES: Final = 2 * 10**9
#: The sizes whose resident memory after the file is compared (the growth the files leave).
GROWTH_SIZES: Final = (1_000, 1_000_000)
#: The generated lines' fields, as services/processor/benchmarks/report.py writes them.
_SYMBOLS: Final = ("AAPL", "MSFT", "BRK.B", "0700.HK")
_CURRENCIES: Final = ("USD", "HKD", "SGD")
_BATCH_LINES: Final = 10_000
_REPORT_WIDTH: Final = 200


class IngestBenchError(RuntimeError):
    """The bench cannot measure (bad --sizes, no emulator process); ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


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


# --------------------------------------------------------------------------- the trade files


def new_run_id() -> str:
    """Twelve hex digits of a random UUID: what makes a run's trade ids and keys its own."""
    return uuid.uuid4().hex[:12]


def trade_fields(id_prefix: str, number: int) -> tuple[str, ...]:
    """The fields of line ``number`` (from 0): those of the processor benchmark's
    ``trade_fields`` with the trade id ``<id_prefix>-<number>``. Line 99 of every 100 has the
    side ``HOLD``: rejected.

    An equivalent rather than an import: services/processor/benchmarks/report.py is a script
    of the processor package that imports the package's service and adapters, and its trade
    ids (``T-<number>``) are the same in every file (tests keep the other fields equal)."""
    side = "HOLD" if number % 100 == 99 else ("BUY" if number % 2 else "SELL")
    return (
        f"{id_prefix}-{number:09d}",
        f"ACC-{number % 977}",
        _SYMBOLS[number % 4],
        side,
        str(1 + number % 5000),
        f"{100 + number % 9000}.{number % 100:02d}",
        _CURRENCIES[number % 3],
        f"2026-01-02T{9 + number % 8:02d}:{number % 60:02d}:{number % 59:02d}.{number % 1000:03d}Z",
    )


def csv_line(id_prefix: str, number: int) -> str:
    return ",".join(trade_fields(id_prefix, number)) + "\n"


@dataclass(frozen=True)
class TradeFile:
    """A generated CSV file: the header, then ``lines`` trades."""

    path: Path
    lines: int
    size: int
    id_prefix: str

    @property
    def expected_rejected(self) -> int:
        """The ``HOLD`` lines (line 99 of every 100)."""
        return self.lines // 100

    @property
    def expected_accepted(self) -> int:
        return self.lines - self.expected_rejected


def write_trade_file(directory: Path, lines: int, *, run_id: str, index: int) -> TradeFile:
    """The run's file number ``index`` (from 0) of ``lines`` trades, written into ``directory``
    as ``ingest-<run_id>-<index + 1>-<lines>.csv``; its trade ids are ``IB-<run_id>-<index +
    1>-<line number>``."""
    if lines < 1:
        raise IngestBenchError(f"a trade file of {lines} lines: at least 1.", 2)
    id_prefix = f"IB-{run_id}-{index + 1}"
    path = directory / f"ingest-{run_id}-{index + 1}-{lines}.csv"
    with path.open("w", encoding="ascii", newline="\n") as out:
        out.write(",".join(FIELDS) + "\n")
        for start in range(0, lines, _BATCH_LINES):
            out.write(
                "".join(
                    csv_line(id_prefix, n) for n in range(start, min(lines, start + _BATCH_LINES))
                )
            )
    return TradeFile(path=path, lines=lines, size=path.stat().st_size, id_prefix=id_prefix)


# --------------------------------------------------------------------------- the emulator's memory


def emulator_pid(endpoint: str, *, timeout: float = 5.0) -> int:
    """The pid the emulator server at ``endpoint`` reports (``GET <endpoint>/_tap/emulator``,
    :mod:`tooling.emulator.server`)."""
    url = endpoint.rstrip("/") + STATUS_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310 - loopback URL
            status = json.loads(answer.read())
    except (OSError, ValueError) as error:
        raise IngestBenchError(f"no emulator answered at {url}: {error}") from None
    pid = status.get("pid") if isinstance(status, dict) else None
    if not isinstance(pid, int) or isinstance(pid, bool):
        raise IngestBenchError(f"{url} answered without a pid: not the repository's emulator.")
    return pid


def read_rss(pid: int, *, proc: Path = Path("/proc")) -> int:
    """The resident bytes of process ``pid``: ``VmRSS`` of ``/proc/<pid>/status``, in kB
    (https://man7.org/linux/man-pages/man5/proc_pid_status.5.html)."""
    status = proc / str(pid) / "status"
    try:
        text = status.read_text(encoding="ascii", errors="replace")
    except OSError as error:
        raise IngestBenchError(
            f"cannot read the resident memory of pid {pid} ({status}: {error.strerror}); "
            "the bench reads Linux's /proc."
        ) from None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == "VmRSS":
            return int(value.split()[0]) * 1024
    raise IngestBenchError(f"{status} has no VmRSS line (pid {pid} is not a running process).")


class RssSampler:
    """Samples a process's resident memory every ``interval`` seconds on a thread of its own,
    from entering until leaving the ``with`` block (and once at each end), keeping the peak."""

    def __init__(
        self,
        pid: int,
        interval: float = SAMPLE_SECONDS,
        *,
        read: Callable[[int], int] = read_rss,
    ) -> None:
        self.pid = pid
        self.interval = interval
        self._read = read
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: IngestBenchError | None = None
        self.peak_bytes = 0
        self.samples = 0

    def sample(self) -> int:
        """One reading now: the resident bytes (the peak is updated)."""
        rss = self._read(self.pid)
        with self._lock:
            self.peak_bytes = max(self.peak_bytes, rss)
            self.samples += 1
        return rss

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except IngestBenchError as error:
                self._error = error
                return

    def __enter__(self) -> RssSampler:
        self.sample()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if kind is not None:
            return  # the block's own exception tells what went wrong
        if self._error is not None:
            raise self._error
        self.sample()


# --------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class FileFigure:
    """One file's ingest: how it went up, how long until its final summary, the emulator's
    memory. ``result`` is the upload's outcome (``processed`` when every line is accounted
    for); ``processor_parts`` the part of the last summary read (None: none read)."""

    lines: int
    size: int
    upload_parts: int
    processor_parts: int | None
    seconds: float
    result: str
    counts: Mapping[str, int]
    peak_rss: int
    rss_after: int

    @property
    def succeeded(self) -> bool:
        return self.result == "processed"

    @property
    def lines_per_second(self) -> float | None:
        return self.lines / self.seconds if self.succeeded and self.seconds > 0 else None


@dataclass(frozen=True)
class IngestFigures:
    """A run's figures: the machine, the emulator before the first file, each file measured;
    ``failure`` says why the run stopped early, ``not_run`` the sizes left."""

    environment: str
    function_name: str
    run_id: str
    machine: str
    cpus: int | None
    load_before: float
    load_after: float
    pid: int
    rss_before: int
    files: tuple[FileFigure, ...]
    failure: str | None = None
    not_run: tuple[int, ...] = ()


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


# --------------------------------------------------------------------------- the report


def _mib(size: int) -> str:
    return f"{size / MIB:,.1f}"


def _first(figures: IngestFigures, lines: int) -> FileFigure | None:
    return next((f for f in figures.files if f.lines == lines), None)


def goals(figures: IngestFigures) -> list[tuple[str, str]]:
    """Each goal beside today's figure: (goal, today)."""
    rows = []
    for lines, limit, goal in GOAL_SECONDS:
        figure = _first(figures, lines)
        if figure is None:
            today = f"not measured (no {lines:,}-line file in this run)"
        elif not figure.succeeded:
            today = f"not met: {figure.result} after {figure.seconds:.1f} s"
        else:
            today = f"{figure.seconds:.1f} s: {'met' if figure.seconds <= limit else 'not met'}"
        rows.append((goal, today))
    peak = max([figures.rss_before, *(f.peak_rss for f in figures.files)])
    met = "met" if peak < GOAL_RSS_BYTES else "not met"
    rows.append(
        (
            "emulator below 2 GB resident throughout",
            f"peak {_mib(peak)} MiB (2 GB = {_mib(GOAL_RSS_BYTES)} MiB): {met}",
        )
    )
    small, large = (_first(figures, lines) for lines in GROWTH_SIZES)
    goal = f"resident after {GROWTH_SIZES[1]:,} lines vs after {GROWTH_SIZES[0]:,} lines"
    if small is None or large is None:
        missing = " or ".join(f"{n:,}" for n in GROWTH_SIZES if _first(figures, n) is None)
        rows.append((goal, f"not measured (no {missing}-line file in this run)"))
    else:
        rows.append((goal, f"{(large.rss_after - small.rss_after) / MIB:+,.1f} MiB"))
    return rows


def _render(table: Table) -> list[str]:
    buffer = io.StringIO()
    Console(file=buffer, width=_REPORT_WIDTH, color_system=None).print(table)
    return [line.rstrip() for line in buffer.getvalue().splitlines() if line.strip()]


def _files_table(figures: IngestFigures) -> Table:
    table = Table(box=box.MARKDOWN)
    for column in ("lines", "size (MiB)", "parts"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("multipart", no_wrap=True)
    for column in ("seconds", "lines/s", "accepted/rejected"):
        table.add_column(column, justify="right", no_wrap=True)
    for column in ("emulator peak RSS (MiB)", "RSS after (MiB)"):
        table.add_column(column, justify="right", no_wrap=True)
    for f in figures.files:
        rate = f.lines_per_second
        seconds = f"{f.seconds:.1f}" if f.succeeded else f"{f.result} after {f.seconds:.1f}"
        counts = f"{f.counts.get('accepted', 0):,} / {f.counts.get('rejected', 0):,}"
        table.add_row(
            f"{f.lines:,}",
            f"{f.size / MIB:,.2f}",
            str(f.processor_parts) if f.processor_parts is not None else "-",
            f"yes, {f.upload_parts} parts" if f.upload_parts else "no",
            seconds,
            f"{rate:,.0f}" if rate is not None else "-",
            counts if f.counts else "-",
            _mib(f.peak_rss),
            _mib(f.rss_after),
        )
    return table


def _count_notes(figures: IngestFigures) -> list[str]:
    """A line for each processed file whose counts are not the generated ones (every line new,
    1 in 100 rejected)."""
    notes = []
    for f in figures.files:
        if not f.succeeded:
            continue
        expected = {"accepted": f.lines - f.lines // 100, "rejected": f.lines // 100}
        found = {name: f.counts.get(name, 0) for name in COUNTS}
        if found != {**dict.fromkeys(COUNTS, 0), **expected}:
            shown = ", ".join(f"{name} {count:,}" for name, count in found.items())
            notes.append(
                f"note: {f.lines:,} lines: {shown}; generated: accepted "
                f"{expected['accepted']:,}, rejected {expected['rejected']:,}"
            )
    return notes


def report(figures: IngestFigures) -> str:
    """The run as text: the machine, the files' table, the goals beside today's figures."""
    cpus = f"{figures.cpus} cores" if figures.cpus else "cores unknown"
    lines = [
        f"ingest bench: {figures.environment} ({figures.function_name}), run {figures.run_id}",
        f"machine: {figures.machine}, {cpus}, load average {figures.load_before:.2f} at the "
        f"start, {figures.load_after:.2f} at the end (wall times on a shared machine vary)",
        f"emulator (pid {figures.pid}) resident before the first file: "
        f"{_mib(figures.rss_before)} MiB",
        "",
        *_render(_files_table(figures)),
        "",
        "parts: the processor's invocations for the file (its part summaries)",
        f"multipart: the upload's parts of up to {MULTIPART_CHUNKSIZE // MIB} MiB (no: one "
        "PutObject)",
        "seconds: from the start of the upload to the file's final summary (read every "
        f"{POLL_SECONDS:g} s)",
        *_count_notes(figures),
    ]
    if figures.failure is not None:
        lines.append(f"stopped: {figures.failure}")
    if figures.not_run:
        lines.append(f"not run: {', '.join(f'{n:,}' for n in figures.not_run)} lines")
    goal_table = Table(box=box.MARKDOWN)
    goal_table.add_column("goal", no_wrap=True)
    goal_table.add_column("today", no_wrap=True)
    for goal, today in goals(figures):
        goal_table.add_row(goal, today)
    lines += ["", *_render(goal_table)]
    return "\n".join(lines)
