"""Helpers of the lifecycle tests that run real terraform against a moto server: the fake
credentials, the aws provider and the S3 backend pointed at it, as the local target does."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

from tooling.emulator.process import FAKE_CREDENTIALS, PROVIDER_ENDPOINT_SERVICES
from tooling.terraform import run_terraform

STATE_BUCKET = "tap-terraform-state-store"
LOCK_TABLE = "tap-terraform-locks"

# A CI log of a deploy to the emulator (the box characters stripped): under load it lost the
# response to the first AuthorizeSecurityGroupEgress, the provider retried and was answered
# Duplicate. The detail comes after the ``with`` line and the source line.
SG_RULE_DUPLICATE = """\
Error: creating VPC Security Group Rule

  with aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE,
  on cdk.tf.json line 696, in resource.aws_vpc_security_group_egress_rule.\
Network_LambdaToS3_136841EE:
 696:       },

operation error EC2: AuthorizeSecurityGroupEgress, https response error
StatusCode: 400, RequestID:
KvKdgME7AvQDIT4Mpbv05Pevz3DBuKXLsAEbhopWWzdas13bysGZ, api error
InvalidPermission.Duplicate: The specified rule already exists
"""

#: What a CI run's global deploy printed when the emulator lost the response to the revoke of the
#: default security group's egress rule and the provider's retry found it gone.
DEFAULT_SG_RULE_GONE = """\
Error: revoking Security Group (sg-934e5fafa130a58b4) Rule (sgr-3fb669213c66dc621): operation \
error EC2: RevokeSecurityGroupEgress, https response error StatusCode: 400, RequestID: \
NPJQzcHy2upM4Nsm9CzgdsUCl4LNuZcwGoqFXMp3burZNQ9eArM3, api error InvalidPermission.NotFound: \
The specified rule does not exist in this security group

  with aws_default_security_group.Network_DefaultSecurityGroup_6811E764,
  on cdk.tf.json line 157, in resource.aws_default_security_group.\
Network_DefaultSecurityGroup_6811E764:
 157:       }
"""


def aws_env(region: str) -> dict[str, str]:
    """Fake credentials and no shared configuration: nothing can reach real AWS."""
    return {
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS.access_key_id,
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS.secret_access_key,
        "AWS_SESSION_TOKEN": FAKE_CREDENTIALS.session_token,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


def client(endpoint: str, service: str, region: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    ).client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def provider(endpoint: str, region: str) -> dict[str, Any]:
    """The aws provider of the local target (tooling.emulator.process.local_provider_config)."""
    return {
        "region": region,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        "s3_use_path_style": True,
        "endpoints": [{service: endpoint for service in PROVIDER_ENDPOINT_SERVICES}],
    }


def stack_document(endpoint: str, region: str, resources: Mapping[str, Any]) -> dict[str, Any]:
    """A stack's configuration: the pinned aws provider pointed at ``endpoint``, ``resources``."""
    return {
        "terraform": {
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}
        },
        "provider": {"aws": [provider(endpoint, region)]},
        "resource": dict(resources),
    }


def backend(endpoint: str, key: str, region: str) -> dict[str, Any]:
    """An S3 backend like the synthesized stacks' (lock table and native S3 lock file)."""
    return {
        "bucket": STATE_BUCKET,
        "key": key,
        "region": region,
        "dynamodb_table": LOCK_TABLE,
        "use_lockfile": True,
        "use_path_style": True,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": True,
        "skip_requesting_account_id": True,
        "endpoints": {"s3": endpoint, "dynamodb": endpoint, "sts": endpoint, "iam": endpoint},
    }


def create_backend(endpoint: str, region: str) -> None:
    """The state bucket and the lock table (what ``bootstrap-backend`` creates)."""
    client(endpoint, "s3", region).create_bucket(
        Bucket=STATE_BUCKET, CreateBucketConfiguration={"LocationConstraint": region}
    )
    client(endpoint, "dynamodb", region).create_table(
        TableName=LOCK_TABLE,
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def write_config(stack_dir: Path, document: Mapping[str, Any]) -> Path:
    stack_dir.mkdir(parents=True, exist_ok=True)
    path = stack_dir / "cdk.tf.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def terraform(
    args: Sequence[str], stack_dir: Path, repo: Path, region: str
) -> subprocess.CompletedProcess[str]:
    """``terraform *args -no-color`` (captured, never raising) with the project's CLI
    configuration (the local provider mirror) and the fake credentials."""
    return run_terraform(
        [*args, "-no-color"],
        cwd=stack_dir,
        repo_root=repo,
        env_extra=aws_env(region),
        capture=True,
        check=False,
    )
