"""What a run measured: each save, the deploy, the restore, the machine; and the p50, min and
max of the saves."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["AppliedStack", "DeployFigure", "LoopFigures", "SaveFigure", "Spread"]


@dataclass(frozen=True)
class Spread:
    """The median (p50), the smallest and the largest of ``count`` figures."""

    p50: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread | None:
        """The spread of ``values``; None when there are none. The p50 of an even number of
        figures is the mean of the two middle ones."""
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values), len(values))


@dataclass(frozen=True)
class SaveFigure:
    """One save: the sync's own seconds (build, check, UpdateFunctionCode until the update
    succeeded) and the seconds from the start of the sync to the first answer of the change."""

    sync_seconds: float
    serving_seconds: float


@dataclass(frozen=True)
class AppliedStack:
    """A stack the deploy applied: its apply's seconds and why it was applied, when said."""

    name: str
    seconds: float | None
    reason: str | None


@dataclass(frozen=True)
class DeployFigure:
    """The deploy after a handler-only change: seconds until it returned, the stacks it applied
    and skipped, and the seconds after it returned until ``/health`` answered the change (None:
    not within the wait)."""

    seconds: float
    applied: tuple[AppliedStack, ...]
    skipped: tuple[str, ...]
    answered_after: float | None


@dataclass(frozen=True)
class LoopFigures:
    """A run: the machine, the saves asked for and measured, the deploy, the restore's lines.
    ``failure`` says why the run stopped early; ``restore_failure`` why the working tree's code
    could not be synced back."""

    environment: str
    run_id: str
    functions: tuple[str, ...]
    machine: str
    cpus: int | None
    load_before: float
    load_after: float
    requested_saves: int
    saves: tuple[SaveFigure, ...]
    deploy: DeployFigure | None
    restored: tuple[str, ...]
    failure: str | None = None
    restore_failure: str | None = None

    @property
    def serving(self) -> Spread | None:
        """The spread of the saves' seconds to new code serving."""
        return Spread.of([save.serving_seconds for save in self.saves])
