"""tooling.emulator.patches.s3: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 7:
TLS-only bucket policies deny everything; gap 6: the logging check crashes on a ``"*"``
principal)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.tooling.emulator.conftest import client, named
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"
BUCKET = "tap-policy-test"

#: A client of a freshly reset moto server, unless called with ``reset=False``.
_client = partial(client, region=REGION, reset=True)


# --------------------------------------------------------------------------- gap 7 (TLS only)


def _bucket_with_policy(s3: Any, *statements: dict[str, Any]) -> None:
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key="a.txt", Body=b"x")
    s3.put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    )


TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def test_gap7_unpatched_moto_denies_everything_under_a_tls_only_policy(endpoint: str) -> None:
    s3 = _client(endpoint, "s3")
    _bucket_with_policy(s3, TLS_ONLY)
    with pytest.raises(ClientError, match="403"):
        s3.head_object(Bucket=BUCKET, Key="a.txt")


def test_gap7_patch_lets_requests_through_a_tls_only_policy(endpoint: str) -> None:
    with patched(named("s3-bucket-policy-secure-transport")):
        s3 = _client(endpoint, "s3")
        _bucket_with_policy(s3, TLS_ONLY)
        assert s3.head_object(Bucket=BUCKET, Key="a.txt")["ContentLength"] == 1
        s3.put_object(Bucket=BUCKET, Key="b.txt", Body=b"yy")
        assert s3.get_object(Bucket=BUCKET, Key="b.txt")["Body"].read() == b"yy"


@pytest.mark.parametrize(
    "condition",
    [
        None,  # an unconditional deny still denies
        {"Bool": {"aws:SecureTransport": "true"}},  # deny TLS requests: applies to all of them
        {"Bool": {"aws:SecureTransport": ["true", "false"]}},
    ],
)
def test_gap7_patch_keeps_denies_that_apply_over_tls(
    endpoint: str, condition: dict[str, Any] | None
) -> None:
    statement = {**TLS_ONLY, "Sid": "Deny"}
    statement.pop("Condition")
    if condition is not None:
        statement["Condition"] = condition
    with patched(named("s3-bucket-policy-secure-transport")):
        s3 = _client(endpoint, "s3")
        _bucket_with_policy(s3, statement)
        with pytest.raises(ClientError, match="403"):
            s3.head_object(Bucket=BUCKET, Key="a.txt")


# --------------------------------------------------------------------------- gap 6 (logging)

LOGS = "tap-policy-test-logs"


def _logging_setup(s3: Any) -> None:
    for name in (BUCKET, LOGS):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    arn = f"arn:aws:s3:::{LOGS}"
    statements = [
        {**TLS_ONLY, "Resource": [arn, f"{arn}/*"]},
        {
            "Sid": "ServerAccessLogsDelivery",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{arn}/data-bucket/*",
        },
    ]
    s3.put_bucket_policy(
        Bucket=LOGS, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements})
    )


def _enable_logging(s3: Any) -> None:
    s3.put_bucket_logging(
        Bucket=BUCKET,
        BucketLoggingStatus={
            "LoggingEnabled": {"TargetBucket": LOGS, "TargetPrefix": "data-bucket/"}
        },
    )


def test_gap6_unpatched_moto_fails_logging_when_the_target_policy_has_a_star_principal(
    endpoint: str,
) -> None:
    s3 = _client(endpoint, "s3")
    _logging_setup(s3)
    with pytest.raises(ClientError, match="500"):
        _enable_logging(s3)


def test_gap6_patch_accepts_the_logging_grant_beside_a_star_principal(endpoint: str) -> None:
    with patched(named("s3-logging-policy-wildcard-principal")):
        s3 = _client(endpoint, "s3")
        _logging_setup(s3)
        _enable_logging(s3)
        enabled = s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]
        assert enabled["TargetBucket"] == LOGS
        # without the grant the check still refuses, like before
        s3.delete_bucket_policy(Bucket=LOGS)
        with pytest.raises(ClientError, match="InvalidTargetBucketForLogging"):
            _enable_logging(s3)


# --------------------------------------------------------------------------- reversibility


def test_the_s3_patches_are_undone() -> None:
    from moto.s3.models import FakeBucket

    from tooling.emulator.patches import s3

    names = ("get_permission", "_log_permissions_enabled_policy")
    originals = {name: FakeBucket.__dict__[name] for name in names}
    with patched(s3.PATCHES):
        assert all(FakeBucket.__dict__[name] is not fn for name, fn in originals.items())
    assert all(FakeBucket.__dict__[name] is fn for name, fn in originals.items())
