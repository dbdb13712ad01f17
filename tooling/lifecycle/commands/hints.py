"""The commands a lifecycle message tells a person to run, spelled by the caller.

Why a value passed in: the lifecycle is a library (the tasks, the e2e tests and the benchmarks
call it), and only the command line that runs it knows how its commands are spelled
(``./tap deploy --env dev``). ``tasks.py`` builds one :class:`Hints` per task; a caller without
a command line passes none, and the messages then name no command.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NO_HINTS", "Hints"]


@dataclass(frozen=True)
class Hints:
    """What a run's messages may name; None: that message names no command.

    ``again`` runs the same command on the same selection and target (the last "Next:" step,
    and what finishes an interrupted deploy or destroy); ``sweep`` is the destroy that also
    deletes what is in no state; ``unlock`` is how the command that releases a state lock
    begins, as the error of a locked stack spells it: those lines of a failed stack's error
    become "Next:" steps of their own.
    """

    again: str | None = None
    sweep: str | None = None
    unlock: str | None = None


#: The hints of a caller without a command line.
NO_HINTS = Hints()
