"""tooling.lifecycle.workspace: a run's directories, target and port, and where it writes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.workspace import Workspace, check_target


def test_from_environ_applies_outdir_and_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TAP_CDKTF_OUTDIR", ".build/mine/cdktf.out")
    monkeypatch.setenv("TAP_EMULATOR_PORT", "4711")
    ws = Workspace.from_environ(tmp_path, target="aws")
    assert (ws.outdir, ws.port, ws.target) == (tmp_path / ".build/mine/cdktf.out", 4711, "aws")
    assert (ws.config_file, ws.dist) == (tmp_path / "platform.toml", tmp_path / "dist")


def test_defaults_without_the_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TAP_CDKTF_OUTDIR", raising=False)
    monkeypatch.delenv("TAP_EMULATOR_PORT", raising=False)
    ws = Workspace.from_environ(tmp_path)
    assert (ws.outdir, ws.port, ws.target) == (tmp_path / "cdktf.out", 4566, "local")


def test_an_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(LifecycleError, match="--target must be one of") as error:
        Workspace(root=tmp_path, outdir=tmp_path, target="gcp")
    assert error.value.code == 2
    check_target("aws")


def test_echo_writes_to_out_or_the_current_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    Workspace(root=tmp_path, outdir=tmp_path, out=out).echo("to out")
    Workspace(root=tmp_path, outdir=tmp_path).echo("to stdout")
    assert out.getvalue() == "to out\n"
    assert capsys.readouterr().out == "to stdout\n"


def test_an_invalid_configuration_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "platform.toml").write_text("[platform]\nname = 1\n", encoding="utf-8")
    with pytest.raises(LifecycleError, match="no \\[environments") as error:
        Workspace(root=tmp_path, outdir=tmp_path).config()
    assert error.value.code == 2
