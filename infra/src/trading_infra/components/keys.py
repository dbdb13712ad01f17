"""The region's customer-managed KMS key (or an existing one named in the configuration)."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from trading_infra.context import RegionContext, policy_document

# Service principals that encrypt with the platform key on the platform's behalf.
_LOGS_ENCRYPTION_ACTIONS = ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*",
                            "kms:ReEncrypt*"]  # fmt: skip
_ALARM_PUBLISH_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]


class PlatformKey(Construct):
    """A CMK with yearly rotation and an explicit key policy, or an existing key's ARN.

    Attributes:
        key_arn: ARN every encrypted resource of the region uses.
        key: the created key, or None when ``region.kms_key_arn`` names an existing one.
    """

    def __init__(self, scope: Construct, id_: str, *, context: RegionContext) -> None:
        super().__init__(scope, id_)
        self.key: KmsKey | None = None
        if context.region.kms_key_arn is not None:
            self.key_arn: str = context.region.kms_key_arn
            return
        region = context.region.name
        suffix = context.environment.suffix
        self.key = KmsKey(
            self,
            "Key",
            description=f"{context.platform.name} data key ({suffix}, {region})",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=7,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=policy_document(
                {
                    # The account root keeps administrative control (AWS's default key policy);
                    # without it the key could become unmanageable. IAM policies then grant use.
                    "Sid": "AccountAdministration",
                    "Effect": "Allow",
                    "Principal": {"AWS": context.account_root_arn},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchLogsEncryption",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": _LOGS_ENCRYPTION_ACTIONS,
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": context.arn("logs", "log-group:*")
                        }
                    },
                },
                {
                    "Sid": "AlarmPublishingToEncryptedTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": _ALARM_PUBLISH_ACTIONS,
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": context.account_id}},
                },
            ),
        )
        KmsAlias(self, "Alias", name=context.namer.kms_alias("data"), target_key_id=self.key.key_id)
        self.key_arn = self.key.arn
