"""A text stream that keeps what a step writes and passes it on as it is written: the deploy's
and the restoring sync's progress shows while they run, and the report reads their lines after."""

from __future__ import annotations

import io
from typing import TextIO

__all__ = ["Transcript"]


class Transcript(io.StringIO):
    """Keeps every write (``getvalue()``) and forwards it to ``echo`` at once. Not a terminal:
    the deploy then writes whole lines prefixed with their stack (its plain display)."""

    def __init__(self, echo: TextIO) -> None:
        super().__init__()
        self._echo = echo

    def write(self, text: str) -> int:
        self._echo.write(text)
        self._echo.flush()
        return super().write(text)

    def isatty(self) -> bool:
        return False
