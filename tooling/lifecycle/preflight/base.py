"""What every preflight check shares: the result row, the account it runs against, error codes.

A check reads, never writes: each one is a describe/get/list call whose answer is compared
with what the synthesized stacks and the configuration need (:mod:`.preflight`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tooling.lifecycle.account_clients import Clients

if TYPE_CHECKING:
    from trading_infra.config import Environment, PlatformConfig

__all__ = ["Account", "Check", "Clients", "error_code"]


@dataclass(frozen=True)
class Check:
    """One check's result: what was checked where, whether it passed, what was found, and (when
    it failed) what to do about it."""

    environment: str
    where: str
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Account:
    """The account an environment deploys into, as the checks reach it."""

    config: PlatformConfig
    environment: Environment
    account_id: str
    partition: str
    clients: Clients

    def check(self, where: str, name: str, ok: bool, detail: str, fix: str = "") -> Check:
        """A :class:`Check` of this environment (``fix`` is kept only when it failed)."""
        return Check(self.environment.name, where, name, ok, detail, "" if ok else fix)


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError ('' for any other error)."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
