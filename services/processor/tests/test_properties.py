"""Properties of parsing + validation + classification over arbitrary input.

Whatever the lines, ingesting never raises, and every non-blank data line is counted exactly
once as accepted, duplicate, conflict or rejected; the quarantine object holds exactly the
rejected and conflicting lines, by line number.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processor.adapters.memory import InMemoryObjectStore, InMemoryTradeRepository
from processor.domain.model import FIELDS
from processor.domain.ports import ObjectRef
from processor.domain.service import FileStatus, FileSummary, IngestService

BUCKET = "property-bucket"
HEADER = ",".join(FIELDS)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Text without the line separator; "\r", NUL, BOMs, quotes and non-ASCII are all allowed.
line_text = st.text(st.characters(exclude_characters="\n"), max_size=120)

valid_trade = st.fixed_dictionaries(
    {
        "trade_id": st.sampled_from(["T-1", "T-2", "T-3"]),
        "account_id": st.just("ACC-1"),
        "symbol": st.sampled_from(["AAPL", "BRK.B"]),
        "side": st.sampled_from(["BUY", "SELL"]),
        "quantity": st.integers(min_value=1, max_value=3),
        "price": st.sampled_from([Decimal("1.5"), Decimal("1.50"), Decimal("2")]),
        "currency": st.just("USD"),
        "executed_at": st.sampled_from(["2026-01-02T09:30:00Z", "2026-01-02T17:30:00+08:00"]),
    }
)

json_scalar = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
json_value = st.recursive(
    json_scalar | st.decimals(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
# Objects with (some of) the trade's field names and arbitrary values, plus stray keys.
trade_like_object = st.dictionaries(
    st.sampled_from([*FIELDS, "venue", ""]),
    json_value | valid_trade.flatmap(lambda trade: st.sampled_from(list(trade.values()))),
    max_size=9,
)
SEED_TRADE = {
    "trade_id": "T-1",
    "account_id": "ACC-1",
    "symbol": "AAPL",
    "side": "BUY",
    "quantity": 1,
    "price": "1.5",
    "currency": "USD",
    "executed_at": "2026-01-02T09:30:00Z",
}


def to_json(value: Any) -> str:
    return json.dumps(value, default=str)


def run(key: str, data: bytes, prefill: bool = False) -> tuple[FileSummary, list[dict[str, Any]]]:
    store = InMemoryObjectStore()
    repository = InMemoryTradeRepository()
    service = IngestService(store, repository, store, quarantine_prefix="quarantine/", batch_size=7)
    if prefill:  # the same trade ids already stored with some content
        store.add(BUCKET, "incoming/seed.jsonl", to_json(SEED_TRADE).encode())
        service.ingest(ObjectRef(BUCKET, "incoming/seed.jsonl"))
    store.add(BUCKET, key, data)
    summary = service.ingest(ObjectRef(BUCKET, key))
    raw = store.objects.get((BUCKET, f"quarantine/{key}.jsonl"), b"")
    entries = [json.loads(line) for line in raw.splitlines()]
    assert len(repository.items) == summary.accepted + (1 if prefill else 0)
    return summary, entries


def assert_every_line_accounted_for(
    summary: FileSummary, entries: list[dict[str, Any]], lines: list[str], first_data_line: int
) -> None:
    """Data lines are physical lines ``first_data_line``..; blank ones are counted apart."""
    if summary.status is FileStatus.FILE_ERROR:
        assert entries[-1]["line"] == 0
        assert summary.reason == entries[-1]["reason"]
        entries = entries[:-1]
    else:
        assert summary.status is FileStatus.PROCESSED
        assert summary.data_lines + summary.blank_lines == len(lines)
    quarantined_lines = [entry["line"] for entry in entries]
    assert len(quarantined_lines) == summary.rejected + summary.conflicts
    assert quarantined_lines == sorted(set(quarantined_lines))
    last_line = first_data_line + len(lines) - 1
    assert all(first_data_line <= line <= last_line for line in quarantined_lines)
    for entry in entries:
        assert entry["reason"]
        assert len(entry["raw"]) <= 4096


@PROPERTY_SETTINGS
@given(st.lists(line_text, max_size=25))
def test_arbitrary_text_as_json_lines(lines: list[str]) -> None:
    data = "".join(f"{line}\n" for line in lines).encode("utf-8", "surrogatepass")

    summary, entries = run("incoming/text.jsonl", data)

    if all(not line.strip() for line in lines):
        assert summary.status is FileStatus.FILE_ERROR
    assert_every_line_accounted_for(summary, entries, lines, first_data_line=1)


@PROPERTY_SETTINGS
@given(st.lists(line_text, max_size=25))
def test_arbitrary_text_under_a_valid_csv_header(lines: list[str]) -> None:
    data = "".join(f"{line}\n" for line in [HEADER, *lines]).encode("utf-8", "surrogatepass")

    summary, entries = run("incoming/text.csv", data)

    assert summary.status is FileStatus.PROCESSED
    assert_every_line_accounted_for(summary, entries, lines, first_data_line=2)


@PROPERTY_SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for key in ("incoming/bytes.csv", "incoming/bytes.jsonl", "incoming/bytes.csv.gz"):
        summary, entries = run(key, data)
        assert (
            summary.data_lines
            == summary.accepted + summary.duplicates + summary.conflicts + summary.rejected
        )
        assert len(entries) == summary.rejected + summary.conflicts + (
            summary.status is FileStatus.FILE_ERROR
        )


@PROPERTY_SETTINGS
@given(st.lists(trade_like_object | json_value, max_size=12), st.booleans())
def test_random_json_objects(objects: list[Any], prefill: bool) -> None:
    lines = [to_json(value) for value in objects]
    data = "".join(f"{line}\n" for line in lines).encode()

    summary, entries = run("incoming/objects.jsonl", data, prefill=prefill)

    if lines:
        assert_every_line_accounted_for(summary, entries, lines, first_data_line=1)
    else:
        assert summary.status is FileStatus.FILE_ERROR


@PROPERTY_SETTINGS
@given(st.lists(valid_trade, min_size=1, max_size=20), st.booleans())
def test_valid_trades_are_accepted_once_and_then_only_duplicates_or_conflicts(
    trades: list[dict[str, Any]], prefill: bool
) -> None:
    lines = [to_json(trade) for trade in trades]
    data = "".join(f"{line}\n" for line in lines).encode()

    summary, entries = run("incoming/valid.jsonl", data, prefill=prefill)

    assert summary.rejected == 0
    distinct_ids = {trade["trade_id"] for trade in trades}
    assert summary.accepted == len(distinct_ids - ({"T-1"} if prefill else set()))
    assert_every_line_accounted_for(summary, entries, lines, first_data_line=1)
    assert all(entry["reason"].startswith("conflict: ") for entry in entries)
