"""tooling.lifecycle.display: plain lines for CI, the rich live display for terminals, summaries."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Sequence

import pytest
from rich.console import Console

from tooling.lifecycle.display import PlainDisplay, RichDisplay, choose_display, is_interactive
from tooling.lifecycle.scheduler import Job, JobContext, JobOutcome, JobResult, run_jobs

WAIT = 10.0
LINES = 16  # per job and kind: enough to interleave, few enough to stay fast


class SlowStream(io.StringIO):
    """Writes one character at a time and yields the GIL in between: any display that wrote a
    line in several unguarded pieces would have them interleaved with other threads' pieces."""

    def write(self, text: str) -> int:
        for char in text:
            super().write(char)
            time.sleep(0)
        return len(text)


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def ok(name: str, *depends_on: str, result: JobResult | None = None) -> Job:
    def run(context: JobContext) -> JobResult:
        context.progress(1, f"{name}.resource")
        context.line(f"{name}: Creation complete")
        return result if result is not None else JobResult(added=1)

    return Job(name, frozenset(depends_on), run)


def failing(name: str, message: str) -> Job:
    def run(context: JobContext) -> JobResult:
        raise RuntimeError(message)

    return Job(name, frozenset(), run)


def mixed_jobs() -> list[Job]:
    return [
        ok("tap-dev-ap-southeast-1-network"),
        ok("tap-dev-ap-southeast-1-app", "tap-dev-ap-southeast-1-network"),
        failing("tap-prod-ap-southeast-1-network", "Error: creating VPC\nmore detail"),
        ok("tap-prod-ap-southeast-1-app", "tap-prod-ap-southeast-1-network"),
        ok("tap-global", result=JobResult(3, 2, 1, "3 to add")),
    ]


def next_steps(outcomes: Sequence[JobOutcome]) -> list[str]:
    failed = [o.name for o in outcomes if o.status != "succeeded"]
    return [f"./tap deploy --only {','.join(failed)}"]


def test_plain_lines_are_prefixed_and_never_interleave() -> None:
    stream = SlowStream()
    names = [f"job-{i}" for i in range(8)]
    start = threading.Barrier(len(names))

    def run(context: JobContext) -> JobResult:
        start.wait(WAIT)  # all eight write at the same time
        for i in range(LINES):
            context.line(f"line {i} of {context.name}")
            context.progress(i, f"resource {i} of {context.name}")
        return JobResult()

    jobs = [Job(name, frozenset(), run) for name in names]
    run_jobs(jobs, parallel=len(names), display=PlainDisplay(stream))

    lines = stream.getvalue().splitlines()
    job_lines = [line for line in lines if line.startswith("[")]
    for name in names:
        mine = [line for line in job_lines if line.startswith(f"[{name}] ")]
        assert [line for line in mine if "] line " in line] == [
            f"[{name}] line {i} of {name}" for i in range(LINES)
        ]
        assert [line for line in mine if "resource(s) done" in line] == [
            f"[{name}] {i} resource(s) done: resource {i} of {name}" for i in range(LINES)
        ]
    pattern = re.compile(
        r"\[job-\d\] (deploy started|line \d+ of job-\d|\d+ resource\(s\) done: .*"
        r"|succeeded in .*)"
    )
    assert all(pattern.fullmatch(line) for line in job_lines)
    assert len(job_lines) == 8 * (1 + LINES + LINES + 1)


def test_plain_run_reports_each_ending_and_a_fixed_width_summary() -> None:
    stream = io.StringIO()

    outcomes = run_jobs(
        mixed_jobs(), parallel=2, display=PlainDisplay(stream), next_steps=next_steps
    )

    text = stream.getvalue()
    assert text.startswith("deploy: 5 job(s)\n")
    assert "[tap-prod-ap-southeast-1-network] failed after " in text
    assert "[tap-prod-ap-southeast-1-network] more detail" in text  # a multi-line error, prefixed
    assert (
        "[tap-prod-ap-southeast-1-app] skipped (blocked by tap-prod-ap-southeast-1-network) ["
        in text
    )
    table = text[text.index("\nJOB ") + 1 :].splitlines()
    header, rows, steps = table[0], table[1:6], table[6:]
    assert header.split() == [
        "JOB", "ACTION", "ADDED", "CHANGED", "DESTROYED", "SECONDS", "RESULT"
    ]  # fmt: skip
    by_name = {o.name: o for o in outcomes}
    expected_results = {
        "tap-dev-ap-southeast-1-network": "succeeded",
        "tap-dev-ap-southeast-1-app": "succeeded",
        "tap-prod-ap-southeast-1-network": "failed: Error: creating VPC",
        "tap-prod-ap-southeast-1-app": "skipped (blocked by tap-prod-ap-southeast-1-network)",
        "tap-global": "succeeded: 3 to add",
    }
    for row, outcome in zip(rows, outcomes, strict=True):
        assert row.startswith(outcome.name + " ")
        assert row.endswith(expected_results[outcome.name])
        seconds = f"{outcome.seconds:.1f}" if outcome.status != "skipped" else "-"
        assert f" {seconds}  " in row
    assert re.search(r"tap-global\s+deploy\s+3\s+2\s+1\s+\d+\.\d\s+succeeded: 3 to add", rows[4])
    assert by_name["tap-prod-ap-southeast-1-network"].status == "failed"
    # Fixed-width: every row's result column starts where the header's does.
    column = header.index("RESULT")
    assert all(row[column - 2 : column] == "  " and row[column] != " " for row in rows)
    assert steps == [
        "Next: ./tap deploy --only tap-prod-ap-southeast-1-network,tap-prod-ap-southeast-1-app"
    ]


def test_plain_summary_has_no_next_steps_when_everything_succeeded() -> None:
    stream = io.StringIO()

    run_jobs(
        [ok("a"), ok("b", "a")], parallel=2, display=PlainDisplay(stream), next_steps=next_steps
    )

    assert "Next:" not in stream.getvalue()
    assert re.search(r"^b\s+deploy\s+1\s+0\s+0\s+\d+\.\d\s+succeeded$", stream.getvalue(), re.M)


def test_plain_cancelled_jobs_show_dashes() -> None:
    stop = threading.Event()
    stop.set()
    stream = io.StringIO()

    run_jobs([ok("a")], parallel=1, display=PlainDisplay(stream), stop=stop, action="destroy")

    assert "[a] cancelled [1/1]" in stream.getvalue()
    assert re.search(r"^a\s+destroy\s+-\s+-\s+-\s+-\s+cancelled$", stream.getvalue(), re.M)


def rich_console(stream: io.StringIO) -> Console:
    return Console(file=stream, force_terminal=True, width=160, record=True)


def test_rich_display_runs_and_summarises_every_job() -> None:
    stream = io.StringIO()
    console = rich_console(stream)
    display = RichDisplay(console, refresh_per_second=50)

    outcomes = run_jobs(mixed_jobs(), parallel=3, display=display, next_steps=next_steps)

    assert "\x1b[" in stream.getvalue()  # it did render for a terminal
    text = console.export_text()
    summary = text[text.index("deploy summary") :]
    for outcome in outcomes:
        assert outcome.name in summary
    assert re.search(r"tap-global\s*│\s*deploy\s*│\s*3\s*│\s*2\s*│\s*1\s*│\s*\d+\.\d", summary)
    assert "skipped (blocked by tap-prod-ap-southeast-1-network)" in summary
    assert "failed: Error: creating VPC" in summary
    assert "Next: ./tap deploy --only tap-prod-ap-southeast-1-network" in summary
    # Lines and endings were printed above the live area, prefixed with the job name.
    assert "[tap-dev-ap-southeast-1-app] tap-dev-ap-southeast-1-app: Creation complete" in text
    assert "[tap-global] succeeded in " in text
    assert "[tap-prod-ap-southeast-1-network] more detail" in text


def test_rich_lines_are_printed_literally() -> None:
    console = rich_console(io.StringIO())
    display = RichDisplay(console)

    display.line("app", "[bold]not markup[/bold] aws_instance.web[0]\nsecond")

    assert (
        console.export_text() == "[app] [bold]not markup[/bold] aws_instance.web[0]\n[app] second\n"
    )


def test_rich_live_view_shows_each_running_job() -> None:
    display = RichDisplay(rich_console(io.StringIO()))
    display.open(["tap-dev-app", "tap-dev-network"], "destroy")
    try:
        display.started("tap-dev-app", "destroy")
        display.progress("tap-dev-app", 7, "aws_lb.api")
        view = Console(width=160, record=True, file=io.StringIO())
        view.print(display.live_view())
        text = view.export_text()
    finally:
        display.close()

    assert "destroy: 0/2 finished, 1 running" in text
    assert re.search(r"tap-dev-app\s+destroy\s+7 resource\(s\)\s+\d+s\s+aws_lb\.api", text)
    assert "tap-dev-network" not in text


@pytest.mark.parametrize(
    ("stream", "environ", "interactive"),
    [
        (TtyStream(), {"TERM": "xterm-256color"}, True),
        (TtyStream(), {}, True),
        (TtyStream(), {"CI": "false"}, True),
        (TtyStream(), {"TERM": "dumb"}, False),
        (TtyStream(), {"CI": "true"}, False),
        (TtyStream(), {"CI": "1"}, False),
        (io.StringIO(), {"TERM": "xterm"}, False),
    ],
)
def test_live_display_only_in_an_interactive_terminal(
    stream: io.StringIO, environ: dict[str, str], interactive: bool
) -> None:
    assert is_interactive(stream, environ) is interactive
    display = choose_display(stream, environ)
    assert isinstance(display, RichDisplay if interactive else PlainDisplay)
