"""What every construct of one regional deployment needs to know, passed explicitly."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trading_infra.config import Environment, PlatformSettings, RegionConfig
from trading_infra.naming import Namer


@dataclass(frozen=True)
class RegionContext:
    """One environment in one region, plus the account/partition tokens of its provider."""

    platform: PlatformSettings
    environment: Environment
    region: RegionConfig
    account_id: str  # a Terraform token (data.aws_caller_identity), never a literal
    partition: str  # a Terraform token (data.aws_partition)

    @property
    def namer(self) -> Namer:
        return Namer(self.platform.name, self.environment.suffix, self.region.name)

    @property
    def account_root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    @property
    def key_admin_arn(self) -> str:
        """The principal administering the environment's KMS keys (:func:`key_admin_role`)."""
        role = key_admin_role(self.platform, self.environment)
        if role.startswith("arn:"):
            return role
        return f"arn:{self.partition}:iam::{self.account_id}:role/{role}"

    def service_trust_policy(self, service_principal: str, *, source_arn: str | None = None) -> str:
        """A role's trust policy: only ``service_principal`` acting for this account assumes it.

        ``aws:SourceAccount`` (and, where the service sets it when assuming the role,
        ``aws:SourceArn``: the resources the role is for) are the confused-deputy guard.
        """
        condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": self.account_id}}
        if source_arn is not None:
            condition["ArnLike"] = {"aws:SourceArn": source_arn}
        return policy_document(
            {
                "Effect": "Allow",
                "Principal": {"Service": service_principal},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        )

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region.name if regional else ""
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"


def policy_document(*statements: dict[str, Any]) -> str:
    """An IAM policy JSON string; Terraform references inside stay as ``${...}`` tokens."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)


def key_admin_role(platform: PlatformSettings, environment: Environment) -> str:
    """Who administers ``environment``'s KMS keys: its ``key_admin_role`` (a role name or ARN),
    else its ``aws_role_arn``, else the role ``<platform>-deployer``. A name (no ``arn:``) is
    a role of the deploying account, which ``./tap bootstrap-backend`` creates when missing."""
    if environment.key_admin_role is not None:
        return environment.key_admin_role
    if environment.aws_role_arn is not None:
        return environment.aws_role_arn
    return f"{platform.name}-deployer"
