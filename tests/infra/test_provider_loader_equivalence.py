"""The lazy provider loader changes how fast the bindings load, never what is synthesized."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from trading_infra import provider_loader

from tests.infra.conftest import ROOT, fake_artifacts


def synth_in_subprocess(tmp_path: Path, *, eager: bool) -> tuple[dict[str, bytes], str]:
    dist = tmp_path / "dist"
    fake_artifacts(dist)
    outdir = tmp_path / "out"
    env = {**os.environ, provider_loader.EAGER_IMPORT_ENV_VAR: "1" if eager else "0"}
    # The timeout only guards against a hang: the eager import compiles the bytecode of ~2,000
    # modules, which takes minutes on a 2-core machine busy with the other CI chains.
    completed = subprocess.run(
        [sys.executable, "-m", "trading_infra", "--env", "all", "--target", "aws",
         "--dist", str(dist), "--outdir", str(outdir), "--config", str(ROOT / "platform.toml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=1800,
    )  # fmt: skip
    files = {
        path.relative_to(outdir).as_posix(): path.read_bytes()
        for path in sorted((outdir / "stacks").rglob("cdk.tf.json"))
    }
    return files, completed.stderr


@pytest.fixture(scope="module")
def lazy_and_eager(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], ...]:
    lazy, _ = synth_in_subprocess(tmp_path_factory.mktemp("lazy"), eager=False)
    eager, warning = synth_in_subprocess(tmp_path_factory.mktemp("eager"), eager=True)
    assert provider_loader.EAGER_IMPORT_ENV_VAR in warning
    return lazy, eager


def test_every_deployment_synthesizes_byte_identical_json_lazily_and_eagerly(
    lazy_and_eager: tuple[dict[str, bytes], dict[str, bytes]],
) -> None:
    lazy, eager = lazy_and_eager
    assert len(lazy) == 12  # (3 single-region + 3 global regions) x (network, app)
    assert lazy.keys() == eager.keys()
    for name in lazy:
        assert lazy[name] == eager[name], name


def test_loader_skips_only_the_eager_submodule_imports() -> None:
    assert provider_loader.count_eager_imports() > 2000
    module = sys.modules[provider_loader.PACKAGE]
    assert module.__name__ == provider_loader.PACKAGE
    assert module.vpc.Vpc.__name__ == "Vpc"  # attribute access still imports on first use


def test_other_provider_versions_fall_back_to_the_eager_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(provider_loader, "VERIFIED_PROVIDER_VERSION", "0.0.0")
    monkeypatch.delitem(sys.modules, provider_loader.PACKAGE)
    calls: list[str] = []
    monkeypatch.setattr(importlib, "import_module", calls.append)
    assert provider_loader.install() is provider_loader.LoadMode.EAGER
    assert calls == [provider_loader.PACKAGE]
