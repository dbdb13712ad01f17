"""Provider plugin servers kept running between terraform commands of the local target.

Why: Terraform starts the AWS provider plugin afresh in every command (a plan starts it three
times, an apply four), and each start costs ~0.5 CPU s before the command asks anything of it
(measured with terraform 1.11 and hashicorp/aws 5.100.0: ``terraform validate`` of an app stack
2.8 CPU s, 1.7 attached to a running provider). A local deploy, drift check and destroy of the
platform start it a few hundred times. Terraform can instead use a provider that is already
running, named in ``TF_REATTACH_PROVIDERS``
(https://developer.hashicorp.com/terraform/plugin/debugging#running-terraform-with-a-provider-in-debug-mode);
with ``"Test": true`` it neither starts nor stops that process. It is the same binary speaking
the same protocol, so a plan or apply is the same; only who starts the process differs.

A :class:`ProviderPool` keeps such servers, each lent to one terraform command at a time
(:meth:`ProviderPool.lease`): every command configures the provider it uses, so two commands on
one server would share one configuration. A server comes back to the pool only after a command
that ended by itself; after an interrupted one (Terraform asks the provider to stop its
operations) it is stopped. Servers are keyed by the provider binary, the stack directory (a
provider reads files relative to its working directory: a function's zip) and the whole
environment they were started with: the local target gives the provider its endpoint and
credentials through the environment, as Terraform would pass them to a provider it starts, but
for ``AWS_CA_BUNDLE``: the provider adds a CA bundle to its HTTP client when it is configured
and refuses to do so a second time ("unable to add custom RootCAs HTTPClient"), and a server
is configured by every command it serves; the emulator is plain HTTP on loopback, where a CA
bundle has no use.

A server is started as Terraform starts a plugin (its magic cookie in the environment) and
announces itself with go-plugin's handshake line on its standard output
(``CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|PROTOCOL``:
https://github.com/hashicorp/go-plugin/blob/main/docs/internals.md#handshake), the machine
interface read here. It runs in a process group of its own (a Ctrl-C in the terminal reaches
the command's terraform through :mod:`.process`, never the server directly) and, on Linux, dies
with our process: it is started from one thread that lives as long as the process, because
``PR_SET_PDEATHSIG`` follows the thread that started a child. Only on Linux, and only for a
stack with one provider configuration (:func:`provider_binary`); ``TAP_PROVIDER_POOL=0`` turns
it off.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tooling.terraform.errors import TerraformSetupError

__all__ = [
    "MAGIC_COOKIE",
    "POOL_ENV",
    "PROVIDER_COMMANDS",
    "Lease",
    "ProviderPool",
    "pool_enabled",
    "provider_binary",
    "shared_pool",
]

#: ``0`` turns the pool off (every command starts its provider, as Terraform does by itself).
POOL_ENV: Final = "TAP_PROVIDER_POOL"
#: The commands that start the provider; ``init``, ``output``, ``state`` and ``version`` do not
#: (an ``init`` with a reattached provider would also skip installing it).
PROVIDER_COMMANDS: Final = frozenset({"plan", "apply", "destroy", "show", "refresh", "console"})
#: The provider a server is started for, as Terraform addresses it.
PROVIDER_SOURCE: Final = "registry.terraform.io/hashicorp/aws"
#: go-plugin's handshake with a Terraform provider (terraform-plugin-go, tf5server): the cookie
#: a plugin requires before it serves, and the protocol version the AWS provider speaks.
MAGIC_COOKIE: Final = {
    "TF_PLUGIN_MAGIC_COOKIE": "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
    "PLUGIN_PROTOCOL_VERSIONS": "5",
}
#: What a server is not started with (module docstring: the provider adds a CA bundle once).
_NOT_PASSED: Final = frozenset({"AWS_CA_BUNDLE"})
#: Idle servers kept, the longest idle stopped first (each holds ~450 MB): a run plans or
#: applies up to four stacks at a time, and a command of a stack reuses that stack's server.
_IDLE_KEPT: Final = 4
#: How long a server may take to print its handshake line.
_HANDSHAKE_SECONDS: Final = 120.0


def pool_enabled() -> bool:
    """Linux (servers must die with our process) and not turned off by :data:`POOL_ENV`."""
    return sys.platform.startswith("linux") and os.environ.get(POOL_ENV, "1").strip() != "0"


def provider_binary(stack_dir: Path) -> Path | None:
    """The AWS provider binary ``terraform init`` installed for the stack in ``stack_dir``, if
    the stack has exactly one provider configuration, of that provider (one server serves one
    configuration); None otherwise (the command then starts its providers itself)."""
    try:
        document = json.loads((stack_dir / "cdk.tf.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    providers = document.get("provider") or {}
    configurations = providers.get("aws")
    if set(providers) != {"aws"} or not isinstance(configurations, list):
        return None
    if len(configurations) != 1:
        return None
    installed = stack_dir / ".terraform" / "providers" / PROVIDER_SOURCE
    found = sorted(installed.glob("*/*/terraform-provider-aws*"))
    return found[0].resolve() if len(found) == 1 else None


@dataclass
class _Server:
    """One running provider server and the ``TF_REATTACH_PROVIDERS`` value that names it."""

    key: str
    process: subprocess.Popen[str]
    reattach: str

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Lease:
    """A server lent to one terraform command: its ``env`` (``TF_REATTACH_PROVIDERS``), and
    whether it may serve another command afterwards (set :attr:`reusable` once the command
    ended by itself)."""

    env: dict[str, str]
    reusable: bool = False


class _Spawner:
    """Starts every server from one daemon thread, which lives as long as the process, so that
    ``PR_SET_PDEATHSIG`` (set by :func:`.process.popen_options`) kills the servers exactly when
    the process dies."""

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[list[str], Path, dict[str, str], Future[Any]]] = (
            queue.Queue()
        )
        threading.Thread(target=self._serve, name="provider-spawner", daemon=True).start()

    def spawn(self, command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
        done: Future[subprocess.Popen[str]] = Future()
        self._requests.put((command, cwd, env, done))
        return done.result()

    def _serve(self) -> None:
        from tooling.terraform.process import popen_options

        while True:
            command, cwd, env, done = self._requests.get()
            try:
                process = subprocess.Popen(
                    command,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    **popen_options(),
                )
            except BaseException as error:  # handed to the thread that waits for it
                done.set_exception(error)
            else:
                done.set_result(process)


def handshake_reattach(line: str, pid: int) -> str:
    """The ``TF_REATTACH_PROVIDERS`` value of the server that printed handshake ``line``."""
    parts = line.strip().split("|")
    if len(parts) < 5 or parts[4] != "grpc":
        raise TerraformSetupError(f"the provider's handshake was not a gRPC one: {line.strip()!r}")
    _core, protocol, network, address = parts[:4]
    return json.dumps(
        {
            PROVIDER_SOURCE: {
                "Protocol": "grpc",
                "ProtocolVersion": int(protocol),
                "Pid": pid,
                "Test": True,  # Terraform neither starts nor stops it
                "Addr": {"Network": network, "String": address},
            }
        },
        separators=(",", ":"),
    )


class ProviderPool:
    """Running provider servers, by binary, stack directory and environment (module
    docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[str, list[_Server]] = {}
        #: The idle servers, the longest idle first.
        self._order: list[_Server] = []
        self._all: list[_Server] = []
        self._spawner: _Spawner | None = None

    @contextlib.contextmanager
    def lease(self, binary: Path, stack_dir: Path, env: Mapping[str, str]) -> Iterator[Lease]:
        """A server of ``binary`` working in ``stack_dir`` with ``env`` (but for the variables
        :data:`_NOT_PASSED`) for one command (module docstring)."""
        served = {name: value for name, value in env.items() if name not in _NOT_PASSED}
        key = _key(binary, stack_dir, served)
        server = self._take(key) or self._start(key, binary, stack_dir, served)
        lease = Lease({"TF_REATTACH_PROVIDERS": server.reattach})
        try:
            yield lease
        finally:
            if lease.reusable and server.alive():
                self._give_back(server)
            else:
                self._retire(server)

    def close(self) -> None:
        """Stop every server (at exit)."""
        with self._lock:
            servers, self._all, self._idle, self._order = list(self._all), [], {}, []
        for server in servers:
            server.stop()

    def _take(self, key: str) -> _Server | None:
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                server = idle.pop()
                self._order.remove(server)
                if server.alive():
                    return server
                self._all.remove(server)
        return None

    def _give_back(self, server: _Server) -> None:
        with self._lock:
            self._idle.setdefault(server.key, []).append(server)
            self._order.append(server)
            evicted = self._order[:-_IDLE_KEPT] if len(self._order) > _IDLE_KEPT else []
            for old in evicted:
                self._order.remove(old)
                self._idle[old.key].remove(old)
        for old in evicted:
            self._retire(old)

    def _retire(self, server: _Server) -> None:
        with self._lock:
            if server in self._all:
                self._all.remove(server)
        server.stop()

    def _start(self, key: str, binary: Path, cwd: Path, env: Mapping[str, str]) -> _Server:
        with self._lock:
            if self._spawner is None:
                self._spawner = _Spawner()
            spawner = self._spawner
        process = spawner.spawn([str(binary)], cwd, {**env, **MAGIC_COOKIE})
        line = _first_line(process)
        try:
            if not line:
                raise TerraformSetupError(f"{binary} printed no plugin handshake")
            reattach = handshake_reattach(line, process.pid)
        except TerraformSetupError:
            process.kill()
            process.wait()
            raise
        # Drain whatever else it writes, so that a full pipe never blocks it.
        assert process.stdout is not None
        threading.Thread(target=process.stdout.read, name="provider-stdout", daemon=True).start()
        server = _Server(key, process, reattach)
        with self._lock:
            self._all.append(server)
        return server


def _first_line(process: subprocess.Popen[str]) -> str:
    """The first line ``process`` writes, or "" when it writes none in time or exits."""
    assert process.stdout is not None
    found: list[str] = []
    reader = threading.Thread(
        target=lambda: found.append(process.stdout.readline() if process.stdout else ""),
        daemon=True,
    )
    reader.start()
    reader.join(_HANDSHAKE_SECONDS)
    return found[0] if found else ""


def _key(binary: Path, cwd: Path, env: Mapping[str, str]) -> str:
    digest = hashlib.sha256(f"{binary}\0{cwd.resolve()}".encode())
    for name in sorted(env):
        digest.update(f"\0{name}={env[name]}".encode())
    return digest.hexdigest()


_SHARED: ProviderPool | None = None
_SHARED_LOCK = threading.Lock()


def shared_pool() -> ProviderPool:
    """The process's pool, stopped at exit."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = ProviderPool()
            atexit.register(_SHARED.close)
        return _SHARED
