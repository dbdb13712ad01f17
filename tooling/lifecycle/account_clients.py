"""The boto3 clients of an environment's account, reached the way its Terraform provider and
state backend reach it: the environment's ``aws_profile``, then its ``aws_role_arn`` assumed.

Preflight reads the account with them and bootstrap creates the state backend with them, so
both act on the account Terraform deploys into, not on whatever account the shell's credentials
belong to (an environment in its own account has its own state bucket and lock table there).
The local target has one account, the emulator's: its session's clients are used as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tooling.lifecycle.session import Session

__all__ = ["AccountAccess", "Clients", "access_of", "account_clients"]

#: ``clients(service, region)``: a boto3 client of one account.
Clients = Callable[[str, str], Any]


@dataclass(frozen=True)
class AccountAccess:
    """How an environment reaches its account: a named profile and a role to assume, each
    optional (neither: the shell's default credentials)."""

    profile: str | None = None
    role_arn: str | None = None


def access_of(environment: Any) -> AccountAccess:
    """The :class:`AccountAccess` of a :class:`trading_infra.config.Environment`."""
    return AccountAccess(profile=environment.aws_profile, role_arn=environment.aws_role_arn)


def base_clients(session: Session, access: AccountAccess) -> Clients:
    """The session's clients, or those of ``access.profile`` (as the provider's ``profile``)."""
    if access.profile is None or session.emulator is not None:
        return session.client
    import boto3

    profile = boto3.session.Session(profile_name=access.profile)

    def client(service: str, region: str) -> Any:
        return profile.client(service, region_name=region)  # type: ignore[call-overload]

    return client


def assumed_clients(base: Clients, role_arn: str, region: str, *, session_name: str) -> Clients:
    """Clients with the credentials of ``role_arn``, assumed as the provider assumes it."""
    import boto3

    credentials = base("sts", region).assume_role(RoleArn=role_arn, RoleSessionName=session_name)[
        "Credentials"
    ]
    assumed = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )

    def client(service: str, region: str) -> Any:
        return assumed.client(service, region_name=region)  # type: ignore[call-overload]

    return client


def account_clients(
    session: Session, access: AccountAccess, *, region: str, session_name: str
) -> Clients:
    """The clients of the account ``access`` reaches (the emulator's on the local target)."""
    if session.emulator is not None:
        return session.client
    base = base_clients(session, access)
    if access.role_arn is None:
        return base
    return assumed_clients(base, access.role_arn, region, session_name=session_name)
