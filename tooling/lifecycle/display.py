"""What a person (or a CI log) sees while the scheduler runs jobs, and the summary at the end.

Why a separate module behind a small :class:`Display` protocol: the scheduler must stay testable
without a terminal (tests hand it a recording fake), and the two audiences want different output.

* In a terminal, :class:`RichDisplay` keeps a live area with one row per running job (name,
  action, resources done, elapsed seconds, last detail) under a finished/total counter, and prints
  each job's own output lines and its end above that area, so nothing scrolls away.
* In CI, a pipe, ``TERM=dumb`` or with ``CI`` set, :class:`PlainDisplay` writes whole lines, each
  prefixed with its job's name (``[tap-dev-ap-southeast-1-app] 12 resource(s) done: ...``), so
  the interleaved output of concurrent jobs can still be read (and grepped) job by job.

Both end with a summary table of every job and, when something did not succeed, the caller's
"what to run next" lines. Both are thread-safe: jobs report from their own threads, and a line is
always written whole.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from tooling.lifecycle.jobs import JobOutcome

__all__ = ["Display", "PlainDisplay", "RichDisplay", "choose_display", "is_interactive"]

_STATUS_STYLES = {
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "yellow",
    "cancelled": "yellow",
}


class Display(Protocol):
    """Receives the scheduler's events. ``started``, ``progress``, ``line`` and ``finished`` come
    from the jobs' threads, concurrently; ``open``, ``close`` and ``summary`` from the caller's."""

    def open(self, names: Sequence[str], action: str) -> None:
        """The run begins with these jobs (in input order)."""

    def started(self, name: str, action: str) -> None:
        """A job started."""

    def progress(self, name: str, done: int, detail: str) -> None:
        """A running job finished ``done`` resources; ``detail`` is the last one."""

    def line(self, name: str, text: str) -> None:
        """A line (or lines) of a job's own output."""

    def finished(self, outcome: JobOutcome) -> None:
        """A job ended, or will never start (skipped, cancelled)."""

    def close(self) -> None:
        """The run is over (also after an error): stop anything live."""

    def summary(
        self, outcomes: Sequence[JobOutcome], *, action: str, next_steps: Sequence[str]
    ) -> None:
        """The table of every job's outcome, then ``next_steps`` if there are any."""


def is_interactive(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` is a terminal that a person watches: a TTY, ``TERM`` is not ``dumb``,
    and ``CI`` is unset (or ``0``/``false``). A live display in a CI log is a mess of redraws."""
    env = os.environ if environ is None else environ
    if env.get("TERM", "") == "dumb" or env.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed stream, or a file-like object without it
        return False


def choose_display(
    stream: TextIO | None = None, environ: Mapping[str, str] | None = None
) -> Display:
    """The display suited to ``stream`` (default: stdout): live in a terminal, plain otherwise."""
    out = sys.stdout if stream is None else stream
    if is_interactive(out, environ):
        return RichDisplay(Console(file=out))
    return PlainDisplay(out)


def _result_text(outcome: JobOutcome) -> str:
    """One line for the summary's result column (a multi-line error shows its first line)."""
    if outcome.status == "succeeded":
        summary = outcome.result.summary if outcome.result is not None else ""
        return f"succeeded: {summary}" if summary else "succeeded"
    if outcome.status == "failed":
        first = (outcome.error or "").strip().splitlines()
        return f"failed: {first[0]}" if first else "failed"
    if outcome.status == "skipped":
        return f"skipped (blocked by {', '.join(outcome.blocked_by)})"
    return "cancelled"


def _counts(outcome: JobOutcome) -> tuple[str, str, str, str]:
    """Added, changed, destroyed and seconds as text; "-" where the job did not report them."""
    result = outcome.result
    seconds = f"{outcome.seconds:.1f}" if outcome.status in ("succeeded", "failed") else "-"
    if result is None:
        return "-", "-", "-", seconds
    return str(result.added), str(result.changed), str(result.destroyed), seconds


def _ending(outcome: JobOutcome) -> str:
    """How a job ended, in one sentence for its closing line."""
    if outcome.status in ("succeeded", "failed"):
        verb = "in" if outcome.status == "succeeded" else "after"
        text = f"{outcome.status} {verb} {outcome.seconds:.1f}s"
        if outcome.result is not None:
            r = outcome.result
            text += f" ({r.added} added, {r.changed} changed, {r.destroyed} destroyed)"
        if outcome.error:
            text += f": {outcome.error}"
        return text
    return _result_text(outcome)


class PlainDisplay:
    """Whole lines prefixed with the job's name, flushed one by one (CI logs, pipes, files)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = sys.stdout if stream is None else stream
        self._lock = threading.Lock()
        self._total = 0
        self._finished = 0

    def _write(self, name: str | None, text: str) -> None:
        """Every line of ``text``, prefixed, in one write under the lock: never interleaved."""
        prefix = f"[{name}] " if name is not None else ""
        lines = text.splitlines() or [""]
        block = "".join(f"{prefix}{line}\n" for line in lines)
        with self._lock:
            self._stream.write(block)
            self._stream.flush()

    def open(self, names: Sequence[str], action: str) -> None:
        with self._lock:
            self._total = len(names)
            self._finished = 0
        self._write(None, f"{action}: {len(names)} job(s)")

    def started(self, name: str, action: str) -> None:
        self._write(name, f"{action} started")

    def progress(self, name: str, done: int, detail: str) -> None:
        self._write(name, f"{done} resource(s) done" + (f": {detail}" if detail else ""))

    def line(self, name: str, text: str) -> None:
        self._write(name, text)

    def finished(self, outcome: JobOutcome) -> None:
        with self._lock:
            self._finished += 1
            counter = f"[{self._finished}/{self._total}]"
        self._write(outcome.name, f"{_ending(outcome)} {counter}")

    def close(self) -> None:
        """Nothing is live in plain mode."""

    def summary(
        self, outcomes: Sequence[JobOutcome], *, action: str, next_steps: Sequence[str]
    ) -> None:
        # Plain fixed-width text, not a rich table: this is what CI logs and pipes get, read
        # and grepped one row per job (tests pin the columns). Rich outside a terminal wraps
        # to 80 columns and draws box rules, which would split a row with a long result.
        header = ("JOB", "ACTION", "ADDED", "CHANGED", "DESTROYED", "SECONDS", "RESULT")
        rows = [(o.name, action, *_counts(o), _result_text(o)) for o in outcomes]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]

        def format_row(row: Sequence[str]) -> str:
            # Names and the action left-aligned, numbers right-aligned, the result as it comes.
            cells = [
                cell.ljust(width) if i < 2 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=False))
            ]
            return "  ".join([*cells, row[-1]]).rstrip()

        table = "\n".join(format_row(row) for row in [header, *rows])
        steps = "".join(f"\nNext: {step}" for step in next_steps)
        self._write(None, f"\n{table}{steps}")


@dataclass
class _Running:
    """A running job as the live area shows it."""

    action: str
    since: float
    done: int = 0
    detail: str = ""


class RichDisplay:
    """A live area of running jobs (``rich.live.Live``), with output and endings printed above.

    The state lock only guards the rows: it is never held while printing, because the live
    area's refresh thread holds rich's lock while it asks :meth:`live_view` for the rows.
    """

    def __init__(self, console: Console | None = None, *, refresh_per_second: float = 4) -> None:
        self.console = console if console is not None else Console()
        self._refresh_per_second = refresh_per_second
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}
        self._total = 0
        self._finished = 0
        self._action = ""
        self._live: Live | None = None

    def open(self, names: Sequence[str], action: str) -> None:
        with self._lock:
            self._total, self._finished, self._action = len(names), 0, action
            self._running.clear()
        # Redirect print() into the live area only when it shares the process's stdout.
        redirect = self.console.file in (sys.stdout, sys.__stdout__)
        self._live = Live(
            console=self.console,
            get_renderable=self.live_view,
            refresh_per_second=self._refresh_per_second,
            transient=True,
            redirect_stdout=redirect,
            redirect_stderr=False,
        )
        self._live.start()

    def started(self, name: str, action: str) -> None:
        with self._lock:
            self._running[name] = _Running(action, time.monotonic())

    def progress(self, name: str, done: int, detail: str) -> None:
        with self._lock:
            row = self._running.get(name)
            if row is not None:
                row.done, row.detail = done, detail

    def line(self, name: str, text: str) -> None:
        for each in text.splitlines() or [""]:
            self.console.print(Text.assemble((f"[{name}] ", "cyan"), each), highlight=False)

    def finished(self, outcome: JobOutcome) -> None:
        with self._lock:
            self._running.pop(outcome.name, None)
            self._finished += 1
        style = _STATUS_STYLES[outcome.status]
        for each in _ending(outcome).splitlines():
            self.console.print(
                Text.assemble((f"[{outcome.name}] ", "cyan"), (each, style)), highlight=False
            )

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def summary(
        self, outcomes: Sequence[JobOutcome], *, action: str, next_steps: Sequence[str]
    ) -> None:
        table = Table(title=f"{action} summary", title_justify="left")
        table.add_column("job", no_wrap=True)
        table.add_column("action", no_wrap=True)
        for numeric in ("added", "changed", "destroyed", "seconds"):
            table.add_column(numeric, justify="right", no_wrap=True)
        table.add_column("result", overflow="fold")
        for o in outcomes:
            result = Text(_result_text(o), style=_STATUS_STYLES[o.status])
            table.add_row(o.name, action, *_counts(o), result)
        self.console.print(table)
        for step in next_steps:
            self.console.print(Text.assemble(("Next: ", "bold"), step), highlight=False)

    def live_view(self) -> RenderableType:
        """The live area: a counter, then one row per running job (called by rich's thread)."""
        now = time.monotonic()
        with self._lock:
            rows = sorted(self._running.items(), key=lambda item: item[1].since)
            rows = [(name, _Running(r.action, r.since, r.done, r.detail)) for name, r in rows]
            finished, total, action = self._finished, self._total, self._action
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        table.add_column(no_wrap=True, overflow="ellipsis")
        for name, row in rows:
            elapsed = f"{now - row.since:.0f}s"
            table.add_row(name, row.action, f"{row.done} resource(s)", elapsed, row.detail)
        counter = Text(f"{action}: {finished}/{total} finished, {len(rows)} running", "bold")
        return Group(counter, table)
