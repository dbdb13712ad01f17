"""How far the file is: its lines (:func:`count_lines`), what was read of it so far
(:class:`FileState`), and the wait until it is accounted for or failed (:func:`wait_for_file`,
:class:`Outcome`).

A file is accounted for when a part reports ``processed``; it failed when a part reports
``file_error`` (or ``ignored``), or when its event reached the function's dead-letter queue.
"""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from processor.domain.service import FileStatus

from tooling.upload.records import DeadLetter, FailedAttempt, Observation, PartSummary
from tooling.upload.transfer import MIB
from tooling.upload.watch import ObjectWatch

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "POLL_SECONDS",
    "FileState",
    "Outcome",
    "count_lines",
    "wait_for_file",
]

DEFAULT_TIMEOUT_SECONDS: Final = 900
POLL_SECONDS: Final = 1.0


def count_lines(path: Path, *, compressed: bool) -> int | None:
    """The file's lines as the processor numbers them (``processor.domain.parsing.iter_lines``:
    every ``\\n`` ends one, and bytes after the last one are one more), of the decompressed
    content when ``compressed``; None when that is not valid gzip data."""
    lines = 0
    last = b"\n"
    try:
        with gzip.open(path, "rb") if compressed else path.open("rb") as stream:
            while chunk := stream.read(MIB):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except (gzip.BadGzipFile, EOFError, zlib.error):
        return None
    return lines + (last != b"\n")


@dataclass
class FileState:
    """What is known of the file so far: its part summaries, failed attempts, dead letter."""

    total_lines: int | None
    summaries: list[PartSummary] = field(default_factory=list)
    failures: list[FailedAttempt] = field(default_factory=list)
    dead_letter: DeadLetter | None = None

    def add(self, observation: Observation) -> None:
        if isinstance(observation, PartSummary):
            self.summaries.append(observation)
        elif isinstance(observation, FailedAttempt):
            self.failures.append(observation)
        else:
            self.dead_letter = observation

    def current(self) -> PartSummary | None:
        """The file's latest summary. Its parts are read in order from the first part 1 logged
        since the upload: part 1, 2, ... as long as each is there (so a later part of an
        earlier upload's file, logged after this upload, is not taken for one of them), up to
        the first final one."""
        firsts = [s.timestamp_ms for s in self.summaries if s.part == 1]
        if not firsts:
            return None
        by_part: dict[int, list[PartSummary]] = {}
        for summary in self.summaries:
            if summary.timestamp_ms >= min(firsts):
                by_part.setdefault(summary.part, []).append(summary)
        latest = None
        part = 1
        while part in by_part:
            final = [s for s in by_part[part] if s.terminal]
            if final:
                return min(final, key=lambda s: s.timestamp_ms)
            latest = max(by_part[part], key=lambda s: s.timestamp_ms)
            part += 1
        return latest

    @property
    def lines_done(self) -> int:
        """Lines accounted for: all of them once a final part is logged (the data and blank
        lines counted when the file's lines are unknown), else the lines before the latest
        part's ``resume_at_line``."""
        summary = self.current()
        if summary is None:
            return 0
        if not summary.terminal:
            return (summary.resume_at_line or 1) - 1
        if self.total_lines is None:
            return sum(summary.counts.values())
        return self.total_lines

    @property
    def finished(self) -> bool:
        summary = self.current()
        return self.dead_letter is not None or (summary is not None and summary.terminal)


@dataclass(frozen=True)
class Outcome:
    """How the wait ended: ``processed``, ``file_error``, ``ignored``, ``dead_lettered`` or
    ``timed_out``."""

    result: str
    summary: PartSummary | None
    total_lines: int | None
    lines_done: int
    elapsed_seconds: float
    failures: tuple[FailedAttempt, ...] = ()
    dead_letter: DeadLetter | None = None

    @property
    def succeeded(self) -> bool:
        return self.result == FileStatus.PROCESSED.value


def wait_for_file(
    watch: ObjectWatch,
    state: FileState,
    *,
    timeout_seconds: float,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[Observation, FileState], None] = lambda observation, state: None,
) -> Outcome:
    """Poll ``watch`` until the file is accounted for, failed, or ``timeout_seconds`` passed."""
    started = clock()
    while True:
        for observation in watch.poll():
            state.add(observation)
            report(observation, state)
        elapsed = clock() - started
        summary = state.current()
        if state.dead_letter is not None:
            result = "dead_lettered"
        elif summary is not None and summary.terminal:
            result = summary.status.value
        elif elapsed >= timeout_seconds:
            result = "timed_out"
        else:
            sleep(poll_seconds)
            continue
        return Outcome(
            result=result,
            summary=summary,
            total_lines=state.total_lines,
            lines_done=state.lines_done,
            elapsed_seconds=elapsed,
            failures=tuple(state.failures),
            dead_letter=state.dead_letter,
        )
