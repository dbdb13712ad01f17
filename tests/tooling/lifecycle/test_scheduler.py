"""tooling.lifecycle.scheduler: order, concurrency, failure isolation, interruption.

Jobs synchronise on events and barriers (with generous timeouts that only matter when a test
fails), never on sleeps, so the tests are fast and do not depend on the machine's speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from tooling.lifecycle.scheduler import (
    Job,
    JobContext,
    JobOutcome,
    JobResult,
    NextSteps,
    run_jobs,
    validate,
)

WAIT = 10.0  # seconds: only reached when the behaviour under test is broken


class RecordingDisplay:
    """A Display that records every event as a tuple (thread-safe, like the real ones)."""

    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []
        self.summaries: list[tuple[list[JobOutcome], str, list[str]]] = []
        self.closed = False
        self._lock = threading.Lock()

    def _add(self, *event: object) -> None:
        with self._lock:
            self.events.append(event)

    def open(self, names: Sequence[str], action: str) -> None:
        self._add("open", tuple(names), action)

    def started(self, name: str, action: str) -> None:
        self._add("started", name, action)

    def progress(self, name: str, done: int, detail: str) -> None:
        self._add("progress", name, done, detail)

    def line(self, name: str, text: str) -> None:
        self._add("line", name, text)

    def finished(self, outcome: JobOutcome) -> None:
        self._add("finished", outcome.name, outcome.status)

    def close(self) -> None:
        self.closed = True

    def summary(
        self, outcomes: Sequence[JobOutcome], *, action: str, next_steps: Sequence[str]
    ) -> None:
        self.summaries.append((list(outcomes), action, list(next_steps)))

    def of(self, kind: str) -> list[tuple[object, ...]]:
        return [event for event in self.events if event[0] == kind]


class Log:
    """Start and end of every job, in the order they happened."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def add(self, what: str, name: str) -> None:
        with self._lock:
            self.entries.append((what, name))

    def starts(self) -> list[str]:
        return [name for what, name in self.entries if what == "start"]

    def index(self, what: str, name: str) -> int:
        return self.entries.index((what, name))


def job(
    name: str,
    *depends_on: str,
    log: Log | None = None,
    body: Callable[[JobContext], None] | None = None,
    result: JobResult | None = None,
) -> Job:
    """A job that logs its start and end and runs ``body`` in between."""

    def run(context: JobContext) -> JobResult:
        if log is not None:
            log.add("start", name)
        try:
            if body is not None:
                body(context)
        finally:
            if log is not None:
                log.add("end", name)
        return result if result is not None else JobResult(added=1, summary=name)

    return Job(name, frozenset(depends_on), run)


def fail(message: str) -> Callable[[JobContext], None]:
    def body(context: JobContext) -> None:
        raise RuntimeError(message)

    return body


def statuses(outcomes: Sequence[JobOutcome]) -> dict[str, str]:
    return {outcome.name: outcome.status for outcome in outcomes}


def run(
    jobs: Sequence[Job],
    *,
    parallel: int,
    reverse: bool = False,
    action: str = "deploy",
    stop: threading.Event | None = None,
    next_steps: NextSteps | None = None,
) -> tuple[list[JobOutcome], RecordingDisplay]:
    """:func:`run_jobs` with a recording display."""
    display = RecordingDisplay()
    outcomes = run_jobs(
        jobs,
        parallel=parallel,
        reverse=reverse,
        action=action,
        display=display,
        stop=stop,
        next_steps=next_steps,
    )
    return outcomes, display


# A small platform: two environments, each a network and its app, plus a secondary region.
def platform(log: Log, **bodies: Callable[[JobContext], None]) -> list[Job]:
    names = [
        ("dev-net", ()),
        ("dev-app", ("dev-net",)),
        ("dev-app-eu", ("dev-app",)),
        ("prod-net", ()),
        ("prod-app", ("prod-net",)),
    ]
    return [
        job(name, *deps, log=log, body=bodies.get(name.replace("-", "_"))) for name, deps in names
    ]


def test_dependencies_finish_before_their_dependents_start() -> None:
    log = Log()
    jobs = platform(log)

    outcomes, _ = run(jobs, parallel=4)

    assert statuses(outcomes) == dict.fromkeys([j.name for j in jobs], "succeeded")
    for each in jobs:
        for needed in each.depends_on:
            assert log.index("end", needed) < log.index("start", each.name)


def test_outcomes_come_in_input_order_with_results() -> None:
    jobs = [job("b"), job("a", "b", result=JobResult(2, 1, 0, "changed"))]

    outcomes, display = run(jobs, parallel=2, action="plan")

    assert [o.name for o in outcomes] == ["b", "a"]
    assert outcomes[1].result == JobResult(2, 1, 0, "changed")
    assert all(o.error is None and o.blocked_by == () and o.seconds >= 0 for o in outcomes)
    assert display.of("open") == [("open", ("b", "a"), "plan")]
    assert display.summaries == [(outcomes, "plan", [])]
    assert display.closed


def test_independent_jobs_overlap() -> None:
    # Each job waits for the other at the barrier: both complete only if they run concurrently.
    barrier = threading.Barrier(2)

    def body(_: JobContext) -> None:
        barrier.wait(WAIT)

    jobs = [job(name, body=body) for name in ("one", "two")]

    outcomes, _ = run(jobs, parallel=2)

    assert statuses(outcomes) == {"one": "succeeded", "two": "succeeded"}


def test_parallel_one_runs_in_input_order_respecting_dependencies() -> None:
    log = Log()
    jobs = [
        job("zeta", log=log),
        job("app", "net", log=log),
        job("alpha", log=log),
        job("net", log=log),
    ]

    run(jobs, parallel=1)

    assert log.starts() == ["zeta", "alpha", "net", "app"]
    # Strictly sequential: every start follows the previous job's end.
    assert [what for what, _ in log.entries] == ["start", "end"] * 4


def test_concurrency_never_exceeds_parallel() -> None:
    active = 0
    most = 0
    lock = threading.Lock()
    # Three jobs at a time must meet at the barrier, so exactly three do run at once.
    barrier = threading.Barrier(3)

    def body(_: JobContext) -> None:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        barrier.wait(WAIT)
        with lock:
            active -= 1

    outcomes, _ = run([job(f"job-{i}", body=body) for i in range(9)], parallel=3)

    assert set(statuses(outcomes).values()) == {"succeeded"}
    assert most == 3


def test_a_failure_skips_its_dependents_and_nothing_else() -> None:
    log = Log()
    jobs = platform(log, dev_net=fail("terraform apply of dev-net failed (exit 1)"))

    outcomes, display = run(jobs, parallel=2, next_steps=lambda o: [f"{len(o)} outcomes"])

    assert statuses(outcomes) == {
        "dev-net": "failed",
        "dev-app": "skipped",
        "dev-app-eu": "skipped",
        "prod-net": "succeeded",
        "prod-app": "succeeded",
    }
    by_name = {o.name: o for o in outcomes}
    assert by_name["dev-net"].error == "terraform apply of dev-net failed (exit 1)"
    assert by_name["dev-net"].result is None
    assert by_name["dev-app"].blocked_by == ("dev-net",)
    assert by_name["dev-app-eu"].blocked_by == ("dev-net",)
    assert by_name["dev-app"].seconds == 0.0 and by_name["dev-app"].result is None
    assert set(log.starts()) == {"dev-net", "prod-net", "prod-app"}
    assert ("finished", "dev-app", "skipped") in display.events
    assert display.summaries[0][2] == ["5 outcomes"]


def test_skipped_job_names_every_failed_job_it_waited_for() -> None:
    jobs = [
        job("net-a", body=fail("a")),
        job("net-b", body=fail("b")),
        job("app", "net-a", "net-b"),
    ]

    outcomes, _ = run(jobs, parallel=2)

    assert outcomes[2] == JobOutcome("app", "skipped", 0.0, None, None, ("net-a", "net-b"))


def test_reverse_destroys_dependents_first_in_reverse_input_order() -> None:
    log = Log()
    jobs = platform(log)

    outcomes, _ = run(jobs, parallel=1, reverse=True, action="destroy")

    assert set(statuses(outcomes).values()) == {"succeeded"}
    # parallel=1 reproduces the reverse of the (topological) input order exactly.
    assert log.starts() == ["prod-app", "prod-net", "dev-app-eu", "dev-app", "dev-net"]


def test_reverse_in_parallel_waits_for_every_dependent() -> None:
    log = Log()
    jobs = platform(log)

    run(jobs, parallel=5, reverse=True)

    for each in jobs:
        for needed in each.depends_on:
            assert log.index("end", each.name) < log.index("start", needed)


def test_failed_destroy_keeps_what_it_depends_on() -> None:
    log = Log()
    jobs = platform(log, dev_app=fail("DependencyViolation"))

    outcomes, _ = run(jobs, parallel=2, reverse=True, action="destroy")

    assert statuses(outcomes) == {
        "dev-net": "skipped",
        "dev-app": "failed",
        "dev-app-eu": "succeeded",
        "prod-net": "succeeded",
        "prod-app": "succeeded",
    }
    assert outcomes[0].blocked_by == ("dev-app",)
    assert "dev-net" not in log.starts()


@pytest.mark.parametrize(
    ("jobs", "pattern"),
    [
        ([job("a", "b"), job("b", "c"), job("c", "a")], r"cycle: a -> b -> c -> a"),
        ([job("a", "a")], r"cycle: a -> a"),
        ([job("x"), job("a", "b"), job("b", "a", "x")], r"cycle: a -> b -> a"),
        ([job("app", "network", "vpc"), job("x")], r"unknown dependency.*app -> network, vpc"),
        ([job("a"), job("a")], r"duplicate job name\(s\): a"),
    ],
)
def test_invalid_graphs_are_rejected_before_anything_runs(jobs: list[Job], pattern: str) -> None:
    display = RecordingDisplay()

    with pytest.raises(ValueError, match=pattern):
        run_jobs(jobs, parallel=2, display=display)
    with pytest.raises(ValueError, match=pattern):
        validate(jobs)
    assert display.events == []


def test_parallel_must_be_positive() -> None:
    with pytest.raises(ValueError, match="parallel must be at least 1"):
        run_jobs([job("a")], parallel=0, display=RecordingDisplay())


def test_stop_cancels_running_jobs_and_starts_nothing_new() -> None:
    stop = threading.Event()
    both_running = threading.Barrier(2)
    saw_cancel: dict[str, bool] = {}
    lock = threading.Lock()

    def body(context: JobContext) -> None:
        both_running.wait(WAIT)
        stop.set()  # what the caller's SIGINT handler does
        seen = context.cancelled.wait(WAIT)
        with lock:
            saw_cancel[context.name] = seen
        if context.name == "first":
            raise RuntimeError("terraform interrupted")

    log = Log()
    jobs = [
        job("first", body=body),
        job("second", body=body),
        job("third", log=log),
        job("after-first", "first", log=log),
    ]

    outcomes, display = run(jobs, parallel=2, stop=stop)

    assert saw_cancel == {"first": True, "second": True}
    assert statuses(outcomes) == {
        "first": "failed",
        "second": "succeeded",
        "third": "cancelled",
        "after-first": "skipped",
    }
    assert outcomes[2] == JobOutcome("third", "cancelled", 0.0, None, None, ())
    assert log.entries == []
    assert {e[1] for e in display.of("started")} == {"first", "second"}
    assert ("finished", "third", "cancelled") in display.events


def test_stop_set_before_the_run_cancels_everything() -> None:
    stop = threading.Event()
    stop.set()

    outcomes, display = run([job("a"), job("b", "a")], parallel=2, stop=stop)

    assert statuses(outcomes) == {"a": "cancelled", "b": "cancelled"}
    assert display.of("started") == []


class InterruptingEvent(threading.Event):
    """A stop event whose check raises KeyboardInterrupt once ``armed`` is set: what the
    scheduler's own thread sees when Ctrl-C arrives without a signal handler."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = threading.Event()

    def is_set(self) -> bool:
        if self.armed.is_set():
            raise KeyboardInterrupt
        return super().is_set()


def test_interrupting_the_scheduler_cancels_and_waits_for_running_jobs() -> None:
    stop = InterruptingEvent()
    log = Log()

    def body(context: JobContext) -> None:
        stop.armed.set()
        assert context.cancelled.wait(WAIT)

    display = RecordingDisplay()
    with pytest.raises(KeyboardInterrupt):
        run_jobs([job("a", log=log, body=body)], parallel=1, display=display, stop=stop)

    assert log.entries == [("start", "a"), ("end", "a")]  # waited for, not abandoned
    assert display.closed and display.summaries == []


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    def body(_: JobContext) -> None:
        raise TimeoutError

    outcomes, _ = run([job("a", body=body)], parallel=1)

    assert outcomes[0].status == "failed" and outcomes[0].error == "TimeoutError"


def test_progress_and_lines_reach_the_display_under_the_job_name() -> None:
    def body(context: JobContext) -> None:
        context.progress(1, "aws_vpc.main")
        context.line("aws_vpc.main: Creation complete")
        context.progress(2)

    outcomes, display = run([job("net", body=body)], parallel=1)

    assert outcomes[0].status == "succeeded"
    assert display.events == [
        ("open", ("net",), "deploy"),
        ("started", "net", "deploy"),
        ("progress", "net", 1, "aws_vpc.main"),
        ("line", "net", "aws_vpc.main: Creation complete"),
        ("progress", "net", 2, ""),
        ("finished", "net", "succeeded"),
    ]


def test_next_steps_are_asked_for_only_when_something_did_not_succeed() -> None:
    asked: list[int] = []

    def next_steps(outcomes: Sequence[JobOutcome]) -> list[str]:
        asked.append(len(outcomes))
        return ["./tap deploy --only x"]

    _, display = run([job("a")], parallel=1, next_steps=next_steps)

    assert asked == [] and display.summaries[0][2] == []


def test_empty_run() -> None:
    outcomes, display = run([], parallel=3)

    assert outcomes == [] and display.summaries == [([], "deploy", [])]


class SlowEndingDisplay(RecordingDisplay):
    """Takes a while to show each ending, as a display writing to a slow terminal would."""

    def finished(self, outcome: JobOutcome) -> None:
        time.sleep(0.02)
        super().finished(outcome)

    def close(self) -> None:
        self._add("close")
        super().close()


def test_every_ending_is_shown_before_the_run_closes() -> None:
    display = SlowEndingDisplay()

    run_jobs(
        [job("net", body=fail("boom")), job("app", "net"), job("x")], parallel=2, display=display
    )

    assert [e[0] for e in display.events][-4:] == ["finished", "finished", "finished", "close"]
