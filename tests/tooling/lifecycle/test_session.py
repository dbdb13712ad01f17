"""tooling.lifecycle.session: which session a target gets, the loopback guard, and what its
terraform runs hand back (lines as they come, or stdout and stderr apart)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tooling.emulator.process import Emulator
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.session import DeployError, Session, assert_loopback, open_session
from tooling.terraform import TerraformError


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


def _fake_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    fake = tmp_path / "terraform"
    fake.write_text(f"#!/bin/sh\n{script}", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("TAP_TERRAFORM", str(fake))


def test_a_streamed_run_hands_over_stdout_and_stderr_lines_in_the_order_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN terraform writing JSON lines to stdout and a plain line to stderr WHEN the session
    streams it THEN each line of both reaches the callback, without its newline, in order."""
    _fake_terraform(
        tmp_path,
        monkeypatch,
        'echo \'{"type": "version"}\'\n'
        "echo 'provider crashed' >&2\n"
        'echo \'{"type": "change_summary"}\'\n'
        "exit 2\n",
    )
    seen: list[str] = []
    run = Session(root=tmp_path, target="aws").stream(["plan", "-json"], tmp_path, seen.append)
    assert seen == ['{"type": "version"}', "provider crashed", '{"type": "change_summary"}']
    assert (run.returncode, run.tail, run.interrupted) == (2, tuple(seen), False)


def test_a_terraform_run_returns_stdout_and_stderr_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN terraform writing JSON to stdout and a warning to stderr WHEN the session runs it
    THEN the result holds each whole, apart; with ``check`` a non-zero exit raises."""
    _fake_terraform(
        tmp_path, monkeypatch, "echo '{\"a\": {\"value\": 1}}'\necho 'Warning: x' >&2\nexit 1\n"
    )
    session = Session(root=tmp_path, target="aws")
    result = session.terraform(["output", "-json"], tmp_path, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        '{"a": {"value": 1}}\n',
        "Warning: x\n",
    )
    with pytest.raises(TerraformError) as raised:
        session.terraform(["output", "-json"], tmp_path)
    assert raised.value.output_tail == ("Warning: x",)


def test_a_local_terraform_run_never_sees_the_developers_aws_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a developer's AWS profile WHEN the local target runs terraform to completion THEN
    terraform gets the emulator's endpoint and fake credentials and no profile, as a streamed
    run does."""
    _fake_terraform(tmp_path, monkeypatch, "env\n")
    monkeypatch.setenv("AWS_PROFILE", "developer")
    emulator = Emulator(endpoint="http://127.0.0.1:4999", port=4999, pid=0, state_dir=tmp_path)
    session = Session(root=tmp_path, target="local", emulator=emulator)
    result = session.terraform(["init"], tmp_path)
    env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert "AWS_PROFILE" not in env
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4999"
    assert env["AWS_CONFIG_FILE"] == os.devnull
