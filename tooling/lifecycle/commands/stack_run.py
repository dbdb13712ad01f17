"""One lifecycle command over the selected stacks, on the scheduler.

Every command that runs terraform per stack (deploy, plan, destroy, drift) is the same run: one
job per stack (:mod:`..scheduler`), up to ``parallel`` at a time, each as soon as the stacks it
waits for are done; ``terraform init`` one at a time (:class:`InitGate`); SIGINT/SIGTERM as a
graceful stop and the local emulator watched (:mod:`..interrupts`); output through
:mod:`..display`, ending with the summary table and its "Next:" steps; and one
:class:`~tooling.lifecycle.errors.LifecycleError` when not every stack succeeded (exit 1, or
130 when interrupted). A command gives :meth:`StackRun.over` what differs: its step for one
stack and how its stacks wait for each other.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from io import StringIO
from typing import TYPE_CHECKING, Any, Literal

from tooling.lifecycle.commands.hints import NO_HINTS, Hints
from tooling.lifecycle.display import choose_display
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.interrupts import INTERRUPTED_EXIT, EmulatorWatchdog, Stopper
from tooling.lifecycle.runs import RunInterruptedError, init_stack
from tooling.lifecycle.scheduler import Job, JobContext, JobOutcome, JobResult, run_jobs
from tooling.terraform import StopSignals, plugin_cache_lock

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["DEFAULT_PARALLEL", "InitGate", "JobStream", "Order", "StackRun", "Step", "next_steps"]

#: Stacks run at the same time unless ``--parallel`` says otherwise. They mostly wait on AWS or
#: the emulator (measured on a 2-core machine: README, "Deploy lifecycle"); 1 runs one stack
#: after the other, in the order of the sequential lifecycle.
DEFAULT_PARALLEL = 4

#: What a command does to one stack; raising fails that stack (its dependents are skipped).
Step = Callable[[JobContext, "StackInfo"], JobResult]
#: How a command's stacks wait for each other: ``"reads"``, each after the stacks it reads
#: (deploy); ``"reverse"``, each after the stacks that read it (destroy); ``"none"``, no stack
#: waits (plan and drift only read the states they depend on).
Order = Literal["reads", "reverse", "none"]


class JobStream(StringIO):
    """A text stream whose whole lines become a job's own lines (for what the runs write)."""

    def __init__(self, ctx: JobContext) -> None:
        super().__init__()
        self._ctx = ctx
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text.replace("\r\033[K", "")
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._ctx.line(line)
        return len(text)

    def isatty(self) -> bool:
        return False


class InitGate:
    """Runs one ``terraform init`` at a time, across the threads of a run and across processes
    (concurrent runs, e2e modules): every init of the repository shares the provider plugin
    cache, and Terraform does not make it safe for concurrent use: two inits at once, even with
    a warm cache, can fail with "after installing registry.terraform.io/hashicorp/aws it is
    still not detected in .terraform/providers; this is a bug in Terraform". With a warm cache
    an init takes about a second, so serialising them costs little next to the applies they
    precede."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def init(self, session: Session, stack: StackInfo) -> None:
        with self._lock, plugin_cache_lock(session.root):
            init_stack(session, stack.directory)


def next_steps(outcomes: Sequence[JobOutcome], hints: Hints) -> list[str]:
    """The unlock commands the errors of locked stacks name, then the command to run again."""
    steps: list[str] = []
    if hints.unlock:
        for outcome in outcomes:
            for line in (outcome.error or "").splitlines():
                if line.strip().startswith(hints.unlock):
                    steps.append(
                        f"{line.strip()}   (after checking nobody else runs {outcome.name})"
                    )
    if hints.again:
        steps.append(f"{hints.again}   (after fixing what the failed stacks report)")
    return steps


@contextlib.contextmanager
def _forwarded(stop: threading.Event, stopper: Stopper) -> Iterator[None]:
    """A caller's own ``stop`` event (tests, embedding code) stops the run like a signal."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            if stop.is_set():
                stopper.signalled = True
                stopper.request("stop requested")
                return

    thread = threading.Thread(target=watch, name="stop-forwarder", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@dataclass
class StackRun:
    """One command (``action``) over stacks: its session, hints, stopper, init gate and the
    stacks whose terraform was interrupted."""

    ws: Workspace
    session: Session
    action: str
    hints: Hints = NO_HINTS
    stopper: Stopper = field(default_factory=Stopper)
    gate: InitGate = field(default_factory=InitGate)
    interrupted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stops(self, ctx: JobContext) -> StopSignals:
        return StopSignals(interrupt=ctx.cancelled, kill=self.stopper.kill)

    def begin(self, ctx: JobContext, stack: StackInfo, verb: str) -> None:
        """Init ``stack`` (once per run's plugin cache) unless the run is stopping."""
        self.gate.init(self.session, stack)
        if ctx.cancelled.is_set():
            raise RunInterruptedError(f"{stack.name}: stopped before its {verb} started")

    def streams(self, ctx: JobContext) -> dict[str, Any]:
        """Where a terraform run of ``ctx``'s job reports: its lines, progress, notes, stops."""
        return {
            "out": JobStream(ctx),
            "progress": ctx.progress,
            "note": ctx.line,
            "stops": self.stops(ctx),
        }

    def over(
        self,
        stacks: Sequence[StackInfo],
        step: Step,
        *,
        order: Order,
        parallel: int,
        stop: threading.Event | None = None,
    ) -> list[JobOutcome]:
        """``step`` on every stack as jobs of the scheduler, waiting for each other as ``order``
        says; the outcomes in the order of ``stacks``."""
        jobs = [self._job(stack, step, waits=order != "none") for stack in stacks]
        return self._execute(jobs, parallel=parallel, reverse=order == "reverse", stop=stop)

    def _job(self, stack: StackInfo, step: Step, *, waits: bool) -> Job:
        """The job of ``stack``: ``step``, its interruption recorded."""

        def run(ctx: JobContext) -> JobResult:
            try:
                return step(ctx, stack)
            except RunInterruptedError:
                with self.lock:
                    self.interrupted.append(stack.name)
                raise

        return Job(stack.name, stack.depends_on if waits else frozenset(), run)

    def _execute(
        self, jobs: Sequence[Job], *, parallel: int, reverse: bool, stop: threading.Event | None
    ) -> list[JobOutcome]:
        """Run ``jobs`` on the scheduler with signals handled and the emulator watched."""
        if parallel < 1:
            raise LifecycleError(f"--parallel must be at least 1, not {parallel}.", code=2)
        if stop is not None and stop.is_set():
            self.stopper.request("stop requested")
        with contextlib.ExitStack() as guards:
            guards.enter_context(self.stopper.signals())
            if stop is not None:
                guards.enter_context(_forwarded(stop, self.stopper))
            watchdog = self._watchdog()
            if watchdog is not None:
                guards.enter_context(watchdog)
            return run_jobs(
                jobs,
                parallel=parallel,
                reverse=reverse,
                action=self.action,
                display=choose_display(self.ws.stream),
                stop=self.stopper.stop,
                next_steps=lambda outcomes: next_steps(outcomes, self.hints),
            )

    def _watchdog(self) -> EmulatorWatchdog | None:
        """The watchdog of the local emulator this run uses; None on aws (or no process)."""
        emulator = self.session.emulator
        if emulator is None or emulator.pid <= 0:
            return None
        log = emulator.state_dir / "moto.log"
        with contextlib.suppress(ValueError):
            log = log.relative_to(self.ws.root.resolve())
        return EmulatorWatchdog(
            pid=emulator.pid,
            port=emulator.port,
            log=log,
            stopper=self.stopper,
            action=self.action,
        )

    def raise_for(self, outcomes: Sequence[JobOutcome], *, finish: bool = False) -> None:
        """A LifecycleError when not every job succeeded: 130 naming what was interrupted
        (signal; with ``finish``, the command that finishes the run), the watchdog's message
        (emulator gone), else the failed and skipped stacks."""
        if all(o.status == "succeeded" for o in outcomes):
            return
        detail = _detail(outcomes, set(self.interrupted))
        if self.stopper.signalled:
            what = f"Run {self.hints.again} to finish." if finish and self.hints.again else ""
            raise LifecycleError(
                f"{self.action} stopped by {self.stopper.reason}: {detail}. {what}".rstrip(),
                code=INTERRUPTED_EXIT,
            )
        if self.stopper.reasons:
            raise LifecycleError(f"{self.stopper.reason} ({detail})")
        raise LifecycleError(f"{self.action} failed ({detail}); see the summary above.")


def _detail(outcomes: Sequence[JobOutcome], stopped: set[str]) -> str:
    """What became of each stack, grouped: interrupted, failed, skipped, not started, done."""
    failed = [o.name for o in outcomes if o.status == "failed" and o.name not in stopped]
    # A stack waiting for an interrupted one was not started because of the interruption.
    held = [o for o in outcomes if o.status == "skipped"]
    skipped = [o.name for o in held if not set(o.blocked_by) <= stopped]
    cancelled = [o.name for o in outcomes if o.status == "cancelled"]
    cancelled += [o.name for o in held if set(o.blocked_by) <= stopped]
    interrupted = [o.name for o in outcomes if o.name in stopped]
    done = [o.name for o in outcomes if o.status == "succeeded"]
    parts = []
    if interrupted:
        parts.append(
            f"interrupted: {', '.join(interrupted)} (terraform wrote the state and released "
            "the lock)"
        )
    for label, names in (
        ("failed", failed),
        ("skipped", skipped),
        ("not started", cancelled),
        ("done", done),
    ):
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    return "; ".join(parts)
