"""Run a DAG of jobs (terraform stacks) concurrently, each as soon as the jobs it needs are done.

Why: up to a dozen stacks are deployed, planned, drift-checked or destroyed per run, and most of
them share nothing (dev, staging, prod and global are independent; only an environment's app stack
needs its network stack, and secondary regions' app stacks the primary's). Running them one after
another wastes most of the wall-clock time waiting on AWS. This module knows nothing of terraform:
a :class:`Job` is a name, the names it depends on and a callable, so the ordering, failure
isolation and interruption rules are tested without a cloud or a terminal.

Rules, for both directions:

* A job starts when every job it must wait for has *succeeded*, at most ``parallel`` at a time,
  in threads (each job mostly waits on a terraform subprocess, so the GIL costs nothing).
* Deploy order (``reverse=False``): a job waits for its ``depends_on``. Destroy order
  (``reverse=True``): a job waits for every job that depends on it, so an app stack is destroyed
  before the network it runs in.
* When a job fails, every job that waits for it, directly or transitively, is *skipped* with
  ``blocked_by`` naming the failed job(s); jobs that do not wait for it still run to the end. In
  destroy order this means a network whose app stack failed to be destroyed is left standing
  (destroying it would fail anyway, or orphan the app's resources).
* ``stop`` (set by the caller's SIGINT/SIGTERM handler): nothing new starts, running jobs see
  :attr:`JobContext.cancelled` and are waited for, jobs that never started are *cancelled*.
* Ties between ready jobs go by input order (deploy) or reverse input order (destroy), so
  ``parallel=1`` given the jobs in today's deploy order runs exactly today's deploy order, and
  exactly its reverse when destroying.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from tooling.lifecycle.display import Display, choose_display
from tooling.lifecycle.jobs import JobOutcome, JobResult, JobStatus, NextSteps

__all__ = [
    "Job",
    "JobContext",
    "JobOutcome",
    "JobResult",
    "JobStatus",
    "NextSteps",
    "run_jobs",
]

#: How often the scheduler looks at the caller's ``stop`` event while jobs run (an Event cannot
#: wake a Condition, and a watcher thread per run would outlive runs whose event is never set).
_POLL_SECONDS = 0.05


class JobContext:
    """Handed to :attr:`Job.run`: how a job reports progress and learns it is being interrupted.

    Reports go straight to the display, which serialises them, so a job may call these from any
    thread it likes.
    """

    def __init__(self, name: str, display: Display, cancelled: threading.Event) -> None:
        self.name = name
        #: Set when the run is being interrupted (the caller's ``stop``) or aborted; a runner
        #: forwards it to terraform (SIGINT) so that terraform stops gracefully, keeping its state.
        self.cancelled = cancelled
        self._display = display

    def progress(self, done: int, detail: str = "") -> None:
        """``done`` resources finished so far; ``detail`` the last one (or any short note)."""
        self._display.progress(self.name, done, detail)

    def line(self, text: str) -> None:
        """One line of the job's own output (e.g. terraform's), shown under the job's name."""
        self._display.line(self.name, text)


@dataclass(frozen=True)
class Job:
    """One unit of work: ``run`` does it (and may raise), once the ``depends_on`` jobs succeeded."""

    name: str
    depends_on: frozenset[str]
    run: Callable[[JobContext], JobResult]


def run_jobs(
    jobs: Sequence[Job],
    *,
    parallel: int,
    reverse: bool = False,
    action: str = "deploy",
    display: Display | None = None,
    stop: threading.Event | None = None,
    next_steps: NextSteps | None = None,
) -> list[JobOutcome]:
    """Run ``jobs`` in dependency order (reverse dependency order when ``reverse``), at most
    ``parallel`` at a time; return one outcome per job, in input order.

    ``display`` defaults to :func:`~tooling.lifecycle.display.choose_display` on stdout (live in a
    terminal, plain lines in CI). It always ends with a summary table; when a job did not succeed,
    the lines from ``next_steps(outcomes)`` follow it. Raises ValueError, before anything runs,
    for ``parallel < 1``, duplicate names, unknown dependencies and dependency cycles. If the
    calling thread itself is interrupted (KeyboardInterrupt), running jobs are cancelled and
    waited for, and the exception propagates without a summary.
    """
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1, not {parallel}")
    validate(jobs)
    shown = display if display is not None else choose_display()
    outcomes = _Run(jobs, parallel=parallel, reverse=reverse, display=shown, stop=stop).execute(
        action
    )
    steps: Sequence[str] = ()
    if next_steps is not None and any(o.status != "succeeded" for o in outcomes):
        steps = next_steps(outcomes)
    shown.summary(outcomes, action=action, next_steps=steps)
    return outcomes


def validate(jobs: Sequence[Job]) -> None:
    """Raise ValueError naming duplicate jobs, unknown dependencies or a dependency cycle."""
    names = [job.name for job in jobs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"duplicate job name(s): {', '.join(duplicates)}")
    known = set(names)
    unknown = [
        f"{job.name} -> {', '.join(sorted(job.depends_on - known))}"
        for job in jobs
        if job.depends_on - known
    ]
    if unknown:
        raise ValueError(f"unknown dependency name(s): {'; '.join(unknown)}")
    cycle = _find_cycle({job.name: job.depends_on for job in jobs}, names)
    if cycle:
        raise ValueError(f"dependency cycle: {' -> '.join(cycle)}")


def _find_cycle(edges: Mapping[str, frozenset[str]], order: Sequence[str]) -> list[str]:
    """A cycle of ``edges`` (name -> the names it depends on) as a closed path, each name
    followed by one it depends on, starting at the earliest in ``order``; [] if there is none."""
    try:
        TopologicalSorter(edges).prepare()
    except CycleError as error:
        # graphlib lists each node before the nodes that depend on it: read it backwards
        found = list(reversed(error.args[1]))[:-1]
        first = min(range(len(found)), key=lambda i: order.index(found[i]))
        path = found[first:] + found[:first]
        return [*path, path[0]]
    return []


class _Run:
    """The state of one :func:`run_jobs` call. Everything below ``_cond`` is guarded by it; the
    display is called outside it (the display has its own lock, and a live display's refresh
    thread must never wait for the scheduler)."""

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        parallel: int,
        reverse: bool,
        display: Display,
        stop: threading.Event | None,
    ) -> None:
        self._jobs = {job.name: job for job in jobs}
        self._parallel = parallel
        self._display = display
        self._stop = stop
        self._cancelled = threading.Event()
        self._cond = threading.Condition()
        self._input_order = [job.name for job in jobs]
        dependents: dict[str, set[str]] = {job.name: set() for job in jobs}
        for job in jobs:
            for needed in job.depends_on:
                dependents[needed].add(job.name)
        # What each job waits for, and (the other way round) who waits for it.
        self._waits_for: dict[str, frozenset[str]] = (
            {name: frozenset(d) for name, d in dependents.items()}
            if reverse
            else {job.name: job.depends_on for job in jobs}
        )
        self._waiters: dict[str, frozenset[str]] = (
            {job.name: job.depends_on for job in jobs}
            if reverse
            else {name: frozenset(d) for name, d in dependents.items()}
        )
        self._pending = list(reversed(self._input_order) if reverse else self._input_order)
        self._running: dict[str, threading.Thread] = {}
        self._succeeded: set[str] = set()
        self._outcomes: dict[str, JobOutcome] = {}
        self._blocked_by: dict[str, list[str]] = {}

    def execute(self, action: str) -> list[JobOutcome]:
        """Run everything, then report the jobs that never started; outcomes in input order."""
        self._display.open(self._input_order, action)
        try:
            self._schedule(action)
            for name in self._pending:
                self._finish(JobOutcome(name, "cancelled", 0.0, None, None))
        except BaseException:
            self._cancelled.set()
            for thread in list(self._running.values()):
                thread.join()
            raise
        finally:
            self._display.close()
        return [self._final(name) for name in self._input_order]

    def _schedule(self, action: str) -> None:
        """Start ready jobs until nothing runs and nothing more may start."""
        with self._cond:
            while True:
                if self._stop is not None and self._stop.is_set():
                    self._cancelled.set()
                else:
                    self._start_ready(action)
                if not self._running:
                    return
                self._cond.wait(_POLL_SECONDS if self._stop is not None else None)

    def _start_ready(self, action: str) -> None:
        for name in list(self._pending):
            if len(self._running) >= self._parallel:
                return
            if self._waits_for[name] <= self._succeeded:
                self._pending.remove(name)
                thread = threading.Thread(
                    target=self._work,
                    args=(self._jobs[name], action),
                    name=f"job:{name}",
                    daemon=True,
                )
                self._running[name] = thread
                thread.start()

    def _work(self, job: Job, action: str) -> None:
        """A job's thread: run it, record the outcome, skip whatever waited for it if it failed."""
        started = time.monotonic()
        try:
            self._display.started(job.name, action)
            result = job.run(JobContext(job.name, self._display, self._cancelled))
        except BaseException as error:  # a job's failure, whatever it is, is that job's outcome
            outcome = JobOutcome(
                job.name, "failed", time.monotonic() - started, None, _describe(error)
            )
        else:
            outcome = JobOutcome(job.name, "succeeded", time.monotonic() - started, result, None)
        skipped: list[JobOutcome] = []
        if outcome.status != "succeeded":
            with self._cond:
                skipped = [
                    JobOutcome(name, "skipped", 0.0, None, None, tuple(self._blocked_by[name]))
                    for name in self._skip_waiters_of(job.name)
                ]
        try:
            # Shown before the run may end, so that every ending precedes the summary.
            self._display.finished(outcome)
            for each in skipped:
                self._display.finished(each)
        finally:
            with self._cond:
                del self._running[job.name]
                if outcome.status == "succeeded":
                    self._succeeded.add(job.name)
                self._outcomes[job.name] = outcome
                self._cond.notify_all()

    def _skip_waiters_of(self, failed: str) -> list[str]:
        """Mark every job that waits for ``failed`` (transitively) skipped; return the newly
        skipped ones. None of them can have started: each waits for ``failed`` to succeed."""
        newly: list[str] = []
        frontier = [failed]
        seen: set[str] = set()
        while frontier:
            for waiter in self._waiters[frontier.pop()]:
                if waiter in seen:
                    continue
                seen.add(waiter)
                frontier.append(waiter)
                if waiter in self._blocked_by:
                    self._blocked_by[waiter].append(failed)
                else:
                    self._blocked_by[waiter] = [failed]
                    self._pending.remove(waiter)
                    newly.append(waiter)
        return sorted(newly, key=self._input_order.index)

    def _finish(self, outcome: JobOutcome) -> None:
        self._outcomes[outcome.name] = outcome
        self._display.finished(outcome)

    def _final(self, name: str) -> JobOutcome:
        if name in self._blocked_by:
            blocked = tuple(sorted(self._blocked_by[name], key=self._input_order.index))
            return JobOutcome(name, "skipped", 0.0, None, None, blocked)
        return self._outcomes[name]


def _describe(error: BaseException) -> str:
    """The error's message, or its type's name when it has none (``raise TimeoutError()``)."""
    message = str(error).strip()
    return message if message else type(error).__name__
