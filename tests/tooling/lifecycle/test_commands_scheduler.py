"""tooling.lifecycle.commands on the scheduler (:mod:`.stack_run`), without a cloud: the
commands' stacks run as jobs (ordering, the parallel limit, failure isolation, skips, reverse
order for destroy, exit codes, the summary and the commands its "Next:" steps name), the sweep
after destroy, and interruption (a fake long terraform gets one SIGINT, the task exits 130; the
emulator's watchdog stops a run within seconds)."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tooling.emulator.process import Emulator
from tooling.lifecycle.commands import deploy, destroy, plan, stack_run
from tooling.lifecycle.commands.hints import Hints
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.graph import StackInfo
from tooling.lifecycle.interrupts import INTERRUPTED_EXIT
from tooling.lifecycle.leftovers import Leftover
from tooling.lifecycle.runs import ApplyResult
from tooling.lifecycle.session import DeployError, Session
from tooling.lifecycle.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
NET, APP = "tap-dev-r-1-network", "tap-dev-r-1-app"
PNET, PAPP = "tap-prod-r-1-network", "tap-prod-r-1-app"
#: What tasks.py passes for ``--env dev,prod --target aws`` (tests/tooling/test_tasks.py).
HINTS = Hints(again="./tap deploy --env dev,prod --target aws", unlock="./tap unlock ")


def _stack(tmp_path: Path, name: str, env: str, needs: tuple[str, ...] = ()) -> StackInfo:
    directory = tmp_path / "stacks" / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cdk.tf.json").write_text("{}", encoding="utf-8")  # synthesized: no variables
    return StackInfo(
        name, directory, env, "ap-southeast-1", frozenset(needs), ("bucket", f"{name}.tfstate")
    )


class Recorder:
    """What the fake runs did: start/end order and the most that ran at the same time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[str] = []
        self.running = 0
        self.most = 0

    def run(self, what: str, name: str, seconds: float = 0.05) -> None:
        with self.lock:
            self.events.append(f"start {what} {name}")
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(seconds)
        with self.lock:
            self.running -= 1
            self.events.append(f"end {what} {name}")

    def index(self, event: str) -> int:
        return self.events.index(event)


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Workspace, io.StringIO, Recorder, dict[str, Any]]:
    """A workspace on a copy of platform.toml, four stacks (dev and prod: network <- app) and
    every cloud step replaced by a fake that records what ran."""
    shutil.copy(ROOT / "platform.toml", tmp_path / "platform.toml")
    out = io.StringIO()
    ws = Workspace(root=tmp_path, outdir=tmp_path, target="aws", out=out)
    stacks = [
        _stack(tmp_path, NET, "dev"),
        _stack(tmp_path, PNET, "prod"),
        _stack(tmp_path, APP, "dev", (NET,)),
        _stack(tmp_path, PAPP, "prod", (PNET,)),
    ]
    recorder = Recorder()
    knobs: dict[str, Any] = {"fail": set(), "left": [], "swept": []}
    session = Session(root=tmp_path, target="aws")
    # These stacks have no synthesized JSON to check the account against: preflight has its
    # own tests (test_preflight.py), here the order of the steps after it is the subject.
    monkeypatch.setattr(deploy, "require_preflight", lambda ws, stacks: [])

    def apply(session: Session, stack_dir: Path, **kwargs: Any) -> ApplyResult:
        recorder.run("apply", stack_dir.name)
        if stack_dir.name in knobs["fail"]:
            raise DeployError(f"terraform apply of {stack_dir.name} failed (exit 1):\nError: boom")
        kwargs["progress"](1, "aws_s3_bucket.a")
        return ApplyResult(stack=stack_dir.name, seconds=0.05, added=1)

    def destroy_one(session: Session, stack_dir: Path, **kwargs: Any) -> ApplyResult:
        recorder.run("destroy", stack_dir.name)
        if stack_dir.name in knobs["fail"]:
            raise DeployError(f"terraform destroy of {stack_dir.name} failed (exit 1)")
        return ApplyResult(stack=stack_dir.name, seconds=0.05, destroyed=2)

    def plan_one(session: Session, stack_dir: Path, **kwargs: Any) -> tuple[int, str]:
        recorder.run("plan", stack_dir.name)
        return (1, "Error: bad\n") if stack_dir.name in knobs["fail"] else (0, "No changes.\n")

    def leftovers(*args: Any, **kwargs: Any) -> list[Leftover]:
        return list(knobs["left"])

    def sweep(clients: Any, left: list[Leftover], *, region: str) -> list[str]:
        knobs["swept"].extend(left)
        knobs["left"] = []
        return [f"{item.kind} {item.name}: deleted" for item in left]

    for command in (deploy, plan, destroy):
        monkeypatch.setattr(command, "ordered_stacks", lambda ws, env: stacks)
        monkeypatch.setattr(
            command, "session_for", lambda ws, start=True: knobs.get("session", session)
        )
    for command in (deploy, destroy):
        monkeypatch.setattr(command, "bootstrap", lambda ws, session, environments=None: None)
        monkeypatch.setattr(command, "local_fixtures", lambda *a, **k: None)
    monkeypatch.setattr(stack_run, "init_stack", lambda session, directory: None)
    monkeypatch.setattr(deploy, "apply_stack", apply)
    monkeypatch.setattr(deploy, "stack_outputs", lambda session, d: {"name": d.name})
    monkeypatch.setattr(destroy, "destroy_stack", destroy_one)
    monkeypatch.setattr(destroy, "has_state", lambda session, stack, region: True)
    monkeypatch.setattr(destroy, "leftovers", leftovers)
    monkeypatch.setattr(plan, "plan_stack", plan_one)
    monkeypatch.setattr("tooling.lifecycle.sweep.sweep", sweep)
    return ws, out, recorder, knobs


def test_terraform_inits_never_overlap_even_when_stacks_run_in_parallel(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN inits that take a while (they share the plugin cache, unsafe for concurrent use)
    ws, _, _, _ = world
    inits = Recorder()
    monkeypatch.setattr(
        stack_run, "init_stack", lambda session, directory: inits.run("init", directory.name)
    )
    # WHEN the two independent network stacks are deployed with room for four at a time
    deploy.deploy_stacks(ws, "all", parallel=4)
    # THEN every stack was initialised, one init at a time
    assert sum(e.startswith("start init") for e in inits.events) == 4
    assert inits.most == 1


def test_the_plugin_cache_lock_excludes_another_process(tmp_path: Path) -> None:
    from tooling.terraform import plugin_cache_lock, plugin_cache_path

    lock_file = plugin_cache_path(tmp_path).parent / "plugin-cache.lock"
    probe = (
        "import fcntl, sys\n"
        "with open(sys.argv[1], 'a') as handle:\n"
        "    try:\n"
        "        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "    except BlockingIOError:\n"
        "        print('held')\n"
        "    else:\n"
        "        print('free')\n"
    )

    def other_process_sees() -> str:
        result = subprocess.run(
            [sys.executable, "-c", probe, str(lock_file)],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        return result.stdout.strip()

    with plugin_cache_lock(tmp_path):
        assert other_process_sees() == "held"
    assert other_process_sees() == "free"


def test_deploy_runs_each_stack_after_what_it_reads_and_independent_ones_together(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
) -> None:
    ws, out, recorder, _ = world
    timings: dict[str, float] = {}
    flat = deploy.deploy_stacks(ws, "dev,prod", timings=timings, parallel=4)
    assert recorder.index(f"end apply {NET}") < recorder.index(f"start apply {APP}")
    assert recorder.index(f"end apply {PNET}") < recorder.index(f"start apply {PAPP}")
    assert recorder.most == 2  # both networks, then both apps
    assert set(timings) == {NET, APP, PNET, PAPP}
    assert flat["dev_name"] == APP and flat["prod_name"] == PAPP  # the app wins a clash
    text = out.getvalue()
    assert f"[{NET}] 1 resource(s) done: aws_s3_bucket.a" in text
    assert "JOB" in text and "succeeded: 1 added, 0 changed, 0 destroyed" in text


def test_parallel_one_is_the_sequential_order(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
) -> None:
    ws, _, recorder, _ = world
    deploy.deploy_stacks(ws, "dev,prod", parallel=1)
    assert recorder.most == 1
    starts = [e.split()[-1] for e in recorder.events if e.startswith("start")]
    assert starts == [NET, PNET, APP, PAPP]


def test_the_parallel_limit_holds(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
) -> None:
    ws, _, recorder, _ = world
    plan.plan_stacks(ws, "dev,prod", parallel=3)
    assert recorder.most == 3


def test_a_failed_stack_skips_its_dependents_only_and_the_others_finish(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]], tmp_path: Path
) -> None:
    ws, out, recorder, knobs = world
    knobs["fail"] = {NET}
    with pytest.raises(LifecycleError) as error:
        deploy.deploy_stacks(ws, "dev,prod", hints=HINTS)
    assert error.value.code == 1
    assert f"failed: {NET}" in str(error.value) and f"skipped: {APP}" in str(error.value)
    assert f"start apply {APP}" not in recorder.events
    assert f"end apply {PAPP}" in recorder.events  # the independent environment finished
    text = out.getvalue()
    assert f"skipped (blocked by {NET})" in text
    assert [line for line in text.splitlines() if line.startswith("Next: ")] == [
        "Next: ./tap deploy --env dev,prod --target aws   (after fixing what the failed stacks "
        "report)"
    ]
    written = (tmp_path / "cfn-outputs" / "flat-outputs.json").read_text(encoding="utf-8")
    assert '"prod_name"' in written and '"dev_name"' not in written  # outputs of what succeeded


def test_a_locked_stack_names_the_unlock_command_in_the_next_steps(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, out, _, _ = world

    def locked(session: Session, stack_dir: Path, **kwargs: Any) -> ApplyResult:
        raise DeployError(
            f"the state of {stack_dir.name} is locked (lock L-1, in the lock table):\n"
            f"  ./tap unlock --stack {stack_dir.name} --lock-id L-1"
        )

    monkeypatch.setattr(deploy, "apply_stack", locked)
    with pytest.raises(LifecycleError):
        deploy.deploy_stacks(ws, "dev,prod", hints=HINTS)
    steps = [line for line in out.getvalue().splitlines() if line.startswith("Next: ")]
    assert steps == [
        f"Next: ./tap unlock --stack {NET} --lock-id L-1   (after checking nobody else runs {NET})",
        f"Next: ./tap unlock --stack {PNET} --lock-id L-1   (after checking nobody else runs "
        f"{PNET})",
        "Next: ./tap deploy --env dev,prod --target aws   (after fixing what the failed stacks "
        "report)",
    ]


def test_without_hints_no_message_names_a_command(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
) -> None:
    # GIVEN a caller without a command line (the e2e tests, the benchmarks): no hints
    ws, out, _, knobs = world
    knobs["fail"] = {NET}
    knobs["left"] = list(LEFT)
    # WHEN a deploy fails and a destroy finds what is in no state
    with pytest.raises(LifecycleError):
        deploy.deploy_stacks(ws, "dev")
    knobs["fail"] = set()
    assert destroy.destroy_stacks(ws, "dev") == LEFT
    # THEN the summary has no "Next:" step and the leftovers name no command
    text = out.getvalue()
    assert "Next:" not in text and "./tap" not in text
    assert "check the list below, then destroy again with the sweep" in text


def test_destroy_goes_in_reverse_order_and_a_failure_keeps_what_it_reads(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws, out, recorder, knobs = world
    # prod is protected (protect_data); its destroy is refused unless lifted (test_protection.py)
    monkeypatch.setenv("TAP_UNPROTECTED_ENVIRONMENTS", "prod")
    timings: dict[str, float] = {}
    assert destroy.destroy_stacks(ws, "dev,prod", timings=timings) == []
    assert recorder.index(f"end destroy {APP}") < recorder.index(f"start destroy {NET}")
    assert recorder.index(f"end destroy {PAPP}") < recorder.index(f"start destroy {PNET}")
    assert len(timings) == 4 and "destroy: nothing left" in out.getvalue()
    recorder.events.clear()
    knobs["fail"] = {PAPP}
    with pytest.raises(LifecycleError, match=f"skipped: {PNET}"):
        destroy.destroy_stacks(ws, "dev,prod")
    assert f"start destroy {PNET}" not in recorder.events
    assert f"end destroy {NET}" in recorder.events


def test_plan_reports_codes_and_names_failures(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
) -> None:
    ws, out, _, knobs = world
    knobs["fail"] = {APP}
    codes = plan.plan_stacks(ws, "dev,prod")
    assert codes == {NET: 0, APP: 1, PNET: 0, PAPP: 0}
    assert "Error: bad" in out.getvalue()


def test_parallel_must_be_positive(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
) -> None:
    ws, _, _, _ = world
    with pytest.raises(LifecycleError) as error:
        deploy.deploy_stacks(ws, "dev", parallel=0)
    assert error.value.code == 2


# --------------------------------------------------------------------------- sweep


LEFT = [Leftover("s3 bucket", "tap-data-dev"), Leftover("r-1 vpc", "vpc-1")]


def test_local_destroy_sweeps_what_is_in_no_state(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]], tmp_path: Path
) -> None:
    ws, out, _, knobs = world
    emulator = Emulator(endpoint="http://127.0.0.1:9", port=9, pid=0, state_dir=tmp_path)
    knobs["session"] = Session(root=tmp_path, target="local", emulator=emulator)
    knobs["left"] = list(LEFT)
    assert destroy.destroy_stacks(ws, "dev") == []
    assert knobs["swept"] == LEFT
    text = out.getvalue()
    assert "s3 bucket tap-data-dev: deleted" in text and "destroy: nothing left" in text


def test_aws_destroy_only_lists_them_without_sweep(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
) -> None:
    ws, out, _, knobs = world
    knobs["left"] = list(LEFT)
    sweeping = Hints(sweep="./tap destroy --env dev --target aws --sweep")
    assert destroy.destroy_stacks(ws, "dev", hints=sweeping) == LEFT
    assert knobs["swept"] == []
    assert (
        "check the list below, then run ./tap destroy --env dev --target aws --sweep\n"
        in out.getvalue()
    )
    assert destroy.destroy_stacks(ws, "dev", sweep=True) == []
    assert knobs["swept"] == LEFT


def test_nothing_is_swept_when_a_stack_failed_to_be_destroyed(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
) -> None:
    ws, _, _, knobs = world
    knobs["left"], knobs["fail"] = list(LEFT), {APP}
    with pytest.raises(LifecycleError):
        destroy.destroy_stacks(ws, "dev", sweep=True)
    assert knobs["swept"] == []


# --------------------------------------------------------------------------- interruption

LONG_TERRAFORM = """#!/bin/sh
# A long apply: records each SIGINT/SIGTERM it gets, stops gracefully on SIGINT.
trap 'echo INT >> "$FAKE_SIGNALS"; echo "Interrupt received."; exit 1' INT
trap 'echo TERM >> "$FAKE_SIGNALS"; exit 143' TERM
echo "pgid $(ps -o pgid= $$)" >> "$FAKE_SIGNALS"
echo "aws_s3_bucket.a: Creating..."
i=0
while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
echo "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."
"""


@pytest.fixture
def long_terraform(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Path:
    """The real runs with a fake terraform that takes 30 s unless interrupted; the file it
    records its signals in."""
    from tooling.lifecycle import runs

    fake = tmp_path / "bin" / "terraform"
    fake.parent.mkdir()
    fake.write_text(LONG_TERRAFORM, encoding="utf-8")
    fake.chmod(0o755)
    signals = tmp_path / "signals.txt"
    monkeypatch.setenv("TAP_TERRAFORM", str(fake))
    monkeypatch.setenv("FAKE_SIGNALS", str(signals))
    monkeypatch.delenv("TAP_TF_PROVIDER_MIRROR", raising=False)
    monkeypatch.setattr(deploy, "apply_stack", runs.apply_stack)
    return signals


def _when(condition: Callable[[], bool], then: Callable[[], None], timeout: float = 20) -> None:
    def wait() -> None:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        then()

    threading.Thread(target=wait, daemon=True).start()


def test_sigint_reaches_each_terraform_once_and_the_run_exits_130(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]], long_terraform: Path
) -> None:
    ws, out, _, _ = world
    started = time.monotonic()
    _when(
        lambda: long_terraform.exists() and long_terraform.read_text().count("pgid") == 2,
        lambda: os.kill(os.getpid(), signal.SIGINT),
    )
    with pytest.raises(LifecycleError) as error:
        deploy.deploy_stacks(ws, "dev,prod", parallel=4)
    assert time.monotonic() - started < 30  # the fake runs 30 s unless interrupted
    assert error.value.code == INTERRUPTED_EXIT
    message = str(error.value)
    assert "stopped by SIGINT" in message and f"interrupted: {NET}, {PNET}" in message
    assert f"not started: {APP}, {PAPP}" in message
    lines = long_terraform.read_text().split("\n")
    assert lines.count("INT") == 2 and "TERM" not in lines  # exactly one SIGINT each
    pgids = {line.split()[1] for line in lines if line.startswith("pgid")}
    assert str(os.getpgrp()) not in pgids  # its own process group: a Ctrl-C reaches us only
    assert f"[{NET}] failed after" in out.getvalue() and "interrupted after" in out.getvalue()


def test_a_second_signal_terminates_terraform(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
    long_terraform: Path,
    tmp_path: Path,
) -> None:
    ws, _, _, _ = world
    ignoring = LONG_TERRAFORM.replace(
        """trap 'echo INT >> "$FAKE_SIGNALS"; echo "Interrupt received."; exit 1' INT""",
        """trap 'echo INT >> "$FAKE_SIGNALS"' INT""",
    )
    (tmp_path / "bin" / "terraform").write_text(ignoring, encoding="utf-8")

    def twice() -> None:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)

    _when(lambda: long_terraform.exists() and "pgid" in long_terraform.read_text(), twice)
    with pytest.raises(LifecycleError) as error:
        deploy.deploy_stacks(ws, "dev", parallel=1)
    assert error.value.code == INTERRUPTED_EXIT
    lines = long_terraform.read_text().split("\n")
    assert lines.count("INT") == 1 and lines.count("TERM") == 1


def test_the_watchdog_stops_a_deploy_when_the_emulator_is_gone(
    world: tuple[Workspace, io.StringIO, Recorder, dict[str, Any]],
    long_terraform: Path,
    tmp_path: Path,
) -> None:
    ws, _, _, knobs = world
    gone = subprocess.Popen(["sleep", "60"])
    emulator = Emulator(endpoint="http://127.0.0.1:9", port=9, pid=gone.pid, state_dir=tmp_path)
    knobs["session"] = Session(root=tmp_path, target="local", emulator=emulator)

    def emulator_dies() -> None:
        gone.kill()
        gone.wait()

    _when(long_terraform.exists, emulator_dies)
    started = time.monotonic()
    with pytest.raises(LifecycleError) as error:
        deploy.deploy_stacks(ws, "dev", parallel=1)
    assert time.monotonic() - started < 12
    assert error.value.code == 1
    assert f"the local emulator (pid {gone.pid}) stopped during the deploy" in str(error.value)
    assert "run ./tap deploy again" in str(error.value)
    assert "TERM" in long_terraform.read_text().split("\n")
