"""The error of ``./tap upload``: the message to show and the task's exit code."""

from __future__ import annotations

__all__ = ["UploadError"]


class UploadError(RuntimeError):
    """The upload or the wait failed; ``code`` is the task's exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
