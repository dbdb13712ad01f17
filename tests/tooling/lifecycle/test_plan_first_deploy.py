"""``plan`` of an environment that does not exist yet, without a cloud (terraform and the state
backend replaced by fakes): which stack is planned how (against its state, against an empty
state in a scratch copy, waiting), the exit codes, the summary and reports, the saved-plan
manifest (``--out``) and the refusal of ``deploy --plan``, and the command the task names."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from invoke.context import Context

import tasks
from tests.tooling.lifecycle.test_first_plans import (
    BUCKET,
    FakeProbe,
    state_key,
    write_dependencies,
    write_stack,
)
from tooling.lifecycle.commands import deploy_saved, plan, saved_plan_files, stack_run
from tooling.lifecycle.commands.deploy_saved import check_saved_plans
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.saved_plans import StackNow, read_manifest, sha256_of
from tooling.lifecycle.session import Session
from tooling.lifecycle.state_snapshot import StateSnapshot
from tooling.lifecycle.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
NET = "tap-staging-ap-southeast-1-network"
APP = "tap-staging-ap-southeast-1-app"
#: A stack of the run whose backend exists: planned as it always was.
OLD = "tap-staging-ap-southeast-1-edge"
BOOTSTRAP = "./tap bootstrap-backend --env staging --target aws"
SHOWN = {
    "resource_changes": [
        {"address": "aws_sns_topic.Alerts", "change": {"actions": ["create"]}},
        {"address": "aws_vpc.Main", "change": {"actions": ["create"]}},
    ]
}


class World:
    """The fakes' records: each init and plan (directory, the backend it had then)."""

    def __init__(self) -> None:
        self.inits: list[tuple[Path, dict[str, Any]]] = []
        self.plans: list[tuple[Path, dict[str, Any]]] = []
        #: The extra terraform arguments of each stack's plan, by directory name.
        self.arguments: dict[str, list[str]] = {}


def _printed(ws: Workspace) -> str:
    assert isinstance(ws.out, io.StringIO)
    return ws.out.getvalue()


def _backend(directory: Path) -> dict[str, Any]:
    document = json.loads((directory / "cdk.tf.json").read_text(encoding="utf-8"))
    backend: dict[str, Any] = document["terraform"]["backend"]
    return backend


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Workspace, World]:
    """Staging's network and app (the app reads the network's state) and a stack whose own
    bucket exists (another bucket): the staging bucket does not exist, nothing is deployed."""
    shutil.copy(ROOT / "platform.toml", tmp_path / "platform.toml")
    outdir = tmp_path / "cdktf.out"
    write_stack(outdir, NET)
    write_stack(outdir, APP, reads=(NET,))
    edge = write_stack(outdir, OLD)
    document = json.loads((edge / "cdk.tf.json").read_text(encoding="utf-8"))
    document["terraform"]["backend"]["s3"]["bucket"] = "tap-terraform-state-shared"
    (edge / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")
    write_dependencies(outdir, {NET: [], APP: [NET], OLD: []})
    ws = Workspace(root=tmp_path, outdir=outdir, target="aws", out=io.StringIO())
    session = Session(root=tmp_path, target="aws")
    world = World()
    probe = FakeProbe(buckets={"tap-terraform-state-shared"}, states=set())

    def init(session: Session, directory: Path) -> None:
        world.inits.append((directory, _backend(directory)))

    def plan_one(session: Session, directory: Path, **kwargs: Any) -> tuple[int, str]:
        world.plans.append((directory, _backend(directory)))
        world.arguments[directory.name] = list(kwargs.get("extra", ()))
        kwargs["plan_file"].write_bytes(b"plan of " + directory.name.encode())
        return 2, "Plan: 2 to add, 0 to change, 0 to destroy.\n"

    def show(session: Session, directory: Path, plan_file: Path, *, keep: bool = False) -> Any:
        if not keep:
            plan_file.unlink()
        return SHOWN

    monkeypatch.setattr(
        plan, "ordered_stacks", lambda ws, env: read_stacks(outdir, [NET, APP, OLD])
    )
    monkeypatch.setattr(plan, "session_for", lambda ws, start=True: session)
    monkeypatch.setattr(plan, "S3Probe", lambda session: probe)
    monkeypatch.setattr(stack_run, "init_stack", init)
    monkeypatch.setattr(plan, "plan_stack", plan_one)
    monkeypatch.setattr(plan, "show_plan", show)
    monkeypatch.setattr("tooling.terraform.terraform_version", lambda: "1.11.4")
    return ws, world


def test_the_network_is_planned_empty_in_a_scratch_copy_and_the_app_waits(
    world: tuple[Workspace, World],
) -> None:
    ws, records = world

    # WHEN staging is planned while its state bucket does not exist
    codes = plan.plan_stacks(ws, "staging", bootstrap=BOOTSTRAP)

    # THEN no stack failed: the app waits (a deploy changes it), the others have changes
    assert codes == {NET: 2, OLD: 2, APP: 2}
    # AND the network was initialised and planned in a copy whose backend is local, since gone
    planned = {directory.name: (directory, backend) for directory, backend in records.plans}
    inited = {directory.name: (directory, backend) for directory, backend in records.inits}
    assert sorted(planned) == sorted(inited) == sorted([NET, OLD])
    scratch, backend = planned[NET]
    assert inited[NET] == planned[NET]
    assert scratch.parent.parent != ws.outdir and not scratch.exists()
    assert backend == {"local": {"path": "terraform.tfstate"}}
    # AND the stack whose bucket exists was planned in its own directory, against its backend
    edge, edge_backend = planned[OLD]
    assert edge == ws.outdir / "stacks" / OLD and sorted(edge_backend) == ["s3"]


def test_the_summary_and_the_reports_mark_both(world: tuple[Workspace, World]) -> None:
    ws, _ = world
    plan.plan_stacks(ws, "staging", bootstrap=BOOTSTRAP)

    text = _printed(ws)
    summary = text[text.index("plan summary:") :].splitlines()
    assert summary == [
        "plan summary:",
        f"  {OLD}: 2 to add, 0 to change, 0 to replace, 0 to destroy",
        "    + create    aws_sns_topic.Alerts",
        "    + create    aws_vpc.Main",
        f"  {NET}: 2 to add, 0 to change, 0 to replace, 0 to destroy (against an empty state)",
        "    planned against an empty state: the state backend does not exist yet; "
        f"`{BOOTSTRAP}` creates it",
        "    + create    aws_sns_topic.Alerts",
        "    + create    aws_vpc.Main",
        f"  {APP}: waiting, not planned",
        f"    waiting for {NET}: not deployed yet; its plan follows the dependency's deploy",
        "plan reports: cfn-outputs/plan-report.json, cfn-outputs/plan-report.md",
    ]
    assert "failed" not in text
    # AND the run's summary table says the same, as no error
    assert f"succeeded: waiting for {NET}: not deployed yet; its plan follows" in text
    assert "succeeded: changes (against an empty state)" in text
    report = json.loads((ws.root / "cfn-outputs" / "plan-report.json").read_text("utf-8"))
    bases = {s["stack"]: (s["basis"], s["error"], len(s["changes"])) for s in report["stacks"]}
    assert bases == {
        NET: ("empty_state", None, 2),
        OLD: ("state", None, 2),
        APP: ("waiting", None, 0),
    }
    comment = (ws.root / "cfn-outputs" / "plan-report.md").read_text("utf-8").splitlines()
    assert f"| `{NET}` (against an empty state) | 2 | 0 | 0 | 0 |" in comment
    assert f"| `{APP}` | waiting | | | |" in comment
    assert (
        f"- `{APP}`: waiting for {NET}: not deployed yet; its plan follows the dependency's deploy"
        in comment
    )


def test_saved_plans_record_why_deploy_plan_refuses_them(
    world: tuple[Workspace, World], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = world
    out = tmp_path / "plans"
    # The edge stack's state as the saved plan records it (none yet: never deployed).
    never = StateSnapshot(None, None, "r" * 64)
    monkeypatch.setattr(saved_plan_files, "read_snapshot", lambda session, directory: never)

    # WHEN staging is planned into a directory
    codes = plan.plan_stacks(ws, "staging", out=out, bootstrap=BOOTSTRAP)

    # THEN every stack is recorded (the manifest is written, nothing failed) ...
    assert codes == {NET: 2, OLD: 2, APP: 2}
    manifest = read_manifest(out)
    assert [saved.name for saved in manifest.stacks] == [OLD, NET, APP]
    assert [saved.not_applicable for saved in manifest.stacks] == [
        None,
        "planned against an empty state (its state backend did not exist), not a plan to apply: "
        f"bootstrap the state backend (`{BOOTSTRAP}`) and deploy first, then plan again",
        f"not planned: waiting for {NET} (not deployed yet): deploy first, then plan again",
    ]
    # ... but only the plan against a real backend is kept: a scratch plan is no plan to apply
    assert sorted(p.name for p in out.glob("*.tfplan")) == [f"{OLD}.tfplan"]
    assert sorted(p.name for p in out.glob("*.report.json")) == sorted(
        f"{name}.report.json" for name in (NET, APP, OLD)
    )
    assert f"deploy --plan refuses this directory: {NET} has no plan to apply" in _printed(ws)

    # WHEN they are deployed (the states as they were planned)
    def now(session: Session, stack: StackInfo, saved: Any, directory: Path) -> StackNow:
        plan_file = directory / saved.plan_file
        plan_sha256 = sha256_of(plan_file) if saved.plan_file else None
        return StackNow(saved.config_sha256, None, None, saved.reads_sha256, plan_sha256)

    monkeypatch.setattr(deploy_saved, "stack_now", now)
    stacks = read_stacks(ws.outdir, [NET, APP, OLD])
    with pytest.raises(LifecycleError) as refused:
        check_saved_plans(
            ws, Session(root=ws.root, target="aws"), manifest, out, stacks,
            terraform_version="1.11.4", again="./tap plan --env staging --target aws --out plans",
        )  # fmt: skip

    # THEN the deploy is refused, naming both stacks and why, and only them
    assert str(refused.value).splitlines() == [
        "deploy --plan refused: nothing was applied.",
        f"  {NET}: planned against an empty state (its state backend did not exist), not a plan "
        f"to apply: bootstrap the state backend (`{BOOTSTRAP}`) and deploy first, then plan again",
        f"  {APP}: not planned: waiting for {NET} (not deployed yet): deploy first, then plan "
        "again",
        "Plan again (`./tap plan --env staging --target aws --out plans`), review the new plans, "
        "then deploy them.",
    ]


def test_only_a_plan_kept_to_be_applied_opens_the_master_password(
    world: tuple[Workspace, World], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, records = world
    # GIVEN the edge stack declares the variable (as global's primary app stack does) ...
    for name in (OLD, NET):
        path = ws.outdir / "stacks" / name / "cdk.tf.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        document["variable"] = {"open_master_password": {"type": "bool", "default": False}}
        path.write_text(json.dumps(document), encoding="utf-8")
    never = StateSnapshot(None, None, "r" * 64)
    monkeypatch.setattr(saved_plan_files, "read_snapshot", lambda session, directory: never)

    # WHEN staging is planned for review, THEN no plan reads the secret
    plan.plan_stacks(ws, "staging", bootstrap=BOOTSTRAP)
    assert records.arguments == {OLD: [], NET: []}

    # WHEN it is planned to be applied, THEN the plan of the edge stack opens it, and the scratch
    # plan of the network (no plan to apply) does not
    plan.plan_stacks(ws, "staging", out=tmp_path / "plans", bootstrap=BOOTSTRAP)
    assert records.arguments == {OLD: ["-var=open_master_password=true"], NET: []}


def test_a_deployed_network_lets_every_stack_plan_against_its_state(
    world: tuple[Workspace, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, records = world
    deployed = FakeProbe(buckets={BUCKET, "tap-terraform-state-shared"}, states={state_key(NET)})
    monkeypatch.setattr(plan, "S3Probe", lambda session: deployed)

    assert plan.plan_stacks(ws, "staging") == {NET: 2, OLD: 2, APP: 2}

    assert sorted(directory for directory, _ in records.plans) == sorted(
        ws.outdir / "stacks" / name for name in (NET, APP, OLD)
    )
    assert "empty state" not in _printed(ws)


def test_the_plan_task_names_the_bootstrap_of_its_environments_and_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: dict[str, Any] = {}

    def plan_stacks(ws: Workspace, env: str | None, **kwargs: Any) -> dict[str, int]:
        called.update(env=env, bootstrap=kwargs["bootstrap"])
        return {APP: 2}

    monkeypatch.setattr("tooling.lifecycle.commands.plan.plan_stacks", plan_stacks)
    tasks.plan(Context(), env="staging", target="aws")  # a waiting stack is no failure

    assert called == {"env": "staging", "bootstrap": BOOTSTRAP}
