"""Which environments a task works on: ``--env`` against platform.toml and ``TF_WORKSPACE``.

``TF_WORKSPACE`` is how CI pins a job to one environment, so a run that names another one is
refused rather than silently deploying somewhere else. The environment names come from the
validated configuration (:func:`trading_infra.config.load_config`), never from raw TOML.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tooling.lifecycle.errors import LifecycleError

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

__all__ = ["WORKSPACE_ENV", "SelectionError", "select_environments"]

#: Pins a run to one environment (or ``all``); terraform itself never sees it (tooling.terraform).
WORKSPACE_ENV = "TF_WORKSPACE"


class SelectionError(LifecycleError):
    """``--env`` names nothing valid or disagrees with ``TF_WORKSPACE`` (exit code 2)."""

    code = 2


def select_environments(
    config: PlatformConfig, env: str | None, *, workspace: str | None = None
) -> list[str]:
    """The environments ``env`` selects, in platform.toml order.

    ``env``: one environment, a comma-separated list (``dev,prod``) or ``all``; None means
    ``TF_WORKSPACE``, else ``platform.default_environment``. ``TF_WORKSPACE`` (``workspace``,
    default: the process environment), when set, pins a run to that one environment: any
    ``--env`` that selects something else (another environment, a list naming other
    environments too, or ``all``) is an error.
    """
    names = [environment.name for environment in config.environments]
    if workspace is None:
        workspace = os.environ.get(WORKSPACE_ENV, "")
    workspace = workspace.strip()
    wanted = (env or "").strip() or workspace or config.platform.default_environment
    parts = [part.strip() for part in wanted.split(",")]
    if "all" in parts and len(parts) > 1:
        raise SelectionError(f"--env {wanted}: 'all' cannot be combined with other environments.")
    if "" in parts:
        raise SelectionError(f"--env {wanted!r} has an empty entry; write e.g. --env dev,prod.")
    unknown = [part for part in parts if part != "all" and part not in names]
    if unknown:
        raise SelectionError(
            f"unknown environment {', '.join(map(repr, unknown))}; choose from {names}, "
            "a comma-separated list of them, or 'all'."
        )
    selected = names if parts == ["all"] else [name for name in names if name in parts]
    pinned = names if workspace == "all" else [workspace]
    if workspace and selected != pinned:
        raise SelectionError(
            f"TF_WORKSPACE={workspace} restricts this run to the {workspace} environment, but "
            f"--env {wanted} selects {', '.join(selected)}; unset TF_WORKSPACE or make them agree."
        )
    return selected
