"""The Terraform state backend of platform.toml ``[state]``: its description and its bootstrap.

The bucket and the lock table must exist before the first ``terraform init``; they are created
here with boto3 (idempotently), because a stack cannot hold the backend it is stored in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

    from tooling.lifecycle.session import Session

__all__ = ["BackendSpec", "backend_spec", "bootstrap_backend", "load_backend_spec"]


@dataclass(frozen=True)
class BackendSpec:
    """The remote state backend of platform.toml ``[state]``."""

    bucket: str
    lock_table: str
    region: str
    platform: str
    cost_center: str = ""


def backend_spec(config: PlatformConfig) -> BackendSpec:
    """The state backend (and the platform's name and cost center) of a validated config."""
    return BackendSpec(
        bucket=config.state.bucket,
        lock_table=config.state.lock_table,
        region=config.state.region,
        platform=config.platform.name,
        cost_center=config.platform.cost_center,
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
    """Create (idempotently) the state bucket and the lock table; return what was done.

    Bucket: versioning, SSE (aws:kms with the S3 managed key), public access block, TLS-only
    policy. Table: ``LockID`` (S) hash key, on-demand, PITR, SSE. Existing ones are brought to
    these settings (every setting call is idempotent).
    """
    s3 = session.client("s3", spec.region)
    dynamodb = session.client("dynamodb", spec.region)
    done: list[str] = []
    created = _ignore(
        ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"),
        lambda: s3.create_bucket(
            Bucket=spec.bucket,
            CreateBucketConfiguration={"LocationConstraint": spec.region},
        ),
    )
    done.append(f"bucket {spec.bucket}: {'created' if created else 'exists'}")
    s3.put_bucket_versioning(Bucket=spec.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=spec.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=spec.bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    arn = f"arn:aws:s3:::{spec.bucket}"
    s3.put_bucket_policy(
        Bucket=spec.bucket,
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
