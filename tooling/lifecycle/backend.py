"""The Terraform state backends of platform.toml ``[state]``: their description and bootstrap.

Every environment has its own state bucket, encrypted with its own customer-managed KMS key
(``PlatformConfig.state_of``); the lock table is shared. The keys, buckets and the lock table
must exist before the first ``terraform init``; they are created here with boto3
(idempotently), because a stack cannot hold the backend it is stored in.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

    from tooling.lifecycle.session import Session

__all__ = ["BackendSpec", "StateBucket", "backend_spec", "bootstrap_backend", "load_backend_spec"]


@dataclass(frozen=True)
class StateBucket:
    """One environment's state bucket and the KMS key (alias or ARN) that encrypts it."""

    environment: str
    bucket: str
    kms_key: str


@dataclass(frozen=True)
class BackendSpec:
    """The remote state backends of platform.toml ``[state]``: a bucket per environment."""

    lock_table: str
    region: str
    platform: str
    cost_center: str = ""
    state_buckets: tuple[StateBucket, ...] = ()

    @property
    def buckets(self) -> frozenset[str]:
        """Every environment's state bucket (never a leftover of a destroy)."""
        return frozenset(state.bucket for state in self.state_buckets)

    @property
    def kms_aliases(self) -> frozenset[str]:
        """The state keys given by alias name (``alias/...``; never a leftover either)."""
        return frozenset(s.kms_key for s in self.state_buckets if s.kms_key.startswith("alias/"))

    def for_environments(self, environments: Collection[str]) -> BackendSpec:
        """This backend with only ``environments``' state buckets (the lock table is shared):
        deploying one environment creates its own state, never another's (which may belong to
        another account)."""
        return dataclasses.replace(
            self,
            state_buckets=tuple(s for s in self.state_buckets if s.environment in environments),
        )

    def bucket_of(self, environment: str) -> str:
        """The state bucket of ``environment``."""
        for state in self.state_buckets:
            if state.environment == environment:
                return state.bucket
        raise KeyError(f"no state bucket for environment {environment!r}")


def backend_spec(config: PlatformConfig) -> BackendSpec:
    """The state backends (and the platform's name and cost center) of a validated config."""
    locations = [(e.name, config.state_of(e)) for e in config.environments]
    return BackendSpec(
        lock_table=config.state.lock_table,
        region=config.state.region,
        platform=config.platform.name,
        cost_center=config.platform.cost_center,
        state_buckets=tuple(
            StateBucket(environment=name, bucket=location.bucket, kms_key=location.kms_key)
            for name, location in locations
        ),
    )


def load_backend_spec(config_file: Path) -> BackendSpec:
    """The state backend of the platform.toml at ``config_file`` (validated by load_config)."""
    from trading_infra.config import load_config

    return backend_spec(load_config(config_file))


def _ignore(error_codes: Iterable[str], call: Callable[[], Any]) -> bool:
    """Run ``call``; True if it did something, False if it failed with one of the codes."""
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in set(error_codes):
            return False
        raise
    return True


def bootstrap_backend(session: Session, spec: BackendSpec) -> list[str]:
    """Create (idempotently) every environment's state key and bucket, and the lock table;
    return what was done.

    Key (per environment, when named by alias): symmetric, rotation on, the alias pointing at
    it. Bucket: versioning, default SSE-KMS with that key (bucket key on), public access
    block, TLS-only policy. Table: ``LockID`` (S) hash key, on-demand, PITR, SSE. Existing ones
    are brought to these settings (every setting call is idempotent). A key given as an ARN
    must exist already (it belongs to the account's key administrators).
    """
    done: list[str] = []
    for state in spec.state_buckets:
        key_id = _state_key(session, spec, state, done)
        _state_bucket(session, spec.region, state.bucket, key_id, done)
    dynamodb = session.client("dynamodb", spec.region)
    created = _ignore(
        ("ResourceInUseException",),
        lambda: dynamodb.create_table(
            TableName=spec.lock_table,
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
        ),
    )
    done.append(f"table {spec.lock_table}: {'created' if created else 'exists'}")
    dynamodb.get_waiter("table_exists").wait(
        TableName=spec.lock_table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    dynamodb.update_continuous_backups(
        TableName=spec.lock_table,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    return done


def _state_key(session: Session, spec: BackendSpec, state: StateBucket, done: list[str]) -> str:
    """The ARN of ``state``'s KMS key, created (with its alias) when it is missing."""
    from botocore.exceptions import ClientError

    kms = session.client("kms", spec.region)
    try:
        arn = str(kms.describe_key(KeyId=state.kms_key)["KeyMetadata"]["Arn"])
        created = False
    except ClientError as exc:
        missing = exc.response.get("Error", {}).get("Code") == "NotFoundException"
        if not (missing and state.kms_key.startswith("alias/")):
            raise
        arn = str(
            kms.create_key(
                Description=f"Terraform state of {spec.platform} {state.environment}",
                Tags=[
                    {"TagKey": "CostCenter", "TagValue": spec.cost_center},
                    {"TagKey": "Purpose", "TagValue": "terraform-state"},
                ],
            )["KeyMetadata"]["Arn"]
        )
        kms.create_alias(AliasName=state.kms_key, TargetKeyId=arn)
        created = True
    kms.enable_key_rotation(KeyId=arn)
    done.append(f"key {state.kms_key}: {'created' if created else 'exists'}")
    return arn


def _state_bucket(
    session: Session, region: str, bucket: str, key_arn: str, done: list[str]
) -> None:
    s3 = session.client("s3", region)
    created = _ignore(
        ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"),
        lambda: s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
        ),
    )
    done.append(f"bucket {bucket}: {'created' if created else 'exists'}")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    arn = f"arn:aws:s3:::{bucket}"
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )
