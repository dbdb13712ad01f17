"""tooling.ingest_bench (``./tap bench --ingest``): the files it generates, how it reads the
emulator's memory, and its report (no ingest runs here, and no timing is asserted)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import psutil
import pytest
from processor.domain.model import FIELDS
from processor.domain.parsing import ParsedTrade, RejectedLine, iter_lines, parse_csv

from tooling.ingest_bench import (
    DEFAULT_SIZES,
    FileFigure,
    IngestBenchError,
    IngestFigures,
    RssSampler,
    emulator_pid,
    goals,
    new_run_id,
    parse_sizes,
    read_rss,
    report,
    trade_fields,
    wait_timeout,
    write_trade_file,
)
from tooling.upload import count_lines

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


# --------------------------------------------------------------------------- the trade files


def trade_ids(path: Path) -> list[str]:
    with path.open(encoding="ascii") as lines:
        next(lines)  # the header
        return [line.split(",", 1)[0] for line in lines]


def test_a_file_has_the_header_then_the_lines_asked_for(tmp_path: Path) -> None:
    trade_file = write_trade_file(tmp_path, 1_000, run_id="0123456789ab", index=0)

    text = trade_file.path.read_text(encoding="ascii")
    assert trade_file.path.name == "ingest-0123456789ab-1-1000.csv"
    assert text.splitlines()[0] == ",".join(FIELDS)
    assert text.splitlines()[1] == (
        "IB-0123456789ab-1-000000000,ACC-0,AAPL,SELL,1,100.00,USD,2026-01-02T09:00:00.000Z"
    )
    assert trade_file.lines == 1_000
    assert count_lines(trade_file.path, compressed=False) == 1_001  # as the upload counts
    assert trade_file.size == trade_file.path.stat().st_size == 86_428


def test_the_processor_accepts_every_line_but_the_hold_one_in_a_hundred(tmp_path: Path) -> None:
    trade_file = write_trade_file(tmp_path, 1_000, run_id=new_run_id(), index=0)

    with trade_file.path.open("rb") as stream:
        results = list(parse_csv(iter_lines(stream)))

    rejected = [r for r in results if isinstance(r, RejectedLine)]
    assert sum(isinstance(r, ParsedTrade) for r in results) == 990
    assert len(rejected) == 10
    assert {r.reason for r in rejected} == {"side: must be BUY or SELL (got 'HOLD')"}
    assert (trade_file.expected_accepted, trade_file.expected_rejected) == (990, 10)


def test_trade_ids_are_unique_in_a_file_and_across_files_and_runs(tmp_path: Path) -> None:
    first_run, second_run = new_run_id(), new_run_id()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = [
        write_trade_file(tmp_path / "a", 10_000, run_id=first_run, index=0),
        write_trade_file(tmp_path / "a", 10_000, run_id=first_run, index=1),
        write_trade_file(tmp_path / "b", 10_000, run_id=second_run, index=0),
    ]

    ids = [trade_id for trade_file in files for trade_id in trade_ids(trade_file.path)]
    assert first_run != second_run
    assert len(ids) == 30_000
    assert len(set(ids)) == 30_000
    assert len({trade_file.path.name for trade_file in files}) == 3


def _processor_benchmark() -> ModuleType:
    path = ROOT / "services" / "processor" / "benchmarks" / "report.py"
    spec = importlib.util.spec_from_file_location("processor_benchmark_report", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lines_are_those_of_the_processor_benchmark_but_for_the_trade_id() -> None:
    benchmark = _processor_benchmark()

    for number in range(1_000):
        ours = trade_fields("IB-run-1", number)
        assert ours[0] == f"IB-run-1-{number:09d}"
        assert ours[1:] == benchmark.trade_fields(number)[1:]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IngestBenchError, match="a trade file of 0 lines: at least 1"):
        write_trade_file(tmp_path, 0, run_id="r", index=0)


# --------------------------------------------------------------------------- the options


def test_sizes_are_read_in_the_order_given() -> None:
    assert parse_sizes("100000,1000, 1_000_000") == (100_000, 1_000, 1_000_000)
    assert DEFAULT_SIZES == (1_000, 10_000, 100_000, 1_000_000)


@pytest.mark.parametrize("text", ["", "1000,", "1e6", "0", "-5", "1000;10000", "ten", "1000²"])
def test_sizes_that_are_not_line_counts_are_an_option_error(text: str) -> None:
    with pytest.raises(IngestBenchError, match="comma-separated numbers of lines") as raised:
        parse_sizes(text)
    assert raised.value.code == 2


def test_a_file_is_waited_for_at_200_lines_per_second_and_never_less_than_900_s() -> None:
    assert wait_timeout(1_000) == 900.0
    assert wait_timeout(100_000) == 900.0
    assert wait_timeout(1_000_000) == 5_000.0


# --------------------------------------------------------------------------- the emulator's memory


@pytest.fixture
def stopped_sleeper() -> Iterator[int]:
    """A ``sleep`` process stopped (SIGSTOP) once it sleeps: its memory cannot change."""
    process = subprocess.Popen(["sleep", "60"])
    try:
        watched = psutil.Process(process.pid)
        deadline = time.monotonic() + 30
        while watched.status() != psutil.STATUS_SLEEPING or watched.cmdline() != ["sleep", "60"]:
            assert time.monotonic() < deadline, "sleep never started sleeping"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGSTOP)
        while watched.status() != psutil.STATUS_STOPPED:
            assert time.monotonic() < deadline, "sleep never stopped"
            time.sleep(0.01)
        yield process.pid
    finally:
        process.kill()
        process.wait()


def _exited_unreaped(command: list[str]) -> subprocess.Popen[bytes]:
    """A child that has exited and is not reaped yet (a zombie): ``waitid`` with ``WNOWAIT``."""
    process = subprocess.Popen(command)
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    return process


def test_the_resident_size_is_vmrss_in_bytes(stopped_sleeper: int) -> None:
    status = Path(f"/proc/{stopped_sleeper}/status").read_text(encoding="ascii")
    vmrss_kb = next(int(line.split()[1]) for line in status.splitlines() if line[:6] == "VmRSS:")

    assert read_rss(stopped_sleeper) == vmrss_kb * 1024


def test_a_process_that_is_gone_cannot_be_read() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()

    expected = f"cannot read the resident memory of pid {gone.pid} \\(NoSuchProcess: "
    with pytest.raises(IngestBenchError, match=expected):
        read_rss(gone.pid)


def test_a_zombie_is_no_running_process() -> None:
    zombie = _exited_unreaped(["true"])
    try:
        with pytest.raises(IngestBenchError, match=f"pid {zombie.pid} has exited \\(a zombie\\)"):
            read_rss(zombie.pid)
    finally:
        zombie.wait()


def test_the_sampler_keeps_the_peak_of_this_process_while_memory_is_held() -> None:
    # An interval no test waits for: only the entry, the two samples below and the exit read.
    with RssSampler(os.getpid(), interval=3_600.0) as sampler:
        before = sampler.sample()
        ballast = b"\x01" * (64 * MIB)  # written, so resident
        held = sampler.sample()
        del ballast

    assert held - before >= 60 * MIB
    assert sampler.peak_bytes >= held
    assert sampler.samples == 4


def test_the_sampler_samples_on_its_own_until_the_block_ends() -> None:
    readings = iter(range(1, 1_000_000))
    third = threading.Event()

    def read(pid: int) -> int:
        value = next(readings)
        if value == 3:
            third.set()
        return value * MIB

    with RssSampler(os.getpid(), interval=0.001, read=read) as sampler:
        assert third.wait(timeout=30), "the sampler's thread never sampled twice"
    samples = sampler.samples

    assert samples >= 4  # entry, two on its own thread at least, exit
    assert sampler.peak_bytes == samples * MIB  # the last (exit) reading is the largest here
    assert next(readings) == samples + 1  # nothing read after the block


def test_a_reading_that_fails_on_the_thread_is_raised_when_the_block_ends() -> None:
    calls: list[int] = []
    failed = threading.Event()

    def read(pid: int) -> int:
        calls.append(pid)
        if len(calls) > 1:  # the entry's reading succeeds, the thread's first one fails
            failed.set()
            raise IngestBenchError(f"pid {pid} is gone")
        return MIB

    with (
        pytest.raises(IngestBenchError, match="pid 77 is gone"),
        RssSampler(77, interval=0.001, read=read),
    ):
        assert failed.wait(timeout=30), "the sampler's thread never sampled"
    assert calls == [77, 77]  # the thread stopped at its failure; no reading at the exit


class _StatusHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        found = self.path == "/_tap/emulator"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body if found else b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def status_server() -> Iterator[tuple[str, type[_StatusHandler]]]:
    handler = type("Handler", (_StatusHandler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_the_emulator_pid_is_what_its_status_path_answers(
    status_server: tuple[str, type[_StatusHandler]],
) -> None:
    endpoint, handler = status_server
    handler.body = json.dumps({"pid": 4321, "moto_version": "5", "patches": []}).encode()

    assert emulator_pid(endpoint) == 4321
    assert emulator_pid(endpoint + "/") == 4321


def test_a_status_answer_without_a_pid_is_not_the_emulator(
    status_server: tuple[str, type[_StatusHandler]],
) -> None:
    endpoint, handler = status_server
    handler.body = b'{"status": "running"}'

    with pytest.raises(IngestBenchError, match="answered without a pid: not the repository's"):
        emulator_pid(endpoint)


def test_no_emulator_answering_says_where_it_asked() -> None:
    with pytest.raises(IngestBenchError, match=r"no emulator answered at http://127\.0\.0\.1:9/"):
        emulator_pid("http://127.0.0.1:9", timeout=2.0)


# --------------------------------------------------------------------------- the report


def counts(accepted: int, rejected: int, duplicates: int = 0) -> dict[str, int]:
    return {
        "accepted": accepted,
        "duplicates": duplicates,
        "conflicts": 0,
        "rejected": rejected,
        "blank_lines": 0,
    }


FILES = (
    FileFigure(1_000, 86_428, 0, 1, 2.5, "processed", counts(990, 10), 410 * MIB, 405 * MIB),
    FileFigure(10_000, 879_944, 0, 1, 8.0, "processed", counts(9_900, 100), 450 * MIB, 420 * MIB),
    FileFigure(
        100_000, 8_806_798, 2, 3, 48.0, "processed", counts(99_000, 1_000), 700 * MIB, 520 * MIB
    ),
    FileFigure(
        1_000_000,
        88_075_228,
        11,
        25,
        640.0,
        "processed",
        counts(990_000, 10_000),
        1_500 * MIB,
        1_200 * MIB,
    ),
)


def figures(**overrides: object) -> IngestFigures:
    values: dict[str, object] = {
        "environment": "dev",
        "function_name": "tap-processor-dev",
        "run_id": "0123456789ab",
        "machine": "x86_64",
        "cpus": 2,
        "load_before": 0.42,
        "load_after": 1.87,
        "pid": 4321,
        "rss_before": 400 * MIB,
        "files": FILES,
    }
    return IngestFigures(**{**values, **overrides})  # type: ignore[arg-type]


REPORT = """\
ingest bench: dev (tap-processor-dev), run 0123456789ab
machine: x86_64, 2 cores, load average 0.42 at the start, 1.87 at the end (wall times on a shared machine vary)
emulator (pid 4321) resident before the first file: 400.0 MiB

|     lines | size (MiB) | parts | multipart     | seconds | lines/s | accepted/rejected | emulator peak RSS (MiB) | RSS after (MiB) |
|-----------|------------|-------|---------------|---------|---------|-------------------|-------------------------|-----------------|
|     1,000 |       0.08 |     1 | no            |     2.5 |     400 |          990 / 10 |                   410.0 |           405.0 |
|    10,000 |       0.84 |     1 | no            |     8.0 |   1,250 |       9,900 / 100 |                   450.0 |           420.0 |
|   100,000 |       8.40 |     3 | yes, 2 parts  |    48.0 |   2,083 |    99,000 / 1,000 |                   700.0 |           520.0 |
| 1,000,000 |      84.00 |    25 | yes, 11 parts |   640.0 |   1,562 |  990,000 / 10,000 |                 1,500.0 |         1,200.0 |

parts: the processor's invocations for the file (its part summaries)
multipart: the upload's parts of up to 8 MiB (no: one PutObject)
seconds: from the start of the upload to the file's final summary (read every 1 s)

| goal                                                | today                                      |
|-----------------------------------------------------|--------------------------------------------|
| 100,000 lines end to end <= 60 s                    | 48.0 s: met                                |
| 1,000,000 lines <= 600 s                            | 640.0 s: not met                           |
| emulator below 2 GB resident throughout             | peak 1,500.0 MiB (2 GB = 1,907.3 MiB): met |
| resident after 1,000,000 lines vs after 1,000 lines | +795.0 MiB                                 |"""  # noqa: E501


def test_the_report_prints_the_machine_the_files_and_the_goals() -> None:
    assert report(figures()) == REPORT


def test_a_goal_without_its_file_in_the_run_is_not_measured() -> None:
    assert goals(figures(files=FILES[:2])) == [
        ("100,000 lines end to end <= 60 s", "not measured (no 100,000-line file in this run)"),
        ("1,000,000 lines <= 600 s", "not measured (no 1,000,000-line file in this run)"),
        (
            "emulator below 2 GB resident throughout",
            "peak 450.0 MiB (2 GB = 1,907.3 MiB): met",
        ),
        (
            "resident after 1,000,000 lines vs after 1,000 lines",
            "not measured (no 1,000,000-line file in this run)",
        ),
    ]


def test_the_memory_goal_counts_the_resident_size_before_the_first_file() -> None:
    rows = dict(goals(figures(rss_before=1_908 * MIB, files=FILES[:1])))

    assert rows["emulator below 2 GB resident throughout"] == (
        "peak 1,908.0 MiB (2 GB = 1,907.3 MiB): not met"
    )
    assert rows["resident after 1,000,000 lines vs after 1,000 lines"] == (
        "not measured (no 1,000,000-line file in this run)"
    )


def test_memory_given_back_shows_as_a_negative_growth() -> None:
    shrunk = FileFigure(
        1_000_000, 88_075_228, 11, 25, 500.0, "processed", counts(990_000, 10_000),
        1_500 * MIB, 300 * MIB,
    )  # fmt: skip
    rows = dict(goals(figures(files=(FILES[0], shrunk))))

    assert rows["1,000,000 lines <= 600 s"] == "500.0 s: met"
    assert rows["resident after 1,000,000 lines vs after 1,000 lines"] == "-105.0 MiB"


def test_a_file_that_was_not_processed_stops_the_run_and_says_why() -> None:
    timed_out = FileFigure(
        100_000, 8_806_798, 2, 2, 903.2, "timed_out", counts(66_000, 667), 900 * MIB, 880 * MIB
    )
    text = report(
        figures(
            files=(*FILES[:2], timed_out),
            failure="no final summary of s3://bucket/incoming/bench/x.csv after 901 s",
            not_run=(1_000_000,),
        )
    )

    assert (
        "| 100,000 |       8.40 |     2 | yes, 2 parts | timed_out after 903.2 |       - "
        "|      66,000 / 667 |                   900.0 |           880.0 |"
    ) in text
    assert "stopped: no final summary of s3://bucket/incoming/bench/x.csv after 901 s" in text
    assert "not run: 1,000,000 lines" in text
    assert "| 100,000 lines end to end <= 60 s " in text
    assert "| not met: timed_out after 903.2 s " in text


def test_counts_other_than_the_generated_ones_are_noted() -> None:
    odd = FileFigure(
        1_000, 86_428, 0, 1, 2.5, "processed", counts(985, 10, duplicates=5), 410 * MIB, 405 * MIB
    )
    text = report(figures(files=(odd,)))

    assert (
        "note: 1,000 lines: accepted 985, duplicates 5, conflicts 0, rejected 10, blank_lines 0; "
        "generated: accepted 990, rejected 10"
    ) in text
    assert "note:" not in report(figures())


def test_unknown_cores_are_said_so() -> None:
    assert "machine: aarch64, cores unknown, load average" in report(
        figures(machine="aarch64", cpus=None)
    )
