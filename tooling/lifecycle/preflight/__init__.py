"""``./tap preflight --target aws --env ENV``: read-only checks of the account before anything
is applied, each failure with its fix.

The checks read the environment's account with the credentials Terraform will use (its
``aws_profile`` and ``aws_role_arn`` as the provider does; ``AWS_ENDPOINT_URL`` is honoured by
boto3, so an emulator or a plain moto server can play the account) and compare it with what the
configuration and the synthesized stacks need:

* credentials work and reach the configured account (``account_id``, or the account of
  ``aws_role_arn``): :mod:`.identity`;
* the key administrator the key policies name exists (bootstrap creates it where it may);
* the hosted zone of ``dns.zone_name`` is public and its name can be delegated, the master
  secret and its rotation function (with Secrets Manager allowed to invoke it) exist, the state
  bucket, lock table and the stacks' bucket names are free or this account's:
  :mod:`.account`, :mod:`.names`;
* the service quotas of each region: :mod:`.quotas`;
* the Terraform on PATH is 1.11 or later.

Nothing here writes to the account. ``./tap deploy --target aws`` runs it first and stops on a
failure (:func:`require_preflight`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from tooling.lifecycle.backend import backend_spec
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.preflight.account import database_checks, dns_checks
from tooling.lifecycle.preflight.base import Account, Check
from tooling.lifecycle.preflight.identity import connect, key_admin_check
from tooling.lifecycle.preflight.names import bucket_checks, state_checks
from tooling.lifecycle.preflight.needs import region_needs
from tooling.lifecycle.preflight.quotas import quota_checks

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = [
    "MINIMUM_TERRAFORM",
    "PreflightError",
    "preflight_checks",
    "report",
    "require_preflight",
    "run_preflight",
    "terraform_check",
]

#: Terraform 1.11: the S3 backend's native lock file (``use_lockfile``) and the write-only
#: arguments the database's master password is passed through (``master_password_wo``)
#: (https://developer.hashicorp.com/terraform/language/resources/ephemeral/write-only).
MINIMUM_TERRAFORM = (1, 11)


class PreflightError(LifecycleError):
    """At least one preflight check failed (exit code 1); the report above says which, and
    ``checks`` holds every check of the run."""

    def __init__(self, message: str, checks: Sequence[Check]) -> None:
        super().__init__(message)
        self.checks = tuple(checks)


def _version(text: str) -> tuple[int, ...]:
    """``1.11.4`` (or ``1.12.0-beta1``) as numbers."""
    return tuple(int(part) for part in text.split("-", 1)[0].split("."))


def terraform_check() -> Check:
    """The terraform the lifecycle runs (``TAP_TERRAFORM`` or PATH) is at least 1.11."""
    from tooling.terraform import TerraformError, TerraformSetupError, terraform_version

    wanted = ".".join(map(str, MINIMUM_TERRAFORM))
    fix = (
        f"install Terraform {wanted} or later (https://developer.hashicorp.com/terraform/install)"
        ", or set TAP_TERRAFORM to one"
    )
    try:
        version = terraform_version()
        ok = _version(version) >= MINIMUM_TERRAFORM
    except (TerraformSetupError, TerraformError, OSError, ValueError) as error:
        return Check("", "this machine", "terraform version", False, str(error), fix)
    return Check(
        "",
        "this machine",
        "terraform version",
        ok,
        f"{version} (needs {wanted}+)",
        "" if ok else fix,
    )


def _guarded(
    account: Account, name: str, run: Callable[..., list[Check]], *args: object
) -> list[Check]:
    """``run(account, *args)``'s checks, or one failed check when the account refused to
    answer (e.g. AccessDenied): the other checks still run."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return run(account, *args)
    except (BotoCoreError, ClientError) as error:
        return [
            account.check(
                "-",
                name,
                False,
                f"could not be checked: {error}",
                "allow these credentials the read call named in the error (preflight only "
                "describes, gets and lists)",
            )
        ]


def preflight_checks(
    session: Session, config: PlatformConfig, stacks: Sequence[StackInfo]
) -> list[Check]:
    """Every check of the environments of ``stacks``, in order: this machine first, then per
    environment its account, prerequisites and names, then each region's buckets and quotas."""
    spec = backend_spec(config)
    needs = region_needs(stacks)
    present = {stack.environment for stack in stacks}
    checks = [terraform_check()]
    for environment in (e for e in config.environments if e.name in present):
        found, account = connect(session, config, environment)
        checks += found
        if account is None:
            continue
        checks += _guarded(account, "key administrator", key_admin_check)
        checks += _guarded(account, "hosted zone", dns_checks)
        checks += _guarded(account, "database prerequisites", database_checks)
        checks += _guarded(account, "state backend", state_checks, spec)
        for region in (n for n in needs if n.environment == environment.name):
            checks += _guarded(account, "buckets", bucket_checks, region)
            checks += _guarded(account, "service quotas", quota_checks, region)
    return checks


def report(checks: Sequence[Check], stream: TextIO) -> None:
    """Every check as a table (pass and fail), then each failure's fix on a line of its own
    (commands stay whole, never wrapped in a cell), then the count."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Every text is a Text: rich would read "[environments.dev]" of a message as markup.
    console = Console(file=stream, width=None if stream.isatty() else 160)
    table = Table(title="preflight", title_justify="left")
    for column in ("result", "environment", "where", "check"):
        table.add_column(column, no_wrap=True)
    table.add_column("found", overflow="fold")
    for check in checks:
        result = Text("pass", style="green") if check.ok else Text("FAIL", style="bold red")
        cells = (check.environment, check.where, check.name, check.detail)
        table.add_row(result, *(Text(cell) for cell in cells))
    console.print(table)
    failed = [check for check in checks if not check.ok]
    for check in failed:
        scope = f"{check.environment} " if check.environment else ""
        line = f"FIX {scope}{check.name} ({check.where}): {check.fix}"
        console.print(Text(line), soft_wrap=True)
    console.print(Text(f"preflight: {len(checks) - len(failed)} passed, {len(failed)} failed"))


def require_preflight(
    ws: Workspace,
    stacks: Sequence[StackInfo],
    *,
    config: PlatformConfig | None = None,
    session: Session | None = None,
) -> list[Check]:
    """Run every check of ``stacks``' environments, print the report; a :class:`PreflightError`
    (exit 1) when one failed, the checks otherwise."""
    from tooling.lifecycle.session import Session

    config = config if config is not None else ws.config()
    session = session if session is not None else Session(root=ws.root, target="aws")
    checks = preflight_checks(session, config, stacks)
    report(checks, ws.stream)
    failed = [check for check in checks if not check.ok]
    if failed:
        selection = ",".join(
            e.name for e in config.environments if e.name in {s.environment for s in stacks}
        )
        raise PreflightError(
            f"preflight failed: {len(failed)} of {len(checks)} checks (listed above, each with "
            "its fix); nothing was created or changed. After fixing them: ./tap preflight "
            f"--target aws --env {selection}",
            checks,
        )
    return checks


def run_preflight(ws: Workspace, env: str | None) -> list[Check]:
    """``./tap preflight``: synthesize ``env``'s stacks for AWS (incremental), check them."""
    from tooling.lifecycle.graph import read_stacks
    from tooling.lifecycle.synth import synth_stacks

    if ws.target != "aws":
        raise LifecycleError(
            "preflight checks an AWS account: run it with --target aws (the local emulator "
            "needs nothing prepared: ./tap deploy creates what the account would have).",
            code=2,
        )
    return require_preflight(ws, read_stacks(ws.outdir, synth_stacks(ws, env)))
