"""The quarantine object: one JSON object per rejected line or conflict, spooled, then uploaded.

Object key: ``<quarantine prefix><source key>.jsonl``, e.g. ``incoming/2026/batch1.csv`` ->
``quarantine/incoming/2026/batch1.csv.jsonl`` (and ``...batch1.csv.part-<n>.jsonl`` for part n
of a file continued across invocations). Each line:
``{"line": <n>, "reason": "<why>", "raw": "<the line's text, at most 4096 characters>"}``;
line 0 is the file as a whole (unsupported, empty, unreadable, bad header).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Final, Self

RAW_LIMIT: Final = 4096
REASON_LIMIT: Final = 2048
SPOOL_MEMORY_BYTES: Final = 1024 * 1024


def quarantine_key(prefix: str, source_key: str, part: int = 1) -> str:
    """Part 1 (a file processed in one invocation): ``<prefix><key>.jsonl``; a later part n
    of a file continued across invocations: ``<prefix><key>.part-<n>.jsonl``."""
    if part == 1:
        return f"{prefix}{source_key}.jsonl"
    return f"{prefix}{source_key}.part-{part}.jsonl"


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    line: int
    reason: str
    raw: str

    def to_json_line(self) -> bytes:
        """One JSON line; ASCII-only, so any text (even lone surrogates) round-trips."""
        document = {
            "line": self.line,
            "reason": self.reason[:REASON_LIMIT],
            "raw": self.raw[:RAW_LIMIT],
        }
        return json.dumps(document, ensure_ascii=True).encode("ascii") + b"\n"


class QuarantineSpool:
    """Collects entries in a SpooledTemporaryFile: in memory up to 1 MiB, then on /tmp."""

    def __init__(self, max_memory_bytes: int = SPOOL_MEMORY_BYTES) -> None:
        # Not a `with` block: the spool outlives this call; close() / __exit__ close it.
        spool = tempfile.SpooledTemporaryFile(max_size=max_memory_bytes, mode="w+b")  # noqa: SIM115
        self._file: tempfile.SpooledTemporaryFile[bytes] = spool
        self.count = 0
        self.size = 0

    def add(self, entry: QuarantineEntry) -> None:
        data = entry.to_json_line()
        self._file.write(data)
        self.count += 1
        self.size += len(data)

    def rewound(self) -> IO[bytes]:
        """The spooled content, positioned at its start."""
        self._file.flush()
        self._file.seek(0)
        return self._file

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
