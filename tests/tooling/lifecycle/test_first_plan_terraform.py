"""``plan`` of an environment whose state backend was never bootstrapped, with real terraform
(local provider mirror) against moto: the network-like stack is planned against an empty state
(everything it would add) and nothing is written anywhere (no bucket, no lock table, no state,
nothing in the stack's directory); the stack that reads its state is reported waiting.

Synth is replaced by two small stacks written here; the scheduler, terraform and the probe of
the backend are the command's own. One ``plan --out`` run: the manifest records why
``deploy --plan`` cannot apply either stack, and keeps no plan file."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from tests.tooling.conftest import fresh_local_session
from tests.tooling.lifecycle import crash_support as crash
from tests.tooling.lifecycle.stacks import write_manifest
from tooling.lifecycle.commands import plan
from tooling.lifecycle.commands.plan import plan_stacks
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.saved_plans import read_manifest
from tooling.lifecycle.session import Session
from tooling.lifecycle.workspace import Workspace

pytestmark = pytest.mark.moto

ROOT = Path(__file__).resolve().parents[3]
REGION = "eu-west-1"
NET = "tap-staging-eu-west-1-network"
APP = "tap-staging-eu-west-1-app"
BOOTSTRAP = "./tap bootstrap-backend --env staging"
#: What the network-like stack adds: nothing that needs a data source or another state.
NETWORK = {
    "aws_vpc": {"Main": {"cidr_block": "10.40.0.0/16"}},
    "aws_subnet": {"Private": {"vpc_id": "${aws_vpc.Main.id}", "cidr_block": "10.40.1.0/24"}},
    "aws_cloudwatch_log_group": {"FlowLogs": {"name": "/tap/staging/flow-logs"}},
}


def _write_stacks(outdir: Path, endpoint: str) -> None:
    """The network and an app that reads the network's state, both with the S3 backend."""
    for name, resources in ((NET, NETWORK), (APP, {"aws_sns_topic": {"Alerts": {}}})):
        document = crash.stack_document(endpoint, REGION, resources)
        document["provider"]["aws"][0]["default_tags"] = [{"tags": {"Environment": "staging"}}]
        backend = crash.backend(endpoint, f"tap/staging/{name}.tfstate", REGION)
        document["terraform"]["backend"] = {"s3": backend}
        if name == APP:
            network = crash.backend(endpoint, f"tap/staging/{NET}.tfstate", REGION)
            source = {"backend": "s3", "config": network}
            document["data"] = {"terraform_remote_state": {"Network": source}}
        crash.write_config(outdir / "stacks" / name, document)
    write_manifest(outdir, {APP: [NET], NET: []})


@pytest.fixture
def staging(
    endpoint: str, terraform_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Workspace, Session]:
    """The two stacks on a reset moto where nothing exists: no state bucket, no lock table."""
    session = fresh_local_session(endpoint, terraform_repo)
    outdir = tmp_path / "cdktf.out"
    _write_stacks(outdir, endpoint)
    shutil.copy(ROOT / "platform.toml", tmp_path / "platform.toml")
    ws = Workspace(root=tmp_path, outdir=outdir, target="local", out=io.StringIO())

    def stacks(_ws: Workspace, env: str | None) -> list[StackInfo]:
        assert env == "staging"
        return read_stacks(outdir, [APP, NET])

    monkeypatch.setattr(plan, "ordered_stacks", stacks)
    monkeypatch.setattr(plan, "session_for", lambda _ws, start=True: session)
    return ws, session


def test_a_never_bootstrapped_environment_is_planned_without_writing_anything(
    staging: tuple[Workspace, Session], tmp_path: Path
) -> None:
    ws, session = staging
    plans = tmp_path / "plans"

    # WHEN staging is planned (into a directory) while its state bucket does not exist
    codes = plan_stacks(ws, "staging", parallel=1, out=plans, bootstrap=BOOTSTRAP)

    # THEN neither stack failed: the network has changes, the app waits
    assert codes == {NET: 2, APP: 2}
    assert isinstance(ws.out, io.StringIO)
    text = ws.out.getvalue()
    summary = text[text.index("plan summary:") :].splitlines()
    assert summary[:3] == [
        "plan summary:",
        f"  {NET}: 3 to add, 0 to change, 0 to replace, 0 to destroy (against an empty state)",
        "    planned against an empty state: the state backend does not exist yet; "
        f"`{BOOTSTRAP}` creates it",
    ]
    assert summary[6:8] == [
        f"  {APP}: waiting, not planned",
        f"    waiting for {NET}: not deployed yet; its plan follows the dependency's deploy",
    ]
    assert "Error" not in text and "does not exist." not in text  # no init error shown

    # AND nothing was written: no bucket, no lock table, nothing in the stacks' directories
    assert session.client("s3", REGION).list_buckets()["Buckets"] == []
    assert session.client("dynamodb", REGION).list_tables()["TableNames"] == []
    for name in (NET, APP):
        assert sorted(p.name for p in (ws.outdir / "stacks" / name).iterdir()) == ["cdk.tf.json"]

    # AND the saved plans say why deploy --plan cannot apply them, with no plan file kept
    manifest = read_manifest(plans)
    assert [(saved.name, saved.plan_file) for saved in manifest.stacks] == [(NET, ""), (APP, "")]
    assert all(saved.not_applicable for saved in manifest.stacks)
    assert list(plans.glob("*.tfplan")) == []
