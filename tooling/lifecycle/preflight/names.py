"""Preflight: the names the platform will take are free or already this account's: the
environment's state bucket and the lock table (bootstrap creates them), and every bucket the
synthesized stacks create (S3 bucket names are shared by all AWS accounts:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)."""

from __future__ import annotations

from typing import Any

from tooling.lifecycle.backend import BackendSpec, bucket_is_ours
from tooling.lifecycle.preflight.base import Account, Check, error_code
from tooling.lifecycle.preflight.needs import RegionNeeds, resolve_name

__all__ = ["bucket_checks", "state_checks"]


def _bucket_state(s3: Any, bucket: str) -> tuple[str, str]:
    """("ours", its region), ("free", "") or ("foreign", ""): whose ``bucket`` is.

    Ownership comes from ListBuckets (:func:`.backend.bucket_is_ours`); for a bucket that is not
    ours, HeadBucket answers 404 when nobody has it, 403 when another account does (200 when
    that account lets this caller read it): https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html.
    """
    from botocore.exceptions import ClientError

    if bucket_is_ours(s3, bucket):
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        # GetBucketLocation: null for us-east-1, "EU" for the legacy name of eu-west-1
        # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html).
        return "ours", {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(
            location, str(location)
        )
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchBucket"):
            return "free", ""
        if error_code(error) not in ("403", "AccessDenied"):
            raise
    return "foreign", ""


def state_checks(account: Account, spec: BackendSpec) -> list[Check]:
    """The environment's state bucket is free or this account's (in ``[state] region``), and
    the lock table is free or has Terraform's ``LockID`` (S) hash key."""
    from botocore.exceptions import ClientError

    name, region = account.environment.name, spec.region
    bucket = spec.bucket_of(name)
    state, found_region = _bucket_state(account.clients("s3", region), bucket)
    checks = []
    if state == "free":
        checks.append(
            account.check(region, "state bucket", True, f"{bucket} is free: bootstrap creates it")
        )
    elif state == "ours":
        checks.append(
            account.check(
                region,
                "state bucket",
                found_region == region,
                f"{bucket} is this account's, in {found_region}",
                f"[state] region is {region}: move the state or set state_bucket in "
                f"[environments.{name}] to a bucket of {region}",
            )
        )
    else:
        checks.append(
            account.check(
                region,
                "state bucket",
                False,
                f"{bucket} belongs to another AWS account (S3 bucket names are global)",
                f'add the account id to [state] bucket_prefix ("{spec.bucket_prefix}-'
                f'{account.account_id}") or set state_bucket = "{bucket}-{account.account_id}" '
                f"in [environments.{name}]",
            )
        )
    try:
        table = account.clients("dynamodb", region).describe_table(TableName=spec.lock_table)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        checks.append(
            account.check(
                region, "lock table", True, f"{spec.lock_table} is free: bootstrap creates it"
            )
        )
        return checks
    keys = table["Table"]["KeySchema"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["Table"]["AttributeDefinitions"]}
    lockable = keys == [{"AttributeName": "LockID", "KeyType": "HASH"}] and types == {"LockID": "S"}
    checks.append(
        account.check(
            region,
            "lock table",
            lockable,
            f"{spec.lock_table} exists"
            + ("" if lockable else f" with key schema {keys}, not LockID (S) as hash key"),
            "set [state] lock_table in platform.toml to a new name (bootstrap creates it)",
        )
    )
    return checks


def bucket_checks(account: Account, needs: RegionNeeds) -> list[Check]:
    """Each bucket the stacks create in the region is free or already this account's."""
    checks = []
    s3 = account.clients("s3", needs.region)
    for synthesized in needs.buckets:
        bucket = resolve_name(
            synthesized, account_id=account.account_id, partition=account.partition
        )
        label = f"bucket {bucket}"
        if "${" in bucket:
            checks.append(
                account.check(
                    needs.region,
                    label,
                    False,
                    "the name is known only at apply time: preflight cannot check it",
                    "resolve the reference in tooling/lifecycle/preflight/needs.py resolve_name",
                )
            )
            continue
        state, _ = _bucket_state(s3, bucket)
        detail = {
            "free": "free: the application stack creates it",
            "ours": "this account's (deployed before)",
            "foreign": "belongs to another AWS account (S3 bucket names are global)",
        }[state]
        checks.append(
            account.check(
                needs.region,
                label,
                state != "foreign",
                detail,
                'set [platform] bucket_name_suffix = "account-id" in platform.toml (every '
                "bucket name then ends with this account's id), or another suffix nobody uses",
            )
        )
    return checks
