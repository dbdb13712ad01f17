"""A loopback address whose TCP connections never complete.

Where the emulator sends the AWS calls a function cannot make on AWS: a function attached to a
VPC without a path to a service has its packets dropped (no route, or no security group rule),
so the SDK's connection attempt hangs until the SDK's connect timeout ends it, or the function's
own timeout comes first ("Task timed out")
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html).

The listener listens and never accepts, and its accept queue is filled when it is made: the
kernel then drops every further SYN (Linux counts them as ``ListenOverflows``), and the client
retransmits its SYN until its own timeout, exactly as with a dropped packet. No thread serves
it. One per process, made on first use (:func:`black_hole_url`); worker processes do not
inherit it (``subprocess`` closes inherited descriptors).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Final

__all__ = ["BlackHole", "BlackHoleError", "black_hole_url"]

_HOST: Final = "127.0.0.1"
#: How long a connection attempt waits before it counts as dropped while the queue is filled.
_PROBE_TIMEOUT_SECONDS: Final = 0.2
#: Kernels accept ``backlog`` or ``backlog + 1`` connections at ``listen(0)``; any more means
#: the queue never fills.
_MAX_QUEUED: Final = 8


class BlackHoleError(RuntimeError):
    """This system answers connections to a full listen queue instead of dropping them."""


class BlackHole:
    """A listening loopback socket whose accept queue is full: connections to it hang."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._queued: list[socket.socket] = []
        try:
            self._listener.bind((_HOST, 0))
            self._listener.listen(0)
            self.port: int = self._listener.getsockname()[1]
            self._fill()
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self.port}"

    def _fill(self) -> None:
        """Connect until a connection attempt is dropped; keep the ones that got queued."""
        for _ in range(_MAX_QUEUED + 1):
            attempt = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            attempt.settimeout(_PROBE_TIMEOUT_SECONDS)
            try:
                attempt.connect((_HOST, self.port))
            except TimeoutError:
                attempt.close()
                return
            except OSError as error:
                attempt.close()
                raise BlackHoleError(
                    f"a connection to a full listen queue was answered ({error}): this system "
                    "does not drop it (Linux: net.ipv4.tcp_abort_on_overflow must be 0)"
                ) from error
            self._queued.append(attempt)
        raise BlackHoleError(f"the listen queue still accepts after {_MAX_QUEUED} connections")

    def close(self) -> None:
        for held in [*self._queued, self._listener]:
            with contextlib.suppress(OSError):
                held.close()
        self._queued.clear()


_BLACK_HOLE: BlackHole | None = None
_LOCK = threading.Lock()


def black_hole_url() -> str:
    """The URL of this process's black hole, made on first use."""
    global _BLACK_HOLE
    with _LOCK:
        if _BLACK_HOLE is None:
            _BLACK_HOLE = BlackHole()
        return _BLACK_HOLE.url
