"""``plan --out`` and ``deploy --plan`` end to end with real terraform (local provider mirror)
against moto: the saved plans are applied in dependency order, and a deploy whose plans went
stale (a state written, a plan file altered) is refused before any apply, naming each stack.

Synth is replaced by stacks written here (two log groups, the app declared after the base in
cdktf's manifest); everything else is the commands' own: the scheduler, terraform, the state
backend on moto."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest

from tests.tooling.conftest import fresh_local_session
from tests.tooling.lifecycle import crash_support as crash
from tests.tooling.lifecycle.stacks import write_manifest
from tooling.lifecycle.commands import deploy_saved, plan
from tooling.lifecycle.commands.deploy_saved import deploy_saved_plans
from tooling.lifecycle.commands.plan import plan_stacks
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.runs import apply_stack
from tooling.lifecycle.saved_plans import read_manifest, sha256_of
from tooling.lifecycle.session import Session
from tooling.lifecycle.state_snapshot import read_snapshot
from tooling.lifecycle.workspace import Workspace

pytestmark = pytest.mark.moto

ROOT = Path(__file__).resolve().parents[3]
REGION = "eu-west-1"
BASE = "tap-dev-eu-west-1-base"
APP = "tap-dev-eu-west-1-app"


def _write_stack(outdir: Path, name: str, endpoint: str, tags: dict[str, str]) -> None:
    group = {"name": f"/tap/{name}", "tags": tags}
    document = crash.stack_document(endpoint, REGION, {"aws_cloudwatch_log_group": {"Logs": group}})
    document["provider"]["aws"][0]["default_tags"] = [{"tags": {"Environment": "dev"}}]
    backend = crash.backend(endpoint, f"tap/dev/{name}.tfstate", REGION)
    document["terraform"]["backend"] = {"s3": backend}
    crash.write_config(outdir / "stacks" / name, document)


def _write_stacks(outdir: Path, endpoint: str, tags: dict[str, str]) -> None:
    for name in (BASE, APP):
        _write_stack(outdir, name, endpoint, tags)
    write_manifest(outdir, {APP: [BASE], BASE: []})


def _tags(session: Session, name: str) -> dict[str, str]:
    """The tags of the stack's log group as AWS has them."""
    tags: dict[str, str] = session.client("logs", REGION).list_tags_log_group(
        logGroupName=f"/tap/{name}"
    )["tags"]
    return tags


@pytest.fixture
def deployment(
    endpoint: str, terraform_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Workspace, Session]:
    """A workspace of two stacks (not yet deployed) on a reset moto with the state backend;
    the commands get these stacks instead of synthesizing and this session."""
    session = fresh_local_session(endpoint, terraform_repo)
    crash.create_backend(endpoint, REGION)
    outdir = tmp_path / "cdktf.out"
    _write_stacks(outdir, endpoint, {"Stage": "one"})
    shutil.copy(ROOT / "platform.toml", tmp_path / "platform.toml")  # cfn-outputs reads it
    ws = Workspace(root=tmp_path, outdir=outdir, target="local", out=io.StringIO())

    def stacks(_ws: Workspace, env: str | None) -> list[StackInfo]:
        assert env == "dev"
        return read_stacks(outdir, [APP, BASE])

    def session_for(_ws: Workspace, *, start: bool = True) -> Session:
        return session

    for module in (plan, deploy_saved):
        monkeypatch.setattr(module, "ordered_stacks", stacks)
        monkeypatch.setattr(module, "session_for", session_for)
    return ws, session


def test_saved_plans_are_applied_exactly_and_refused_once_stale(
    deployment: tuple[Workspace, Session], tmp_path: Path
) -> None:
    # One scenario (terraform against moto is the slow part): recorded, applied, refused when
    # stale, planned again and applied with the unchanged stack skipped.
    ws, session = deployment
    first = tmp_path / "first"

    # WHEN the stacks are planned into a directory
    codes = plan_stacks(ws, "dev", parallel=1, out=first)

    # THEN each plan file, its report and the manifest are there, readable by the owner only
    assert codes == {BASE: 2, APP: 2}
    manifest = read_manifest(first)
    assert (manifest.target, manifest.environments) == ("local", ("dev",))
    assert [saved.name for saved in manifest.stacks] == [BASE, APP]
    app = manifest.stack(APP)
    assert app is not None
    config = (ws.outdir / "stacks" / APP / "cdk.tf.json").read_bytes()
    assert (app.depends_on, app.lineage, app.serial, app.has_changes) == ((BASE,), None, None, True)
    assert app.config_sha256 == hashlib.sha256(config).hexdigest()
    assert app.plan_sha256 == sha256_of(first / f"{APP}.tfplan")
    assert (first / f"{APP}.tfplan").stat().st_mode & 0o777 == 0o600
    assert first.stat().st_mode & 0o777 == 0o700
    report = json.loads((first / f"{APP}.report.json").read_text(encoding="utf-8"))
    assert [change["address"] for change in report["changes"]] == ["aws_cloudwatch_log_group.Logs"]

    # WHEN they are deployed from the directory, THEN both log groups exist as planned
    deploy_saved_plans(ws, "dev", first, parallel=1)
    assert _tags(session, BASE) == _tags(session, APP) == {"Environment": "dev", "Stage": "one"}

    # GIVEN plans of a change to both stacks
    _write_stacks(ws.outdir, _endpoint(session), {"Stage": "two"})
    plans = tmp_path / "plans"
    assert plan_stacks(ws, "dev", parallel=1, out=plans) == {BASE: 2, APP: 2}
    # AND, since, the app's state was written by another apply and the base's plan file altered
    apply_stack(session, ws.outdir / "stacks" / APP, out=io.StringIO())
    (plans / f"{BASE}.tfplan").write_bytes((plans / f"{BASE}.tfplan").read_bytes() + b"\0")
    before = {name: read_snapshot(session, ws.outdir / "stacks" / name) for name in (BASE, APP)}

    # WHEN they are deployed
    with pytest.raises(LifecycleError) as refused:
        deploy_saved_plans(ws, "dev", plans, parallel=1)

    # THEN the deploy refuses, naming each stale stack and why
    saved = read_manifest(plans).stack(APP)
    assert saved is not None
    assert str(refused.value).splitlines() == [
        "deploy --plan refused: nothing was applied.",
        f"  {BASE}: stale: its plan file {BASE}.tfplan was altered (sha256 differs)",
        f"  {APP}: stale: its state changed since the plan (lineage/serial "
        f"{saved.lineage}/{saved.serial} then, {saved.lineage}/{before[APP].serial} now)",
        "Plan again, review the new plans, then deploy them.",
    ]
    # AND nothing was applied: the base keeps its tags, no state was written
    assert _tags(session, BASE) == {"Environment": "dev", "Stage": "one"}
    assert {name: read_snapshot(session, ws.outdir / "stacks" / name) for name in (BASE, APP)} == (
        before
    )

    # WHEN planned again (the app has nothing left to change) and deployed
    assert plan_stacks(ws, "dev", parallel=1, out=plans) == {BASE: 2, APP: 0}
    out = io.StringIO()
    deploy_saved_plans(Workspace(ws.root, ws.outdir, out=out), "dev", plans, parallel=1)

    # THEN the base is applied and the app, whose plan has no changes, skipped
    assert _tags(session, BASE) == {"Environment": "dev", "Stage": "two"}
    assert out.getvalue().count("its saved plan has no changes (skipped)") == 1
    assert read_snapshot(session, ws.outdir / "stacks" / APP) == before[APP]


def _endpoint(session: Session) -> str:
    assert session.emulator is not None
    return session.emulator.endpoint
