"""The lifecycle commands, step by step: deploy, plan, destroy, drift, validate, bootstrap.

Each function is one command of ``./tap`` (and what the e2e tests run): it synthesizes the
selected environments, reads their stacks' dependency graph (:mod:`.graph`), opens the session
of the target (:mod:`.session`) and runs terraform on the stacks (:mod:`.runs`) through the
scheduler (:mod:`.scheduler`): up to ``parallel`` at a time, each as soon as the stacks it
needs are done (destroy: the reverse), a failed stack skipping its dependents only. Output goes
through :mod:`.display` (live in a terminal, prefixed lines in CI) and ends with a summary table.

A run stops cleanly on SIGINT/SIGTERM and when the local emulator dies (:mod:`.interrupts`);
a failure is a :class:`.errors.LifecycleError` whose message says what to do (exit code 1, or
130 when interrupted); nothing here knows about invoke.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from io import StringIO
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.applied import AppliedRecords, Verdict
from tooling.lifecycle.backend import backend_spec, bootstrap_backend
from tooling.lifecycle.display import choose_display
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.interrupts import INTERRUPTED_EXIT, EmulatorWatchdog, Stopper
from tooling.lifecycle.leftovers import Leftover, leftovers
from tooling.lifecycle.locks import unlock
from tooling.lifecycle.outputs import (
    merge_stack_outputs,
    multi_region_flat_outputs,
    remove_outputs,
    stack_outputs,
    write_flat_outputs,
)
from tooling.lifecycle.plan_report import StackPlan, stack_plan, summary_lines, write_reports
from tooling.lifecycle.preflight import require_preflight
from tooling.lifecycle.protection import refuse_protected_destroy
from tooling.lifecycle.runs import (
    RunInterruptedError,
    apply_stack,
    destroy_stack,
    has_state,
    init_stack,
    plan_stack,
    show_plan,
)
from tooling.lifecycle.scheduler import Job, JobContext, JobOutcome, JobResult, run_jobs
from tooling.lifecycle.selection import select_environments
from tooling.lifecycle.session import DeployError, Session, open_session
from tooling.lifecycle.synth import synth_stacks
from tooling.terraform import StopSignals, plugin_cache_lock

if TYPE_CHECKING:
    from tooling.drift.live import StackDrift
    from tooling.lifecycle.workspace import Workspace

__all__ = [
    "DEFAULT_PARALLEL",
    "bootstrap",
    "deploy_stacks",
    "destroy_stacks",
    "drift_stacks",
    "ordered_stacks",
    "plan_stacks",
    "session_for",
    "static_drift",
    "unlock_stack",
    "validate_stacks",
]

#: Stacks run at the same time unless ``--parallel`` says otherwise. They mostly wait on AWS or
#: the emulator (measured on a 2-core machine: README, "Deploy lifecycle"); 1 runs one stack
#: after the other, in the order of the sequential lifecycle.
DEFAULT_PARALLEL = 4

#: Where a stack's saved plan lives between ``terraform plan -out`` and ``terraform show -json``.
PLAN_FILE = "tap.tfplan"
#: What ``deploy`` says of a stack it skips (:mod:`.applied`).
UNCHANGED = "unchanged since its last apply (skipped; --plan-all plans it)"
#: Outputs ``deploy`` prints per environment after writing cfn-outputs.
_SHOWN_OUTPUTS = (
    "api_endpoint_url",
    "api_local_url",
    "data_bucket_name",
    "trades_table_name",
    "sessions_table_name",
    "database_endpoint",
)


def ordered_stacks(ws: Workspace, env: str | None) -> list[StackInfo]:
    """``env``'s stacks, synthesized (incremental), in deploy order (destroy reverses it)."""
    return read_stacks(ws.outdir, synth_stacks(ws, env))


def session_for(ws: Workspace, *, start: bool = True) -> Session:
    """The session of ``ws``'s target; ``start=False`` needs the local emulator running."""
    return open_session(ws.root, ws.target, port=ws.port, start=start)


def bootstrap_environments(ws: Workspace, env: str) -> None:
    """``./tap bootstrap-backend``: the state backends of the environments ``env`` selects, and
    their key administrators, each in the account its environment deploys into."""
    bootstrap(ws, session_for(ws), select_environments(ws.config(), env))


def bootstrap(ws: Workspace, session: Session, environments: Collection[str] | None = None) -> None:
    """Create the Terraform state buckets (of ``environments``; None: every environment) and
    the lock table of platform.toml ``[state]``."""
    from botocore.exceptions import BotoCoreError, ClientError

    spec = backend_spec(ws.config())
    if environments is not None:
        spec = spec.for_environments(environments)
    try:
        for line in bootstrap_backend(session, spec):
            ws.echo(f"bootstrap-backend: {line}")
    except (ClientError, BotoCoreError) as error:
        raise LifecycleError(
            f"bootstrap-backend failed: {error}. For --target aws check your AWS credentials "
            "and permissions (sts:GetCallerIdentity, s3:ListAllMyBuckets, s3:CreateBucket, "
            "kms:CreateKey, dynamodb:CreateTable, iam:GetRole, iam:CreateRole, ...)."
        ) from None


def _local_fixtures(
    ws: Workspace, session: Session, environments: list[str], *, remove: bool = False
) -> None:
    """Local target only: prepare (or, after destroy, remove) what an account already has and
    the environments expect (hosted zone, master secret, rotation function; see
    tooling/emulator/fixtures.py). Never for aws: there the account provides them."""
    if session.emulator is None:
        return
    from botocore.exceptions import BotoCoreError, ClientError

    from tooling.emulator import fixtures as local_fixtures

    config = ws.config()
    for name in environments:
        fixtures = local_fixtures.fixtures_for(config.environment(name))
        if not fixtures.needed:
            continue
        action = local_fixtures.remove if remove else local_fixtures.prepare
        try:
            for line in action(session, fixtures):
                ws.echo(f"account fixtures ({name}, local): {line}")
        except (ClientError, BotoCoreError) as error:
            raise LifecycleError(f"account fixtures of {name} failed: {error}") from None


def _local_outputs(session: Session, outputs: dict[str, Any]) -> None:
    """Local target: the emulator's endpoint, and the API's URL on it (``api_local_url``)."""
    if session.emulator is None:
        return
    from tooling.emulator.httpapi import stage_url

    outputs["emulator_endpoint"] = session.emulator.endpoint
    if "api_id" in outputs and "api_stage_name" in outputs:
        outputs["api_local_url"] = stage_url(
            session.emulator.endpoint, outputs["api_id"], outputs["api_stage_name"]
        )


class _JobStream(StringIO):
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


class _InitGate:
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


@dataclass
class _Run:
    """One scheduled command: its session, stopper, init gate and what its jobs reported."""

    ws: Workspace
    session: Session
    action: str
    stopper: Stopper = field(default_factory=Stopper)
    gate: _InitGate = field(default_factory=_InitGate)
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
            "out": _JobStream(ctx),
            "progress": ctx.progress,
            "note": ctx.line,
            "stops": self.stops(ctx),
        }

    def job(self, stack: StackInfo, work: Callable[[JobContext], JobResult]) -> Job:
        """The job of ``stack``: ``work`` unless the run is stopping; interruptions recorded."""

        def run(ctx: JobContext) -> JobResult:
            try:
                return work(ctx)
            except RunInterruptedError:
                with self.lock:
                    self.interrupted.append(stack.name)
                raise

        return Job(stack.name, stack.depends_on, run)

    def execute(
        self,
        jobs: Sequence[Job],
        *,
        parallel: int,
        reverse: bool = False,
        retry: str,
        stop: threading.Event | None = None,
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
            emulator = self.session.emulator
            if emulator is not None and emulator.pid > 0:
                log = emulator.state_dir / "moto.log"
                with contextlib.suppress(ValueError):
                    log = log.relative_to(self.ws.root.resolve())
                guards.enter_context(
                    EmulatorWatchdog(
                        pid=emulator.pid,
                        port=emulator.port,
                        log=log,
                        stopper=self.stopper,
                        action=self.action,
                    )
                )
            return run_jobs(
                jobs,
                parallel=parallel,
                reverse=reverse,
                action=self.action,
                display=choose_display(self.ws.stream),
                stop=self.stopper.stop,
                next_steps=lambda outcomes: _next_steps(outcomes, retry),
            )

    def raise_for(self, outcomes: Sequence[JobOutcome], *, what: str = "") -> None:
        """A LifecycleError when not every job succeeded: 130 naming what was interrupted
        (signal), the watchdog's message (emulator gone), else the failed and skipped stacks."""
        if all(o.status == "succeeded" for o in outcomes):
            return
        stopped = set(self.interrupted)
        failed = [o.name for o in outcomes if o.status == "failed" and o.name not in stopped]
        # A stack waiting for an interrupted one was not started because of the interruption.
        held = [o for o in outcomes if o.status == "skipped"]
        skipped = [o.name for o in held if not set(o.blocked_by) <= stopped]
        cancelled = [o.name for o in outcomes if o.status == "cancelled"]
        cancelled += [o.name for o in held if set(o.blocked_by) <= stopped]
        interrupted = [o.name for o in outcomes if o.name in self.interrupted]
        done = [o.name for o in outcomes if o.status == "succeeded"]
        parts = []
        if interrupted:
            parts.append(
                f"interrupted: {', '.join(interrupted)} (terraform wrote the state and released "
                "the lock)"
            )
        if failed:
            parts.append(f"failed: {', '.join(failed)}")
        if skipped:
            parts.append(f"skipped: {', '.join(skipped)}")
        if cancelled:
            parts.append(f"not started: {', '.join(cancelled)}")
        if done:
            parts.append(f"done: {', '.join(done)}")
        detail = "; ".join(parts)
        if self.stopper.signalled:
            raise LifecycleError(
                f"{self.action} stopped by {self.stopper.reason}: {detail}. {what}".rstrip(),
                code=INTERRUPTED_EXIT,
            )
        if self.stopper.reasons:
            raise LifecycleError(f"{self.stopper.reason} ({detail})")
        raise LifecycleError(f"{self.action} failed ({detail}); see the summary above.")


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


def _next_steps(outcomes: Sequence[JobOutcome], retry: str) -> list[str]:
    """The unlock commands named by locked stacks, then the command to run again."""
    steps: list[str] = []
    for outcome in outcomes:
        for line in (outcome.error or "").splitlines():
            if line.strip().startswith("./tap unlock "):
                steps.append(f"{line.strip()}   (after checking nobody else runs {outcome.name})")
    steps.append(f"{retry}   (after fixing what the failed stacks report)")
    return steps


def _command(ws: Workspace, task: str, env: str | None, *extra: str) -> str:
    parts = ["./tap", task]
    if env:
        parts += ["--env", env]
    if ws.target != "local":
        parts += ["--target", ws.target]
    return " ".join([*parts, *extra])


def _summary(added: int, changed: int, destroyed: int) -> str:
    if added == changed == destroyed == 0:
        return "no changes"
    return f"{added} added, {changed} changed, {destroyed} destroyed"


@dataclass
class _Deployment:
    """The stack jobs of one deploy: each skipped when unchanged (:mod:`.applied`), else
    applied with its record deleted first and written after; the outputs of both collected."""

    run: _Run
    records: AppliedRecords
    plan_all: bool = False
    timings: dict[str, float] | None = None
    collected: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The stacks whose apply started in this run (their dependents are applied too).
    applied: set[str] = field(default_factory=set)

    def collect(self, stack: StackInfo, outputs: dict[str, Any]) -> None:
        outputs["aws_region"] = stack.region
        _local_outputs(self.run.session, outputs)
        self.collected[stack.name] = outputs

    def work(self, stack: StackInfo) -> Callable[[JobContext], JobResult]:
        return lambda ctx: self.deploy(ctx, stack)

    def deploy(self, ctx: JobContext, stack: StackInfo) -> JobResult:
        verdict = self.records.check(stack)
        with self.run.lock:
            upstream = sorted(stack.depends_on & self.applied)
        reason = _apply_reason(verdict, upstream, plan_all=self.plan_all)
        if reason is None:
            ctx.line(UNCHANGED)
            self.collect(stack, dict(verdict.outputs or {}))
            return JobResult(summary="unchanged (skipped)")
        ctx.line(f"applying: {reason}")
        session = self.run.session
        self.run.begin(ctx, stack, "apply")
        self.records.forget(stack)
        with self.run.lock:
            self.applied.add(stack.name)
        result = apply_stack(session, stack.directory, **self.run.streams(ctx))
        if verdict.fingerprint is not None:
            problem = self.records.remember(stack, verdict.fingerprint)
            if problem is not None:
                ctx.line(problem)
        if self.timings is not None:
            self.timings[stack.name] = result.seconds
        self.collect(stack, stack_outputs(session, stack.directory))
        summary = _summary(result.added, result.changed, result.destroyed)
        if result.adopted:
            summary += f", {len(result.adopted)} adopted"
        return JobResult(result.added, result.changed, result.destroyed, summary)


def _apply_reason(verdict: Verdict, upstream: Sequence[str], *, plan_all: bool) -> str | None:
    """Why a deploy applies the stack of ``verdict``; None: it skips it (unchanged, and none of
    the ``upstream`` stacks it reads was applied in this run: their outputs may have changed)."""
    if plan_all:
        return "--plan-all"
    if not verdict.unchanged:
        return verdict.reason
    if upstream:
        return f"{', '.join(upstream)} applied in this run"
    return None


def deploy_stacks(
    ws: Workspace,
    env: str | None,
    *,
    timings: dict[str, float] | None = None,
    parallel: int = DEFAULT_PARALLEL,
    plan_all: bool = False,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Build, synth, bootstrap, init + apply every stack (each after the stacks it reads, up to
    ``parallel`` at a time), write cfn-outputs of the stacks that succeeded; return the flat
    outputs. ``timings`` gets each applied stack's apply seconds. A failed stack skips its
    dependents, the others finish, then this raises (exit 1; 130 when interrupted by a signal or
    ``stop``).

    A stack unchanged since its last successful apply (:mod:`.applied`: same fingerprint, same
    state) whose upstream stacks were not applied in this run either is skipped (no init, no
    plan; its outputs are read from its state); ``plan_all`` applies every stack. Each apply
    deletes the stack's record first and records its fingerprint after it succeeded."""
    stacks = ordered_stacks(ws, env)
    if ws.target == "aws":
        require_preflight(ws, stacks)  # read-only checks; a failure stops before any change
    session = session_for(ws)
    bootstrap(ws, session, {stack.environment for stack in stacks})
    _local_fixtures(ws, session, sorted({stack.environment for stack in stacks}))
    run = _Run(ws, session, "deploy")
    deployment = _Deployment(run, AppliedRecords(session), plan_all=plan_all, timings=timings)
    collected = deployment.collected
    jobs = [run.job(stack, deployment.work(stack)) for stack in stacks]
    outcomes = run.execute(jobs, parallel=parallel, retry=_command(ws, "deploy", env), stop=stop)
    done = [(stack, collected[stack.name]) for stack in stacks if stack.name in collected]
    flat: dict[str, Any] = {}
    if done:
        primary = {e.name: e.primary_region.name for e in ws.config().environments}
        flat = multi_region_flat_outputs(done, primary)
        path = write_flat_outputs(ws.root, flat)
        ws.echo(f"outputs: {path.relative_to(ws.root)} ({len(flat)} keys)")
        for environment in merge_stack_outputs(done):
            for name in _SHOWN_OUTPUTS:
                key = f"{environment}_{name}"
                if key in flat:
                    ws.echo(f"  {key:32} {flat[key]}")
    run.raise_for(outcomes, what=f"Run {_command(ws, 'deploy', env)} to finish.")
    return flat


def plan_stacks(
    ws: Workspace,
    env: str | None,
    *,
    parallel: int = DEFAULT_PARALLEL,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """`terraform plan -detailed-exitcode` per stack, up to ``parallel`` at a time (a plan only
    reads the states it depends on, so none waits for another):
    {stack: 0 no changes, 1 error (or not run), 2 changes}. RunInterruptedError: exit 130."""
    stacks = ordered_stacks(ws, env)
    session = session_for(ws, start=False)
    run = _Run(ws, session, "plan")
    codes: dict[str, int] = {stack.name: 1 for stack in stacks}
    plans: dict[str, StackPlan] = {
        stack.name: StackPlan(stack=stack.name, error="not planned") for stack in stacks
    }
    words = {0: "no changes", 2: "changes"}

    def work(stack: StackInfo) -> Callable[[JobContext], JobResult]:
        def plan(ctx: JobContext) -> JobResult:
            run.begin(ctx, stack, "plan")
            plan_file = stack.directory / PLAN_FILE
            code, output = plan_stack(
                session,
                stack.directory,
                out=_JobStream(ctx),
                note=ctx.line,
                stops=run.stops(ctx),
                plan_file=plan_file,
            )
            codes[stack.name] = code
            if code != 0:
                ctx.line(output.rstrip())
            if code not in words:
                plan_file.unlink(missing_ok=True)
                plans[stack.name] = StackPlan(stack=stack.name, error=f"plan failed (exit {code})")
                raise DeployError(f"terraform plan of {stack.name} failed (exit {code})")
            plans[stack.name] = stack_plan(
                stack.name, show_plan(session, stack.directory, plan_file)
            )
            return JobResult(summary=words[code])

        return plan

    jobs = [Job(job.name, frozenset(), job.run) for job in (run.job(s, work(s)) for s in stacks)]
    outcomes = run.execute(jobs, parallel=parallel, retry=_command(ws, "plan", env), stop=stop)
    if run.stopper.reasons:
        run.raise_for(outcomes)
    ordered = [plans[stack.name] for stack in stacks]
    for line in summary_lines(ordered):
        ws.echo(line)
    json_path, markdown_path = write_reports(ws.root, ordered)
    ws.echo(f"plan reports: {json_path.relative_to(ws.root)}, {markdown_path.relative_to(ws.root)}")
    return codes


def destroy_stacks(
    ws: Workspace,
    env: str | None,
    *,
    timings: dict[str, float] | None = None,
    parallel: int = DEFAULT_PARALLEL,
    sweep: bool | None = None,
    stop: threading.Event | None = None,
) -> list[Leftover]:
    """Destroy every stack (each before the stacks it reads: the reverse graph, up to
    ``parallel`` at a time), then list what of the platform is left and sweep it.

    A stack without a state object (never deployed) is skipped. ``timings`` gets each stack's
    destroy seconds. What the leftover check finds afterwards (resources no state knows of,
    e.g. created by an interrupted apply) is deleted (:func:`.sweep.sweep`) when ``sweep`` is
    true, by default on the local target only: on aws it is listed with the ``--sweep``
    command. Returns what is left after that (empty: nothing). A failed stack skips the stacks
    it reads (and nothing is swept): a LifecycleError after the summary. An environment with
    data protection on is refused before anything runs (:mod:`.protection`).
    """
    config = ws.config()
    refuse_protected_destroy(config, select_environments(config, env), env=env, target=ws.target)
    stacks = ordered_stacks(ws, env)
    session = session_for(ws)
    bootstrap(ws, session, {stack.environment for stack in stacks})
    spec = backend_spec(config)
    run = _Run(ws, session, "destroy")
    records = AppliedRecords(session)

    def work(stack: StackInfo) -> Callable[[JobContext], JobResult]:
        def destroy(ctx: JobContext) -> JobResult:
            records.forget(stack)  # the next deploy applies it, whatever this destroy did
            if not has_state(session, stack, spec.region):
                return JobResult(summary="no state, nothing to destroy")
            run.begin(ctx, stack, "destroy")
            result = destroy_stack(session, stack.directory, **run.streams(ctx))
            if timings is not None:
                timings[stack.name] = result.seconds
            return JobResult(destroyed=result.destroyed, summary=f"{result.destroyed} destroyed")

        return destroy

    jobs = [run.job(stack, work(stack)) for stack in stacks]
    outcomes = run.execute(
        jobs, parallel=parallel, reverse=True, retry=_command(ws, "destroy", env), stop=stop
    )
    run.raise_for(outcomes, what=f"Run {_command(ws, 'destroy', env)} to finish.")
    selected = sorted({stack.environment for stack in stacks})
    for environment in selected:
        remove_outputs(ws.root, environment)
    chosen = [e for e in config.environments if e.name in selected]
    regions = {stack.region for stack in stacks}
    cidrs = {str(region.vpc_cidr) for environment in chosen for region in environment.regions}
    _local_fixtures(ws, session, selected, remove=True)
    dns_names = [e.dns.api_domain for e in chosen if e.dns is not None]

    def check() -> list[Leftover]:
        return leftovers(
            session, regions, spec, cidrs=cidrs, environments=selected, dns_names=dns_names
        )

    do_sweep = sweep if sweep is not None else session.emulator is not None
    again = _command(ws, "destroy", env, "--sweep")
    left = _sweep_leftovers(ws, session, spec.region, check, sweep=do_sweep, again=again)
    if left:
        ws.echo("destroy: left behind:")
        for item in left:
            ws.echo(f"  {item.kind}: {item.name}")
    else:
        ws.echo("destroy: nothing left")
    return left


def _sweep_leftovers(
    ws: Workspace,
    session: Session,
    region: str,
    check: Callable[[], list[Leftover]],
    *,
    sweep: bool,
    again: str,
) -> list[Leftover]:
    """The leftover check; with ``sweep``, delete what it finds (:func:`.sweep.sweep`) and
    check again; without, name the command that would. Returns what is left."""
    left = check()
    if not left:
        return left
    if not sweep:
        ws.echo(
            f"destroy: {len(left)} resource(s) are in no state; on --target aws nothing outside "
            f"a state is deleted without asking: check the list below, then run {again}"
        )
        return left
    from tooling.lifecycle.sweep import sweep as sweep_leftovers

    ws.echo(f"destroy: {len(left)} resource(s) are in no state (an interrupted run); sweeping:")
    for line in sweep_leftovers(session.client, left, region=region):
        ws.echo(f"  {line}")
    return check()


def drift_stacks(
    ws: Workspace,
    env: str | None,
    *,
    parallel: int = DEFAULT_PARALLEL,
    stop: threading.Event | None = None,
) -> list[StackDrift]:
    """Plan every stack (no lock, up to ``parallel`` at a time), publish each region's change
    count to CloudWatch, print a table; return the per-stack results. A stack whose plan failed
    is an error after the others were published (its region publishes nothing, so its alarm
    sees missing data)."""
    from tooling.drift import live

    stacks = ordered_stacks(ws, env)
    session = session_for(ws, start=False)
    run = _Run(ws, session, "drift")
    found: dict[str, StackDrift] = {}
    started = time.perf_counter()

    def work(stack: StackInfo) -> Callable[[JobContext], JobResult]:
        def plan(ctx: JobContext) -> JobResult:
            run.begin(ctx, stack, "plan")
            try:
                drift = live.plan_drift(session, stack)
            except live.DriftError as error:
                raise DeployError(str(error)) from None
            found[stack.name] = drift
            return JobResult(summary=f"{len(drift.addresses)} change(s)")

        return plan

    jobs = [Job(job.name, frozenset(), job.run) for job in (run.job(s, work(s)) for s in stacks)]
    outcomes = run.execute(jobs, parallel=parallel, retry=_command(ws, "drift", env), stop=stop)
    if run.stopper.reasons:
        run.raise_for(outcomes)
    results = [found[stack.name] for stack in stacks if stack.name in found]
    failed = {o.name: o.error or o.status for o in outcomes if o.status != "succeeded"}
    broken_regions = {s.region for s in stacks if s.name in failed}
    totals = live.publish(session, [r for r in results if r.region not in broken_regions])
    ws.echo(live.format_table(results))
    for (environment, region), changes in totals.items():
        ws.echo(f"drift: published {changes} to {region} ({environment})")
    for result in results:
        for address in result.addresses:
            ws.echo(f"  {result.stack}: {address}")
    ws.echo(f"drift: {len(stacks)} stack(s) planned in {time.perf_counter() - started:.1f} s")
    if failed:
        raise LifecycleError(
            f"drift unknown for {', '.join(sorted(failed))} (plan failed; nothing published "
            f"for {', '.join(sorted(broken_regions))}: its drift alarm goes off on missing data)."
        )
    return results


def unlock_stack(ws: Workspace, stack: str, lock_id: str) -> str:
    """``./tap unlock``: release exactly the state lock ``lock_id`` of ``stack``, after checking
    that it is the lock held now; print and return what was done."""
    directory = ws.outdir / "stacks" / stack
    if not (directory / "cdk.tf.json").is_file():
        synth_stacks(ws, "all")
    if not (directory / "cdk.tf.json").is_file():
        known = sorted(p.name for p in (ws.outdir / "stacks").iterdir() if p.is_dir())
        raise LifecycleError(f"no stack {stack!r}; the stacks are: {', '.join(known)}", code=2)
    session = session_for(ws, start=False)
    message = unlock(session, directory, lock_id)
    ws.echo(f"unlock: {message}")
    return message


def static_drift(ws: Workspace, env: str | None) -> list[str]:
    """Compare the synthesized regions of every selected multi-region environment (default:
    all of them); return the differences, each printed. No cloud is touched."""
    from tooling.drift.static import compare_regions, load_region_stacks

    config = ws.config()
    names = select_environments(config, env) if env else [e.name for e in config.environments]
    selected = [config.environment(n) for n in names if config.environment(n).is_multi_region]
    if not selected:
        ws.echo(f"drift --static: no multi-region environment in {names}: nothing to compare")
        return []
    found: list[str] = []
    for environment in selected:
        synth_stacks(ws, environment.name)
        stacks = load_region_stacks(ws.outdir / "stacks", config.platform.name, environment)
        differences = compare_regions(stacks)
        if differences:
            ws.echo(f"drift --static {environment.name}: {len(differences)} difference(s):")
            for line in differences:
                ws.echo(f"  {line}")
        else:
            ws.echo(f"drift --static {environment.name}: regions identical")
        found += differences
    return found


def validate_stacks(ws: Workspace, env: str | None) -> list[str]:
    """``terraform validate`` (offline, no backend) of every synthesized stack; print each
    result and return the stacks that failed (an error, or a deprecation warning)."""
    from tooling.terraform import validate_stack

    failures = []
    for stack in synth_stacks(ws, env):
        result = validate_stack(ws.outdir / "stacks" / stack, ws.root)
        deprecated = result.deprecations
        status = "ok" if not result.errors and not deprecated else "FAILED"
        counts = f"{len(result.errors)} errors, {len(result.warnings)} warnings"
        ws.echo(f"validate {stack}: {status} ({counts})")
        for diagnostic in [*result.errors, *result.warnings]:
            where = f" ({diagnostic.address})" if diagnostic.address else ""
            ws.echo(f"  {diagnostic.severity}: {diagnostic.summary}{where}: {diagnostic.detail}")
        if result.errors or deprecated:
            failures.append(stack)
    return failures
