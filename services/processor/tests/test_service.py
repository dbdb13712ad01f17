"""The ingest service with in-memory adapters: counts, idempotency, conflicts, quarantine."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

import pytest
from processor.adapters.memory import InMemoryObjectStore, InMemoryTradeRepository
from processor.domain.errors import DependencyError
from processor.domain.model import TradeRecord, parse_trade
from processor.domain.ports import ObjectRef, Readable
from processor.domain.service import FileStatus, FileSummary, IngestService

Ingest = Callable[[str, bytes], FileSummary]
Quarantined = Callable[[str], list[dict[str, Any]]]
TradeFactory = Callable[..., dict[str, Any]]
FileFactory = Callable[[Sequence[dict[str, Any]]], bytes]
BUCKET = "trading-data-test"


def counts(summary: FileSummary) -> tuple[int, int, int, int]:
    return summary.accepted, summary.duplicates, summary.conflicts, summary.rejected


def test_a_valid_csv_file_is_stored_with_source_metadata(
    ingest: Ingest, repo: InMemoryTradeRepository, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    summary = ingest("incoming/2026/batch1.csv", csv_bytes([trade(1), trade(2), trade(3)]))

    assert summary.as_dict() == {
        "bucket": BUCKET,
        "key": "incoming/2026/batch1.csv",
        "status": "processed",
        "accepted": 3,
        "duplicates": 0,
        "conflicts": 0,
        "rejected": 0,
        "blank_lines": 0,
        "quarantine_key": None,
        "part": 1,
        "quarantine_keys": [],
        "reason": None,
    }
    record = repo.items["T-000002"]
    assert record.source_key == "incoming/2026/batch1.csv"
    assert record.source_line == 3
    assert record.ingested_at == "2026-03-04T05:06:07.890123Z"
    assert record.record_hash == parse_trade(trade(2)).record_hash


def test_a_json_lines_file_is_stored(
    ingest: Ingest, repo: InMemoryTradeRepository, trade: TradeFactory, jsonl_bytes: FileFactory
) -> None:
    summary = ingest("incoming/b.ndjson", jsonl_bytes([trade(1), trade(2, quantity=5)]))

    assert counts(summary) == (2, 0, 0, 0)
    assert repo.items["T-000002"].trade.quantity == 5


def test_rejected_lines_are_counted_and_quarantined_with_line_numbers(
    ingest: Ingest, quarantined: Quarantined, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    rows = [trade(1), trade(2, side="HOLD"), trade(3), trade(4, price="-1")]

    summary = ingest("incoming/mixed.csv", csv_bytes(rows))

    assert counts(summary) == (2, 0, 0, 2)
    assert summary.quarantine_key == "quarantine/incoming/mixed.csv.jsonl"
    entries = quarantined("incoming/mixed.csv")
    assert [entry["line"] for entry in entries] == [3, 5]
    assert entries[0]["reason"] == "side: must be BUY or SELL (got 'HOLD')"
    assert entries[0]["raw"] == "T-000002,ACC-1,AAPL,HOLD,100,189.25,USD,2026-01-02T09:30:00Z"
    assert entries[1]["reason"] == "price: must be greater than 0 (got '-1')"
    assert set(entries[0]) == {"line", "reason", "raw"}


def test_no_quarantine_object_when_every_line_is_good(
    ingest: Ingest, store: InMemoryObjectStore, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    ingest("incoming/good.csv", csv_bytes([trade(1)]))

    assert (BUCKET, "quarantine/incoming/good.csv.jsonl") not in store.objects


def test_quarantined_raw_text_is_truncated_to_4096_characters(
    ingest: Ingest, quarantined: Quarantined
) -> None:
    ingest("incoming/long.jsonl", b'{"trade_id": "' + b"x" * 10_000 + b'"}\n')

    (entry,) = quarantined("incoming/long.jsonl")
    assert len(entry["raw"]) == 4096
    assert entry["raw"].startswith('{"trade_id": "xxx')


def test_processing_the_same_file_again_counts_duplicates_and_writes_nothing(
    ingest: Ingest, repo: InMemoryTradeRepository, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    data = csv_bytes([trade(1), trade(2)])
    ingest("incoming/a.csv", data)
    stored_before = dict(repo.items)

    again = ingest("incoming/a.csv", data)

    assert counts(again) == (0, 2, 0, 0)
    assert repo.items == stored_before
    assert repo.inserts == [["T-000001", "T-000002"]]


def test_the_same_trade_under_another_key_is_a_duplicate_and_keeps_its_source(
    ingest: Ingest,
    repo: InMemoryTradeRepository,
    trade: TradeFactory,
    jsonl_bytes: FileFactory,
    csv_bytes: FileFactory,
) -> None:
    ingest("incoming/first.csv", csv_bytes([trade(1)]))

    summary = ingest("incoming/copy.jsonl", jsonl_bytes([trade(1, price="189.250")]))

    assert counts(summary) == (0, 1, 0, 0)
    assert repo.items["T-000001"].source_key == "incoming/first.csv"


def test_a_different_trade_with_a_stored_id_is_a_conflict_and_is_not_written(
    ingest: Ingest,
    repo: InMemoryTradeRepository,
    quarantined: Quarantined,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    ingest("incoming/first.csv", csv_bytes([trade(1), trade(2)]))
    original = repo.items["T-000001"]

    summary = ingest(
        "incoming/second.csv", csv_bytes([trade(2), trade(1, price="190.00"), trade(3)])
    )

    assert counts(summary) == (1, 1, 1, 0)
    assert repo.items["T-000001"] == original
    (entry,) = quarantined("incoming/second.csv")
    assert entry["line"] == 3
    assert entry["reason"].startswith("conflict: trade_id 'T-000001' is already stored")
    assert original.record_hash in entry["reason"]
    assert entry["raw"].startswith("T-000001,ACC-1,AAPL,BUY,100,190.00,")


def test_repeats_inside_one_file_are_duplicates_or_conflicts_of_the_first(
    ingest: Ingest,
    repo: InMemoryTradeRepository,
    quarantined: Quarantined,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    rows = [trade(1), trade(1), trade(1, quantity="7"), trade(2)]

    summary = ingest("incoming/repeats.csv", csv_bytes(rows))

    assert counts(summary) == (2, 1, 1, 0)
    assert repo.items["T-000001"].trade.quantity == 100
    assert [entry["line"] for entry in quarantined("incoming/repeats.csv")] == [4]


def test_repeats_across_windows_are_classified_against_the_table(
    store: InMemoryObjectStore,
    repo: InMemoryTradeRepository,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    service = IngestService(store, repo, store, quarantine_prefix="quarantine/", batch_size=2)
    store.add(
        BUCKET, "incoming/w.csv", csv_bytes([trade(1), trade(2), trade(1), trade(2, side="SELL")])
    )

    summary = service.ingest(ObjectRef(BUCKET, "incoming/w.csv"))

    assert counts(summary) == (2, 1, 1, 0)
    assert repo.lookups == [["T-000001", "T-000002"], ["T-000001", "T-000002"]]


def test_lines_are_written_in_windows_of_at_most_100(
    ingest: Ingest, repo: InMemoryTradeRepository, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    summary = ingest("incoming/big.csv", csv_bytes([trade(n) for n in range(1, 251)]))

    assert counts(summary) == (250, 0, 0, 0)
    assert [len(ids) for ids in repo.lookups] == [100, 100, 50]
    assert [len(ids) for ids in repo.inserts] == [100, 100, 50]


def test_quarantine_entries_are_in_line_order_across_rejections_and_conflicts(
    ingest: Ingest, quarantined: Quarantined, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    ingest("incoming/seed.csv", csv_bytes([trade(2)]))
    rows = [trade(1, side="x"), trade(2, quantity="9"), trade(3, currency="x"), trade(4)]

    summary = ingest("incoming/order.csv", csv_bytes(rows))

    assert counts(summary) == (1, 0, 1, 2)
    assert [entry["line"] for entry in quarantined("incoming/order.csv")] == [2, 3, 4]


def test_a_lost_race_is_a_duplicate_or_conflict_never_an_overwrite(
    ingest: Ingest, repo: InMemoryTradeRepository, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    """Another writer stores T-1 (same content) and T-2 (other content) after our lookup."""

    def concurrent_writer(records: Sequence[TradeRecord]) -> None:
        repo.before_insert = None
        repo.foreign_hashes["T-000001"] = parse_trade(trade(1)).record_hash
        repo.foreign_hashes["T-000002"] = "f" * 64

    repo.before_insert = concurrent_writer

    summary = ingest("incoming/race.csv", csv_bytes([trade(1), trade(2), trade(3), trade(2)]))

    assert counts(summary) == (1, 1, 2, 0)
    assert set(repo.items) == {"T-000003"}


def test_an_item_without_record_hash_is_a_conflict(
    ingest: Ingest,
    repo: InMemoryTradeRepository,
    quarantined: Quarantined,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    repo.foreign_hashes["T-000001"] = None

    summary = ingest("incoming/legacy.csv", csv_bytes([trade(1)]))

    assert counts(summary) == (0, 0, 1, 0)
    assert "stored record_hash missing" in quarantined("incoming/legacy.csv")[0]["reason"]


def test_blank_lines_are_counted_separately(
    ingest: Ingest, trade: TradeFactory, jsonl_bytes: FileFactory
) -> None:
    data = b"\n" + jsonl_bytes([trade(1)]) + b"  \n\r\n" + jsonl_bytes([trade(2)])

    summary = ingest("incoming/blanks.jsonl", data)

    assert counts(summary) == (2, 0, 0, 0)
    assert summary.blank_lines == 3


@pytest.mark.parametrize(
    ("key", "data", "reason"),
    [
        (
            "incoming/a.xlsx",
            b"whatever",
            "unsupported file extension: expected .csv, .jsonl, .ndjson",
        ),
        ("incoming/empty.csv", b"", "file is empty (no CSV header)"),
        ("incoming/empty.jsonl", b"\n\n", "file is empty"),
        (
            "incoming/bad-header.csv",
            b"id,price\n1,2\n",
            "bad CSV header (line 1): missing column(s)",
        ),
        ("incoming/not-gzip.csv.gz", b"trade_id\n", "file is not valid gzip data"),
        (
            "incoming/utf16.csv",
            "trade_id".encode("utf-16"),
            "CSV header (line 1): line is not valid UTF-8",
        ),
    ],
)
def test_unusable_files_are_reported_at_line_zero_without_raising(
    ingest: Ingest, quarantined: Quarantined, key: str, data: bytes, reason: str
) -> None:
    summary = ingest(key, data)

    assert summary.status is FileStatus.FILE_ERROR
    assert summary.reason is not None and summary.reason.startswith(reason)
    assert counts(summary) == (0, 0, 0, 0)
    (entry,) = quarantined(key)
    assert entry["line"] == 0
    assert entry["reason"] == summary.reason


def test_a_vanished_object_is_a_file_error(
    service: IngestService, quarantined: Quarantined
) -> None:
    summary = service.ingest(ObjectRef(BUCKET, "incoming/gone.csv"))

    assert summary.status is FileStatus.FILE_ERROR
    assert summary.reason == "object not found: s3://trading-data-test/incoming/gone.csv: NoSuchKey"
    assert quarantined("incoming/gone.csv")[0]["line"] == 0


def test_lines_before_a_corrupt_gzip_tail_are_kept_and_the_file_is_flagged(
    ingest: Ingest,
    repo: InMemoryTradeRepository,
    quarantined: Quarantined,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    data = gzip.compress(csv_bytes([trade(n) for n in range(1, 3001)]))[:-100]

    summary = ingest("incoming/cut.csv.gz", data)

    assert summary.status is FileStatus.FILE_ERROR
    assert summary.accepted == len(repo.items) > 2000
    assert quarantined("incoming/cut.csv.gz")[-1]["line"] == 0


@pytest.mark.parametrize(
    "key", ["quarantine/incoming/a.csv.jsonl", "quarantine/x.csv", "incoming/folder/"]
)
def test_quarantine_keys_and_folder_markers_are_ignored_without_reading(
    service: IngestService, store: InMemoryObjectStore, key: str
) -> None:
    store.add(BUCKET, key, b"trade_id\n")

    summary = service.ingest(ObjectRef(BUCKET, key))

    assert summary.status is FileStatus.IGNORED
    assert store.opened == []
    assert (BUCKET, f"quarantine/{key}.jsonl") not in store.objects


class FailingStream:
    """A body that breaks after some bytes, as a dropped connection does."""

    def __init__(self, data: bytes, fail_after: int) -> None:
        self._data = io.BytesIO(data)
        self._left = fail_after

    def read(self, size: int, /) -> bytes:
        if self._left <= 0:
            raise DependencyError("s3:GetObject failed: ResponseStreamingError")
        chunk = self._data.read(min(size, self._left))
        self._left -= len(chunk)
        return chunk


class FailingSource:
    def __init__(self, data: bytes, fail_after: int) -> None:
        self._data = data
        self._fail_after = fail_after

    @contextmanager
    def open(
        self, ref: ObjectRef, *, start: int = 0, etag: str | None = None
    ) -> Iterator[Readable]:
        yield FailingStream(self._data, self._fail_after)


def test_a_read_failure_mid_file_raises_and_quarantines_nothing(
    store: InMemoryObjectStore,
    repo: InMemoryTradeRepository,
    trade: TradeFactory,
    csv_bytes: FileFactory,
) -> None:
    data = csv_bytes([trade(n) for n in range(1, 400)])
    service = IngestService(
        FailingSource(data, 20_000), repo, store, quarantine_prefix="quarantine/"
    )

    with pytest.raises(DependencyError, match="ResponseStreamingError"):
        service.ingest(ObjectRef(BUCKET, "incoming/flaky.csv"))

    assert store.objects == {}


def test_a_repository_failure_raises(
    ingest: Ingest, repo: InMemoryTradeRepository, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    def throttled(records: Sequence[TradeRecord]) -> None:
        raise DependencyError("dynamodb:TransactWriteItems failed: ProvisionedThroughputExceeded")

    repo.before_insert = throttled

    with pytest.raises(DependencyError):
        ingest("incoming/a.csv", csv_bytes([trade(1)]))


class GeneratedFile:
    """A large CSV produced on the fly, one row per read (a stream may return short reads)."""

    def __init__(self, lines: int) -> None:
        self._rows = self._generate(lines)
        self.size = 0

    @staticmethod
    def _generate(lines: int) -> Iterator[bytes]:
        yield b"trade_id,account_id,symbol,side,quantity,price,currency,executed_at\n"
        for n in range(lines):
            trade_id, account_id = f"G-{n:062d}", f"ACCOUNT-{n % 7:056d}"  # 64 characters each
            yield (
                f"{trade_id},{account_id},AAPL,SELL,{n + 1},{n}.25,USD,2026-01-02T09:30:00+08:00\n"
            ).encode()

    def read(self, size: int, /) -> bytes:
        row = next(self._rows, b"")
        self.size += len(row)
        return row


class CountingRepository:
    """Stores nothing (so it does not grow): every id is new."""

    def __init__(self) -> None:
        self.written = 0

    def existing_hashes(self, trade_ids: Collection[str]) -> dict[str, str | None]:
        return {}

    def insert_new(self, records: Sequence[TradeRecord]) -> dict[str, str | None]:
        self.written += len(records)
        return {}


class NullSink:
    def put(self, bucket: str, key: str, body: IO[bytes], length: int) -> None:
        raise AssertionError("nothing should be quarantined")


def peak_memory_of_ingesting(service: IngestService, key: str) -> tuple[FileSummary, int]:
    tracemalloc.start()
    try:
        summary = service.ingest(ObjectRef(BUCKET, key))
        return summary, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_however_large_the_file() -> None:
    repository = CountingRepository()
    files = [GeneratedFile(100), GeneratedFile(500), GeneratedFile(3_000)]
    opened = iter(files)

    class Source:
        @contextmanager
        def open(
            self, ref: ObjectRef, *, start: int = 0, etag: str | None = None
        ) -> Iterator[Readable]:
            yield next(opened)

    service = IngestService(Source(), repository, NullSink(), quarantine_prefix="quarantine/")
    service.ingest(ObjectRef(BUCKET, "incoming/warm-up.csv"))  # first-use caches, not per file

    small, small_peak = peak_memory_of_ingesting(service, "incoming/small.csv")
    large, large_peak = peak_memory_of_ingesting(service, "incoming/large.csv")

    assert (small.accepted, large.accepted) == (500, 3_000)
    assert repository.written == 3_600
    # Peak memory is one window of 100 trades, whatever the number of lines.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)
    assert large_peak < files[2].size / 2, (large_peak, files[2].size)


def test_summary_log_fields_are_json_serialisable(
    ingest: Ingest, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    summary = ingest("incoming/a.csv", csv_bytes([trade(1), trade(2, side="?")]))

    assert json.loads(json.dumps(summary.as_dict()))["rejected"] == 1
    assert summary.data_lines == 2
