"""``InvokeError``: why ``./tap invoke`` stopped, and the task's exit code."""

from __future__ import annotations


class InvokeError(RuntimeError):
    """The invocation could not be made or failed; ``code`` is the task's exit code (2: bad
    arguments, 1: the function or the call failed)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
