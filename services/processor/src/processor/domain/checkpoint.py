"""Checkpoints: where a file's processing stopped, so a new invocation can carry on.

A file too large for one invocation is processed in *parts*. Before the invocation's time
runs short, the service stops at a line boundary (after a settled window) and returns a
``Checkpoint``: the object (bucket, key, versionId, ETag: a replaced object is never
mixed in), the byte offset of the next line in the (decompressed) file and the last line
number read, the CSV header, the counts of all parts so far and their quarantine objects.
The handler sends it as the event of an asynchronous invocation of the same function; the
next part resumes exactly there and, when the file ends, reports the totals of all parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from processor.domain.ports import ObjectRef

EVENT_KEY: Final = "processor_continuation"
VERSION: Final = 1
COUNTS: Final = ("accepted", "duplicates", "conflicts", "rejected", "blank_lines")


class CheckpointError(ValueError):
    """A continuation event that this function did not write (or a newer format)."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    offset: int  # of the next line, in the (decompressed) file
    line: int  # the number of the last line already processed
    part: int  # the number of the part that resumes here (2 for the first continuation)
    header: tuple[str, ...] | None = None
    seen_content: bool = False
    counts: Mapping[str, int] = field(default_factory=dict)
    quarantine_keys: tuple[str, ...] = ()

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.bucket, self.key, self.version_id)

    @classmethod
    def start_of(cls, ref: ObjectRef) -> Checkpoint:
        """A file handed over before any of it was read (part 1 from line 1)."""
        return cls(ref.bucket, ref.key, ref.version_id, None, offset=0, line=0, part=1)

    def to_event(self) -> dict[str, Any]:
        return {
            EVENT_KEY: {
                "version": VERSION,
                "bucket": self.bucket,
                "key": self.key,
                "version_id": self.version_id,
                "etag": self.etag,
                "offset": self.offset,
                "line": self.line,
                "part": self.part,
                "header": list(self.header) if self.header is not None else None,
                "seen_content": self.seen_content,
                "counts": {name: self.counts.get(name, 0) for name in COUNTS},
                "quarantine_keys": list(self.quarantine_keys),
            }
        }

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Checkpoint:
        """Read a continuation event; raise ``CheckpointError`` if it is not one of ours."""
        body = event.get(EVENT_KEY)
        try:
            if not isinstance(body, Mapping) or body.get("version") != VERSION:
                raise TypeError(f"not a version {VERSION} continuation")
            header = body["header"]
            counts = body["counts"]
            checkpoint = cls(
                bucket=_text(body["bucket"]),
                key=_text(body["key"]),
                version_id=_optional_text(body["version_id"]),
                etag=_optional_text(body["etag"]),
                offset=_count(body["offset"]),
                line=_count(body["line"]),
                part=_count(body["part"]),
                header=None if header is None else tuple(_text(name) for name in header),
                seen_content=bool(body["seen_content"]),
                counts={name: _count(counts[name]) for name in COUNTS},
                quarantine_keys=tuple(_text(key) for key in body["quarantine_keys"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"invalid continuation event: {exc}") from None
        if checkpoint.part < 1:
            raise CheckpointError("invalid continuation event: part must be at least 1")
        return checkpoint


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("expected a non-empty string")
    return value


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError("expected a whole number >= 0")
    return value
