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

With ``max_in_flight > 1`` the repository calls of up to that many windows overlap (in
threads: boto3 releases the GIL while it waits on the network), while the next windows are
parsed. Order is kept where it matters: a window whose trade_ids meet those of a window
still in flight waits for it, so the first line of a trade_id is still the one written and
the later ones are still classified against it; results are applied in window order, so the
counts, the quarantine and a checkpoint are exactly those of a sequential run.

With ``remaining_ms`` (the Lambda context's remaining time), the service stops at a line
boundary once less than ``reserve_ms`` is left, and the summary carries a ``Checkpoint``
(``processor.domain.checkpoint``) from which a new invocation resumes the file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, Future
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from processor.domain.checkpoint import COUNTS, Checkpoint
from processor.domain.errors import FileRejectedError, ObjectNotFoundError
from processor.domain.model import TradeRecord, format_utc
from processor.domain.parsing import (
    SUPPORTED_EXTENSIONS,
    LineResult,
    ParsedTrade,
    ParseState,
    RejectedLine,
    detect_file_type,
    parse_file,
)
from processor.domain.ports import ObjectRef, ObjectSource, QuarantineSink, TradeRepository
from processor.domain.quarantine import QuarantineEntry, QuarantineSpool, quarantine_key

BATCH_SIZE: Final = 100


class FileStatus(StrEnum):
    PROCESSED = "processed"
    CONTINUED = "continued"
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
    part: int = 1
    quarantine_keys: list[str] = field(default_factory=list)
    continuation: Checkpoint | None = None

    @property
    def data_lines(self) -> int:
        return self.accepted + self.duplicates + self.conflicts + self.rejected

    def as_dict(self) -> dict[str, Any]:
        """Counts are the totals of all parts so far; ``quarantine_key`` is this part's
        object, ``quarantine_keys`` those of every part (in part order)."""
        document = asdict(self)
        document["status"] = self.status.value
        del document["continuation"]
        if self.continuation is not None:
            document["resume_at_line"] = self.continuation.line + 1
        return document


def utc_now() -> datetime:
    return datetime.now(UTC)


def conflict_reason(trade_id: str, stored_hash: str | None, record_hash: str) -> str:
    return (
        f"conflict: trade_id {trade_id!r} is already stored with different content "
        f"(stored record_hash {stored_hash or 'missing'}, this line {record_hash}); "
        "the stored trade was kept"
    )


_Stored = tuple[dict[str, str | None], set[int]]


@dataclass(slots=True)
class _Window:
    trades: list[ParsedTrade]
    rejections: list[RejectedLine]
    ids: frozenset[str]
    stored: Future[_Stored] | None = None


@dataclass(slots=True)
class _FileRun:
    """The state of one file being ingested: the open window of lines, counts, quarantine."""

    repository: TradeRepository
    summary: FileSummary
    spool: QuarantineSpool
    ingested_at: str
    batch_size: int
    executor: Executor | None = None
    max_in_flight: int = 1
    trades: list[ParsedTrade] = field(default_factory=list)
    rejections: list[RejectedLine] = field(default_factory=list)
    in_flight: deque[_Window] = field(default_factory=deque)

    def add(self, result: LineResult) -> bool:
        """Take one line's result; True when it closed (and settled) a window."""
        if isinstance(result, ParsedTrade):
            self.trades.append(result)
        elif isinstance(result, RejectedLine):
            self.rejections.append(result)
        else:
            self.summary.blank_lines += 1
            return False
        if len(self.trades) + len(self.rejections) >= self.batch_size:
            self.settle()
            return True
        return False

    def settle(self) -> None:
        """Close the open window: store its trades (now, or overlapped with later windows)."""
        if not self.trades and not self.rejections:
            return
        window = _Window(
            self.trades, self.rejections, frozenset(t.trade.trade_id for t in self.trades)
        )
        self.trades, self.rejections = [], []
        if self.executor is None:
            self._apply(window, self._store(window.trades))
            return
        # A window must not overtake one that shares a trade_id (the first line of an id is
        # the one written); at most max_in_flight windows are in flight.
        while self.in_flight and (
            len(self.in_flight) >= self.max_in_flight
            or any(not window.ids.isdisjoint(other.ids) for other in self.in_flight)
        ):
            self._complete_oldest()
        if window.trades:
            window.stored = self.executor.submit(self._store, window.trades)
        self.in_flight.append(window)

    def drain(self) -> None:
        """Settle the open window and wait for every window in flight, in order."""
        self.settle()
        while self.in_flight:
            self._complete_oldest()

    def _complete_oldest(self) -> None:
        window = self.in_flight.popleft()
        stored = window.stored.result() if window.stored is not None else ({}, set())
        self._apply(window, stored)

    def _apply(self, window: _Window, stored: _Stored) -> None:
        """Count the window and quarantine its rejections and conflicts in line order."""
        entries = [QuarantineEntry(r.line, r.reason, r.raw) for r in window.rejections]
        self.summary.rejected += len(window.rejections)
        entries.extend(self._classify(window.trades, *stored))
        if entries:
            for entry in sorted(entries, key=lambda e: e.line):
                self.spool.add(entry)

    def _store(self, trades: list[ParsedTrade]) -> _Stored:
        """The repository calls of one window; touches no shared state (may run in a thread)."""
        if not trades:
            return {}, set()
        ids = list(dict.fromkeys(t.trade.trade_id for t in trades))
        stored: dict[str, str | None] = dict(self.repository.existing_hashes(ids))
        first_new: dict[str, ParsedTrade] = {}
        for parsed in trades:
            if parsed.trade.trade_id not in stored:
                first_new.setdefault(parsed.trade.trade_id, parsed)
        records = [self._record(parsed) for parsed in first_new.values()]
        lost_race: Mapping[str, str | None] = self.repository.insert_new(records) if records else {}
        written = set()
        for trade_id, parsed in first_new.items():
            if trade_id in lost_race:
                stored[trade_id] = lost_race[trade_id]
            else:
                stored[trade_id] = parsed.trade.record_hash
                written.add(parsed.line)
        return stored, written

    def _classify(
        self, trades: list[ParsedTrade], stored: dict[str, str | None], written: set[int]
    ) -> list[QuarantineEntry]:
        conflicts = []
        summary = self.summary
        for parsed in trades:
            trade = parsed.trade
            record_hash = trade.record_hash
            stored_hash = stored[trade.trade_id]
            if parsed.line in written:
                summary.accepted += 1
            elif stored_hash == record_hash:
                summary.duplicates += 1
            else:
                summary.conflicts += 1
                reason = conflict_reason(trade.trade_id, stored_hash, record_hash)
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


DEFAULT_RESERVE_MS: Final = 6_000


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
        max_in_flight: int = 1,
        reserve_ms: int = DEFAULT_RESERVE_MS,
    ) -> None:
        """``max_in_flight``: windows whose repository calls may overlap (1: none, no threads).
        ``reserve_ms``: time kept back, when ``ingest`` is given a remaining-time clock, to
        finish the windows in flight, upload the quarantine and hand over the rest."""
        self._source = source
        self._repository = repository
        self._quarantine = quarantine
        self._quarantine_prefix = quarantine_prefix
        self._batch_size = batch_size
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._reserve_ms = reserve_ms

    def ignore_reason(self, key: str) -> str | None:
        """Why an object must not be processed at all, or None."""
        if key.startswith(self._quarantine_prefix):
            return f"key is under the quarantine prefix {self._quarantine_prefix!r}"
        if key.endswith("/"):
            return "key is a folder marker"
        return None

    def ingest(
        self,
        ref: ObjectRef,
        *,
        resume: Checkpoint | None = None,
        remaining_ms: Callable[[], int] | None = None,
    ) -> FileSummary:
        """Ingest one object (or its part from ``resume`` on). Raises only ``DependencyError``.

        With ``remaining_ms``, processing stops at a line boundary once less than the reserve
        is left (after at least one window, so every part makes progress): the summary then
        has status ``continued`` and a ``continuation`` checkpoint. Counts are the totals of
        all parts so far.
        """
        summary = FileSummary(ref.bucket, ref.key)
        if resume is not None:
            summary.part = resume.part
            summary.quarantine_keys = list(resume.quarantine_keys)
            for name, value in resume.counts.items():
                setattr(summary, name, value)
        ignore_reason = self.ignore_reason(ref.key)
        if ignore_reason is not None:
            summary.status = FileStatus.IGNORED
            summary.reason = ignore_reason
            return summary
        with QuarantineSpool() as spool:
            try:
                self._ingest_lines(ref, summary, spool, resume, remaining_ms)
            except FileRejectedError as exc:
                summary.status = FileStatus.FILE_ERROR
                summary.continuation = None
                summary.reason = exc.reason
                spool.add(QuarantineEntry(0, exc.reason, exc.raw))
            if spool.count:
                key = quarantine_key(self._quarantine_prefix, ref.key, summary.part)
                self._quarantine.put(ref.bucket, key, spool.rewound(), spool.size)
                summary.quarantine_key = key
                summary.quarantine_keys.append(key)
        if summary.continuation is not None:
            summary.status = FileStatus.CONTINUED
            summary.continuation = replace(
                summary.continuation,
                counts={name: getattr(summary, name) for name in COUNTS},
                quarantine_keys=tuple(summary.quarantine_keys),
            )
        return summary

    def _ingest_lines(
        self,
        ref: ObjectRef,
        summary: FileSummary,
        spool: QuarantineSpool,
        resume: Checkpoint | None,
        remaining_ms: Callable[[], int] | None,
    ) -> None:
        file_type = detect_file_type(ref.key)
        if file_type is None:
            raise FileRejectedError(f"unsupported file extension: expected {SUPPORTED_EXTENSIONS}")
        executor = None
        if self._max_in_flight > 1:
            from concurrent.futures import ThreadPoolExecutor

            executor = ThreadPoolExecutor(self._max_in_flight, thread_name_prefix="ingest")
        run = _FileRun(
            repository=self._repository,
            summary=summary,
            spool=spool,
            ingested_at=format_utc(self._clock()),
            batch_size=self._batch_size,
            executor=executor,
            max_in_flight=self._max_in_flight,
        )
        state = ParseState()
        start = skip = 0
        etag = None
        if resume is not None:
            state = ParseState(resume.line, resume.offset, resume.header, resume.seen_content)
            etag = resume.etag
            # A range read for a plain file; a gzip stream is re-read and re-decompressed up
            # to the offset (it has no random access).
            if file_type.gzip:
                skip = resume.offset
            else:
                start = resume.offset
        try:
            opened = (
                self._source.open(ref, start=start, etag=etag) if resume else self._source.open(ref)
            )
            with opened as stream:
                etag = etag or getattr(stream, "etag", None)
                try:
                    self._run(
                        run,
                        parse_file(stream, file_type, state, skip=skip),
                        state,
                        ref,
                        etag,
                        remaining_ms,
                    )
                except FileRejectedError:
                    run.drain()  # keep what was read before the file turned out unusable
                    raise
        except ObjectNotFoundError as exc:
            raise FileRejectedError(f"object not found: {exc}") from None
        finally:
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)

    def _run(
        self,
        run: _FileRun,
        results: Iterator[LineResult],
        state: ParseState,
        ref: ObjectRef,
        etag: str | None,
        remaining_ms: Callable[[], int] | None,
    ) -> None:
        """Feed the results to the run; stop at the first line after time ran short."""
        summary = run.summary
        line, offset = state.line, state.end
        stopping = False
        add = run.add
        for result in results:
            if stopping:
                # This line is left for the next part: checkpoint just before it.
                run.drain()
                summary.continuation = Checkpoint(
                    ref.bucket,
                    ref.key,
                    ref.version_id,
                    etag,
                    offset=offset,
                    line=line,
                    part=summary.part + 1,
                    header=state.header,
                    seen_content=state.seen_content,
                )
                return
            closed = add(result)
            line, offset = state.line, state.end
            if closed and remaining_ms is not None and remaining_ms() < self._reserve_ms:
                stopping = True
        run.drain()
