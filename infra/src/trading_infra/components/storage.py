"""The data bucket (trade files in, quarantine out), its access-log bucket and their grants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_notification import (
    S3BucketNotification,
    S3BucketNotificationLambdaFunction,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import S3BucketOwnershipControls
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import S3BucketVersioningA
from constructs import Construct

from trading_infra.components.grants import Grantee, PolicyStatement
from trading_infra.components.keys import RegionKey
from trading_infra.config.platform import ACCOUNT_ID_BUCKET_SUFFIX
from trading_infra.context import RegionContext, policy_document
from trading_infra.naming import UniqueSuffix

#: Where clients upload trade files; the processor is notified for this prefix only.
INCOMING_PREFIX = "incoming/"
#: Where the processor writes rejected lines; never notified (no processing loop).
QUARANTINE_PREFIX = "quarantine/"
ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 7
_WHOLE_BUCKET = S3BucketLifecycleConfigurationRuleFilter(prefix="")
_ABORT_INCOMPLETE_UPLOADS = S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
    days_after_initiation=ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS
)


def _deny_insecure_transport(bucket: S3Bucket) -> dict[str, Any]:
    bucket_arn = bucket.arn
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@dataclass(frozen=True)
class DataStorageProps:
    """The region's buckets: ``key`` (the data key) encrypts the data bucket."""

    context: RegionContext
    key: RegionKey


class DataStorage(Construct):
    """Encrypted, private, logged buckets; versioning and expiry follow the environment profile.

    Bucket names end with the deploying account's id (or the configured literal,
    ``platform.bucket_name_suffix``): S3 bucket names are global across all accounts.

    With the profile's ``protect_data`` no bucket is ``force_destroy`` (a destroy fails on a
    bucket holding objects instead of deleting them), and the access logs are kept as evidence
    by versioning: the log bucket is versioned (``protect_data`` requires versioning), so a log
    object that is overwritten or deleted stays as a noncurrent version, and the lifecycle keeps
    noncurrent versions for ``access_log_expiration_days`` too, as long as logs are kept at all.
    Only a principal allowed ``s3:DeleteObjectVersion`` (none of the platform's function roles
    is) removes a log early.

    The log bucket has no S3 Object Lock, neither a default retention nor Object Lock enabled
    for legal holds: S3 delivers no server access logs to a bucket with a default retention
    ("The destination bucket must not have a default retention period configuration",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html),
    and the Object Lock pages go further: "S3 buckets with Object Lock can't be used as
    destination buckets for server access logs"
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html). Nothing
    here calls PutObjectLockConfiguration either, which an emulator refuses on a bucket that
    already holds objects (the log bucket receives logs from its first minutes on). The data
    bucket has no Object Lock either.

    Attributes:
        bucket: the data bucket (SSE-KMS with the platform key, bucket key on).
        log_bucket: receives the data bucket's server access logs.
    """

    def __init__(self, scope: Construct, id_: str, *, props: DataStorageProps) -> None:
        super().__init__(scope, id_)
        self._context = props.context
        self._key = props.key
        self._profile = props.context.environment.profile
        unique = _unique_suffix(props.context)
        self.log_bucket = self._declare_log_bucket(unique)
        self.bucket = self._declare_data_bucket(unique)
        self._bucket_arn = self.bucket.arn
        # The kept logs are versions: protect_data requires versioning (config validation).
        versioning = "Enabled" if self._profile.data_versioning_and_lifecycle else "Disabled"
        for bucket_id, bucket in (("DataBucket", self.bucket), ("LogBucket", self.log_bucket)):
            S3BucketVersioningA(
                self,
                f"{bucket_id}Versioning",
                bucket=bucket.id,
                versioning_configuration={"status": versioning},
            )
        self._declare_data_lifecycle()

    # --- grants ----------------------------------------------------------------------------

    def grant_read_incoming(self, grantee: Grantee) -> None:
        """Read uploaded trade files (``incoming/``), each exact version: the processor reads
        the version named in the event, so an overwrite before processing cannot hide the
        first upload."""
        grantee.add_to_role_policy(
            PolicyStatement(
                "ReadIncomingTradeFiles",
                ("s3:GetObject", "s3:GetObjectVersion"),
                (f"{self._bucket_arn}/{INCOMING_PREFIX}*",),
            )
        )
        self._key.grant_encrypt_decrypt(grantee, via="s3")

    def grant_write_quarantine(self, grantee: Grantee) -> None:
        """Write rejected lines under ``quarantine/`` (``QUARANTINE_PREFIX`` tells where)."""
        grantee.add_to_role_policy(
            PolicyStatement(
                "WriteQuarantine", ("s3:PutObject",), (f"{self._bucket_arn}/{QUARANTINE_PREFIX}*",)
            )
        )
        grantee.add_environment("QUARANTINE_PREFIX", QUARANTINE_PREFIX)
        self._key.grant_encrypt_decrypt(grantee, via="s3")

    def notify_uploads(self, function: LambdaFunction) -> None:
        """Invoke ``function`` for every object created under ``incoming/``.

        Both resources are declared at the stack's root: their construct ids are their
        Terraform addresses (``ProcessorInvokeFromBucket``, ``DataBucketNotifications``).
        """
        stack = TerraformStack.of(self)
        invoke_from_bucket = LambdaPermission(
            stack,
            "ProcessorInvokeFromBucket",
            statement_id="AllowDataBucketNotifications",
            action="lambda:InvokeFunction",
            function_name=function.function_name,
            principal="s3.amazonaws.com",
            source_arn=self._bucket_arn,
            source_account=self._context.account_id,
        )
        S3BucketNotification(
            stack,
            "DataBucketNotifications",
            bucket=self.bucket.id,
            lambda_function=[
                S3BucketNotificationLambdaFunction(
                    lambda_function_arn=function.arn,
                    events=["s3:ObjectCreated:*"],
                    filter_prefix=INCOMING_PREFIX,
                )
            ],
            depends_on=[invoke_from_bucket],
        )

    # --- resources -------------------------------------------------------------------------

    def _declare_log_bucket(self, unique: UniqueSuffix) -> S3Bucket:
        """Server access logs can only be delivered to a bucket encrypted with SSE-S3 (AWS
        limitation), so the log bucket uses AES256; it holds no trade data."""
        profile = self._profile
        log_bucket = S3Bucket(
            self,
            "LogBucket",
            bucket=self._context.namer.bucket("access-logs", unique=unique),
            force_destroy=not profile.protect_data,
            object_lock_enabled=False,
            # object_lock_enabled forces a new bucket, and S3 never disables Object Lock on an
            # existing one: a log bucket that was created with Object Lock is kept, not
            # replaced with the logs it holds (docs/configuration.md "Data protection" says
            # how to move off it).
            lifecycle={"ignore_changes": ["object_lock_enabled"]},
        )
        self._harden(log_bucket, "LogBucket", sse_kms_key_arn=None)
        S3BucketLifecycleConfiguration(
            self,
            "LogBucketLifecycle",
            bucket=log_bucket.id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=[_WHOLE_BUCKET],
                    expiration=[
                        S3BucketLifecycleConfigurationRuleExpiration(
                            days=profile.access_log_expiration_days
                        )
                    ],
                    # An overwritten or deleted log stays recoverable as long as logs are kept.
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=profile.access_log_expiration_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[_ABORT_INCOMPLETE_UPLOADS],
                )
            ],
        )
        return log_bucket

    def _declare_data_bucket(self, unique: UniqueSuffix) -> S3Bucket:
        """The data bucket, its policy, and its access logging into the log bucket."""
        # The data bucket's access logging needs this grant first (S3 checks it on
        # PutBucketLogging), so the logging configuration depends on it below.
        log_bucket_policy = S3BucketPolicy(
            self,
            "LogBucketPolicy",
            bucket=self.log_bucket.id,
            policy=policy_document(
                _deny_insecure_transport(self.log_bucket),
                {
                    "Sid": "ServerAccessLogsDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"{self.log_bucket.arn}/data-bucket/*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": self._context.account_id}},
                },
            ),
        )
        bucket = S3Bucket(
            self,
            "DataBucket",
            bucket=self._context.namer.bucket("data", unique=unique),
            force_destroy=not self._profile.protect_data,
        )
        self._harden(bucket, "DataBucket", sse_kms_key_arn=self._key.arn)
        S3BucketPolicy(
            self,
            "DataBucketPolicy",
            bucket=bucket.id,
            policy=policy_document(_deny_insecure_transport(bucket)),
        )
        S3BucketLoggingA(
            self,
            "DataBucketLogging",
            bucket=bucket.id,
            target_bucket=self.log_bucket.id,
            target_prefix="data-bucket/",
            depends_on=[log_bucket_policy],
        )
        return bucket

    def _declare_data_lifecycle(self) -> None:
        """Abandoned multipart uploads are never data: always cleaned up. Expiry of trade files
        and of old versions follows the profile (PCI scope: prod keeps versions, then
        expires)."""
        profile = self._profile
        rules = [
            S3BucketLifecycleConfigurationRule(
                id="abort-incomplete-multipart-uploads",
                status="Enabled",
                filter=[_WHOLE_BUCKET],
                abort_incomplete_multipart_upload=[_ABORT_INCOMPLETE_UPLOADS],
            )
        ]
        if profile.data_versioning_and_lifecycle:
            rules.append(
                S3BucketLifecycleConfigurationRule(
                    id="expire-trade-files",
                    status="Enabled",
                    filter=[_WHOLE_BUCKET],
                    expiration=[
                        S3BucketLifecycleConfigurationRuleExpiration(
                            days=profile.data_expiration_days
                        )
                    ],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=profile.data_expiration_days
                        )
                    ],
                )
            )
        S3BucketLifecycleConfiguration(
            self, "DataBucketLifecycle", bucket=self.bucket.id, rule=rules
        )

    def _harden(self, bucket: S3Bucket, id_: str, *, sse_kms_key_arn: str | None) -> None:
        S3BucketPublicAccessBlock(
            self,
            f"{id_}PublicAccessBlock",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            f"{id_}OwnershipControls",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
        )
        default = (
            S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=sse_kms_key_arn
            )
            if sse_kms_key_arn is not None
            else S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="AES256"
            )
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            f"{id_}Encryption",
            bucket=bucket.id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=default,
                    bucket_key_enabled=sse_kms_key_arn is not None,
                )
            ],
        )


def _unique_suffix(context: RegionContext) -> UniqueSuffix:
    """What ends the bucket names: the account id (a token of ``data.aws_caller_identity``) or
    the literal configured in ``platform.bucket_name_suffix``."""
    configured = context.platform.bucket_name_suffix
    if configured == ACCOUNT_ID_BUCKET_SUFFIX:
        return UniqueSuffix.account_id(context.account_id)
    return UniqueSuffix.literal(configured)
