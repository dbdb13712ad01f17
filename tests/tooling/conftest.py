"""Fixtures and helpers shared by the tooling tests (the in-process moto server serves both the
emulator's patch tests and the deploy tests)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.toolchain import missing_toolchain
from tooling.terraform import MIRROR_ENV, find_provider_mirror


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """An in-process moto server on a free loopback port, one per test module: its base URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def reset_moto(endpoint: str) -> None:
    """Reset every backend (all services, all regions) of the moto server at ``endpoint``."""
    # 60 s: with the IAM managed-policies patch active, a reset loads ~1,500 AWS managed
    # policies into every account it creates, which took over 10 s under the full suite load.
    requests.post(f"{endpoint}/moto-api/reset", timeout=60).raise_for_status()


@pytest.fixture(scope="session")
def provider_mirror() -> Path:
    """The local hashicorp/aws mirror; tests that run terraform are skipped without one (and
    fail without one in CI: tests/toolchain.py)."""
    if shutil.which("terraform") is None:
        missing_toolchain("terraform is not on PATH")
    mirror = find_provider_mirror()
    if mirror is None:
        missing_toolchain(f"no hashicorp/aws filesystem mirror (set {MIRROR_ENV})")
    return mirror


@pytest.fixture(scope="session")
def terraform_repo(tmp_path_factory: pytest.TempPathFactory, provider_mirror: Path) -> Path:
    """A repository root shared by every terraform run of the session, so that its
    ``.build/terraform/plugin-cache`` installs the provider once."""
    return tmp_path_factory.mktemp("terraform-repo")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No registry and a poisoned inherited CLI configuration, for the duration of a test.

    Every HTTP(S) request goes to a closed loopback port, and the inherited
    ``TF_CLI_CONFIG_FILE`` names a configuration that would make any install fail: a terraform
    run only succeeds if it uses the project's configuration and the local mirror.
    Returns the poisoned configuration's path.
    """
    poisoned = tmp_path / "inherited.tfrc"
    poisoned.write_text(
        'provider_installation {\n  network_mirror {\n    url = "https://127.0.0.1:9/"\n  }\n}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(poisoned))
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return poisoned
