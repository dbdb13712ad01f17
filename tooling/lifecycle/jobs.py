"""What a job of the scheduler reports: its result and how it ended.

Data only, in a module of its own: the scheduler produces these and the display shows them, so
both import them from here rather than from each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["JobOutcome", "JobResult", "JobStatus", "NextSteps"]

JobStatus = Literal["succeeded", "failed", "skipped", "cancelled"]


@dataclass(frozen=True)
class JobResult:
    """What a job did, in terraform's terms (``summary`` is free text such as "no changes")."""

    added: int = 0
    changed: int = 0
    destroyed: int = 0
    summary: str = ""


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended. ``seconds`` is 0 and ``result`` None for jobs that never started;
    ``blocked_by`` names the failed jobs that a skipped job waited for."""

    name: str
    status: JobStatus
    seconds: float
    result: JobResult | None
    error: str | None
    blocked_by: tuple[str, ...] = ()


#: Given the outcomes of a run that did not fully succeed, the commands or advice to print last.
NextSteps = Callable[[Sequence[JobOutcome]], Sequence[str]]
