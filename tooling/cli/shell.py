"""What every ``./tap`` task shares: the repository, the option help texts, and the few steps
between an option and a library call (the workspace of a target, the one environment ``--env``
selects, a deployment's outputs and session, the ``./tap`` spellings of the hints) with the one
mapping of a :class:`tooling.lifecycle.errors.LifecycleError` to ``invoke.Exit``.

Heavy imports stay inside the functions, so that ``./tap --list`` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.exceptions import Exit

if TYPE_CHECKING:
    from tooling.lifecycle.commands.hints import Hints
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = [
    "ENV_HELP",
    "PARALLEL",
    "PARALLEL_HELP",
    "ROOT",
    "TARGET_HELP",
    "deployed",
    "exits",
    "hints_for",
    "one_environment",
    "workspace",
]

#: The repository (tasks.py's folder).
ROOT = Path(__file__).resolve().parents[2]

ENV_HELP = "environment, list (dev,prod) or 'all' (default: platform.default_environment)"
TARGET_HELP = "local (the emulator on loopback, default) or aws"
#: The default of --parallel (tooling.lifecycle.commands.stack_run.DEFAULT_PARALLEL, without
#: importing it: ./tap --list stays fast; tests/tooling/test_tasks.py checks that the two agree).
PARALLEL = 4
PARALLEL_HELP = f"stacks run at the same time (default {PARALLEL}; 1: one after the other)"


@contextmanager
def exits() -> Iterator[None]:
    """Turn a lifecycle failure into invoke's Exit: its message, its exit code."""
    from tooling.lifecycle.errors import LifecycleError

    try:
        yield
    except LifecycleError as error:
        raise Exit(str(error), code=error.code) from None


def workspace(target: str = "local") -> Workspace:
    from tooling.lifecycle.workspace import Workspace

    with exits():
        return Workspace.from_environ(ROOT, target=target)


def one_environment(env: str | None, task_name: str) -> str:
    from tooling.lifecycle.selection import select_environments

    with exits():
        selected = select_environments(workspace().config(), env)
    if len(selected) != 1:
        raise Exit(f"{task_name} reads one environment; --env {env} selects {selected}.", code=2)
    return selected[0]


def hints_for(task_name: str, env: str | None, target: str, *, sweep: bool = False) -> Hints:
    """The commands a lifecycle message names, as ./tap spells them: this task again on the
    same --env and --target, the destroy that sweeps (``sweep``), the start of ./tap unlock."""
    from tooling.lifecycle.commands.hints import Hints

    flags = (["--env", env] if env else []) + (["--target", target] if target != "local" else [])
    again = " ".join(["./tap", task_name, *flags])
    return Hints(again=again, sweep=f"{again} --sweep" if sweep else None, unlock="./tap unlock ")


def deployed(
    task_name: str, env: str | None, target: str, region: str | None = None
) -> tuple[str, str, dict[str, Any], Session]:
    """The one environment --env selects, the prefix of its (``region``'s) keys in the flat
    outputs, those outputs and the session of ``target`` (whose emulator must run)."""
    from tooling.lifecycle.commands.context import session_for
    from tooling.lifecycle.outputs import read_outputs, region_key

    environment = one_environment(env, task_name)
    prefix = environment if region is None else f"{environment}_{region_key(region)}"
    with exits():
        outputs = read_outputs(ROOT, environment)
        session = session_for(workspace(target), start=False)
    return environment, prefix, outputs, session
