"""The cdktf CLI's conventions, with the repository's own cdktf.json.

The CLI is cdktf-cli 0.21.0, pinned by tests/build/cdktf-cli/package-lock.json and installed from
it with ``npm ci`` into .build/cdktf-cli (tests/node_tools.py, once per lockfile): without node and
npm these tests are skipped locally and fail in CI (tests/toolchain.py). Each command runs in a
scratch copy of the project (cdktf.json, platform.toml, .venv, stand-in zips), so the real
cdktf.out/ is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import fake_artifacts
from tests.node_tools import CDKTF_CLI, installed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cli() -> Path:
    return installed(CDKTF_CLI) / "node_modules" / ".bin" / "cdktf"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cdktf-project")
    shutil.copy(ROOT / "cdktf.json", directory / "cdktf.json")
    shutil.copy(ROOT / "platform.toml", directory / "platform.toml")
    (directory / ".venv").symlink_to(ROOT / ".venv")
    fake_artifacts(directory / "dist")
    return directory


def cdktf(cli: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CHECKPOINT_DISABLE": "1",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    env.pop("CDKTF_OUTDIR", None)
    result = subprocess.run(
        [cli, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"cdktf {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def stacks_in(outdir: Path) -> set[str]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    for name, stack in manifest["stacks"].items():
        assert (outdir / stack["synthesizedStackPath"]).is_file(), name
    return set(manifest["stacks"])


DEV = {"tap-dev-ap-southeast-1-network", "tap-dev-ap-southeast-1-app"}


def test_the_cli_is_the_pinned_release(cli: Path) -> None:
    package = cli.parents[1] / "cdktf-cli" / "package.json"  # node_modules/cdktf-cli
    assert json.loads(package.read_text(encoding="utf-8"))["version"] == "0.21.0"


def test_cdktf_synth_writes_cdktf_out(cli: Path, project: Path) -> None:
    cdktf(cli, project, "synth")
    assert stacks_in(project / "cdktf.out") == DEV


def test_cdktf_synth_output_dir_is_honoured(cli: Path, project: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "elsewhere"
    cdktf(cli, project, "synth", "--output", str(outdir))
    assert stacks_in(outdir) == DEV


def test_cdktf_list_names_the_stacks(cli: Path, project: Path) -> None:
    listed = cdktf(cli, project, "list").stdout
    for stack in DEV:
        assert stack in listed
