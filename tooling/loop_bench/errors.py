"""The error of ``./tap bench --loop``: the message to show and the task's exit code."""

from __future__ import annotations

__all__ = ["LoopBenchError"]


class LoopBenchError(RuntimeError):
    """The bench cannot measure a step (bad --saves, no local deployment, a sync or deploy that
    failed, a change never answered); ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
