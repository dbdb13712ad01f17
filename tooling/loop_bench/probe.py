"""``GET <api>/health`` asked until it answers a change: the ``build`` marker the changed body
carries (:mod:`.sources`)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from tooling.loop_bench.errors import LoopBenchError
from tooling.loop_bench.sources import MARKER_KEY

__all__ = ["ANSWER_TIMEOUT_SECONDS", "POLL_SECONDS", "HealthProbe", "http_get", "marker_of"]

#: How often ``/health`` is asked while the change is not answered yet.
POLL_SECONDS: Final = 0.05
#: How long a change may take to be answered before the step is given up on.
ANSWER_TIMEOUT_SECONDS: Final = 60.0
_REQUEST_TIMEOUT_SECONDS: Final = 30.0


def http_get(url: str) -> tuple[int, bytes]:
    """One GET of a loopback URL: (status, body); (0, why) when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=_REQUEST_TIMEOUT_SECONDS) as answer:  # noqa: S310 - the emulator's loopback URL
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())
    except (urllib.error.URLError, OSError) as error:
        return 0, str(error).encode()


def marker_of(status: int, body: bytes) -> str | None:
    """The ``build`` marker of a 200 JSON object answer (None: another answer)."""
    if status != 200:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    marker = document.get(MARKER_KEY) if isinstance(document, dict) else None
    return marker if isinstance(marker, str) else None


def _shown(status: int, body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace")
    return f"no answer ({text})" if status == 0 else f"HTTP {status} {text}"


@dataclass
class HealthProbe:
    """Asks ``url`` (``<api>/health``) with ``get`` until it answers a marker."""

    url: str
    get: Callable[[str], tuple[int, bytes]] = http_get
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def wait_for(
        self, marker: str, *, since: float, timeout_seconds: float = ANSWER_TIMEOUT_SECONDS
    ) -> float:
        """Seconds from ``since`` (a reading of :attr:`clock`) until the first answer of
        ``marker``; raises :class:`LoopBenchError` with the last answer after
        ``timeout_seconds`` from the call."""
        deadline = self.clock() + timeout_seconds
        while True:
            status, body = self.get(self.url)
            answered = self.clock()
            if marker_of(status, body) == marker:
                return answered - since
            if answered >= deadline:
                raise LoopBenchError(
                    f"GET {self.url} did not answer {MARKER_KEY} {marker!r} within "
                    f"{timeout_seconds:g} s; last answer: {_shown(status, body)}"
                )
            self.sleep(POLL_SECONDS)
