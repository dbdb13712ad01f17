"""Waiting for something to become true: ask again and again, soon at first and then less
often, until it is or the time is up (no fixed sleep: a fast deployment answers in a second,
a cold one is given the whole timeout)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Backoff", "poll"]

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """The pauses between two asks: ``first_seconds``, then each ``factor`` times the last,
    never more than ``most_seconds``."""

    first_seconds: float = 0.25
    factor: float = 2.0
    most_seconds: float = 2.0

    def pauses(self) -> Iterator[float]:
        pause = self.first_seconds
        while True:
            yield pause
            pause = min(self.most_seconds, pause * self.factor)


def poll(
    probe: Callable[[], T | None],
    *,
    timeout_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    backoff: Backoff | None = None,
) -> T | None:
    """``probe()`` until it returns something other than None (returned), or until
    ``timeout_seconds`` have passed after a last ask (None). An exception of ``probe`` ends the
    wait at once (a failure that waiting cannot mend)."""
    deadline = clock() + timeout_seconds
    for pause in (backoff or Backoff()).pauses():
        found = probe()
        if found is not None:
            return found
        left = deadline - clock()
        if left <= 0:
            return None
        sleep(min(pause, left))
    return None  # pauses() never ends
