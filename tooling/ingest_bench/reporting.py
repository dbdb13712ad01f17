"""The run as text: the machine, the files' table, the goals beside today's figures (never
enforced)."""

from __future__ import annotations

import io
from typing import Final

from processor.domain.checkpoint import COUNTS
from rich import box
from rich.console import Console
from rich.table import Table

from tooling.ingest_bench.figures import FileFigure, IngestFigures
from tooling.upload import MULTIPART_CHUNKSIZE, POLL_SECONDS

__all__ = ["GOAL_RSS_BYTES", "GOAL_SECONDS", "GROWTH_SIZES", "goals", "report"]

MIB: Final = 1024 * 1024
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
_REPORT_WIDTH: Final = 200


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
