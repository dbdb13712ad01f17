"""``./tap bench --ingest``: the local platform ingesting trade files end to end (a report, not a
timed test: it prints numbers and never fails on them).

Against an environment already deployed locally (``./tap deploy``), for each size (lines, in the
order given; default 1,000 / 10,000 / 100,000 / 1,000,000):

* a CSV trade file is generated into a temporary directory (:func:`write_trade_file`): the lines
  of ``services/processor/benchmarks/report.py`` (1 in 100 has the side ``HOLD``, which the
  processor rejects), with trade ids unique to this run and file, so no line is a duplicate of
  an earlier run's;
* it is uploaded and followed with the functions of ``./tap upload --wait``
  (:mod:`tooling.upload`: multipart from 8 MiB like the AWS CLI, then the processor's part
  summaries in the function's logs until every line is accounted for); the seconds run from the
  start of the upload to the final summary (read every second, :data:`tooling.upload.POLL_SECONDS`);
* meanwhile the emulator server's resident memory (the process answering ``GET
  <endpoint>/_tap/emulator``; the workers running the functions are processes of their own and
  not counted) is sampled every :data:`SAMPLE_SECONDS` (:class:`RssSampler`): its peak during
  the file, and its size right after it. Its size before the first file is read too.

What the files leave behind (the objects, the quarantined lines, the trades in the table) stays
in the deployment: the emulator's memory after the largest file includes them.

The first file that is not processed (rejected as a whole, dead-lettered, or not done at
:func:`wait_timeout`) ends the run: the report shows what was measured and why it stopped.

One concern per module; this package's root re-exports what ``tasks.py`` and the tests use:

===========  ================================================================================
module       concern
===========  ================================================================================
errors       ``IngestBenchError``: the message to show and the task's exit code
trade_files  the generated trade files
memory       the emulator server's pid and resident memory, sampled while a file is ingested
figures      what a run measured: each file's figure, and the run's
runner       ``--sizes``, each size's file ingested and measured, one after the other
reporting    the report: the files' table, the goals beside today's figures
===========  ================================================================================
"""

from __future__ import annotations

from tooling.ingest_bench.errors import IngestBenchError
from tooling.ingest_bench.figures import FileFigure, IngestFigures
from tooling.ingest_bench.memory import SAMPLE_SECONDS, RssSampler, emulator_pid, read_rss
from tooling.ingest_bench.reporting import GOAL_RSS_BYTES, GOAL_SECONDS, goals, report
from tooling.ingest_bench.runner import (
    DEFAULT_SIZES,
    Clients,
    ingest_file,
    parse_sizes,
    run,
    wait_timeout,
)
from tooling.ingest_bench.trade_files import (
    TradeFile,
    csv_line,
    new_run_id,
    trade_fields,
    write_trade_file,
)

__all__ = [
    "DEFAULT_SIZES",
    "GOAL_RSS_BYTES",
    "GOAL_SECONDS",
    "SAMPLE_SECONDS",
    "Clients",
    "FileFigure",
    "IngestBenchError",
    "IngestFigures",
    "RssSampler",
    "TradeFile",
    "csv_line",
    "emulator_pid",
    "goals",
    "ingest_file",
    "new_run_id",
    "parse_sizes",
    "read_rss",
    "report",
    "run",
    "trade_fields",
    "wait_timeout",
    "write_trade_file",
]
