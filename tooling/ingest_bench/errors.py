"""The error of ``./tap bench --ingest``: the message to show and the task's exit code."""

from __future__ import annotations

__all__ = ["IngestBenchError"]


class IngestBenchError(RuntimeError):
    """The bench cannot measure (bad --sizes, no emulator process); ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
