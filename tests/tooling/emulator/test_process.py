"""tooling.emulator.process: a real emulator server process on loopback, and the local target."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from tooling.emulator import process as emulator
from tooling.emulator.patches import PATCHES
from tooling.emulator.process import (
    FAKE_CREDENTIALS,
    MOTO_ACCOUNT_ID,
    PROVIDER_ENDPOINT_SERVICES,
    Emulator,
    EmulatorError,
    local_aws_env,
    local_process_env,
    local_provider_config,
)
from tooling.emulator.record import write_record
from tooling.emulator.server import STATUS_PATH
from tooling.terraform import validate_stack


def _alive(pid: int) -> bool:
    return emulator._pid_alive(pid)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A repository root whose emulator is stopped when the module is done."""
    root = tmp_path_factory.mktemp("emulator-repo")
    yield root
    emulator.stop(root)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process that even claims to be the emulator server on its command line."""
    code = "import time; time.sleep(120)"
    process = subprocess.Popen([sys.executable, "-c", code, "-m", "tooling.emulator.server"])
    yield process
    process.kill()
    process.wait()


def test_start_reuse_reset_stop_cycle(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(emulator.PORT_ENV, raising=False)
    first = emulator.start(repo)
    assert first.endpoint == f"http://127.0.0.1:{first.port}"
    assert first.state_dir == repo / ".emulator"
    record = json.loads((first.state_dir / "emulator.json").read_text(encoding="utf-8"))
    assert (record["pid"], record["port"]) == (first.pid, first.port)
    assert "serving on" in (first.state_dir / "moto.log").read_text(encoding="utf-8")

    # Reused, not restarted; asking for another port is refused.
    assert emulator.status(repo) == first
    assert emulator.start(repo) == first
    with pytest.raises(EmulatorError, match="already running on port"):
        emulator.start(repo, port=first.port + 1)

    # The server serves every service on its port, with the project's patches.
    status = requests.get(f"{first.endpoint}{STATUS_PATH}", timeout=5).json()
    assert status["pid"] == first.pid
    assert [p["name"] for p in status["patches"]] == [p.name for p in PATCHES]
    for name, value in local_process_env(first, {"PATH": os.environ["PATH"]}).items():
        monkeypatch.setenv(name, value)
    assert boto3.client("sts").get_caller_identity()["Account"] == MOTO_ACCOUNT_ID
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="state")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["state"]
    rds = boto3.client("rds")  # gap 2 is patched in the served process
    for name in ("pg-a", "pg-b"):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="app",
            MasterUserPassword="password1234",
        )
    instances = rds.describe_db_instances()["DBInstances"]
    assert len({i["DbiResourceId"] for i in instances}) == 2
    emulator.reset(first)
    assert s3.list_buckets()["Buckets"] == []

    assert emulator.stop(repo) is True
    assert not _alive(first.pid)
    assert emulator.status(repo) is None
    assert not (first.state_dir / "emulator.json").exists()
    assert emulator.stop(repo) is False
    with pytest.raises(EmulatorError, match="is it running"):
        emulator.reset(first)


def test_stop_only_kills_the_recorded_launcher(
    repo: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    running = emulator.start(repo)
    assert emulator.stop(repo) is True
    assert not _alive(running.pid)
    assert sleeper.poll() is None  # same name on its command line, not recorded: untouched

    # A record naming a pid that does not run the launcher (say, reused) is dropped, the process
    # left alone.
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        state = emulator.state_dir(repo)
        fake = Emulator("http://127.0.0.1:9", 9, unrelated.pid, state)
        write_record(fake, ["python"])
        assert emulator.status(repo) is None
        assert emulator.stop(repo) is False
        assert unrelated.poll() is None
        assert not (state / "emulator.json").exists()
    finally:
        unrelated.kill()
        unrelated.wait()


def test_an_exited_process_is_not_alive_before_it_is_reaped() -> None:
    """A zombie (exited, its parent has not waited for it yet) counts as gone, like a pid that
    no longer exists: an emulator that crashed must not pass for a running one."""
    process = subprocess.Popen(["true"])
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    try:
        assert not _alive(process.pid)
    finally:
        process.wait()
    assert not _alive(process.pid)
    with subprocess.Popen(["sleep", "30"]) as running:
        assert _alive(running.pid)
        running.kill()


def test_readiness_timeout_shows_the_log_and_stops_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never_ready(port: int) -> list[str]:
        code = "import time; print('moto-is-thinking', flush=True); time.sleep(60)"
        return [sys.executable, "-c", code]

    monkeypatch.setattr(emulator, "_launcher_command", never_ready)
    with pytest.raises(EmulatorError) as caught:
        emulator.start(tmp_path, timeout=1.5)
    message = str(caught.value)
    assert "did not answer on http://127.0.0.1:" in message
    assert "within 1.5s" in message
    assert "moto-is-thinking" in message
    assert emulator.START_TIMEOUT_ENV in message
    pid = int(re.search(r"\(pid (\d+),", message).group(1))  # type: ignore[union-attr]
    assert not _alive(pid)
    assert not (tmp_path / ".emulator/emulator.json").exists()


def test_early_exit_is_reported_with_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(port: int) -> list[str]:
        code = "import sys; sys.exit('ModuleNotFoundError: No module named moto')"
        return [sys.executable, "-c", code]

    monkeypatch.setattr(emulator, "_launcher_command", broken)
    with pytest.raises(EmulatorError, match="exited with code 1 before it was ready") as caught:
        emulator.start(tmp_path)
    assert "No module named moto" in str(caught.value)


def test_port_in_use_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv(emulator.PORT_ENV, str(port))
        with pytest.raises(EmulatorError, match=f"Port {port} on 127.0.0.1 is in use"):
            emulator.start(tmp_path)
    monkeypatch.setenv(emulator.PORT_ENV, "http")
    with pytest.raises(EmulatorError, match="is not a port number"):
        emulator.start(tmp_path)


def test_a_port_just_released_is_free_again() -> None:
    """A stopped emulator leaves its accepted connections in TIME_WAIT: starting the next one on
    the same port (./tap emulator --stop, then ./tap deploy) must not be refused."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server does
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end goes to TIME_WAIT
        client.close()
    assert emulator._port_is_free(port)


# --------------------------------------------------------------------------- local target

LOCAL = Emulator("http://127.0.0.1:4566", 4566, 1, Path("/nonexistent"))


def test_local_aws_env() -> None:
    assert local_aws_env(LOCAL) == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    assert local_aws_env(LOCAL, region="ap-southeast-1")["AWS_DEFAULT_REGION"] == "ap-southeast-1"
    assert FAKE_CREDENTIALS.access_key_id == "testing"


def test_local_process_env_drops_the_developers_aws_setup() -> None:
    env = local_process_env(
        LOCAL,
        {
            "PATH": "/bin",
            "AWS_PROFILE": "prod",
            "AWS_ENDPOINT_URL_S3": "https://s3.example.com",
            "AWS_SESSION_TOKEN": "real-token",
            "AWS_ROLE_ARN": "arn:aws:iam::111111111111:role/x",
        },
    )
    assert env["PATH"] == "/bin"
    assert "AWS_PROFILE" not in env
    assert "AWS_ROLE_ARN" not in env
    assert not any(name.startswith("AWS_ENDPOINT_URL_") for name in env)
    assert env["AWS_SESSION_TOKEN"] == "testing"
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert env["AWS_ENDPOINT_URL"] == LOCAL.endpoint


def test_local_provider_config_is_valid_for_aws_provider_5_100(
    terraform_repo: Path, tmp_path: Path
) -> None:
    provider = local_provider_config(LOCAL, region="ap-southeast-1")
    assert sorted(provider["endpoints"][0]) == sorted(PROVIDER_ENDPOINT_SERVICES)
    assert "skip_requesting_account_id" not in provider  # gap 4: the provider must know it
    config = {
        "terraform": {
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}
        },
        "provider": {"aws": [provider]},
    }
    (tmp_path / "cdk.tf.json").write_text(json.dumps(config), encoding="utf-8")
    result = validate_stack(tmp_path, terraform_repo)
    assert result.ok, result.messages()
    assert result.warnings == (), result.messages()


def test_launcher_does_not_inherit_the_developers_aws_setup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "does-not-exist")  # moto would fail at import
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.com")
    env = emulator._launcher_env()
    assert "AWS_PROFILE" not in env
    assert "AWS_ENDPOINT_URL" not in env
    assert env["AWS_ACCESS_KEY_ID"] == FAKE_CREDENTIALS.access_key_id
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(Path(emulator.__file__).parents[2])


def test_the_state_dir_is_per_repository_unless_a_run_names_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(emulator.STATE_DIR_ENV, raising=False)
    assert emulator.state_dir(tmp_path) == tmp_path.resolve() / ".emulator"
    monkeypatch.setenv(emulator.STATE_DIR_ENV, ".build/e2e/platform/emulator")
    assert emulator.state_dir(tmp_path) == tmp_path.resolve() / ".build/e2e/platform/emulator"
    assert emulator.status(tmp_path) is None  # nothing recorded there: no emulator of that run
