"""The one error type the lifecycle raises to its callers.

Every failure a task reports carries its exit code with it (2: the request itself is wrong, e.g.
an unknown environment or target; 1: a step failed), so that ``tasks.py`` maps any of them to
``invoke.Exit`` in one place and the modules never depend on invoke.
"""

from __future__ import annotations

__all__ = ["LifecycleError"]


class LifecycleError(RuntimeError):
    """A lifecycle step failed or was asked for something impossible; the message says what to do.

    ``code`` is the exit status a command-line caller should end with.
    """

    code: int = 1

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
