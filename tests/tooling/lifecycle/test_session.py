"""tooling.lifecycle.session: which session a target gets, and the loopback guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.emulator.process import Emulator
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.session import DeployError, Session, assert_loopback, open_session


@pytest.mark.parametrize(
    "endpoint", ["http://127.0.0.1:4566", "http://localhost:1", "http://[::1]:2"]
)
def test_loopback_endpoints_pass(endpoint: str) -> None:
    assert_loopback(endpoint)


def test_a_remote_endpoint_is_refused() -> None:
    with pytest.raises(DeployError, match="not on loopback"):
        assert_loopback("https://s3.amazonaws.com")


def test_the_aws_target_needs_no_emulator(tmp_path: Path) -> None:
    session = open_session(tmp_path, "aws", port=4566, start=False)
    assert (session.target, session.emulator) == ("aws", None)


def test_the_local_target_needs_an_emulator(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="needs a running emulator"):
        Session(root=tmp_path, target="local")
    with pytest.raises(DeployError, match="not running: deploy first"):
        open_session(tmp_path, "local", port=4566, start=False)


def test_an_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(LifecycleError, match="--target must be one of") as error:
        open_session(tmp_path, "gcp", port=4566)
    assert error.value.code == 2


def test_the_local_process_environment_points_at_the_emulator(tmp_path: Path) -> None:
    emulator = Emulator(endpoint="http://127.0.0.1:4999", port=4999, pid=0, state_dir=tmp_path)
    env = Session(root=tmp_path, target="local", emulator=emulator).process_env()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4999"
    assert "AWS_PROFILE" not in env
