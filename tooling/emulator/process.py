"""The local AWS emulator: moto's server, started as :mod:`tooling.emulator.server`.

Its lifecycle is owned by the invoke tasks: :func:`start` (reuses a running emulator),
:func:`status`, :func:`stop`, :func:`reset`. One emulator per repository: its record is
``<repo>/.emulator/emulator.json`` and its log ``<repo>/.emulator/moto.log``. It listens on
127.0.0.1 only. It is stopped by the pid in its record, never by process name, and only after
checking that this pid still runs the launcher.

The rest of the module describes the local target for clients: :data:`FAKE_CREDENTIALS`,
:func:`local_aws_env` (boto3, terraform's S3 backend), :func:`local_process_env` (the whole
environment of a subprocess, without the developer's AWS profile) and
:func:`local_provider_config` (arguments of the Terraform aws provider, with an endpoint for
each of :data:`PROVIDER_ENDPOINT_SERVICES`).
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock
from trading_infra.target import EMULATED_SERVICES, emulator_endpoints

from tooling.emulator import invocations
from tooling.emulator.credentials import FAKE_CREDENTIALS, FakeCredentials
from tooling.emulator.server import STATUS_PATH

__all__ = [
    "DEFAULT_REGION",
    "FAKE_CREDENTIALS",
    "HOST",
    "MOTO_ACCOUNT_ID",
    "PORT_ENV",
    "PROVIDER_ENDPOINT_SERVICES",
    "START_TIMEOUT_ENV",
    "STATE_DIR_ENV",
    "Emulator",
    "EmulatorError",
    "FakeCredentials",
    "local_aws_env",
    "local_process_env",
    "local_provider_config",
    "reset",
    "start",
    "state_dir",
    "status",
    "stop",
]

#: The emulator only ever listens on loopback.
HOST = "127.0.0.1"
#: Port to start the emulator on (default: a free port picked at start).
PORT_ENV = "TAP_EMULATOR_PORT"
#: Directory (relative to the repository) of the emulator's record and log (default .emulator).
STATE_DIR_ENV = "TAP_EMULATOR_DIR"
#: Seconds to wait for a starting emulator to answer (default 60).
START_TIMEOUT_ENV = "TAP_EMULATOR_START_TIMEOUT"
#: Region of the local target unless a caller names another.
DEFAULT_REGION = "us-east-1"
#: The account every moto resource belongs to (moto's default).
MOTO_ACCOUNT_ID = "123456789012"

_STATE_DIR = ".emulator"
_RECORD = "emulator.json"
_LOG = "moto.log"
_LOCK = "lock"
_LAUNCHER_MODULE = "tooling.emulator.server"
_DEFAULT_START_TIMEOUT = 60.0
_LOG_TAIL_LINES = 25


#: Argument names of the aws provider's (5.100.0) ``endpoints`` block that the local target
#: points at the emulator: the one list of :mod:`trading_infra.target`, which the synthesized
#: stacks use too (``logs`` is the canonical name; ``cloudwatchlogs`` is its alias).
PROVIDER_ENDPOINT_SERVICES: tuple[str, ...] = EMULATED_SERVICES


class EmulatorError(RuntimeError):
    """The emulator could not be started, reached or stopped; the message says what to do."""


@dataclass(frozen=True)
class Emulator:
    """A running emulator of a repository, as recorded in ``state_dir/emulator.json``."""

    endpoint: str
    port: int
    pid: int
    state_dir: Path


# --------------------------------------------------------------------------- state on disk


def state_dir(repo_root: Path) -> Path:
    """Where the emulator's record, log and lock live: ``<repo>/.emulator``, or
    ``<repo>/<TAP_EMULATOR_DIR>`` so that separate runs (e.g. e2e modules in parallel, each on
    its own port) each have an emulator of their own."""
    chosen = os.environ.get(STATE_DIR_ENV, "").strip() or _STATE_DIR
    return repo_root.resolve() / chosen


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialize start/stop of one repository's emulator across processes."""
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(directory / _LOCK):
        yield


def _read_record(directory: Path) -> Emulator | None:
    try:
        raw = json.loads((directory / _RECORD).read_text(encoding="utf-8"))
        return Emulator(
            endpoint=str(raw["endpoint"]),
            port=int(raw["port"]),
            pid=int(raw["pid"]),
            state_dir=directory,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_record(emulator: Emulator, command: Sequence[str]) -> None:
    record = {
        "endpoint": emulator.endpoint,
        "port": emulator.port,
        "pid": emulator.pid,
        "command": list(command),
        "log": str(emulator.state_dir / _LOG),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = emulator.state_dir / f".{_RECORD}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, emulator.state_dir / _RECORD)


def _remove_record(directory: Path) -> None:
    (directory / _RECORD).unlink(missing_ok=True)


def _log_tail(directory: Path) -> str:
    try:
        lines = (directory / _LOG).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(the log is empty)"


# --------------------------------------------------------------------------- processes

#: Emulators started by this process, kept so they can be reaped (no zombies, no warnings).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _pid_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def _command_line(pid: int) -> list[str]:
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.exists():
        with contextlib.suppress(OSError):
            return proc.read_bytes().decode(errors="replace").split("\0")
        return []
    result = subprocess.run(
        ["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return result.stdout.split()


def _is_launcher(pid: int) -> bool:
    """Whether ``pid`` runs ``python -m tooling.emulator.server`` (not a reused pid)."""
    args = _command_line(pid)
    return any(
        arg == "-m" and following == _LAUNCHER_MODULE for arg, following in itertools.pairwise(args)
    )


def _wait_gone(pid: int, timeout: float) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        _CHILDREN.pop(pid, None)
        return True
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _terminate(pid: int, timeout: float) -> bool:
    """SIGTERM ``pid`` (only if it is a live launcher), SIGKILL after ``timeout``; True if done."""
    if not _pid_alive(pid) or not _is_launcher(pid):
        _CHILDREN.pop(pid, None)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, 5.0):
            raise EmulatorError(f"emulator pid {pid} survived SIGKILL; check it with ps")
    return True


def _stop_child(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this module just started (known to be ours: no identity check)."""
    process.terminate()
    try:
        process.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5.0)


# --------------------------------------------------------------------------- network


def _request(
    port: int, method: str, path: str, *, timeout: float = 2.0
) -> tuple[int, bytes] | None:
    """One HTTP request to the emulator's port; None when nothing answers."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def _answering_pid(port: int) -> int | None:
    """The pid the launcher on ``port`` reports, or None if no launcher answers there."""
    answer = _request(port, "GET", STATUS_PATH, timeout=1.0)
    if answer is None or answer[0] != 200:
        return None
    try:
        pid = json.loads(answer[1])["pid"]
    except (ValueError, KeyError, TypeError):
        return None
    return pid if isinstance(pid, int) else None


def _port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port``. SO_REUSEADDR, as werkzeug sets it too: the
    connections of an emulator just stopped (TIME_WAIT) do not count, a listener does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def _wanted_port(port: int | None) -> int | None:
    if port is not None:
        return port
    value = os.environ.get(PORT_ENV, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise EmulatorError(f"{PORT_ENV}={value!r} is not a port number (1-65535)")
    return int(value)


def _start_timeout(timeout: float | None) -> float:
    if timeout is not None:
        return timeout
    value = os.environ.get(START_TIMEOUT_ENV, "").strip()
    try:
        return float(value) if value else _DEFAULT_START_TIMEOUT
    except ValueError as exc:
        raise EmulatorError(f"{START_TIMEOUT_ENV}={value!r} is not a number of seconds") from exc


# --------------------------------------------------------------------------- lifecycle


def status(repo_root: Path) -> Emulator | None:
    """The repository's running emulator: recorded, its pid alive, and answering as that pid."""
    emulator = _read_record(state_dir(repo_root))
    if emulator is None or not _pid_alive(emulator.pid):
        return None
    if _answering_pid(emulator.port) != emulator.pid:
        return None
    return emulator


def _launcher_command(port: int) -> list[str]:
    return [sys.executable, "-m", _LAUNCHER_MODULE, "--host", HOST, "--port", str(port)]


def _launcher_env() -> dict[str, str]:
    """The launcher's environment: ours without the developer's AWS setup (moto reads a named
    profile at import and fails if it does not exist), fake credentials, and this checkout's
    ``tooling`` importable."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=FAKE_CREDENTIALS.access_key_id,
        AWS_SECRET_ACCESS_KEY=FAKE_CREDENTIALS.secret_access_key,
        AWS_DEFAULT_REGION=DEFAULT_REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    source_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait_ready(
    process: subprocess.Popen[bytes], emulator: Emulator, timeout: float, command: Sequence[str]
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        returncode = process.poll()
        if returncode is not None:
            problem = f"exited with code {returncode} before it was ready"
            break
        if _answering_pid(emulator.port) == emulator.pid:
            return
        if time.monotonic() > deadline:
            _stop_child(process)
            problem = f"did not answer on {emulator.endpoint}{STATUS_PATH} within {timeout:g}s"
            break
        time.sleep(0.1)
    _CHILDREN.pop(emulator.pid, None)
    _remove_record(emulator.state_dir)
    raise EmulatorError(
        f"The local AWS emulator (pid {emulator.pid}, `{' '.join(command)}`) {problem}.\n"
        f"Last lines of {emulator.state_dir / _LOG}:\n{_log_tail(emulator.state_dir)}\n"
        f"Check that moto[server] is installed in {sys.executable}'s environment; if it is only "
        f"slow to start here, raise {START_TIMEOUT_ENV}; if the port is taken, set {PORT_ENV}."
    )


def start(repo_root: Path, *, port: int | None = None, timeout: float | None = None) -> Emulator:
    """Start the repository's emulator, or return the one already running.

    The port is ``port``, else ``TAP_EMULATOR_PORT``, else a free one. A running emulator is
    reused unless it listens on another port than the one asked for (then this raises). A stale
    record is cleaned up (a hung launcher it names is stopped). The new emulator is a detached
    process (its own session) logging to ``.emulator/moto.log``; this waits up to ``timeout``
    seconds (default ``TAP_EMULATOR_START_TIMEOUT`` or 60) for it to answer, else stops it and
    raises :class:`EmulatorError` with the log's last lines.
    """
    directory = state_dir(repo_root)
    wanted = _wanted_port(port)
    with _locked(directory):
        running = status(repo_root)
        if running is not None:
            if wanted is None or wanted == running.port:
                return running
            raise EmulatorError(
                f"The emulator is already running on port {running.port} (pid {running.pid}), "
                f"not on {wanted}: stop it first (`./tap emulator --stop`)."
            )
        stale = _read_record(directory)
        if stale is not None:
            _terminate(stale.pid, timeout=5.0)
            _remove_record(directory)
        chosen = wanted if wanted is not None else _free_port()
        if not _port_is_free(chosen):
            raise EmulatorError(
                f"Port {chosen} on {HOST} is in use by another process: choose another one "
                f"with {PORT_ENV} (or leave it unset to pick a free port)."
            )
        command = _launcher_command(chosen)
        with (directory / _LOG).open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=repo_root,
                env={
                    **_launcher_env(),
                    # where the server unpacks function code, and the runtimes ./tap installed
                    invocations.WORK_DIR_ENV: str(directory / "lambda"),
                    invocations.RUNTIMES_DIR_ENV: str(repo_root / invocations.RUNTIMES_DIR),
                },
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _CHILDREN[process.pid] = process
        emulator = Emulator(
            endpoint=f"http://{HOST}:{chosen}", port=chosen, pid=process.pid, state_dir=directory
        )
        _write_record(emulator, command)
        _wait_ready(process, emulator, _start_timeout(timeout), command)
        return emulator


def stop(repo_root: Path, *, timeout: float = 10.0) -> bool:
    """Stop the repository's emulator by its recorded pid; True if a process was stopped.

    The pid is signalled only if it still runs ``tooling.emulator.server`` (a pid reused by
    another program is left alone): SIGTERM, then SIGKILL after ``timeout`` seconds. The record
    is removed in every case.
    """
    directory = state_dir(repo_root)
    with _locked(directory):
        emulator = _read_record(directory)
        if emulator is None:
            _remove_record(directory)
            return False
        stopped = _terminate(emulator.pid, timeout)
        _remove_record(directory)
        return stopped


def reset(emulator: Emulator) -> None:
    """Forget every resource in the emulator (``POST /moto-api/reset``)."""
    answer = _request(emulator.port, "POST", "/moto-api/reset", timeout=30.0)
    if answer is None or answer[0] != 200:
        raise EmulatorError(
            f"Resetting the emulator at {emulator.endpoint} failed "
            f"({'no answer' if answer is None else f'HTTP {answer[0]}'}); is it running? "
            "Start it again with tooling.emulator.start."
        )


# --------------------------------------------------------------------------- clients

#: Variables that would make a client use something other than the emulator and the fake
#: credentials (a profile, a role, an SSO session, service-specific endpoints).
_FOREIGN_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def local_aws_env(emulator: Emulator, *, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Variables that point AWS SDKs, the aws CLI and terraform's S3 backend at the emulator.

    Sets the endpoint (``AWS_ENDPOINT_URL``), the fake credentials (including a session token,
    so an inherited real one is never sent along), both region variables (so nothing depends on
    whether the caller had a region set) and disables the EC2 instance metadata lookup.
    """
    return {
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS.access_key_id,
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS.secret_access_key,
        "AWS_SESSION_TOKEN": FAKE_CREDENTIALS.session_token,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def local_process_env(
    emulator: Emulator,
    base: Mapping[str, str] | None = None,
    *,
    region: str = DEFAULT_REGION,
) -> dict[str, str]:
    """A subprocess environment for the local target: ``base`` (default ``os.environ``) without
    the developer's AWS profile, role or per-service endpoints, the shared AWS config and
    credentials files replaced by empty ones, plus :func:`local_aws_env`."""
    source = os.environ if base is None else base
    env = {
        name: value
        for name, value in source.items()
        if name not in _FOREIGN_AWS_VARIABLES and not name.startswith("AWS_ENDPOINT_URL_")
    }
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    env.update(local_aws_env(emulator, region=region))
    return env


def local_provider_config(emulator: Emulator, *, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """Arguments of the aws provider for the local target (Terraform JSON names).

    Credentials come from the environment (:func:`local_aws_env`), not from the configuration.
    ``skip_requesting_account_id`` is deliberately left false: the provider then learns the
    account from the emulator's STS, which it needs to read same-account security group
    references as plain ids (docs/emulator.md, gap 4; see :mod:`tooling.emulator.patches.ec2`).
    """
    return {
        "region": region,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        "s3_use_path_style": True,
        "endpoints": [emulator_endpoints(emulator.endpoint)],
    }
