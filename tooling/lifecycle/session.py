"""Where the lifecycle runs: the repository, the target and, for local, the running emulator.

For the local target every AWS client (boto3 and terraform alike) is pointed at the emulator
with its fake credentials (:func:`tooling.emulator.process.local_process_env`) and every
endpoint is checked to be loopback, so nothing run through a :class:`Session` can reach real
AWS with the developer's credentials while deploying locally.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.emulator import process as emulator_mod
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.workspace import check_target
from tooling.terraform import (
    StopSignals,
    StreamedRun,
    run_terraform,
    stream_terraform,
    terraform_binary,
    terraform_env,
)
from tooling.terraform.provider_pool import (
    PROVIDER_COMMANDS,
    Lease,
    pool_enabled,
    provider_binary,
    shared_pool,
)

__all__ = ["DeployError", "Session", "assert_loopback", "open_session"]


class DeployError(LifecycleError):
    """A deploy step failed; the message says which and what to do."""


@dataclass(frozen=True)
class Session:
    """Where the lifecycle runs: ``root`` of the repository, the target and (local) emulator.

    ``env`` is the extra environment of every terraform process and boto3 client: for the
    local target the emulator's endpoint and fake credentials, the developer's profile removed.
    """

    root: Path
    target: str
    emulator: emulator_mod.Emulator | None = None

    def __post_init__(self) -> None:
        if self.target == "local" and self.emulator is None:
            raise DeployError(
                "the local target needs a running emulator (tooling.emulator.process)"
            )

    def process_env(self, region: str = emulator_mod.DEFAULT_REGION) -> dict[str, str]:
        """The whole environment of a subprocess of this session (local: no developer AWS)."""
        if self.emulator is None:
            return dict(os.environ)
        return emulator_mod.local_process_env(self.emulator, region=region)

    def client(self, service: str, region: str, *, config: Any = None) -> Any:
        """A boto3 client of ``service`` in ``region`` (local: the emulator, loopback only),
        with botocore's ``config`` (a ``botocore.config.Config``: timeouts, retries) if given."""
        import boto3

        if self.emulator is None:
            return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]
        env = emulator_mod.local_aws_env(self.emulator, region=region)
        endpoint = env["AWS_ENDPOINT_URL"]
        assert_loopback(endpoint)
        credentials = {
            "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": env["AWS_SESSION_TOKEN"],
        }
        # One boto3 session for every local client: a session parses a service's model once,
        # for its first client (0.1-0.2 CPU s); a session per client paid that each time (a
        # leftover check makes ~30 clients). Sessions are not thread-safe, clients are.
        with _LOCAL_SESSION_LOCK:
            shared = _local_session(**credentials)
            return shared.client(
                service, region_name=region, endpoint_url=endpoint, config=config, **credentials
            )

    def terraform(
        self,
        args: Sequence[str],
        stack_dir: Path,
        *,
        capture: bool = True,
        check: bool = True,
        stops: StopSignals | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``terraform *args`` in ``stack_dir`` run to its end
        (:func:`tooling.terraform.run_terraform`).

        Captured by default: the result's ``stdout`` and ``stderr`` are each whole and kept
        apart, so that a ``-json`` stdout parses as it is. ``check`` raises
        :class:`tooling.terraform.TerraformError` on a non-zero exit; ``stops`` forwards an
        interruption as for :meth:`stream`. The environment is :meth:`process_env`'s, as for
        :meth:`stream`: a ``terraform init`` or ``state pull`` of the local target must not see
        the developer's AWS profile or configuration files any more than its apply does.
        """
        with self._provider(args, stack_dir) as lease:
            try:
                return run_terraform(
                    args,
                    cwd=stack_dir,
                    repo_root=self.root,
                    base_env=self.process_env(),
                    env_extra=lease.env if lease is not None else None,
                    capture=capture,
                    check=check,
                    stops=stops,
                )
            finally:
                if lease is not None:
                    lease.reusable = not _stopping(stops)

    def stream(
        self,
        args: Sequence[str],
        stack_dir: Path,
        on_line: Callable[[str], None],
        *,
        stops: StopSignals | None = None,
    ) -> StreamedRun:
        """``terraform *args`` in ``stack_dir``, each output line to ``on_line`` as it comes
        (:func:`tooling.terraform.stream_terraform`).

        stderr is merged into stdout (one pipe): ``on_line`` gets the lines of both, without
        their newline, in the order terraform wrote them, in the calling thread. With ``-json``
        the stdout lines are JSON objects and stderr's (a provider's crash, say) plain text
        among them. The result has ``.returncode`` (not raised on), ``.tail`` (the last lines,
        merged likewise) and ``.interrupted``; ``stops`` forwards an interruption to terraform
        (:class:`tooling.terraform.StopSignals`).
        """
        with self._provider(args, stack_dir) as lease:
            run = stream_terraform(
                args,
                cwd=stack_dir,
                repo_root=self.root,
                base_env=self.process_env(),
                env_extra=lease.env if lease is not None else None,
                on_line=on_line,
                stops=stops,
            )
            if lease is not None:
                lease.reusable = not (run.interrupted or run.killed)
            return run

    @contextlib.contextmanager
    def _provider(self, args: Sequence[str], stack_dir: Path) -> Iterator[Lease | None]:
        """A running provider server for ``terraform *args`` of the local target
        (:mod:`tooling.terraform.provider_pool`), or None: Terraform starts its own."""
        binary = None
        if self.emulator is not None and args and args[0] in PROVIDER_COMMANDS and pool_enabled():
            binary = provider_binary(stack_dir)
        if binary is None:
            yield None
            return
        env = terraform_env(self.root, self.process_env())
        with shared_pool().lease(binary, stack_dir, env) as lease:
            yield lease

    def terraform_command_env(self, args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """The command line and environment of a terraform process, for a caller that runs it
        itself (an interactive ``terraform console``, say): the environment of :meth:`terraform`
        and :meth:`stream`, but none of their process handling."""
        env = terraform_env(self.root, self.process_env())
        return [terraform_binary(env), *args], env


_LOCAL_SESSION_LOCK = threading.Lock()


def _stopping(stops: StopSignals | None) -> bool:
    """Whether the caller asked the run to stop (its provider was then told to stop too)."""
    return stops is not None and any(
        event is not None and event.is_set() for event in (stops.interrupt, stops.kill)
    )


@functools.cache
def _local_session(
    aws_access_key_id: str, aws_secret_access_key: str, aws_session_token: str
) -> Any:
    """The boto3 session of the local clients with these (fake) credentials."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id=aws_access_key_id,
        aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token,
    )


def assert_loopback(endpoint: str) -> None:
    """Refuse an emulator endpoint that is not on loopback (it could be real AWS)."""
    from urllib.parse import urlsplit

    host = urlsplit(endpoint).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise DeployError(f"the local target's endpoint {endpoint} is not on loopback")


def open_session(root: Path, target: str, *, port: int, start: bool = True) -> Session:
    """The session of ``target``: for local, the emulator on ``port`` (started or reused).

    ``start=False`` only finds a running emulator (plan, drift and logs read what a deploy left).
    The emulator must listen on the port the stacks were synthesized for.
    """
    check_target(target)
    if target == "aws":
        return Session(root=root, target="aws")
    try:
        if start:
            running = emulator_mod.start(root, port=port)
        else:
            found = emulator_mod.status(root)
            if found is None:
                raise DeployError(
                    "the local emulator is not running: deploy first (`./tap deploy`) or start "
                    "it with `./tap emulator`."
                )
            running = found
    except emulator_mod.EmulatorError as error:
        raise DeployError(f"emulator: {error}") from None
    if running.port != port:
        raise LifecycleError(
            f"the emulator runs on port {running.port} but the stacks were synthesized for "
            f"{port}: stop it (`./tap emulator --stop`) or set TAP_EMULATOR_PORT.",
            code=2,
        )
    return Session(root=root, target="local", emulator=running)
