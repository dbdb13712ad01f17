"""The terraform commands: a run to completion, a streamed run, the version.

Each builds the project's environment and command line (:mod:`tooling.terraform.cli_config`)
and hands them to the one spawn path, :func:`tooling.terraform.process.run_process`; they only
differ in where the output goes: a captured run keeps stdout and stderr apart (a caller parses
``-json`` stdout and quotes stderr), a streamed run merges them into one ordered sequence of
lines (what a person watching a long apply would see).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tooling.terraform.cli_config import command_env, is_overriding, terraform_binary
from tooling.terraform.errors import ERROR_TAIL_LINES, TerraformError, output_tail
from tooling.terraform.process import INHERIT, MERGE, StopSignals, StreamedRun, run_process

__all__ = ["run_terraform", "stream_terraform", "terraform_version"]


def _captured(
    command: Sequence[str], cwd: Path, env: Mapping[str, str], stops: StopSignals | None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with its stdout and its stderr each collected whole."""
    stdout: list[str] = []
    stderr: list[str] = []
    run = run_process(
        command,
        cwd=cwd,
        env=env,
        stdout=stdout.append,
        stderr=stderr.append,
        tail_lines=ERROR_TAIL_LINES,
        stops=stops,
    )
    return subprocess.CompletedProcess(
        list(command), run.returncode, "".join(stdout), "".join(stderr)
    )


def _to_our_stderr(line: str) -> None:
    # Looked up at each line, not bound once: a caller (or a test) may have replaced sys.stderr.
    sys.stderr.write(line)


def run_terraform(
    args: Sequence[str],
    *,
    cwd: Path,
    repo_root: Path,
    env_extra: Mapping[str, str] | None = None,
    capture: bool = False,
    check: bool = True,
    base_env: Mapping[str, str] | None = None,
    stops: StopSignals | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``terraform *args`` in ``cwd`` with :func:`.cli_config.terraform_env` plus
    ``env_extra``.

    The environment is built from ``base_env`` (default ``os.environ``; e.g.
    :func:`tooling.emulator.process.local_process_env` for the local target). Variables of
    ``env_extra`` that would replace the project's CLI configuration (``TF_CLI_CONFIG_FILE``,
    ``TERRAFORM_CONFIG``, ``TF_PLUGIN_CACHE_DIR``, ``TF_CLI_ARGS*``) are ignored, so passing a
    whole environment there cannot undo it.

    ``capture=True`` returns stdout and stderr in the result, each whole and kept apart (so a
    ``-json`` stdout parses); otherwise stdout goes to ours, stderr is copied to ours as it
    arrives and the result's ``stderr`` holds its last lines (``stdout`` is empty). ``stops``
    stops it from another thread (:class:`.process.StopSignals`). ``check=True`` raises
    :class:`TerraformError` (command, cwd, exit code, last lines of stderr) on a non-zero exit.
    """
    env = command_env(repo_root, base_env, env_extra)
    command = [terraform_binary(env), *args]
    if capture:
        result = _captured(command, cwd, env, stops)
    else:
        run = run_process(
            command,
            cwd=cwd,
            env=env,
            stdout=INHERIT,
            stderr=_to_our_stderr,
            tail_lines=ERROR_TAIL_LINES,
            stops=stops,
        )
        stderr_tail = "".join(f"{line}\n" for line in run.tail)
        result = subprocess.CompletedProcess(command, run.returncode, "", stderr_tail)
    if check and result.returncode != 0:
        tail = output_tail(result.stderr) or output_tail(result.stdout)
        raise TerraformError(command, cwd, result.returncode, tail)
    return result


def stream_terraform(
    args: Sequence[str],
    *,
    cwd: Path,
    repo_root: Path,
    on_line: Callable[[str], None],
    env_extra: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
    tail_lines: int = 60,
    stops: StopSignals | None = None,
) -> StreamedRun:
    """Run ``terraform *args`` like :func:`run_terraform`, handing each line to ``on_line``.

    For long runs (apply, destroy, plan) whose caller shows progress while they happen:
    stderr is merged into stdout (one pipe), so their lines reach ``on_line`` in the order
    terraform wrote them, each (without its newline) as soon as it arrives, in the caller's
    thread. With ``-json``, stdout's lines are JSON objects, while what terraform or a crashing
    provider writes to stderr arrives as plain lines among them. Returns the exit code and the
    last ``tail_lines`` lines; a non-zero exit is not raised, the caller decides what it means
    (``plan -detailed-exitcode`` exits 2 on changes).

    ``stops`` forwards a stop (:class:`.process.StopSignals`: one SIGINT, then maybe SIGTERM and
    SIGKILL); terraform runs in its own process group, so a Ctrl-C in the terminal does not
    reach it directly. On Linux terraform is killed if our process dies.
    """
    env = command_env(repo_root, base_env, env_extra)
    command = [terraform_binary(env), *args]
    return run_process(
        command,
        cwd=cwd,
        env=env,
        stdout=lambda line: on_line(line.rstrip("\n")),
        stderr=MERGE,
        tail_lines=tail_lines,
        stops=stops,
    )


def terraform_version() -> str:
    """The version of the terraform binary, e.g. ``1.11.4`` (no configuration, no network).

    It needs no repository: ``version`` installs no provider, so it runs with no CLI
    configuration at all (``/dev/null``) instead of an inherited one, which may not exist."""
    env = {name: value for name, value in os.environ.items() if not is_overriding(name)}
    env.update(TF_CLI_CONFIG_FILE=os.devnull, CHECKPOINT_DISABLE="1")
    command = [terraform_binary(env), "version", "-json"]
    cwd = Path(tempfile.gettempdir())
    result = _captured(command, cwd, env, None)
    if result.returncode != 0:
        raise TerraformError(command, cwd, result.returncode, output_tail(result.stderr))
    return str(json.loads(result.stdout)["terraform_version"])
