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


def test_the_zips_are_built_from_the_repository_into_dist_by_default(tmp_path: Path) -> None:
    ws = Workspace(root=tmp_path, outdir=tmp_path / "cdktf.out")
    assert (ws.sources, ws.dist) == (tmp_path, tmp_path / "dist")


def test_a_run_can_build_a_changed_copy_of_the_services_into_a_dist_of_its_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """GIVEN build_root and dist_dir (the e2e test of a changed handler) WHEN the lifecycle builds
    THEN it builds that tree into that dist, never the repository's services into its dist."""
    from tooling.build import lambda_zip
    from tooling.lifecycle.synth import build_lambdas

    calls: list[tuple[Path, Path | None]] = []

    def build_all(repo_root: Path, **options: object) -> list[object]:
        calls.append((repo_root, options.get("dist_dir")))  # type: ignore[arg-type]
        return []

    monkeypatch.setattr(lambda_zip, "build_all", build_all)
    monkeypatch.setattr("tooling.lifecycle.synth.lambda_target", lambda config: None)
    ws = Workspace(
        root=tmp_path / "repo",
        outdir=tmp_path / "repo" / "cdktf.out",
        build_root=tmp_path / "copy",
        dist_dir=tmp_path / "copy-dist",
    )
    monkeypatch.setattr(Workspace, "config", lambda self: None)
    build_lambdas(ws)
    assert calls == [(tmp_path / "copy", tmp_path / "copy-dist")]
