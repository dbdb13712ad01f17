"""tests/node_tools.py: `npm ci` from a committed lockfile into .build/<name>, once per lockfile.

npm here is a stand-in script that records each call and fills node_modules, so these tests need
neither node nor the registry; the real install is what tests/build/test_cdktf_cli.py and the
Mermaid syntax check in tests/infra/test_architecture_diagrams.py run.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.node_tools import (
    CDKTF_CLI,
    MARKER,
    MERMAID,
    NodeTool,
    NpmCiError,
    install,
    installed,
    lock_digest,
    main,
)

NPM_CI = "ci --no-audit --no-fund --ignore-scripts --prefer-offline"


def fake_npm(directory: Path, body: str = "mkdir -p node_modules/left-pad") -> Path:
    """An ``npm`` that appends "<cwd> <args>" to directory/calls, then runs ``body``."""
    script = directory / "npm"
    script.write_text(f'#!/bin/sh\necho "$(pwd) $*" >> "{directory / "calls"}"\n{body}\n')
    script.chmod(0o755)
    return script


def calls(directory: Path) -> list[str]:
    path = directory / "calls"
    return path.read_text().splitlines() if path.is_file() else []


@pytest.fixture
def tool(tmp_path: Path) -> NodeTool:
    package = tmp_path / "package"
    package.mkdir()
    manifest = {"name": "t", "private": True, "dependencies": {"left-pad": "1.3.0"}}
    (package / "package.json").write_text(json.dumps(manifest))
    (package / "package-lock.json").write_text(json.dumps({"name": "t", "lockfileVersion": 3}))
    return NodeTool("left-pad", package)


def test_the_lockfile_is_copied_and_npm_ci_runs_there_once(tool: NodeTool, tmp_path: Path) -> None:
    npm, build = fake_npm(tmp_path), tmp_path / "build"
    assert install(tool, npm=str(npm), build=build) is True
    assert install(tool, npm=str(npm), build=build) is False
    directory = build / "left-pad"
    assert calls(tmp_path) == [f"{directory} {NPM_CI}"]
    for name in ("package.json", "package-lock.json"):
        assert (directory / name).read_bytes() == (tool.package / name).read_bytes()
    assert (directory / "node_modules" / MARKER).read_text() == lock_digest(tool)


def test_a_changed_lockfile_installs_again(tool: NodeTool, tmp_path: Path) -> None:
    npm, build = fake_npm(tmp_path), tmp_path / "build"
    install(tool, npm=str(npm), build=build)
    first = lock_digest(tool)
    (tool.package / "package-lock.json").write_text('{"name": "t", "lockfileVersion": 2}')
    assert lock_digest(tool) != first
    assert install(tool, npm=str(npm), build=build) is True
    assert len(calls(tmp_path)) == 2


def test_a_removed_node_modules_installs_again(tool: NodeTool, tmp_path: Path) -> None:
    npm, build = fake_npm(tmp_path), tmp_path / "build"
    install(tool, npm=str(npm), build=build)
    (build / "left-pad" / "node_modules" / MARKER).unlink()  # what `rm -r node_modules` takes
    assert install(tool, npm=str(npm), build=build) is True
    assert len(calls(tmp_path)) == 2


def test_a_failed_npm_ci_is_raised_with_its_output_and_retried(
    tool: NodeTool, tmp_path: Path
) -> None:
    failing = tmp_path / "failing"
    failing.mkdir()
    npm = fake_npm(failing, 'echo "npm error code E404" >&2\nexit 1')
    build = tmp_path / "build"
    with pytest.raises(NpmCiError, match=r"exited 1:\nnpm error code E404"):
        install(tool, npm=str(npm), build=build)
    assert not (build / "left-pad" / "node_modules" / MARKER).exists()
    assert install(tool, npm=str(fake_npm(tmp_path)), build=build) is True


def test_callers_at_the_same_time_install_once(tool: NodeTool, tmp_path: Path) -> None:
    npm = fake_npm(tmp_path, "sleep 1\nmkdir -p node_modules/left-pad")
    build = tmp_path / "build"
    with ThreadPoolExecutor(max_workers=2) as pool:
        ran = list(pool.map(lambda _: install(tool, npm=str(npm), build=build), range(2)))
    assert sorted(ran) == [False, True]
    assert len(calls(tmp_path)) == 1


@pytest.mark.parametrize(("ci", "outcome"), [("", pytest.skip.Exception),
                                             ("true", pytest.fail.Exception)])  # fmt: skip
def test_without_node_and_npm_it_is_skipped_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # holds neither node nor npm
    monkeypatch.setenv("CI", ci)
    reason = r"node and npm are not both on PATH \(npm ci installs cdktf-cli\)"
    with pytest.raises(outcome, match=reason):
        installed(CDKTF_CLI)


def test_the_tools_are_the_committed_lockfiles() -> None:
    assert (MERMAID.name, CDKTF_CLI.name) == ("diagram-node", "cdktf-cli")
    for tool in (MERMAID, CDKTF_CLI):
        lock = json.loads((tool.package / "package-lock.json").read_text())
        manifest = json.loads((tool.package / "package.json").read_text())
        assert lock["packages"][""]["dependencies"] == manifest["dependencies"]
    cdktf = json.loads((CDKTF_CLI.package / "package-lock.json").read_text())
    assert cdktf["packages"]["node_modules/cdktf-cli"]["version"] == "0.21.0"


def test_an_unknown_tool_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cdktf"]) == 2
    assert "unknown ['cdktf'] (known: ['cdktf-cli', 'diagram-node'])" in capsys.readouterr().err
