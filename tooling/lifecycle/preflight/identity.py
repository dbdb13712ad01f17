"""Preflight: whose credentials these are, whether they reach the environment's account, and
whether the key administrator its key policies name exists there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tooling.lifecycle.account_clients import access_of, assumed_clients, base_clients
from tooling.lifecycle.key_admin import key_admin_arn, key_admin_role_name, role_name_of
from tooling.lifecycle.preflight.base import Account, Check, error_code

if TYPE_CHECKING:
    from trading_infra.config import Environment, PlatformConfig

    from tooling.lifecycle.session import Session

__all__ = ["connect", "key_admin_check"]

GLOBAL = "global"


def _configured_account(environment: Environment) -> tuple[str | None, str]:
    """The account ``environment`` deploys into by its configuration, and which setting says it."""
    if environment.account_id is not None:
        return environment.account_id, "account_id"
    if environment.aws_role_arn is not None:
        return environment.aws_role_arn.split(":")[4], "aws_role_arn"
    return None, ""


def connect(
    session: Session, config: PlatformConfig, environment: Environment
) -> tuple[list[Check], Account | None]:
    """The credentials, the deployment role and account checks of ``environment``, and the
    account to run the other checks against (None: they cannot run, the checks say why)."""
    from botocore.exceptions import BotoCoreError, ClientError

    name, region = environment.name, environment.primary_region.name
    checks: list[Check] = []
    try:
        clients = base_clients(session, access_of(environment))
        identity = clients("sts", region).get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        fix = (
            f"give this shell the credentials of the account {name} deploys into (aws sso "
            "login / AWS_PROFILE, or aws_profile in "
            f"[environments.{name}]); `aws sts get-caller-identity` must answer"
        )
        checks.append(
            Check(name, GLOBAL, "credentials", False, f"no working credentials: {error}", fix)
        )
        return checks, None
    checks.append(Check(name, GLOBAL, "credentials", True, str(identity["Arn"])))
    if environment.aws_role_arn is not None:
        role = environment.aws_role_arn
        try:
            clients = assumed_clients(clients, role, region, session_name="tap-preflight")
            identity = clients("sts", region).get_caller_identity()
        except (BotoCoreError, ClientError) as error:
            fix = (
                f"allow {identity['Arn']} to assume {role} (the role's trust policy and the "
                "caller's sts:AssumeRole permission), or correct aws_role_arn in "
                f"[environments.{name}]"
            )
            checks.append(
                Check(name, GLOBAL, "deployment role", False, f"cannot assume {role}: {error}", fix)
            )
            return checks, None
        checks.append(Check(name, GLOBAL, "deployment role", True, f"assumed {role}"))
    account = str(identity["Account"])
    partition = str(identity["Arn"]).split(":")[1]
    expected, setting = _configured_account(environment)
    if expected is None:
        checks.append(
            Check(
                name,
                GLOBAL,
                "account",
                False,
                f"the credentials are for account {account}; [environments.{name}] names no "
                "account",
                f'set account_id = "{account}" in [environments.{name}] of platform.toml, if '
                f"{account} is the account {name} deploys into",
            )
        )
    elif expected != account:
        checks.append(
            Check(
                name,
                GLOBAL,
                "account",
                False,
                f"the credentials are for account {account}, but {setting} of {name} says "
                f"{expected}",
                f"use credentials of account {expected} (AWS_PROFILE, or aws_profile in "
                f"[environments.{name}]), or correct {setting} there",
            )
        )
        return checks, None
    else:
        checks.append(Check(name, GLOBAL, "account", True, f"{account} ({setting})"))
    return checks, Account(config, environment, account, partition, clients)


def key_admin_check(account: Account) -> list[Check]:
    """The key-administrator check (:func:`_key_admin`), as a list like the other checks."""
    return [_key_admin(account)]


def _key_admin(account: Account) -> Check:
    """The key administrator named by the environment's key policies exists (IAM GetRole):
    KMS refuses a key policy whose principal does not exist
    (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html,
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators)."""
    from botocore.exceptions import ClientError

    environment, platform = account.environment, account.config.platform
    name = environment.name
    if all(region.kms_key_arn is not None for region in environment.regions):
        return account.check(
            GLOBAL, "key administrator", True, "none named: every region uses its kms_key_arn"
        )
    arn = key_admin_arn(platform, environment, account.account_id, account.partition)
    owner = arn.split(":")[4]
    if owner != account.account_id:
        return account.check(
            GLOBAL,
            "key administrator",
            False,
            f"{arn} is a role of account {owner}, not of {account.account_id} where {name} deploys",
            f"name a role of account {account.account_id} in key_admin_role of "
            f"[environments.{name}] (its name or its ARN)",
        )
    role_name = role_name_of(arn)
    try:
        found = str(
            account.clients("iam", environment.primary_region.name).get_role(RoleName=role_name)[
                "Role"
            ]["Arn"]
        )
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            raise
        creatable = key_admin_role_name(platform, environment) is not None
        fix = (
            f"./tap bootstrap-backend --target aws (creates the role {role_name}, trusted by "
            "this account's root; the key policies grant it key administration)"
            if creatable
            else f"create the role {arn}, or name an existing role in key_admin_role of "
            f"[environments.{name}]"
        )
        return account.check(
            GLOBAL,
            "key administrator",
            False,
            f"{arn} does not exist: KMS refuses a key policy naming it",
            fix,
        )
    if found != arn:
        return account.check(
            GLOBAL,
            "key administrator",
            False,
            f"the key policies name {arn}, but the role {role_name} is {found}",
            f'set key_admin_role = "{found}" in [environments.{name}]',
        )
    return account.check(GLOBAL, "key administrator", True, f"{arn} exists")
