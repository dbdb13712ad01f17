"""What a run measured: each file's figure, and the run's (the machine, the emulator before the
first file, why it stopped)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FileFigure", "IngestFigures"]


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
