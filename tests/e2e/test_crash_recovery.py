"""End-to-end fault injection: ``./tap`` killed at the worst moments, then run again.

Each scenario runs ``./tap`` (``python -m invoke``, as ``./tap`` execs it) as a subprocess in its
own process group, watches its streamed lines (``[<stack>] N resource(s) done``) and kills the
whole group with SIGKILL (a lost VM, an OOM kill, a CI time-out) or sends it SIGINT (Ctrl-C in
a terminal). Afterwards ``./tap deploy`` must converge with no manual step, ``./tap plan`` must
show no changes for every stack (its saved plans' manifest), and the final ``./tap destroy``
must say nothing is left.

One emulator for the module, of its own (free port, own state directory ``TAP_EMULATOR_DIR``
and synth directory ``TAP_CDKTF_OUTDIR``): it never touches a developer's emulator or another
e2e module's. In file order, each scenario starting where the previous one left off, so that
every recovery is made by the next ``./tap`` a user would run, never by a destroy in between:

1. deploy killed (SIGKILL) during the network apply: the lock of the killed terraform is left
2. Ctrl-C (SIGINT to the process group) in the next deploy, which first releases that lock
   (its holder is gone), while the application apply still has most of its work ahead:
   exit 130, no lock left
3. deploy killed (SIGKILL) during the application apply, just after a resource was created
   and before terraform wrote it to the state; the next deploy adopts what is missing from the
   state (import blocks), converges, and the plan of every stack is clean
4. the delivery pipeline's sequence on the recovered deployment: ``./tap plan --out``,
   ``./tap deploy --plan`` (exactly the reviewed change), ``./tap verify``, ``./tap drift``, and
   the same plans refused as stale when deployed again
5. destroy killed (SIGKILL) during the application destroy, then destroy: nothing left

Runs against the working tree's sources: an edit of a service while it runs rebuilds the zip
and shows as changes in the plan.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import OUTPUTS, ROOT, TIMINGS
from tooling.emulator.credentials import FAKE_CREDENTIALS

pytestmark = pytest.mark.e2e

ENV = "dev"
WORK = Path(".build") / "e2e-crash"
#: Longest a single ./tap command may take here before the test gives up on it.
COMMAND_TIMEOUT = 600.0
_DONE = re.compile(r"^\[(?P<stack>tap-[\w-]+)\] (?P<count>\d+) resource\(s\) done")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Tap:
    """One ``./tap`` command running in its own process group, its lines collected."""

    args: tuple[str, ...]
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> Tap:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "invoke", *self.args],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # its own process group, as a shell job would be
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            with self._changed:
                self.lines.append(raw.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, matches: Callable[[str], bool], timeout: float = COMMAND_TIMEOUT) -> str:
        """The first line ``matches`` accepts (waiting for it); fails if the command ends first."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if matches(line):
                        return line
                seen = len(self.lines)
                if self.process.poll() is not None and seen == len(self.lines):
                    pytest.fail(f"{self.args} ended before the kill point:\n{self.output}")
                if time.monotonic() > deadline:
                    pytest.fail(f"{self.args}: no kill point within {timeout} s:\n{self.output}")
                self._changed.wait(0.5)

    def signal_group(self, signum: int) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signum)

    def finish(self, timeout: float = COMMAND_TIMEOUT) -> int:
        """Its exit code; a command still running after ``timeout`` is killed (its whole group)
        and fails the test with what it printed, which is what tells why it hung."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stuck = _where_it_waits(self.process.pid, ROOT / self.env["TAP_EMULATOR_DIR"])
            self.signal_group(signal.SIGKILL)
            self.process.wait()
            time.sleep(0.2)
            command = " ".join(self.args)
            pytest.fail(
                f"./tap {command}: still running after {timeout} s:\n{self.output}\n\n{stuck}"
            )
        time.sleep(0.2)  # the reader thread drains the pipe
        return code

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def _where_it_waits(pid: int, emulator_dir: Path) -> str:
    """What a hung command is waiting on: its processes (with psutil), its threads and the
    emulator's (on SIGUSR1 ./tap prints its threads' stacks, which join its output, and the
    emulator writes its threads' to its log)."""
    import psutil

    from tooling.emulator.record import log_path, read_record

    os.kill(pid, signal.SIGUSR1)
    try:
        family = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        processes = [f"  {p.pid} {p.status()} {' '.join(p.cmdline())[:160]}" for p in family]
    except psutil.Error as error:
        processes = [f"  ({error})"]
    emulator = read_record(emulator_dir)
    if emulator is None:
        return "its processes:\n" + "\n".join(processes) + "\n(no emulator record)"
    log = log_path(emulator_dir)
    size = log.stat().st_size if log.is_file() else 0
    os.kill(emulator.pid, signal.SIGUSR1)
    time.sleep(1.0)
    with log.open("rb") as read:
        read.seek(size)
        threads = read.read().decode("utf-8", "replace")
    return "its processes:\n" + "\n".join(processes) + "\nthe emulator's threads:\n" + threads


def _resources_done(kind: str, at_least: int) -> Callable[[str], bool]:
    def matches(line: str) -> bool:
        found = _DONE.match(line)
        return (
            found is not None
            and found["stack"].endswith(f"-{kind}")
            and int(found["count"]) >= at_least
        )

    return matches


@dataclass
class Crashes:
    env: dict[str, str]
    stacks: list[str]

    def tap(self, *args: str) -> Tap:
        return Tap(args, self.env).start()

    def run(self, *args: str, expect: int = 0) -> Tap:
        started = time.monotonic()
        command = self.tap(*args)
        code = command.finish()
        TIMINGS[f"crash-recovery ./tap {' '.join(args)} #{len(TIMINGS)}"] = (
            time.monotonic() - started
        )
        assert code == expect, f"./tap {' '.join(args)} exited {code}:\n{command.output}"
        return command

    def killed(self, *args: str, when: Callable[[str], bool], signum: int) -> Tap:
        command = self.tap(*args)
        line = command.wait_for(when)
        command.signal_group(signum)
        code = command.finish()
        print(f"{signum} at: {line} -> exit {code}")
        return command

    def converges(self) -> str:
        """``./tap deploy`` succeeds with no manual step and the plan is clean for every stack
        (read from the saved plans' manifest, ``./tap plan --out``); the deploy's output."""
        from tooling.lifecycle.saved_plans import read_manifest

        deployed = self.run("deploy", "--env", ENV).output
        plans = ROOT / WORK / "plans-converged"
        self.run("plan", "--env", ENV, "--out", str(plans))
        changes = {saved.name: saved.has_changes for saved in read_manifest(plans).stacks}
        assert changes == dict.fromkeys(self.stacks, False), changes
        return deployed

    def client(self, service: str, region: str) -> Any:
        """A boto3 client of the module's emulator."""
        import boto3

        return boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS.access_key_id,
            aws_secret_access_key=FAKE_CREDENTIALS.secret_access_key,
            region_name=region,
        ).client(service, endpoint_url=f"http://127.0.0.1:{self.env['TAP_EMULATOR_PORT']}")  # type: ignore[call-overload]

    def state_serial(self, stack: str) -> tuple[str, int]:
        """The lineage and serial of ``stack``'s state, as the backend stores it."""
        config = _state_config()
        key = f"tap/{ENV}/{stack}.tfstate"
        body = self.client("s3", config["region"]).get_object(Bucket=config["bucket"], Key=key)
        state = json.loads(body["Body"].read())
        return str(state["lineage"]), int(state["serial"])

    def locks(self) -> list[Any]:
        """The lock items and S3 lock files of the state backend (empty: nothing locked)."""
        config = _state_config()
        dynamodb = self.client("dynamodb", config["region"])
        s3 = self.client("s3", config["region"])
        scanned = dynamodb.scan(TableName=config["lock_table"], ConsistentRead=True)["Items"]
        # Lock items carry "Info"; the "<bucket>/<key>-md5" items (state digests) are no locks.
        items: list[Any] = [item for item in scanned if "Info" in item]
        objects = s3.list_objects_v2(Bucket=config["bucket"]).get("Contents", [])
        return [*items, *[o["Key"] for o in objects if o["Key"].endswith(".tflock")]]


def _state_config() -> dict[str, str]:
    from trading_infra.config import load_config

    from tooling.lifecycle.backend import backend_spec

    spec = backend_spec(load_config(ROOT / "platform.toml"))
    return {"bucket": spec.bucket_of(ENV), "lock_table": spec.lock_table, "region": spec.region}


@pytest.fixture(scope="module")
def crashes() -> Iterator[Crashes]:
    from tooling.lifecycle.graph import read_stacks
    from tooling.lifecycle.synth import synth_stacks
    from tooling.lifecycle.workspace import Workspace

    (ROOT / WORK).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        TAP_EMULATOR_PORT=str(_free_port()),
        TAP_EMULATOR_DIR=str(WORK / "emulator"),
        TAP_CDKTF_OUTDIR=str(WORK / "cdktf.out"),
        TAP_SERVE_QUIET="1",
        CI="1",
    )
    ws = Workspace(root=ROOT, outdir=ROOT / WORK / "cdktf.out", port=int(env["TAP_EMULATOR_PORT"]))
    previous = {name: os.environ.get(name) for name in ("TAP_EMULATOR_PORT",)}
    os.environ["TAP_EMULATOR_PORT"] = env["TAP_EMULATOR_PORT"]
    try:
        stacks = [s.name for s in read_stacks(ws.outdir, synth_stacks(ws, ENV))]
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    state = Crashes(env=env, stacks=stacks)
    started = time.monotonic()
    try:
        yield state
    finally:
        try:
            subprocess.run(
                [sys.executable, "-m", "invoke", "destroy", "--env", ENV],
                cwd=ROOT, env=env, capture_output=True, check=False, timeout=COMMAND_TIMEOUT,
            )  # fmt: skip
        finally:
            subprocess.run(
                [sys.executable, "-m", "invoke", "emulator", "--stop"],
                cwd=ROOT, env=env, capture_output=True, check=False, timeout=60,
            )  # fmt: skip
            TIMINGS["crash-recovery module (total)"] = time.monotonic() - started


def test_a_deploy_killed_during_the_network_apply_stops_at_once(crashes: Crashes) -> None:
    killed = crashes.killed(
        "deploy", "--env", ENV, when=_resources_done("network", 3), signum=signal.SIGKILL
    )
    assert killed.process is not None and killed.process.returncode == -signal.SIGKILL


def test_ctrl_c_in_the_next_deploy_stops_it_cleanly(crashes: Crashes) -> None:
    """The deploy after the killed one releases the lock whose holder is gone, finishes the
    network and is interrupted by Ctrl-C (SIGINT to the process group, as a terminal sends it)
    with most of the application stack still to create: exit 130, every lock released."""
    interrupted = crashes.killed(
        "deploy", "--env", ENV, when=_resources_done("app", 3), signum=signal.SIGINT
    )
    assert interrupted.process is not None
    assert interrupted.process.returncode == 130, interrupted.output
    assert "deploy stopped by SIGINT: interrupted:" in interrupted.output
    assert crashes.locks() == []  # every terraform released its lock


def test_what_a_killed_application_apply_created_is_adopted_by_the_next_deploy(
    crashes: Crashes,
) -> None:
    """SIGKILL as a resource of the application is reported created: it exists, and the state
    the killed terraform last wrote does not hold it. The next ``./tap deploy`` adopts it (and
    whatever else the kill left outside the state) and converges; the plan is clean."""
    killed = crashes.killed(
        "deploy", "--env", ENV, when=_resources_done("app", 5), signum=signal.SIGKILL
    )
    assert killed.process is not None and killed.process.returncode == -signal.SIGKILL
    deployed = crashes.converges()
    assert "are missing from the state" in deployed and "adopted" in deployed, deployed


#: A log group of the application stack, changed outside Terraform by the pipeline rehearsal.
ACCESS_LOG_GROUP = f"/tap/{ENV}/api-access"
ACCESS_LOG_GROUP_ADDRESS = "aws_cloudwatch_log_group.Api_AccessLogGroup_67BA7250"


def _retention_days(crashes: Crashes, region: str) -> Any:
    groups = crashes.client("logs", region).describe_log_groups(logGroupNamePrefix=ACCESS_LOG_GROUP)
    return next(
        g.get("retentionInDays")
        for g in groups["logGroups"]
        if g["logGroupName"] == ACCESS_LOG_GROUP
    )


def test_the_pipeline_applies_exactly_the_reviewed_plan_and_refuses_it_once_stale(
    crashes: Crashes,
) -> None:
    """The delivery pipeline's sequence, as .github/workflows/deploy.yml runs it, on the
    recovered deployment: GIVEN a log group changed outside Terraform WHEN ``./tap plan --out``
    saves the plans, ``./tap deploy --plan`` applies them, ``./tap verify`` and ``./tap drift``
    run THEN exactly that change is applied (the network's plan, without changes, is skipped),
    the environment answers and has no drift; the same plans deployed again are refused as
    stale (the application's state changed since) before anything is applied."""
    from tooling.lifecycle.saved_plans import read_manifest

    network, app = sorted(crashes.stacks, key=lambda name: not name.endswith("-network"))
    region = _state_config()["region"]
    crashes.client("logs", region).put_retention_policy(
        logGroupName=ACCESS_LOG_GROUP, retentionInDays=1
    )
    plans = ROOT / WORK / "plans-reviewed"
    crashes.run("plan", "--env", ENV, "--out", str(plans))
    manifest = read_manifest(plans)
    assert {s.name: s.has_changes for s in manifest.stacks} == {network: False, app: True}
    report = json.loads((plans / f"{app}.report.json").read_text(encoding="utf-8"))
    assert [change["address"] for change in report["changes"]] == [ACCESS_LOG_GROUP_ADDRESS]

    applied = crashes.run("deploy", "--env", ENV, "--plan", str(plans)).output
    assert _retention_days(crashes, region) == 7
    assert applied.count("its saved plan has no changes (skipped)") == 1, applied
    crashes.run("verify", "--env", ENV)
    crashes.run("drift", "--env", ENV, "--fail-on-drift")

    saved = manifest.stack(app)
    assert saved is not None
    now = crashes.state_serial(app)
    replay = crashes.run("deploy", "--env", ENV, "--plan", str(plans), expect=1).output
    assert "deploy --plan refused: nothing was applied." in replay, replay
    assert (
        f"  {app}: stale: its state changed since the plan (lineage/serial "
        f"{saved.lineage}/{saved.serial} then, {now[0]}/{now[1]} now)"
    ) in replay, replay
    assert crashes.state_serial(app) == now


def test_a_killed_destroy_is_finished_by_the_next_destroy_and_nothing_is_left(
    crashes: Crashes,
) -> None:
    crashes.killed("destroy", "--env", ENV, when=_resources_done("app", 15), signum=signal.SIGKILL)
    destroyed = crashes.run("destroy", "--env", ENV)
    assert "destroy: nothing left" in destroyed.output
    assert crashes.locks() == []
    outputs = json.loads(OUTPUTS.read_text("utf-8"))
    assert not [key for key in outputs if key.startswith(f"{ENV}_")]
