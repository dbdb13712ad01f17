"""The key administrator of an environment's KMS keys: which role it is, and creating it.

Every KMS key the network stacks create has a key policy naming the environment's key
administrator (``trading_infra.context.RegionContext.key_admin_arn``: ``key_admin_role``, else
``aws_role_arn``, else the role ``<platform>-deployer`` of the deploying account). KMS refuses a
key policy whose principal does not exist ("The principals in the key policy must exist and be
visible to KMS", MalformedPolicyDocumentException:
https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html), so the role must exist
before the first network apply. The ARN is always taken from ``RegionContext``, the same code
that writes the key policies, never rebuilt here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trading_infra.config import Environment, PlatformSettings

__all__ = [
    "KeyAdminRole",
    "ensure_key_admin_role",
    "key_admin_arn",
    "key_admin_role_name",
    "role_name_of",
    "trust_policy",
]


@dataclass(frozen=True)
class KeyAdminRole:
    """A key-administrator role the platform creates when it is missing: the role named (or
    defaulted) by ``environment``'s configuration, in the deploying account."""

    environment: str
    name: str


def key_admin_arn(
    platform: PlatformSettings, environment: Environment, account_id: str, partition: str
) -> str:
    """The key administrator that ``environment``'s key policies name, in ``account_id``."""
    from trading_infra.context import RegionContext

    context = RegionContext(
        platform=platform,
        environment=environment,
        region=environment.primary_region,
        account_id=account_id,
        partition=partition,
    )
    return context.key_admin_arn


def key_admin_role_name(platform: PlatformSettings, environment: Environment) -> str | None:
    """The name of the key-administrator role the platform may create for ``environment``, or
    None when it names none or must not create it.

    None when every region uses an existing key (``kms_key_arn``: no key policy is written) or
    when the configuration gives the administrator as an ARN (``key_admin_role`` or
    ``aws_role_arn``): that role belongs to whoever wrote the ARN. Otherwise the role is in the
    deploying account, named without an ARN.
    """
    from trading_infra.context import key_admin_role

    if all(region.kms_key_arn is not None for region in environment.regions):
        return None
    role = key_admin_role(platform, environment)
    return None if role.startswith("arn:") else role


def role_name_of(role_arn: str) -> str:
    """The role name of a role ARN (the last part of ``role/[path/]name``)."""
    return role_arn.rsplit("/", 1)[-1]


def trust_policy(account_root_arn: str) -> str:
    """Who may assume the key-administrator role: principals of this account whose own IAM
    policies allow ``sts:AssumeRole`` on it (the account root as principal delegates the
    decision to the account's administrators: IAM User Guide, "AWS account principals",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": account_root_arn},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        sort_keys=True,
    )


def ensure_key_admin_role(
    iam: Any, name: str, *, account_root_arn: str, platform: str, tags: dict[str, str]
) -> bool:
    """Create the key-administrator role ``name`` unless it exists; True if it was created.

    The role gets no permissions policy: key administration is granted by the key policies
    themselves ("Allows key administrators to administer the KMS key",
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators),
    and when the key and the principal are in the same account the key policy alone controls
    the access, no IAM policy is needed
    (https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html). Whoever
    assumes the role gets only that: administration of the keys, never their use. An
    existing role is left exactly as it is. IAM is eventually consistent: the new role is
    waited for until IAM returns it (KMS may see it a moment later: CreateKey API reference).
    """
    from botocore.exceptions import ClientError

    try:
        iam.get_role(RoleName=name)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=trust_policy(account_root_arn),
        Description=(
            f"Administers the KMS keys of {platform} (named in their key policies; no "
            "encrypt or decrypt). Created by ./tap bootstrap-backend."
        ),
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
    )
    iam.get_waiter("role_exists").wait(RoleName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return True
