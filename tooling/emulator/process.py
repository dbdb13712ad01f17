"""The local AWS emulator: moto's server, started as :mod:`tooling.emulator.server`.

Its lifecycle is owned by the invoke tasks: :func:`start` (reuses a running emulator),
:func:`status`, :func:`stop`, :func:`reset`. One emulator per repository, recorded in
``<repo>/.emulator`` (:mod:`tooling.emulator.record`). It listens on 127.0.0.1 only. It is
stopped by the pid in its record, never by process name, and only after checking that this pid
still runs the launcher.

What the local target looks like to clients (:func:`local_aws_env`, :func:`local_process_env`,
:func:`local_provider_config`, :data:`DEFAULT_REGION`...) lives in
:mod:`tooling.emulator.local_target`, and the record in :mod:`tooling.emulator.record`; both
are importable from here too.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from tooling.emulator import invocations
from tooling.emulator.credentials import FAKE_CREDENTIALS, FakeCredentials
from tooling.emulator.local_target import (
    DEFAULT_REGION,
    MOTO_ACCOUNT_ID,
    PROVIDER_ENDPOINT_SERVICES,
    local_aws_env,
    local_process_env,
    local_provider_config,
)
from tooling.emulator.record import (
    STATE_DIR_ENV,
    Emulator,
    locked,
    log_path,
    log_tail,
    read_record,
    remove_record,
    state_dir,
    write_record,
)
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
#: Seconds to wait for a starting emulator to answer (default 60).
START_TIMEOUT_ENV = "TAP_EMULATOR_START_TIMEOUT"

_LAUNCHER_MODULE = "tooling.emulator.server"
_DEFAULT_START_TIMEOUT = 60.0


class EmulatorError(RuntimeError):
    """The emulator could not be started, reached or stopped; the message says what to do."""


# --------------------------------------------------------------------------- processes

#: Emulators started by this process, kept so they can be reaped (no zombies, no warnings).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs: a zombie (exited, not reaped yet) does not."""
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # someone else's process: alive
        return True


def _launcher(pid: int) -> psutil.Process | None:
    """The process ``pid`` if it runs ``python -m tooling.emulator.server`` (not a reused pid,
    not a process merely named so); psutil refuses to signal it once its pid is reused."""
    try:
        process = psutil.Process(pid)
        args = process.cmdline()
    except psutil.Error:
        return None
    launches = any(
        arg == "-m" and following == _LAUNCHER_MODULE for arg, following in itertools.pairwise(args)
    )
    return process if launches else None


def _wait_gone(pid: int, timeout: float) -> bool:
    # Polls _pid_alive rather than psutil's wait(): that waits for a zombie of another parent
    # to be reaped, while an exited launcher is gone for us.
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
    launcher = _launcher(pid) if _pid_alive(pid) else None
    if launcher is None:
        _CHILDREN.pop(pid, None)
        return False
    with contextlib.suppress(psutil.NoSuchProcess):
        launcher.terminate()
    if not _wait_gone(pid, timeout):
        with contextlib.suppress(psutil.NoSuchProcess):
            launcher.kill()
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
    emulator = read_record(state_dir(repo_root))
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
    remove_record(emulator.state_dir)
    raise EmulatorError(
        f"The local AWS emulator (pid {emulator.pid}, `{' '.join(command)}`) {problem}.\n"
        f"Last lines of {log_path(emulator.state_dir)}:\n{log_tail(emulator.state_dir)}\n"
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
    with locked(directory):
        running = status(repo_root)
        if running is not None:
            if wanted is None or wanted == running.port:
                return running
            raise EmulatorError(
                f"The emulator is already running on port {running.port} (pid {running.pid}), "
                f"not on {wanted}: stop it first (`./tap emulator --stop`)."
            )
        stale = read_record(directory)
        if stale is not None:
            _terminate(stale.pid, timeout=5.0)
            remove_record(directory)
        chosen = wanted if wanted is not None else _free_port()
        if not _port_is_free(chosen):
            raise EmulatorError(
                f"Port {chosen} on {HOST} is in use by another process: choose another one "
                f"with {PORT_ENV} (or leave it unset to pick a free port)."
            )
        command = _launcher_command(chosen)
        with log_path(directory).open("wb") as log:
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
        write_record(emulator, command)
        _wait_ready(process, emulator, _start_timeout(timeout), command)
        return emulator


def stop(repo_root: Path, *, timeout: float = 10.0) -> bool:
    """Stop the repository's emulator by its recorded pid; True if a process was stopped.

    The pid is signalled only if it still runs ``tooling.emulator.server`` (a pid reused by
    another program is left alone): SIGTERM, then SIGKILL after ``timeout`` seconds. The record
    is removed in every case.
    """
    directory = state_dir(repo_root)
    with locked(directory):
        emulator = read_record(directory)
        if emulator is None:
            remove_record(directory)
            return False
        stopped = _terminate(emulator.pid, timeout)
        remove_record(directory)
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
