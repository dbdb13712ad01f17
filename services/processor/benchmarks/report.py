"""Performance report of the processor: throughput, peak memory and cold import time.

Run from the repository root (a report that prints measured numbers, not a timed test)::

    .venv/bin/python services/processor/benchmarks/report.py            # everything
    .venv/bin/python services/processor/benchmarks/report.py --skip-memory --skip-import

* **Throughput**: lines/s of ``IngestService.ingest`` (parse + validate + classify + quarantine)
  with the in-memory adapters, for CSV and JSON Lines, plain and gzip; best of ``--repeat``
  runs over ``--lines`` lines (1 % of them rejected, the rest distinct valid trades).
* **Peak memory**: ``tracemalloc`` peak while ingesting a generated file of
  ``--memory-lines`` lines, streamed from a generator (the file itself is never held in
  memory) into a repository that keeps nothing, so the figure is the service's own working
  set; the same for a file ten times smaller shows whether memory grows with the file.
* **Cold import**: wall time of ``import processor.handler`` in a fresh CPython 3.12 from
  the unpacked ``dist/processor.zip`` with the Lambda runtime's boto3 beside it (like
  tests/build), median of ``--import-runs`` runs. Measured by the repository's
  ``tooling/services_bench.py`` (which measures every handler for ``./tap bench --services``),
  run as a command: it needs the repository's build, runtime and interpreter finder anyway.

It imports only the package itself and the standard library (no repository tooling).
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from processor.adapters.memory import InMemoryObjectStore, InMemoryTradeRepository
from processor.domain import model
from processor.domain.model import FIELDS, TradeRecord
from processor.domain.ports import ObjectRef, Readable
from processor.domain.service import IngestService

REPO_ROOT = Path(__file__).resolve().parents[3]
BUCKET = "bench"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def trade_fields(number: int) -> tuple[str, ...]:
    side = "HOLD" if number % 100 == 99 else ("BUY" if number % 2 else "SELL")
    return (
        f"T-{number:09d}",
        f"ACC-{number % 977}",
        ("AAPL", "MSFT", "BRK.B", "0700.HK")[number % 4],
        side,
        str(1 + number % 5000),
        f"{100 + number % 9000}.{number % 100:02d}",
        ("USD", "HKD", "SGD")[number % 3],
        f"2026-01-02T{9 + number % 8:02d}:{number % 60:02d}:{number % 59:02d}.{number % 1000:03d}Z",
    )


def csv_line(number: int) -> bytes:
    return (",".join(trade_fields(number)) + "\n").encode()


def jsonl_line(number: int) -> bytes:
    values = trade_fields(number)
    parts = []
    for name, value in zip(FIELDS, values, strict=True):
        rendered = value if name in ("quantity", "price") else f'"{value}"'
        parts.append(f'"{name}": {rendered}')
    return ("{" + ", ".join(parts) + "}\n").encode()


def header_for(kind: str) -> bytes:
    return (",".join(FIELDS) + "\n").encode() if kind == "csv" else b""


def build_file(kind: str, lines: int, compressed: bool) -> bytes:
    line = csv_line if kind == "csv" else jsonl_line
    data = header_for(kind) + b"".join(line(n) for n in range(lines))
    return gzip.compress(data, compresslevel=6) if compressed else data


def throughput(kind: str, compressed: bool, lines: int, repeat: int) -> tuple[float, float]:
    """(lines per wall-clock second, lines per CPU second of this process), best runs.

    The CPU figure is the one to compare across runs on a shared machine: wall time also
    counts the time other processes held the CPU.
    """
    key = f"incoming/bench.{'csv' if kind == 'csv' else 'jsonl'}{'.gz' if compressed else ''}"
    data = build_file(kind, lines, compressed)
    best = best_cpu = float("inf")
    for _ in range(repeat):
        store = InMemoryObjectStore()
        store.add(BUCKET, key, data)
        service = IngestService(
            store,
            InMemoryTradeRepository(),
            store,
            quarantine_prefix="quarantine/",
            clock=lambda: NOW,
        )
        started, started_cpu = time.perf_counter(), time.process_time()
        summary = service.ingest(ObjectRef(BUCKET, key))
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
        assert summary.data_lines == lines, summary
    return lines / best, lines / best_cpu


class GeneratedBody:
    """A Readable producing a file line by line (the whole file never exists in memory)."""

    def __init__(self, kind: str, lines: int, compressed: bool) -> None:
        self._chunks = self._generate(kind, lines, compressed)
        self._pending = b""

    @staticmethod
    def _generate(kind: str, lines: int, compressed: bool) -> Iterator[bytes]:
        line = csv_line if kind == "csv" else jsonl_line
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31) if compressed else None
        batch = [header_for(kind)]
        for number in range(lines):
            batch.append(line(number))
            if len(batch) >= 1000 or number == lines - 1:
                block = b"".join(batch)
                batch = []
                yield compressor.compress(block) if compressor else block
        if compressor:
            yield compressor.flush()

    def read(self, size: int, /) -> bytes:
        while len(self._pending) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending += chunk
        result, self._pending = self._pending[:size], self._pending[size:]
        return result


class GeneratedSource:
    def __init__(self, kind: str, lines: int, compressed: bool) -> None:
        self._args = (kind, lines, compressed)

    @contextmanager
    def open(self, ref: ObjectRef, *args: object, **kwargs: object) -> Iterator[Readable]:
        yield GeneratedBody(*self._args)


class NullRepository:
    """Stores nothing (every id is new), so the repository's memory is not measured."""

    def existing_hashes(self, trade_ids: Collection[str]) -> dict[str, str | None]:
        return {}

    def insert_new(self, records: Sequence[TradeRecord]) -> dict[str, str | None]:
        return {}


class NullSink:
    def put(self, bucket: str, key: str, body: IO[bytes], length: int) -> None:
        body.read(length)


def peak_rss(kind: str, compressed: bool, lines: int) -> tuple[float, float, float]:
    """(MiB of peak RSS before, after, seconds): ``lines`` lines ingested in a child process.

    tracemalloc slows a run several times over; for a 1,000,000-line file the peak resident
    set size (``resource``) of a fresh process is measured instead, before and after.
    """
    code = (
        "import resource, sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import report\n"
        "from processor.domain import parsing, service\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "started = time.perf_counter()\n"
        f"report.peak_memory({kind!r}, {compressed!r}, {lines!r}, traced=False)\n"
        "seconds = time.perf_counter() - started\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(before / 1024, after / 1024, seconds)\n"
    )
    out = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    before, after, seconds = (float(value) for value in out.stdout.split())
    return before, after, seconds


def peak_memory(
    kind: str, compressed: bool, lines: int, *, traced: bool = True
) -> tuple[float, float]:
    """(peak MiB traced, seconds) ingesting a generated file of ``lines`` lines."""
    key = f"incoming/mem.{'csv' if kind == 'csv' else 'jsonl'}{'.gz' if compressed else ''}"
    service = IngestService(
        GeneratedSource(kind, lines, compressed),
        NullRepository(),
        NullSink(),
        quarantine_prefix="quarantine/",
        clock=lambda: NOW,
    )
    # The pydantic model is built on the first rejected line: not part of the working set.
    # (getattr: the report also runs against older versions, PYTHONPATH=<old src>.)
    getattr(model, "trade_model", lambda: None)()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    summary = service.ingest(ObjectRef(BUCKET, key))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory() if traced else (0, 0)
    tracemalloc.stop()
    assert summary.data_lines == lines, summary
    return peak / 2**20, seconds


TOOLING = "tooling.services_bench"


def cold_import(args: argparse.Namespace) -> int:
    """Run the repository's cold-import measurement for processor.handler; its exit status.

    A command, not an import: this report imports only the package and the standard library,
    and the one copy of the cold-import code (shared with ``./tap bench --services``, which
    measures every handler) lives in the repository's tooling.
    """
    if not (REPO_ROOT / "tooling" / "services_bench.py").is_file():
        print("cold import: not measured here (it needs the repository's tooling and build)")
        return 0
    command = [sys.executable, "-m", TOOLING, "--root", str(REPO_ROOT), "--service=processor"]
    command += ["--skip-report", f"--import-runs={args.import_runs}", f"--zip={args.zip}"]
    if args.python312:
        command.append(f"--python312={args.python312}")
    if args.runtime:
        command.append(f"--runtime={args.runtime}")
    sys.stdout.flush()  # this report's lines first, then the command's
    return subprocess.run(command, cwd=REPO_ROOT, check=False).returncode  # noqa: S603


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-lines", type=int, default=1_000_000)
    parser.add_argument("--import-runs", type=int, default=7)
    parser.add_argument("--zip", type=Path, default=REPO_ROOT / "dist" / "processor.zip")
    parser.add_argument(
        "--python312",
        type=Path,
        default=None,
        help="CPython 3.12 for the cold import (default: TAP_PYTHON_3_12, python3.12 on PATH, "
        "or the newest pyenv 3.12 install)",
    )
    parser.add_argument(
        "--runtime",
        type=Path,
        default=None,
        help="the runtime's site-packages with boto3 (default: the one ./tap installs under "
        ".build/lambda-runtimes/python3.12)",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-import", action="store_true")
    args = parser.parse_args(argv)

    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.2f}")
    if not args.skip_throughput:
        print(f"throughput, {args.lines:,} lines, best of {args.repeat} (in-memory adapters):")
        for kind in ("csv", "jsonl"):
            for compressed in (False, True):
                rate, cpu_rate = throughput(kind, compressed, args.lines, args.repeat)
                label = kind + (".gz" if compressed else "")
                print(f"  {label:9} {rate:>10,.0f} lines/s wall   {cpu_rate:>10,.0f} lines/s CPU")
    if not args.skip_memory:
        print("memory, generated stream, repository keeps nothing:")
        small = args.memory_lines // 100
        for kind, compressed in (("csv", False), ("jsonl", True)):
            label = kind + (".gz" if compressed else "")
            peak, seconds = peak_memory(kind, compressed, small)
            print(f"  {label:9} {small:>10,} lines  tracemalloc peak {peak:6.2f} MiB")
            for lines in (args.memory_lines // 10, args.memory_lines):
                before, after, seconds = peak_rss(kind, compressed, lines)
                print(
                    f"  {label:9} {lines:>10,} lines  peak RSS {after:6.1f} MiB "
                    f"(process before ingesting: {before:5.1f} MiB; {seconds:.0f} s)"
                )
    if not args.skip_import and (status := cold_import(args)):
        sys.exit(status)


if __name__ == "__main__":
    main()
