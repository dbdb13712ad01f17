"""The generated trade files: CSV lines like those of ``services/processor/benchmarks/report.py``
(1 in 100 has the side ``HOLD``, which the processor rejects), with trade ids unique to the run
and the file, so no line is a duplicate of an earlier run's."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from processor.domain.model import FIELDS

from tooling.ingest_bench.errors import IngestBenchError

__all__ = ["TradeFile", "csv_line", "new_run_id", "trade_fields", "write_trade_file"]

#: The generated lines' fields, as services/processor/benchmarks/report.py writes them.
_SYMBOLS: Final = ("AAPL", "MSFT", "BRK.B", "0700.HK")
_CURRENCIES: Final = ("USD", "HKD", "SGD")
_BATCH_LINES: Final = 10_000


def new_run_id() -> str:
    """Twelve hex digits of a random UUID: what makes a run's trade ids and keys its own."""
    return uuid.uuid4().hex[:12]


def trade_fields(id_prefix: str, number: int) -> tuple[str, ...]:
    """The fields of line ``number`` (from 0): those of the processor benchmark's
    ``trade_fields`` with the trade id ``<id_prefix>-<number>``. Line 99 of every 100 has the
    side ``HOLD``: rejected.

    An equivalent rather than an import: services/processor/benchmarks/report.py is a script
    of the processor package that imports the package's service and adapters, and its trade
    ids (``T-<number>``) are the same in every file (tests keep the other fields equal)."""
    side = "HOLD" if number % 100 == 99 else ("BUY" if number % 2 else "SELL")
    return (
        f"{id_prefix}-{number:09d}",
        f"ACC-{number % 977}",
        _SYMBOLS[number % 4],
        side,
        str(1 + number % 5000),
        f"{100 + number % 9000}.{number % 100:02d}",
        _CURRENCIES[number % 3],
        f"2026-01-02T{9 + number % 8:02d}:{number % 60:02d}:{number % 59:02d}.{number % 1000:03d}Z",
    )


def csv_line(id_prefix: str, number: int) -> str:
    return ",".join(trade_fields(id_prefix, number)) + "\n"


@dataclass(frozen=True)
class TradeFile:
    """A generated CSV file: the header, then ``lines`` trades."""

    path: Path
    lines: int
    size: int
    id_prefix: str

    @property
    def expected_rejected(self) -> int:
        """The ``HOLD`` lines (line 99 of every 100)."""
        return self.lines // 100

    @property
    def expected_accepted(self) -> int:
        return self.lines - self.expected_rejected


def write_trade_file(directory: Path, lines: int, *, run_id: str, index: int) -> TradeFile:
    """The run's file number ``index`` (from 0) of ``lines`` trades, written into ``directory``
    as ``ingest-<run_id>-<index + 1>-<lines>.csv``; its trade ids are ``IB-<run_id>-<index +
    1>-<line number>``."""
    if lines < 1:
        raise IngestBenchError(f"a trade file of {lines} lines: at least 1.", 2)
    id_prefix = f"IB-{run_id}-{index + 1}"
    path = directory / f"ingest-{run_id}-{index + 1}-{lines}.csv"
    with path.open("w", encoding="ascii", newline="\n") as out:
        out.write(",".join(FIELDS) + "\n")
        for start in range(0, lines, _BATCH_LINES):
            out.write(
                "".join(
                    csv_line(id_prefix, n) for n in range(start, min(lines, start + _BATCH_LINES))
                )
            )
    return TradeFile(path=path, lines=lines, size=path.stat().st_size, id_prefix=id_prefix)
