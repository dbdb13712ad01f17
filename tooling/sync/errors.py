"""The error of ``./tap sync``: the message to show and the task's exit code."""

from __future__ import annotations

__all__ = ["SyncError"]


class SyncError(RuntimeError):
    """A sync cannot be done; the message says why and what to do."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
