"""The lazy provider loader changes how fast the bindings load, never what is synthesized."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from trading_infra import provider_loader
from trading_infra.config.loader import UNPROTECTED_ENVIRONMENTS_ENV

from tests.infra.conftest import ROOT, Stack, fake_artifacts


def synth_eagerly(tmp_path: Path) -> tuple[dict[str, Any], str]:
    """Every deployment synthesized for AWS in a process that imports the whole provider package
    eagerly (the configuration as written, as the session's synth reads it): each stack's JSON
    and the process's standard error."""
    dist = tmp_path / "dist"
    fake_artifacts(dist)
    outdir = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != UNPROTECTED_ENVIRONMENTS_ENV}
    env[provider_loader.EAGER_IMPORT_ENV_VAR] = "1"
    # The timeout only guards against a hang: the eager import compiles the bytecode of ~2,000
    # modules, which takes minutes on a 2-core machine busy with the other CI chains.
    completed = subprocess.run(
        [sys.executable, "-m", "trading_infra", "--env", "all", "--target", "aws",
         "--dist", str(dist), "--outdir", str(outdir), "--config", str(ROOT / "platform.toml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=1800,
    )  # fmt: skip
    documents = {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((outdir / "stacks").glob("*/cdk.tf.json"))
    }
    return documents, completed.stderr


@pytest.fixture(scope="module")
def eager(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    documents, warning = synth_eagerly(tmp_path_factory.mktemp("eager"))
    assert provider_loader.EAGER_IMPORT_ENV_VAR in warning
    return documents


def test_every_deployment_synthesizes_the_same_json_lazily_and_eagerly(
    aws_stacks: dict[str, Stack], eager: dict[str, Any]
) -> None:
    """The session's synth of every deployment (this process, which loaded the provider package
    lazily: the loader's attribute hook is on it) is the eager process's, stack for stack."""
    assert "__getattr__" in vars(sys.modules[provider_loader.PACKAGE])
    assert len(aws_stacks) == 12  # (3 single-region + 3 global regions) x (network, app)
    assert sorted(eager) == sorted(aws_stacks)
    for name, stack in aws_stacks.items():
        assert eager[name] == stack.document, name


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
