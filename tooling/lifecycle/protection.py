"""Data protection at destroy time: a protected environment is never destroyed as it stands.

An environment whose profile sets ``protect_data`` (prod, multi-region) has deletion protection
on its database and tables and buckets that refuse to go with their objects: a destroy would
fail half-way, after deleting whatever is unprotected. So ``destroy`` refuses up front, before
any terraform runs, and says how to lift the protection on purpose: the override
``protect_data = false`` in platform.toml, deployed (terraform deletes with what the state
says, so the lifted settings must be applied first), then destroy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tooling.lifecycle.errors import LifecycleError

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

__all__ = ["ProtectedDataError", "refuse_protected_destroy"]


class ProtectedDataError(LifecycleError):
    """A destroy selected an environment whose data is protected (exit code 2: nothing ran)."""

    code = 2


def refuse_protected_destroy(
    config: PlatformConfig,
    selected: Sequence[str],
    *,
    env: str | None = None,
    target: str = "local",
) -> None:
    """Raise :class:`ProtectedDataError` when any of ``selected`` has ``protect_data`` on.

    ``config`` is the configuration as loaded (TAP_UNPROTECTED_ENVIRONMENTS applied), so an
    environment lifted either way passes. The message names the protected environments and the
    exact steps: deploy those, then the destroy asked for (``env`` as given to ``--env``), with
    ``--target`` when it is not the local one.
    """
    protected = [name for name in selected if config.environment(name).profile.protect_data]
    if not protected:
        return
    target_flag = "" if target == "local" else f" --target {target}"
    listed = ",".join(protected)
    again = f" --env {env}" if env else ""
    tables = "\n".join(
        f"       [environments.{name}.overrides]\n       protect_data = false" for name in protected
    )
    raise ProtectedDataError(
        f"destroy refused: data protection is on for {', '.join(protected)} (profile setting "
        "protect_data): deletion protection on the database and tables, buckets that keep "
        "their objects, Object Lock on the access logs. Nothing was destroyed.\n"
        "To destroy, lift the protection first:\n"
        f"  1. in platform.toml, add (or extend) the overrides of each:\n{tables}\n"
        f"  2. ./tap deploy --env {listed}{target_flag}   (applies the lifted protection)\n"
        f"  3. ./tap destroy{again}{target_flag}\n"
        'See docs/configuration.md, "Data protection".'
    )
