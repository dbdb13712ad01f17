"""Files larger than one invocation: checkpoints, continuations and their totals.

The remaining time of an invocation is a fake clock: ``PartClock(n)`` leaves plenty of time
for ``n`` windows, then none, so a part stops after its n-th window.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from processor.adapters.memory import InMemoryObjectStore, InMemoryTradeRepository
from processor.domain.checkpoint import Checkpoint
from processor.domain.ports import ObjectRef
from processor.domain.service import FileStatus, FileSummary, IngestService

BUCKET = "trading-data-test"
TradeFactory = Callable[..., dict[str, Any]]
FileFactory = Callable[[Sequence[dict[str, Any]]], bytes]


class PartClock:
    """Remaining milliseconds: ample for ``windows`` checks, then below any reserve."""

    def __init__(self, windows: int) -> None:
        self.left = windows

    def __call__(self) -> int:
        self.left -= 1
        return 600_000 if self.left > 0 else 0


def make_service(
    store: InMemoryObjectStore, repo: InMemoryTradeRepository, **options: Any
) -> IngestService:
    return IngestService(
        store, repo, store, quarantine_prefix="quarantine/", batch_size=10, **options
    )


def through_the_event(checkpoint: Checkpoint) -> Checkpoint:
    """The checkpoint as the next invocation receives it (JSON event, read back)."""
    return Checkpoint.from_event(json.loads(json.dumps(checkpoint.to_event())))


def ingest_in_parts(service: IngestService, key: str, windows_per_part: int) -> list[FileSummary]:
    summaries = [service.ingest(ObjectRef(BUCKET, key), remaining_ms=PartClock(windows_per_part))]
    while (checkpoint := summaries[-1].continuation) is not None:
        resume = through_the_event(checkpoint)
        summaries.append(
            service.ingest(resume.ref, resume=resume, remaining_ms=PartClock(windows_per_part))
        )
    return summaries


def counts(summary: FileSummary) -> tuple[int, ...]:
    return (
        summary.accepted,
        summary.duplicates,
        summary.conflicts,
        summary.rejected,
        summary.blank_lines,
    )


def quarantine_entries(store: InMemoryObjectStore, keys: Sequence[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for key in keys for line in store.objects[(BUCKET, key)].splitlines()]


def mixed_rows(trade: TradeFactory) -> list[dict[str, Any]]:
    """95 lines: new trades, rejections, repeats (duplicates and conflicts) across windows."""
    rows = []
    for number in range(1, 96):
        if number % 9 == 0:
            rows.append(trade(number, side="HOLD"))
        elif number % 13 == 0:
            rows.append(trade(number - 12))  # same as an earlier line: a duplicate
        elif number % 17 == 0:
            rows.append(trade(number - 16, quantity="7"))  # an earlier id, other content
        else:
            rows.append(trade(number))
    return rows


def single_pass(data: bytes, key: str) -> tuple[FileSummary, InMemoryTradeRepository, list[Any]]:
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, key, data)
    summary = make_service(store, repo).ingest(ObjectRef(BUCKET, key))
    return summary, repo, quarantine_entries(store, summary.quarantine_keys)


@pytest.mark.parametrize("key", ["incoming/day.csv", "incoming/day.csv.gz"])
def test_a_file_needing_several_invocations_ends_with_the_counts_of_a_single_pass(
    key: str, trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    data = csv_bytes(mixed_rows(trade)).replace(b"\n", b"\n\n", 3)  # some blank lines too
    if key.endswith(".gz"):
        data = gzip.compress(data)
    expected, expected_repo, expected_entries = single_pass(data, key)
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, key, data)

    parts = ingest_in_parts(make_service(store, repo), key, windows_per_part=3)

    assert len(parts) >= 3
    assert [part.part for part in parts] == list(range(1, len(parts) + 1))
    assert [part.status for part in parts] == [FileStatus.CONTINUED] * (len(parts) - 1) + [
        FileStatus.PROCESSED
    ]
    assert counts(parts[-1]) == counts(expected)
    assert {i: r.record_hash for i, r in repo.items.items()} == {
        i: r.record_hash for i, r in expected_repo.items.items()
    }
    assert {i: r.source_line for i, r in repo.items.items()} == {
        i: r.source_line for i, r in expected_repo.items.items()
    }
    assert quarantine_entries(store, parts[-1].quarantine_keys) == expected_entries


def test_each_part_resumes_at_the_next_line_with_a_ranged_read(
    trade: TradeFactory, jsonl_bytes: FileFactory
) -> None:
    lines = [jsonl_bytes([trade(n)]) for n in range(1, 36)]
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, "incoming/f.jsonl", b"".join(lines))

    parts = ingest_in_parts(make_service(store, repo), "incoming/f.jsonl", windows_per_part=1)

    checkpoints = [part.continuation for part in parts[:-1]]
    assert [(c.line, c.offset) for c in checkpoints if c] == [
        (10, len(b"".join(lines[:10]))),
        (20, len(b"".join(lines[:20]))),
        (30, len(b"".join(lines[:30]))),
    ]
    assert store.reads == [("incoming/f.jsonl", 0)] + [
        ("incoming/f.jsonl", c.offset) for c in checkpoints if c
    ]
    assert parts[-1].accepted == 35
    assert sorted(r.source_line for r in repo.items.values()) == list(range(1, 36))


def test_a_gzip_part_re_reads_the_file_from_the_start_and_skips_to_the_checkpoint(
    trade: TradeFactory, jsonl_bytes: FileFactory
) -> None:
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(
        BUCKET, "incoming/f.jsonl.gz", gzip.compress(jsonl_bytes([trade(n) for n in range(1, 26)]))
    )

    parts = ingest_in_parts(make_service(store, repo), "incoming/f.jsonl.gz", windows_per_part=1)

    assert len(parts) == 3
    assert store.reads == [("incoming/f.jsonl.gz", 0)] * 3
    assert parts[-1].accepted == 25


def test_quarantine_objects_of_all_parts_are_named_after_the_file(
    trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    rows = [trade(n, side="HOLD") if n % 5 == 0 else trade(n) for n in range(1, 31)]
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, "incoming/q.csv", csv_bytes(rows))

    parts = ingest_in_parts(make_service(store, repo), "incoming/q.csv", windows_per_part=1)

    assert parts[-1].quarantine_keys == [
        "quarantine/incoming/q.csv.jsonl",
        "quarantine/incoming/q.csv.part-2.jsonl",
        "quarantine/incoming/q.csv.part-3.jsonl",
    ]
    assert parts[-1].quarantine_key == "quarantine/incoming/q.csv.part-3.jsonl"
    lines = [e["line"] for e in quarantine_entries(store, parts[-1].quarantine_keys)]
    assert lines == [6, 11, 16, 21, 26, 31]


def test_a_redelivered_continuation_writes_nothing_twice(
    trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, "incoming/r.csv", csv_bytes([trade(n) for n in range(1, 31)]))
    service = make_service(store, repo)
    first = service.ingest(ObjectRef(BUCKET, "incoming/r.csv"), remaining_ms=PartClock(1))
    assert first.continuation is not None
    event = through_the_event(first.continuation)

    second = service.ingest(event.ref, resume=event, remaining_ms=PartClock(100))
    stored = dict(repo.items)
    redelivered = service.ingest(event.ref, resume=event, remaining_ms=PartClock(100))

    written = [trade_id for batch in repo.inserts for trade_id in batch]
    assert len(written) == len(set(written)) == 30
    assert repo.items == stored
    assert (second.accepted, second.duplicates) == (30, 0)
    assert (redelivered.accepted, redelivered.duplicates) == (10, 20)


def test_a_replaced_object_is_not_mixed_into_its_continuation(
    trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, "incoming/x.csv", csv_bytes([trade(n) for n in range(1, 31)]))
    service = make_service(store, repo)
    first = service.ingest(ObjectRef(BUCKET, "incoming/x.csv"), remaining_ms=PartClock(1))
    assert first.continuation is not None
    store.add(BUCKET, "incoming/x.csv", csv_bytes([trade(n) for n in range(100, 140)]))

    second = service.ingest(first.continuation.ref, resume=first.continuation)

    assert second.status is FileStatus.FILE_ERROR
    assert second.reason is not None and "PreconditionFailed" in second.reason
    assert set(repo.items) == {f"T-{n:06d}" for n in range(1, 11)}


def test_every_part_makes_progress_even_with_no_time_left(
    trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, "incoming/p.csv", csv_bytes([trade(n) for n in range(1, 31)]))

    parts = ingest_in_parts(make_service(store, repo), "incoming/p.csv", windows_per_part=0)

    assert len(parts) == 3
    assert parts[-1].accepted == 30


def test_no_continuation_when_time_runs_short_after_the_last_line(
    trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, "incoming/e.csv", csv_bytes([trade(n) for n in range(1, 11)]))

    summary = make_service(store, repo).ingest(
        ObjectRef(BUCKET, "incoming/e.csv"), remaining_ms=PartClock(0)
    )

    assert (summary.status, summary.continuation, summary.accepted) == (
        FileStatus.PROCESSED,
        None,
        10,
    )


def test_without_a_clock_a_file_is_processed_in_one_part(
    trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, "incoming/n.csv", csv_bytes([trade(n) for n in range(1, 51)]))

    summary = make_service(store, repo).ingest(ObjectRef(BUCKET, "incoming/n.csv"))

    assert (summary.status, summary.part, summary.accepted) == (FileStatus.PROCESSED, 1, 50)


def test_overlapped_windows_give_the_results_of_a_sequential_run(
    trade: TradeFactory, csv_bytes: FileFactory
) -> None:
    data = csv_bytes(mixed_rows(trade))
    expected, expected_repo, expected_entries = single_pass(data, "incoming/o.csv")
    store, repo = InMemoryObjectStore(), InMemoryTradeRepository()
    store.add(BUCKET, "incoming/o.csv", data)

    summary = make_service(store, repo, max_in_flight=4).ingest(ObjectRef(BUCKET, "incoming/o.csv"))

    assert counts(summary) == counts(expected)
    assert {i: r.source_line for i, r in repo.items.items()} == {
        i: r.source_line for i, r in expected_repo.items.items()
    }
    assert quarantine_entries(store, summary.quarantine_keys) == expected_entries


def test_a_continuation_event_round_trips_and_foreign_ones_are_refused() -> None:
    checkpoint = Checkpoint(
        BUCKET, "incoming/a.csv", "v1", '"etag"', offset=120, line=11, part=2,
        header=("trade_id",), seen_content=True,
        counts={"accepted": 1, "duplicates": 2, "conflicts": 3, "rejected": 4, "blank_lines": 5},
        quarantine_keys=("quarantine/incoming/a.csv.jsonl",),
    )  # fmt: skip

    assert through_the_event(checkpoint) == checkpoint
    bad = checkpoint.to_event()
    bad["processor_continuation"]["offset"] = -1
    with pytest.raises(ValueError, match="invalid continuation event"):
        Checkpoint.from_event(bad)
