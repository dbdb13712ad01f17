"""The ingest service: one S3 object in, trades stored idempotently, a summary out.

Lines are handled in windows of at most ``batch_size`` (100) data lines. For each window:

1. ``existing_hashes`` (one strongly consistent BatchGetItem) for the window's distinct
   trade_ids;
2. the first occurrence of every trade_id not yet stored is written with ``insert_new``
   (conditional on the trade_id not existing, so nothing is ever overwritten); an id that
   turns out to exist after all (a concurrent writer won the race) comes back with its
   stored record_hash;
3. every other line is classified against the stored record_hash: the same hash is a
   duplicate, a different (or missing) hash is a conflict (quarantined, never written).

So ``accepted + duplicates + conflicts + rejected`` always equals the number of non-blank
data lines, and processing the same content again (a redelivered event, the same file under
another key) changes nothing in the table and counts every trade as a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from processor.domain.errors import FileRejectedError, ObjectNotFoundError
from processor.domain.model import TradeRecord, format_utc
from processor.domain.parsing import (
    SUPPORTED_EXTENSIONS,
    BlankLine,
    LineResult,
    ParsedTrade,
    RejectedLine,
    detect_file_type,
    parse_file,
)
from processor.domain.ports import ObjectRef, ObjectSource, QuarantineSink, TradeRepository
from processor.domain.quarantine import QuarantineEntry, QuarantineSpool, quarantine_key

BATCH_SIZE: Final = 100


class FileStatus(StrEnum):
    PROCESSED = "processed"
    FILE_ERROR = "file_error"
    IGNORED = "ignored"


@dataclass(slots=True)
class FileSummary:
    """The outcome for one S3 object (returned by the handler and logged as one line)."""

    bucket: str
    key: str
    status: FileStatus = FileStatus.PROCESSED
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    blank_lines: int = 0
    quarantine_key: str | None = None
    reason: str | None = None

    @property
    def data_lines(self) -> int:
        return self.accepted + self.duplicates + self.conflicts + self.rejected

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["status"] = self.status.value
        return document


def utc_now() -> datetime:
    return datetime.now(UTC)


def conflict_reason(trade_id: str, stored_hash: str | None, record_hash: str) -> str:
    return (
        f"conflict: trade_id {trade_id!r} is already stored with different content "
        f"(stored record_hash {stored_hash or 'missing'}, this line {record_hash}); "
        "the stored trade was kept"
    )


@dataclass(slots=True)
class _FileRun:
    """The state of one file being ingested: the open window of lines, counts, quarantine."""

    repository: TradeRepository
    summary: FileSummary
    spool: QuarantineSpool
    ingested_at: str
    batch_size: int
    trades: list[ParsedTrade] = field(default_factory=list)
    rejections: list[RejectedLine] = field(default_factory=list)

    def add(self, result: LineResult) -> None:
        if isinstance(result, BlankLine):
            self.summary.blank_lines += 1
            return
        if isinstance(result, RejectedLine):
            self.rejections.append(result)
        else:
            self.trades.append(result)
        if len(self.trades) + len(self.rejections) >= self.batch_size:
            self.settle()

    def settle(self) -> None:
        """Store the window's trades, then quarantine its rejections and conflicts in line order."""
        entries = [QuarantineEntry(r.line, r.reason, r.raw) for r in self.rejections]
        self.summary.rejected += len(self.rejections)
        entries.extend(self._store(self.trades))
        for entry in sorted(entries, key=lambda e: e.line):
            self.spool.add(entry)
        self.trades.clear()
        self.rejections.clear()

    def _store(self, trades: list[ParsedTrade]) -> list[QuarantineEntry]:
        if not trades:
            return []
        ids = list(dict.fromkeys(t.trade.trade_id for t in trades))
        stored: dict[str, str | None] = dict(self.repository.existing_hashes(ids))
        first_new: dict[str, ParsedTrade] = {}
        for parsed in trades:
            if parsed.trade.trade_id not in stored:
                first_new.setdefault(parsed.trade.trade_id, parsed)
        records = [self._record(parsed) for parsed in first_new.values()]
        lost_race = self.repository.insert_new(records) if records else {}
        written = set()
        for trade_id, parsed in first_new.items():
            if trade_id in lost_race:
                stored[trade_id] = lost_race[trade_id]
            else:
                stored[trade_id] = parsed.trade.record_hash
                written.add(parsed.line)
        return self._classify(trades, stored, written)

    def _classify(
        self, trades: list[ParsedTrade], stored: dict[str, str | None], written: set[int]
    ) -> list[QuarantineEntry]:
        conflicts = []
        for parsed in trades:
            record_hash = parsed.trade.record_hash
            stored_hash = stored[parsed.trade.trade_id]
            if parsed.line in written:
                self.summary.accepted += 1
            elif stored_hash == record_hash:
                self.summary.duplicates += 1
            else:
                self.summary.conflicts += 1
                reason = conflict_reason(parsed.trade.trade_id, stored_hash, record_hash)
                conflicts.append(QuarantineEntry(parsed.line, reason, parsed.raw))
        return conflicts

    def _record(self, parsed: ParsedTrade) -> TradeRecord:
        return TradeRecord(
            trade=parsed.trade,
            record_hash=parsed.trade.record_hash,
            source_key=self.summary.key,
            source_line=parsed.line,
            ingested_at=self.ingested_at,
        )


class IngestService:
    def __init__(
        self,
        source: ObjectSource,
        repository: TradeRepository,
        quarantine: QuarantineSink,
        *,
        quarantine_prefix: str,
        batch_size: int = BATCH_SIZE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._source = source
        self._repository = repository
        self._quarantine = quarantine
        self._quarantine_prefix = quarantine_prefix
        self._batch_size = batch_size
        self._clock = clock

    def ignore_reason(self, key: str) -> str | None:
        """Why an object must not be processed at all, or None."""
        if key.startswith(self._quarantine_prefix):
            return f"key is under the quarantine prefix {self._quarantine_prefix!r}"
        if key.endswith("/"):
            return "key is a folder marker"
        return None

    def ingest(self, ref: ObjectRef) -> FileSummary:
        """Ingest one object. Raises only ``DependencyError`` (an AWS call failed)."""
        summary = FileSummary(ref.bucket, ref.key)
        ignore_reason = self.ignore_reason(ref.key)
        if ignore_reason is not None:
            summary.status = FileStatus.IGNORED
            summary.reason = ignore_reason
            return summary
        with QuarantineSpool() as spool:
            try:
                self._ingest_lines(ref, summary, spool)
            except FileRejectedError as exc:
                summary.status = FileStatus.FILE_ERROR
                summary.reason = exc.reason
                spool.add(QuarantineEntry(0, exc.reason, exc.raw))
            if spool.count:
                key = quarantine_key(self._quarantine_prefix, ref.key)
                self._quarantine.put(ref.bucket, key, spool.rewound(), spool.size)
                summary.quarantine_key = key
        return summary

    def _ingest_lines(self, ref: ObjectRef, summary: FileSummary, spool: QuarantineSpool) -> None:
        file_type = detect_file_type(ref.key)
        if file_type is None:
            raise FileRejectedError(f"unsupported file extension: expected {SUPPORTED_EXTENSIONS}")
        run = _FileRun(
            repository=self._repository,
            summary=summary,
            spool=spool,
            ingested_at=format_utc(self._clock()),
            batch_size=self._batch_size,
        )
        try:
            with self._source.open(ref) as stream:
                try:
                    for result in parse_file(stream, file_type):
                        run.add(result)
                except FileRejectedError:
                    run.settle()  # keep what was read before the file turned out unusable
                    raise
                run.settle()
        except ObjectNotFoundError as exc:
            raise FileRejectedError(f"object not found: {exc}") from None
