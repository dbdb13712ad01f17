"""The cdktf CLI's conventions, with the repository's own cdktf.json (cdktf-cli 0.21.0).

Runs only when ``cdktf`` is on PATH (it is no dependency of ``./tap``): install it with
``npm install --prefix .build/cdktf-cli cdktf-cli@0.21.0`` and put
``.build/cdktf-cli/node_modules/.bin`` on PATH (docs/contributing.md). Each command runs in a
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

ROOT = Path(__file__).resolve().parents[2]
CDKTF = shutil.which("cdktf") or shutil.which(
    str(ROOT / ".build" / "cdktf-cli" / "node_modules" / ".bin" / "cdktf")
)

pytestmark = pytest.mark.skipif(
    CDKTF is None,
    reason="cdktf CLI not installed (npm install --prefix .build/cdktf-cli cdktf-cli@0.21.0)",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cdktf-project")
    shutil.copy(ROOT / "cdktf.json", directory / "cdktf.json")
    shutil.copy(ROOT / "platform.toml", directory / "platform.toml")
    (directory / ".venv").symlink_to(ROOT / ".venv")
    fake_artifacts(directory / "dist")
    return directory


def cdktf(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CDKTF is not None
    env = {
        **os.environ,
        "CHECKPOINT_DISABLE": "1",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }
    env.pop("CDKTF_OUTDIR", None)
    result = subprocess.run(
        [CDKTF, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"cdktf {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def stacks_in(outdir: Path) -> set[str]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    for name, stack in manifest["stacks"].items():
        assert (outdir / stack["synthesizedStackPath"]).is_file(), name
    return set(manifest["stacks"])


DEV = {"tap-dev-ap-southeast-1-network", "tap-dev-ap-southeast-1-app"}


def test_cdktf_synth_writes_cdktf_out(project: Path) -> None:
    cdktf(project, "synth")
    assert stacks_in(project / "cdktf.out") == DEV


def test_cdktf_synth_output_dir_is_honoured(project: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "elsewhere"
    cdktf(project, "synth", "--output", str(outdir))
    assert stacks_in(outdir) == DEV


def test_cdktf_list_names_the_stacks(project: Path) -> None:
    listed = cdktf(project, "list").stdout
    for stack in DEV:
        assert stack in listed
