"""The region's customer-managed KMS keys, one per kind of data (or an existing key from config).

Three keys, so that a grant, a policy mistake or a compromise of one kind of use never reaches
the others: ``data`` (S3, DynamoDB, the database's storage, Lambda environments, dead-letter
queues, the alarm topic), ``logs`` (CloudWatch log groups) and ``secrets`` (Secrets Manager).

Every key policy has the same shape: the key administrator (``key_admin_role``) and the account
root (break-glass) may administer the key but never use it; use is granted only to the AWS
services that encrypt with it, for principals of this account (``kms:ViaService`` +
``kms:CallerAccount``; the identity policies of those principals must grant it too), or to the
service principal itself where the service encrypts as itself (CloudWatch Logs, CloudWatch
alarms publishing to the encrypted topic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from trading_infra.components.grants import Grantee
from trading_infra.context import RegionContext, policy_document

KeyPurpose = Literal["data", "logs", "secrets"]

#: Key administration (AWS's "key administrators" set): manage the key and its policy, never
#: encrypt or decrypt with it.
ADMIN_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*",
    "kms:Enable*", "kms:Get*", "kms:List*", "kms:Put*", "kms:Revoke*",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:Update*",
)  # fmt: skip
#: Cryptographic use, granted per service.
USAGE_ACTIONS: tuple[str, ...] = (
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*",
)  # fmt: skip
#: Publishing to an SSE-KMS topic: what CloudWatch alarms need (SNS developer guide).
ALARM_PUBLISH_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey*")

#: Services that encrypt with each key on behalf of this account's principals (kms:ViaService).
#: data: S3 objects, DynamoDB tables, the database's storage and Performance Insights (rds),
#: Lambda environment variables (lambda) and the dead-letter queues (sqs). secrets: the
#: database's master secret, which RDS keeps in Secrets Manager.
VIA_SERVICES: dict[KeyPurpose, tuple[str, ...]] = {
    "data": ("dynamodb", "lambda", "rds", "s3", "sqs"),
    "logs": (),
    "secrets": ("secretsmanager",),
}
#: Services that hold a key through a KMS grant for the resource they encrypt (they create it
#: with the caller's permission when the table, database or function is created).
GRANT_SERVICES: dict[KeyPurpose, tuple[str, ...]] = {
    "data": ("dynamodb", "lambda", "rds"),
    "logs": (),
    "secrets": (),
}


@dataclass(frozen=True)
class RegionKey:
    """A key of the region as the application stack knows it: its ARN, read from the network
    stack's state, and the grants on it.

    The key policy (:func:`key_policy`) lets this account's principals use the key through
    :data:`VIA_SERVICES` only; a grant adds the identity side for one function.
    """

    arn: str

    def grant_encrypt_decrypt(self, grantee: Grantee, *, via: str) -> None:
        """Let the AWS service ``via`` (``s3``, ``dynamodb``, ``lambda``, ``sqs``) encrypt and
        decrypt with the key on ``grantee``'s behalf, never the grantee directly."""
        grantee.add_key_use(self.arn, via)


@dataclass(frozen=True)
class RegionKeys:
    """The region's keys by purpose (see the module docstring)."""

    data: RegionKey
    logs: RegionKey
    secrets: RegionKey


@dataclass(frozen=True)
class PlatformKeysProps:
    """The region whose keys are created (or whose configured existing key is used)."""

    context: RegionContext


class PlatformKeys(Construct):
    """The data, logs and secrets CMKs of a region (yearly rotation, explicit key policies), or
    one existing key's ARN for all three when ``region.kms_key_arn`` names it.

    Attributes:
        key_arn: the data key (the ``kms_key_arn`` output), logs_key_arn, secrets_key_arn.
        keys: the created keys by purpose (empty when the configuration names an existing key).
    """

    def __init__(self, scope: Construct, id_: str, *, props: PlatformKeysProps) -> None:
        super().__init__(scope, id_)
        context = props.context
        self.keys: dict[KeyPurpose, KmsKey] = {}
        existing = context.region.kms_key_arn
        if existing is not None:
            # The owner of an existing key keeps its policy: it must already allow these uses.
            self.key_arn: str = existing
            self.logs_key_arn: str = existing
            self.secrets_key_arn: str = existing
            return
        # The data key keeps the construct IDs of the former single platform key ("Key",
        # "Alias"): they are its Terraform address, and a new address would replace the key.
        self.key_arn = self._key(context, "data", key_id="Key", alias_id="Alias")
        self.logs_key_arn = self._key(context, "logs", key_id="LogsKey", alias_id="LogsAlias")
        self.secrets_key_arn = self._key(
            context, "secrets", key_id="SecretsKey", alias_id="SecretsAlias"
        )

    def _key(
        self, context: RegionContext, purpose: KeyPurpose, *, key_id: str, alias_id: str
    ) -> str:
        region = context.region.name
        key = KmsKey(
            self,
            key_id,
            description=f"{context.platform.name} {purpose} key "
            f"({context.environment.suffix}, {region})",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=context.environment.profile.kms_deletion_window_days,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=key_policy(context, purpose),
        )
        KmsAlias(self, alias_id, name=context.namer.kms_alias(purpose), target_key_id=key.key_id)
        self.keys[purpose] = key
        return key.arn


def key_policy(context: RegionContext, purpose: KeyPurpose) -> str:
    """The key policy of one of the region's keys (see the module docstring)."""
    statements: list[dict[str, Any]] = [
        _administration("KeyAdministration", context.key_admin_arn),
        # Break-glass: if the administrator role is lost, the account (its root user, or an
        # IAM policy an account administrator attaches) can still repair the policy; without an
        # account principal a key can become unmanageable. Administration only, never use.
        _administration("AccountRootBreakGlass", context.account_root_arn),
    ]
    statements += [
        _through_service(context, service, USAGE_ACTIONS) for service in VIA_SERVICES[purpose]
    ]
    if GRANT_SERVICES[purpose]:
        statements.append(_grants_for_aws_resources(context, GRANT_SERVICES[purpose]))
    if purpose == "logs":
        statements.append(
            {
                "Sid": "CloudWatchLogsEncryption",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{context.region.name}.amazonaws.com"},
                "Action": list(USAGE_ACTIONS),
                "Resource": "*",
                # Only for log groups of this account and region (CloudWatch Logs user guide,
                # "Encrypt log data using AWS KMS").
                "Condition": {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": context.arn("logs", "log-group:*")
                    }
                },
            }
        )
    if purpose == "data":
        statements.append(
            {
                "Sid": "AlarmPublishingToEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": list(ALARM_PUBLISH_ACTIONS),
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": context.account_id}},
            }
        )
    return policy_document(*statements)


def _administration(sid: str, principal: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": list(ADMIN_ACTIONS),
        "Resource": "*",
    }


def _through_service(
    context: RegionContext, service: str, actions: Sequence[str]
) -> dict[str, Any]:
    return {
        "Sid": f"UseThrough{_camel(service)}",
        "Effect": "Allow",
        "Principal": {"AWS": context.account_root_arn},
        "Action": list(actions),
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:CallerAccount": context.account_id,
                "kms:ViaService": via_service(context, service),
            }
        },
    }


def _grants_for_aws_resources(context: RegionContext, services: Sequence[str]) -> dict[str, Any]:
    return {
        "Sid": "GrantsForAwsResources",
        "Effect": "Allow",
        "Principal": {"AWS": context.account_root_arn},
        "Action": "kms:CreateGrant",
        "Resource": "*",
        "Condition": {
            "Bool": {"kms:GrantIsForAWSResource": "true"},
            "StringEquals": {
                "kms:CallerAccount": context.account_id,
                "kms:ViaService": [via_service(context, service) for service in services],
            },
        },
    }


def via_service(context: RegionContext, service: str) -> str:
    """The ``kms:ViaService`` value of ``service`` in the context's region."""
    return f"{service}.{context.region.name}.amazonaws.com"


# Service names whose construct-ID spelling is not plain capitalization (IDs are addresses).
_CAMEL_CASE = {name.lower(): name for name in ("DynamoDb", "SecretsManager", "Sqs")}


def _camel(service: str) -> str:
    return _CAMEL_CASE.get(service, service.capitalize())
