"""Fixtures and helpers shared by the tooling tests (the in-process moto server serves both the
emulator's patch tests and the deploy tests)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.toolchain import missing_toolchain
from tooling.lifecycle.session import Session
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


def fresh_local_session(endpoint: str, root: Path) -> Session:
    """A ``local`` session on the moto server at ``endpoint``, every backend reset first."""
    from tooling.emulator.process import Emulator

    reset_moto(endpoint)
    port = int(endpoint.rsplit(":", 1)[1])
    emulator = Emulator(endpoint=endpoint, port=port, pid=0, state_dir=root)
    return Session(root=root, target="local", emulator=emulator)


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


@pytest.fixture
def bare_account(endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Session:
    """An empty account on the moto server at ``endpoint``, reached as the aws target reaches
    AWS: boto3's default credential chain (nothing of the developer's) and AWS_ENDPOINT_URL."""
    import boto3

    reset_moto(endpoint)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    # moto answers an operation it does not implement (GetAWSDefaultServiceQuota) with HTTP
    # 500, which botocore would retry with back-off before preflight falls back to the default.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setattr("tooling.terraform.terraform_version", lambda: "1.11.4")
    # boto3's default session keeps the credentials it resolved first: each test starts anew.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return Session(root=tmp_path, target="aws")
