"""What the processor's log lines and the dead-letter queue say about a file: a part's summary
(:class:`PartSummary`), a failed attempt at a part (:class:`FailedAttempt`), its event
dead-lettered (:class:`DeadLetter`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from processor.domain.checkpoint import COUNTS
from processor.domain.service import FileStatus

__all__ = ["DeadLetter", "FailedAttempt", "Observation", "PartSummary", "json_object"]


@dataclass(frozen=True)
class PartSummary:
    """One part's summary as the processor logged it (``FileSummary.as_dict``)."""

    part: int
    status: FileStatus
    counts: Mapping[str, int]
    quarantine_keys: tuple[str, ...]
    reason: str | None
    resume_at_line: int | None
    timestamp_ms: int

    @property
    def terminal(self) -> bool:
        return self.status is not FileStatus.CONTINUED

    @classmethod
    def from_record(cls, record: Mapping[str, Any], timestamp_ms: int) -> PartSummary | None:
        try:
            status = FileStatus(record["status"])
            part = int(record["part"])
            counts = {name: int(record.get(name, 0)) for name in COUNTS}
        except (KeyError, TypeError, ValueError):
            return None
        resume = record.get("resume_at_line")
        reason = record.get("reason")
        return cls(
            part=part,
            status=status,
            counts=counts,
            quarantine_keys=tuple(str(k) for k in record.get("quarantine_keys") or ()),
            reason=str(reason) if reason else None,
            resume_at_line=int(resume) if isinstance(resume, int) else None,
            timestamp_ms=timestamp_ms,
        )


@dataclass(frozen=True)
class FailedAttempt:
    """An attempt at a part failed (an AWS call): Lambda retries the event, then dead-letters
    it."""

    error: str
    timestamp_ms: int


@dataclass(frozen=True)
class DeadLetter:
    """The event of this object (or of one of its continuations) in the dead-letter queue."""

    error: str
    continuation_part: int | None = None


Observation = PartSummary | FailedAttempt | DeadLetter


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object ``text`` holds (a log line, a message body), None if it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
