"""What every stack of the platform has: its AWS provider (region, tags, the deploying
account), its own S3 state, the account and partition lookups, and the check of its tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdktf import Aspects, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.provider import (
    AwsProvider,
    AwsProviderAssumeRole,
    AwsProviderDefaultTags,
)
from constructs import Construct

from trading_infra.components.remote_state_checks import AccountLookups
from trading_infra.config import Environment, PlatformConfig, RegionConfig
from trading_infra.context import RegionContext
from trading_infra.tagging import RequiredTagsAspect
from trading_infra.target import DeployTarget

#: The Terraform versions the synthesized JSON works with.
TERRAFORM_REQUIRED_VERSION = ">= 1.11.0"


def state_key(config: PlatformConfig, environment: Environment, stack: str) -> str:
    """State object key in the environment's own bucket, under its own prefix."""
    return f"{config.state_of(environment).key_prefix}{stack}.tfstate"


@dataclass(frozen=True)
class StackPlacement:
    """Where a stack goes: which platform, environment and region, deployed to which target."""

    config: PlatformConfig
    environment: Environment
    region: RegionConfig
    target: DeployTarget


class RegionalStack(TerraformStack):
    """Provider, state backend, account/partition lookups and the tag check of a stack."""

    def __init__(self, scope: Construct, id_: str, *, placement: StackPlacement) -> None:
        super().__init__(scope, id_)
        config, environment = placement.config, placement.environment
        region, target = placement.region, placement.target
        self.config = config
        self.environment = environment
        self.target = target
        tags = {
            "Environment": environment.name,
            "Region": region.name,
            "CostCenter": config.platform.cost_center,
            "ManagedBy": config.platform.managed_by,
        }
        provider_args: dict[str, Any] = {
            "region": region.name,
            "default_tags": [AwsProviderDefaultTags(tags=tags)],
            **target.provider_settings(),
        }
        if not target.is_local and environment.aws_role_arn:
            provider_args["assume_role"] = [
                AwsProviderAssumeRole(role_arn=environment.aws_role_arn)
            ]
        if not target.is_local and environment.aws_profile:
            provider_args["profile"] = environment.aws_profile
        if not target.is_local and environment.account_id:
            # Credentials of any other account fail the plan instead of deploying there.
            provider_args["allowed_account_ids"] = [environment.account_id]
        AwsProvider(self, "aws", **provider_args)
        S3Backend(self, **self.state_settings(id_))
        # Terraform 1.11's native S3 lock file, beside the DynamoDB lock (the migration path:
        # drop dynamodb_table once every user runs >= 1.11). Not yet a field of cdktf 0.21.
        self.add_override("terraform.backend.s3.use_lockfile", True)
        # The JSON needs Terraform 1.11: ephemeral resources (1.10), write-only arguments (1.11)
        # and the backend's use_lockfile. An older Terraform then refuses the configuration by
        # its version instead of failing on the first construct it does not know.
        self.add_override("terraform.required_version", TERRAFORM_REQUIRED_VERSION)

        identity = DataAwsCallerIdentity(self, "CallerIdentity")
        partition = DataAwsPartition(self, "Partition")
        self.region = region
        # HCL addresses of the lookups, for the conditions on values read from other states.
        self._lookups = AccountLookups(
            account=f"data.aws_caller_identity.{identity.friendly_unique_id}.account_id",
            partition=f"data.aws_partition.{partition.friendly_unique_id}.partition",
        )
        self.context = RegionContext(
            platform=config.platform,
            environment=environment,
            region=region,
            account_id=identity.account_id,
            partition=partition.partition,
        )
        Aspects.of(self).add(RequiredTagsAspect(default_tags=tags))

    def state_settings(self, stack: str, *, writing: bool = True) -> dict[str, Any]:
        """Where ``stack``'s state lives: its backend, or (reading) another stack's state."""
        location = self.config.state_of(self.environment)
        settings: dict[str, Any] = {
            "bucket": location.bucket,
            "key": state_key(self.config, self.environment, stack),
            "region": location.region,
            **self.target.backend_settings(),
        }
        if writing:
            # SSE-KMS with the environment's own key: without kms_key_id, encrypt=true writes
            # with SSE-S3 (AES256), overriding the bucket's default key.
            settings.update(
                encrypt=True, kms_key_id=location.kms_key, dynamodb_table=location.lock_table
            )
        if not self.target.is_local and self.environment.aws_role_arn:
            settings["assume_role"] = {"role_arn": self.environment.aws_role_arn}
        if not self.target.is_local and self.environment.aws_profile:
            settings["profile"] = self.environment.aws_profile
        return settings

    def outputs(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            TerraformOutput(self, name, value=value)
