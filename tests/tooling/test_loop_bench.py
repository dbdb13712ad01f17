"""tooling.loop_bench (``./tap bench --loop``): the copy of the sources it changes, how it asks
``/health`` for a change, how it measures a save and a deploy (with fakes: nothing is synced or
deployed here), the p50/min/max of the saves and the report (no timing is asserted)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from api_handler.schemas import HealthBody

from tooling.build.lambda_zip import BuildResult
from tooling.lifecycle.commands.deploy import UNCHANGED
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.workspace import Workspace
from tooling.loop_bench import (
    DEFAULT_SAVES,
    HEALTH_BODY,
    HEALTH_MODULE,
    AppliedStack,
    DeployFigure,
    HealthProbe,
    LoopBenchError,
    LoopFigures,
    SaveFigure,
    SourceCopy,
    Spread,
    Transcript,
    changed_body,
    goals,
    health_url,
    marker_of,
    markers,
    measure_deploy,
    measure_saves,
    parse_saves,
    report,
    stacks_of,
)
from tooling.sync import DeployedFunction, SyncError, SyncResult

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- the copied sources


def a_tree(root: Path, health: str = HEALTH_BODY) -> Path:
    """A repository-shaped tree: the health module, another service, caches, dist/."""
    module = root / HEALTH_MODULE
    module.parent.mkdir(parents=True)
    module.write_text(f"def _health():\n    return json_response(200, {health})\n")
    (root / "services" / "processor" / "src").mkdir(parents=True)
    (root / "services" / "processor" / "src" / "mod.py").write_text("X = 1\n")
    (root / "services" / "processor" / ".pytest_cache").mkdir()
    (module.parent / "__pycache__").mkdir()
    (module.parent / "__pycache__" / "app.cpython-312.pyc").write_bytes(b"\0")
    (root / "constraints.txt").write_text("pydantic==2.0\n")
    (root / "dist").mkdir()
    (root / "dist" / "api_handler.zip").write_bytes(b"zip bytes")
    (root / "dist" / "manifest.json").write_text('{"api_handler": {}}')
    return root


def test_a_change_is_made_in_the_copy_and_never_in_the_working_tree(tmp_path: Path) -> None:
    tree = a_tree(tmp_path / "repo")
    copy = SourceCopy.make(tree, tree / "dist", tmp_path / "scratch")

    copy.change("loop-bench-1234abcd-save-1")

    assert (tree / HEALTH_MODULE).read_text() == (
        'def _health():\n    return json_response(200, HealthBody(status="ok").model_dump())\n'
    )
    assert copy.health_module.read_text() == (
        "def _health():\n    return json_response(200, "
        '{**HealthBody(status="ok").model_dump(), "build": "loop-bench-1234abcd-save-1"})\n'
    )
    assert copy.root == tmp_path / "scratch" / "sources"


def test_each_change_starts_from_the_copied_module(tmp_path: Path) -> None:
    tree = a_tree(tmp_path / "repo")
    copy = SourceCopy.make(tree, tree / "dist", tmp_path / "scratch")

    copy.change("first")
    copy.change("second")

    text = copy.health_module.read_text()
    assert text.count('"build"') == 1
    assert '"build": "second"' in text


def test_the_copy_has_the_sources_and_the_current_zips_but_no_caches(tmp_path: Path) -> None:
    tree = a_tree(tmp_path / "repo")
    copy = SourceCopy.make(tree, tree / "dist", tmp_path / "scratch")

    copied = sorted(p.relative_to(copy.root).as_posix() for p in copy.root.rglob("*"))
    assert copied == [
        "constraints.txt",
        "services",
        "services/api_handler",
        "services/api_handler/src",
        "services/api_handler/src/api_handler",
        "services/api_handler/src/api_handler/app.py",
        "services/processor",
        "services/processor/src",
        "services/processor/src/mod.py",
    ]
    assert copy.dist == tmp_path / "scratch" / "dist"
    assert sorted(p.name for p in copy.dist.iterdir()) == ["api_handler.zip", "manifest.json"]
    assert (copy.dist / "api_handler.zip").read_bytes() == b"zip bytes"


def test_a_tree_never_built_gets_an_empty_dist(tmp_path: Path) -> None:
    tree = a_tree(tmp_path / "repo")

    copy = SourceCopy.make(tree, tree / "no-dist", tmp_path / "scratch")

    assert copy.dist.is_dir() and list(copy.dist.iterdir()) == []


def test_the_copys_workspace_builds_from_it_and_keeps_the_rest(tmp_path: Path) -> None:
    tree = a_tree(tmp_path / "repo")
    copy = SourceCopy.make(tree, tree / "dist", tmp_path / "scratch")
    ws = Workspace(root=tree, outdir=tree / "cdktf.out", port=4577)

    changed = copy.workspace(ws)

    assert (changed.sources, changed.dist) == (copy.root, copy.dist)
    assert (changed.root, changed.outdir, changed.target, changed.port) == (
        tree,
        tree / "cdktf.out",
        "local",
        4577,
    )


@pytest.mark.parametrize("health", ["HealthBody().model_dump()", f"{HEALTH_BODY}, {HEALTH_BODY}"])
def test_a_health_module_without_the_body_exactly_once_is_refused(
    tmp_path: Path, health: str
) -> None:
    tree = a_tree(tmp_path / "repo", health)

    with pytest.raises(LoopBenchError, match="the health body moved"):
        SourceCopy.make(tree, tree / "dist", tmp_path / "scratch")


def test_the_working_trees_health_handler_has_the_body_the_bench_changes(tmp_path: Path) -> None:
    copy = SourceCopy.make(ROOT, tmp_path / "no-dist", tmp_path / "scratch")
    copy.change("loop-bench-1234abcd-deploy")

    compile(copy.health_module.read_text(), str(HEALTH_MODULE), "exec")
    # The changed expression, as the handler evaluates it (it is this module's own text).
    body = eval(changed_body("m-1"), {"HealthBody": HealthBody})  # noqa: S307
    assert body == {"status": "ok", "build": "m-1"}


def test_a_marker_is_letters_digits_and_dashes() -> None:
    with pytest.raises(ValueError, match="a marker is lowercase letters"):
        changed_body('x", "y": "z')


def test_markers_are_unique_to_the_run_and_the_step() -> None:
    saves, deploy = markers("1234abcd", 3)

    assert saves == [
        "loop-bench-1234abcd-save-1",
        "loop-bench-1234abcd-save-2",
        "loop-bench-1234abcd-save-3",
    ]
    assert deploy == "loop-bench-1234abcd-deploy"


# --------------------------------------------------------------------------- options and outputs


def test_saves_default_to_seven() -> None:
    assert parse_saves(None) == DEFAULT_SAVES == 7
    assert parse_saves("3") == 3


@pytest.mark.parametrize("text", ["0", "-1", "x", "2.5", ""])
def test_saves_that_are_not_a_count_are_an_option_error(text: str) -> None:
    with pytest.raises(LoopBenchError) as raised:
        parse_saves(text)
    assert raised.value.code == 2


def test_the_health_url_is_the_deployed_apis_local_url() -> None:
    outputs = {"dev_api_local_url": "http://127.0.0.1:4566/_aws/execute-api/abc/dev/"}
    assert health_url(outputs, "dev") == "http://127.0.0.1:4566/_aws/execute-api/abc/dev/health"


def test_an_environment_not_deployed_locally_says_to_deploy_it() -> None:
    with pytest.raises(LoopBenchError, match=re.escape("(`./tap deploy --env dev`)")):
        health_url({"dev_aws_region": "ap-southeast-1"}, "dev")


# --------------------------------------------------------------------------- /health


@pytest.mark.parametrize(
    ("status", "body", "marker"),
    [
        (200, b'{"status": "ok", "build": "m-1"}', "m-1"),
        (200, b'{"status": "ok"}', None),
        (502, b'{"build": "m-1"}', None),
        (200, b"<html>", None),
        (200, b'["m-1"]', None),
        (200, b'{"build": 1}', None),
    ],
)
def test_the_marker_is_read_from_a_200_json_object(
    status: int, body: bytes, marker: str | None
) -> None:
    assert marker_of(status, body) == marker


class FakeClock:
    """A clock that moves only when slept or asked to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def answering(clock: FakeClock, answers: list[tuple[int, bytes]], cost: float = 0.25) -> Any:
    """A GET answering ``answers`` in turn (the last one from then on), each taking ``cost``."""
    asked: Iterator[tuple[int, bytes]] = iter(answers)

    def get(url: str) -> tuple[int, bytes]:
        clock.now += cost
        return next(asked, answers[-1])

    return get


def a_probe(clock: FakeClock, answers: list[tuple[int, bytes]]) -> HealthProbe:
    return HealthProbe("http://api/health", answering(clock, answers), clock, clock.sleep)


def test_the_seconds_run_from_the_given_start_to_the_first_answer_of_the_change() -> None:
    clock = FakeClock()
    old = (200, b'{"status": "ok", "build": "old"}')
    probe = a_probe(clock, [old, old, (200, b'{"status": "ok", "build": "new"}')])

    assert probe.wait_for("new", since=99.0) == pytest.approx(1.0 + 3 * 0.25 + 2 * 0.05)


def test_a_change_never_answered_names_the_last_answer() -> None:
    clock = FakeClock()
    probe = a_probe(clock, [(502, b'{"message": "Internal Server Error"}')])

    with pytest.raises(LoopBenchError) as raised:
        probe.wait_for("new", since=clock(), timeout_seconds=2.0)
    assert str(raised.value) == (
        "GET http://api/health did not answer build 'new' within 2 s; last answer: HTTP 502 "
        '{"message": "Internal Server Error"}'
    )


def test_no_answer_at_all_is_said_so() -> None:
    clock = FakeClock()
    probe = a_probe(clock, [(0, b"<urlopen error [Errno 111] Connection refused>")])

    with pytest.raises(LoopBenchError, match=re.escape("last answer: no answer (<urlopen")):
        probe.wait_for("new", since=clock(), timeout_seconds=1.0)


# --------------------------------------------------------------------------- the saves

API_FUNCTIONS = (
    DeployedFunction("tap-api-handler-dev", "ap-southeast-1"),
    DeployedFunction("tap-api-authorizer-dev", "ap-southeast-1"),
)


def a_sync_result(seconds: float) -> SyncResult:
    build = BuildResult(
        "api_handler", Path("dist/api_handler.zip"), "ab" * 32, 3_795_794, True, "h"
    )
    return SyncResult("api_handler", build, API_FUNCTIONS, (), seconds)


class FakeDeployment:
    """The API and the sync of the copy: a sync makes /health answer the copy's marker after
    ``serving_delay`` seconds; it takes ``sync_seconds``."""

    def __init__(self, copy: SourceCopy, clock: FakeClock) -> None:
        self.copy, self.clock = copy, clock
        self.serving: str | None = None
        self.ready_at = 0.0
        self.synced: list[str] = []

    def sync(self, service: str) -> SyncResult:
        self.synced.append(service)
        found = re.search(r'"build": "([a-z0-9-]+)"', self.copy.health_module.read_text())
        assert found is not None
        self.clock.now += 0.5
        self.serving, self.ready_at = found.group(1), self.clock.now + 0.2
        return a_sync_result(0.5)

    def get(self, url: str) -> tuple[int, bytes]:
        self.clock.now += 0.1
        build = self.serving if self.clock.now >= self.ready_at else "old"
        return 200, json.dumps({"status": "ok", "build": build}).encode()


def test_each_save_is_timed_from_the_start_of_its_sync_to_the_first_new_answer(
    tmp_path: Path,
) -> None:
    copy = SourceCopy.make(a_tree(tmp_path / "repo"), tmp_path / "repo" / "dist", tmp_path / "s")
    clock = FakeClock()
    deployment = FakeDeployment(copy, clock)
    probe = HealthProbe("http://api/health", deployment.get, clock, clock.sleep)
    said: list[str] = []

    figures, failure = measure_saves(copy, deployment.sync, probe, ["m-1", "m-2"], say=said.append)

    # sync 0.5 s; asked at +0.6 (old), slept 0.05, asked at +0.75 (new)
    assert [save.sync_seconds for save in figures] == [0.5, 0.5]
    assert [save.serving_seconds for save in figures] == pytest.approx([0.75, 0.75])
    assert failure is None
    assert deployment.synced == ["api_handler", "api_handler"]
    assert said == [
        "save 1/2: synced api_handler -> tap-api-handler-dev, tap-api-authorizer-dev in 0.5 s; "
        "/health answered the change 0.75 s after the save",
        "save 2/2: synced api_handler -> tap-api-handler-dev, tap-api-authorizer-dev in 0.5 s; "
        "/health answered the change 0.75 s after the save",
    ]


def test_a_failed_sync_stops_the_saves_and_says_which(tmp_path: Path) -> None:
    copy = SourceCopy.make(a_tree(tmp_path / "repo"), tmp_path / "repo" / "dist", tmp_path / "s")
    clock = FakeClock()
    deployment = FakeDeployment(copy, clock)
    probe = HealthProbe("http://api/health", deployment.get, clock, clock.sleep)

    def sync(service: str) -> SyncResult:
        if len(deployment.synced) == 1:
            raise SyncError("build failed: no wheel")
        return deployment.sync(service)

    said: list[str] = []

    figures, failure = measure_saves(copy, sync, probe, ["m-1", "m-2", "m-3"], say=said.append)

    assert len(figures) == 1
    assert failure == "save 2 of 3: build failed: no wheel"
    assert len(said) == 1 and said[0].startswith("save 1/3: synced api_handler -> ")


# --------------------------------------------------------------------------- the deploy

DEPLOY_OUTPUT = f"""\
synth: 2 stack(s) in 9.1 s: tap-dev-ap-southeast-1-network, tap-dev-ap-southeast-1-app
deploy: 2 job(s)
[tap-dev-ap-southeast-1-network] deploy started
[tap-dev-ap-southeast-1-network] {UNCHANGED}
[tap-dev-ap-southeast-1-network] succeeded deploy 0.1s [1/2]
[tap-dev-ap-southeast-1-app] deploy started
[tap-dev-ap-southeast-1-app] applying: its configuration, assets or what it reads changed since its last apply
[tap-dev-ap-southeast-1-app] succeeded deploy 12.4s (0 added, 2 changed, 0 destroyed) [2/2]
"""  # noqa: E501


def test_the_stacks_applied_and_skipped_are_read_from_the_deploy() -> None:
    applied, skipped = stacks_of(DEPLOY_OUTPUT, {"tap-dev-ap-southeast-1-app": 11.8})

    assert applied == (
        AppliedStack(
            "tap-dev-ap-southeast-1-app",
            11.8,
            "its configuration, assets or what it reads changed since its last apply",
        ),
    )
    assert skipped == ("tap-dev-ap-southeast-1-network",)


def test_an_applied_stack_the_output_does_not_name_still_counts() -> None:
    applied, skipped = stacks_of("deploy: 1 job(s)\n", {"tap-dev-ap-southeast-1-app": 11.8})

    assert applied == (AppliedStack("tap-dev-ap-southeast-1-app", 11.8, None),)
    assert skipped == ()


class FakeDeploy:
    """deploy_stacks: writes DEPLOY_OUTPUT, fills timings, takes 14 s, and /health answers the
    copy's marker from then on (or it fails)."""

    def __init__(self, copy: SourceCopy, clock: FakeClock, fail: bool = False) -> None:
        self.copy, self.clock, self.fail = copy, clock, fail
        self.calls: list[tuple[Workspace, str | None]] = []
        self.serving = "old"

    def __call__(
        self, ws: Workspace, env: str | None, *, timings: dict[str, float] | None = None
    ) -> dict[str, Any]:
        self.calls.append((ws, env))
        self.clock.now += 14.0
        if self.fail:
            raise LifecycleError("deploy failed (failed: tap-dev-ap-southeast-1-app)")
        ws.stream.write(DEPLOY_OUTPUT)
        assert timings is not None
        timings["tap-dev-ap-southeast-1-app"] = 11.8
        found = re.search(r'"build": "([a-z0-9-]+)"', self.copy.health_module.read_text())
        assert found is not None
        self.serving = found.group(1)
        return {}

    def get(self, url: str) -> tuple[int, bytes]:
        self.clock.now += 0.1
        return 200, json.dumps({"build": self.serving}).encode()


def test_the_deploy_is_timed_until_it_returns_from_the_changed_copy(tmp_path: Path) -> None:
    tree = a_tree(tmp_path / "repo")
    copy = SourceCopy.make(tree, tree / "dist", tmp_path / "s")
    clock = FakeClock()
    deploy = FakeDeploy(copy, clock)
    probe = HealthProbe("http://api/health", deploy.get, clock, clock.sleep)
    echo = io.StringIO()
    ws = Workspace(root=tree, outdir=tree / "cdktf.out")

    figure = measure_deploy(
        copy, ws, "dev", probe, "m-deploy", deploy=deploy, echo=echo, say=lambda line: None
    )

    assert figure.answered_after == pytest.approx(0.1)  # one GET after it returned
    assert replace(figure, answered_after=None) == DeployFigure(
        seconds=14.0,
        applied=(
            AppliedStack(
                "tap-dev-ap-southeast-1-app",
                11.8,
                "its configuration, assets or what it reads changed since its last apply",
            ),
        ),
        skipped=("tap-dev-ap-southeast-1-network",),
        answered_after=None,
    )
    [(deployed_ws, env)] = deploy.calls
    assert env == "dev"
    assert isinstance(deployed_ws.out, Transcript)
    assert replace(deployed_ws, out=None) == copy.workspace(ws)
    assert echo.getvalue() == DEPLOY_OUTPUT  # its progress shown as it ran


def test_a_failed_deploy_says_after_how_long(tmp_path: Path) -> None:
    tree = a_tree(tmp_path / "repo")
    copy = SourceCopy.make(tree, tree / "dist", tmp_path / "s")
    clock = FakeClock()
    deploy = FakeDeploy(copy, clock, fail=True)
    probe = HealthProbe("http://api/health", deploy.get, clock, clock.sleep)
    ws = Workspace(root=tree, outdir=tree / "cdktf.out")

    with pytest.raises(LoopBenchError) as raised:
        measure_deploy(
            copy, ws, "dev", probe, "m", deploy=deploy, echo=io.StringIO(), say=lambda line: None
        )
    assert str(raised.value) == (
        "the deploy failed after 14.0 s: deploy failed (failed: tap-dev-ap-southeast-1-app)"
    )


# --------------------------------------------------------------------------- figures and report


def test_p50_min_and_max_of_the_saves() -> None:
    assert Spread.of([1.4, 0.9, 1.1, 2.3, 1.0]) == Spread(p50=1.1, low=0.9, high=2.3, count=5)


def test_the_p50_of_an_even_number_of_saves_is_the_mean_of_the_middle_two() -> None:
    assert Spread.of([1.0, 4.0, 2.0, 3.0]) == Spread(p50=2.5, low=1.0, high=4.0, count=4)


def test_no_saves_have_no_spread() -> None:
    assert Spread.of([]) is None


SAVES = (
    SaveFigure(0.61, 0.93),
    SaveFigure(0.58, 1.42),
    SaveFigure(0.55, 0.88),
    SaveFigure(0.57, 0.91),
    SaveFigure(0.60, 2.64),
)
DEPLOY = DeployFigure(
    seconds=18.26,
    applied=(
        AppliedStack(
            "tap-dev-ap-southeast-1-app",
            11.83,
            "its configuration, assets or what it reads changed since its last apply",
        ),
    ),
    skipped=("tap-dev-ap-southeast-1-network",),
    answered_after=0.042,
)
RESTORED = (
    "note: the Terraform state still records the deployed zip; the next `./tap deploy` updates "
    "these functions in place with dist/ (this code) and the state matches again.",
    "synced api_handler -> tap-api-handler-dev, tap-api-authorizer-dev in 0.6 s",
    "processor: up to date (tap-processor-dev already runs processor.zip)",
)


def figures(**overrides: object) -> LoopFigures:
    values: dict[str, object] = {
        "environment": "dev",
        "run_id": "1234abcd",
        "functions": ("tap-api-handler-dev", "tap-api-authorizer-dev"),
        "machine": "x86_64",
        "cpus": 2,
        "load_before": 0.42,
        "load_after": 1.87,
        "requested_saves": 5,
        "saves": SAVES,
        "deploy": DEPLOY,
        "restored": RESTORED,
    }
    return LoopFigures(**{**values, **overrides})  # type: ignore[arg-type]


REPORT = """\
loop bench: dev, run 1234abcd
machine: x86_64, 2 cores, load average 0.42 at the start, 1.87 at the end (wall times on a shared machine vary)

save to new code serving: 5 saves of services/api_handler/src/api_handler/app.py (GET /health's body) in a copy of the sources, each synced into tap-api-handler-dev, tap-api-authorizer-dev

| save | sync (s) | save to new code serving (s) |
|---|---|---|
| 1 | 0.61 | 0.93 |
| 2 | 0.58 | 1.42 |
| 3 | 0.55 | 0.88 |
| 4 | 0.57 | 0.91 |
| 5 | 0.60 | 2.64 |

sync (s): the zip rebuilt (dependency layer reused), its modules' syntax checked, UpdateFunctionCode until every update succeeded
save to new code serving (s): from the start of the sync to the first GET /health answering the change (asked every 0.05 s)
save to new code serving: p50 0.93 s, min 0.88 s, max 2.64 s (5 of 5 saves)

./tap deploy after a handler-only change: 18.3 s; /health answered the change 0.04 s after it returned
  applied: tap-dev-ap-southeast-1-app (apply 11.8 s; its configuration, assets or what it reads changed since its last apply)
  skipped (unchanged since their last apply): tap-dev-ap-southeast-1-network

restored: the deployment runs the working tree's code (dist/) again:
  note: the Terraform state still records the deployed zip; the next `./tap deploy` updates these functions in place with dist/ (this code) and the state matches again.
  synced api_handler -> tap-api-handler-dev, tap-api-authorizer-dev in 0.6 s
  processor: up to date (tap-processor-dev already runs processor.zip)

| goal | today |
|---|---|
| save to new code serving p50 <= 2 s | 0.93 s: met |
| ./tap deploy after a handler-only change <= 25 s (idle machine) | 18.3 s: met |"""  # noqa: E501


def test_the_report_prints_the_machine_the_saves_the_deploy_the_restore_and_the_goals() -> None:
    assert report(figures()) == REPORT


def test_goals_at_their_limits_are_met() -> None:
    at_limit = figures(
        saves=(SaveFigure(0.5, 1.0), SaveFigure(0.5, 2.0), SaveFigure(0.5, 3.0)),
        deploy=replace(DEPLOY, seconds=25.0),
    )

    assert goals(at_limit) == [
        ("save to new code serving p50 <= 2 s", "2.00 s: met"),
        ("./tap deploy after a handler-only change <= 25 s (idle machine)", "25.0 s: met"),
    ]


def test_goals_beyond_their_limits_are_not_met() -> None:
    slow = figures(
        saves=(SaveFigure(0.5, 2.01), SaveFigure(0.5, 2.2), SaveFigure(0.5, 0.9)),
        deploy=replace(DEPLOY, seconds=25.06),
    )

    assert goals(slow) == [
        ("save to new code serving p50 <= 2 s", "2.01 s: not met"),
        ("./tap deploy after a handler-only change <= 25 s (idle machine)", "25.1 s: not met"),
    ]


def test_a_deploy_whose_change_was_not_answered_does_not_meet_its_goal() -> None:
    rows = dict(goals(figures(deploy=replace(DEPLOY, seconds=12.0, answered_after=None))))

    assert rows["./tap deploy after a handler-only change <= 25 s (idle machine)"] == (
        "12.0 s, but /health did not answer the change: not met"
    )
    assert "/health did NOT answer the change" in report(
        figures(deploy=replace(DEPLOY, answered_after=None))
    )


def test_a_run_stopped_in_the_saves_shows_what_was_measured_and_why() -> None:
    stopped = figures(
        saves=SAVES[:2],
        deploy=None,
        failure="save 3 of 5: syntax error, not synced (the functions keep their code): x",
    )
    text = report(stopped)

    assert "save to new code serving: p50 1.18 s, min 0.93 s, max 1.42 s (2 of 5 saves)" in text
    assert "./tap deploy after a handler-only change: not measured\nstopped: save 3 of 5: " in text
    assert goals(stopped)[1] == (
        "./tap deploy after a handler-only change <= 25 s (idle machine)",
        "not measured (the run stopped before the deploy returned)",
    )


def test_no_save_answered_is_not_measured() -> None:
    assert goals(figures(saves=(), deploy=None))[0] == (
        "save to new code serving p50 <= 2 s",
        "not measured (no save was answered)",
    )


def test_a_deploy_that_names_no_stack_says_none_were_reported() -> None:
    text = report(figures(deploy=replace(DEPLOY, applied=(), skipped=())))

    assert "  applied: none reported\n  skipped (unchanged since their last apply): none" in text


def test_a_failed_restore_says_how_to_put_dist_back() -> None:
    text = report(figures(restored=(), restore_failure="the sync of api_handler failed (above)."))

    assert text.split("\n\n")[-2] == (
        "NOT restored: the sync of api_handler failed (above).\n"
        "  the deployment may still run the bench's code: run `./tap sync --env dev` to put "
        "dist/ back."
    )


def test_unknown_cores_are_said_so() -> None:
    assert "machine: aarch64, cores unknown, load average" in report(
        figures(machine="aarch64", cpus=None)
    )


# --------------------------------------------------------------------------- the restore


class FailingSyncer:
    """The api_handler syncer of a run whose sync fails with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.functions = {"api_handler": API_FUNCTIONS}

    def sync(self, service: str) -> SyncResult:
        raise self.error


@pytest.fixture
def restores(monkeypatch: pytest.MonkeyPatch) -> list[Workspace]:
    """The workspaces a run restores (``./tap sync`` of them), recorded instead."""
    from tooling.loop_bench import runner

    restored: list[Workspace] = []

    def restore(ws: Workspace, *args: object, **kwargs: object) -> tuple[tuple[str, ...], None]:
        restored.append(ws)
        return ("synced api_handler -> tap-api-handler-dev, tap-api-authorizer-dev in 0.6 s",), None

    monkeypatch.setattr(runner, "restore", restore)
    return restored


def a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> tuple[Workspace, Callable[[], LoopFigures]]:
    """The working tree's workspace, and a run of 3 saves whose sync fails with ``error``."""
    from tooling.loop_bench import runner

    tree = a_tree(tmp_path / "repo")
    monkeypatch.setattr(runner, "api_handler_syncer", lambda *args: FailingSyncer(error))

    def deploy(*args: object, **kwargs: object) -> dict[str, Any]:
        raise AssertionError("no deploy after a failed save")

    ws = Workspace(root=tree, outdir=tree / "cdktf.out")
    outputs = {"dev_api_local_url": "http://127.0.0.1:4566/_aws/execute-api/abc/dev"}
    session: Any = None  # the syncer and the restore are fakes: no client is made

    def run() -> LoopFigures:
        return runner.run(ws, session, outputs, "dev", saves=3, deploy=deploy, echo=io.StringIO())

    return ws, run


def test_the_working_trees_code_is_synced_back_after_a_failed_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restores: list[Workspace]
) -> None:
    ws, run = a_run(tmp_path, monkeypatch, SyncError("build failed: no wheel"))

    figures = run()

    assert restores == [ws]  # the working tree's workspace, not the copy's
    assert figures.failure == "save 1 of 3: build failed: no wheel"
    assert (figures.saves, figures.deploy, figures.restore_failure) == ((), None, None)
    assert figures.restored == (
        "synced api_handler -> tap-api-handler-dev, tap-api-authorizer-dev in 0.6 s",
    )
    assert figures.functions == ("tap-api-handler-dev", "tap-api-authorizer-dev")


def test_the_working_trees_code_is_synced_back_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restores: list[Workspace]
) -> None:
    ws, run = a_run(tmp_path, monkeypatch, KeyboardInterrupt())

    with pytest.raises(KeyboardInterrupt):
        run()
    assert restores == [ws]
