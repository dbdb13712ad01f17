"""``--watch``: the :class:`Watcher` polls each service's build inputs and syncs a service whose
inputs changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from tooling.sync.report import SyncResult
from tooling.sync.syncer import Syncer

__all__ = ["POLL_SECONDS", "Watcher"]

#: How often ``--watch`` looks at the services' inputs.
POLL_SECONDS: Final = 0.5


class Watcher:
    """Syncs a service whenever its build inputs change (``--watch``)."""

    def __init__(self, syncer: Syncer) -> None:
        self._syncer = syncer
        self._seen = {service: syncer.fingerprint(service) for service in syncer.services}

    def poll(self) -> list[SyncResult | None]:
        """One look at every service's inputs: each changed one is synced (its line printed;
        None for a failed sync, also printed)."""
        outcomes = []
        for service, seen in self._seen.items():
            current = self._syncer.fingerprint(service)
            if current == seen:
                continue
            # Remembered before the sync: an edit made while it runs is seen at the next poll.
            self._seen[service] = current
            outcomes.append(self._syncer.sync_and_report(service))
        return outcomes

    def run(
        self, *, poll_seconds: float = POLL_SECONDS, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        """Poll until interrupted (KeyboardInterrupt propagates: Ctrl-C ends the task)."""
        while True:
            sleep(poll_seconds)
            self.poll()
