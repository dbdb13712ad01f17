"""tooling.moto_launcher patches for the gaps the local deploy of the dev stack found: each test
shows unpatched moto has the gap and that the patch closes it (gap 7 TLS-only bucket policies,
gap 6 logging check crash, gap 4 perpetual diffs: Lambda LoggingConfig, RDS Performance Insights,
KMS rotation period)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.tooling.moto_clients import client, named
from tooling.moto_launcher import patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"
BUCKET = "tap-policy-test"

#: A client of a freshly reset moto server, unless called with ``reset=False``.
_client = partial(client, region=REGION, reset=True)


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


# --------------------------------------------------------------------------- gap 4 (diffs)


def _pi_instance(endpoint: str) -> dict[str, Any]:
    rds = _client(endpoint, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier="c1", Engine="aurora-mysql", MasterUsername="admin",
        ManageMasterUserPassword=True,
    )  # fmt: skip
    rds.create_db_instance(
        DBInstanceIdentifier="i1", DBClusterIdentifier="c1", Engine="aurora-mysql",
        DBInstanceClass="db.serverless", EnablePerformanceInsights=True,
        PerformanceInsightsKMSKeyId="arn:aws:kms:ap-southeast-1:123456789012:key/k",
    )  # fmt: skip
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier="i1")["DBInstances"]
    return dict(instance)


def test_gap4_unpatched_moto_forgets_performance_insights(endpoint: str) -> None:
    assert not _pi_instance(endpoint).get("PerformanceInsightsEnabled")


def test_gap4_patch_keeps_performance_insights(endpoint: str) -> None:
    with patched(named("rds-performance-insights")):
        instance = _pi_instance(endpoint)
    assert instance["PerformanceInsightsEnabled"] is True
    assert instance["PerformanceInsightsKMSKeyId"].endswith("key/k")
    assert instance["PerformanceInsightsRetentionPeriod"] == 7


def _rotation(endpoint: str) -> dict[str, Any]:
    kms = _client(endpoint, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    return dict(kms.get_key_rotation_status(KeyId=key))


def test_gap4_unpatched_moto_forgets_the_kms_rotation_period(endpoint: str) -> None:
    assert "RotationPeriodInDays" not in _rotation(endpoint)


def test_gap4_patch_returns_the_kms_rotation_period(endpoint: str) -> None:
    with patched(named("kms-rotation-period")):
        assert _rotation(endpoint)["RotationPeriodInDays"] == 180


def _logging_config(endpoint: str) -> tuple[Any, Any]:
    import io
    import zipfile

    iam = _client(endpoint, "iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.py", "x = 1\n")
    lam = _client(endpoint, "lambda", reset=False)
    lam.create_function(
        FunctionName="f", Runtime="python3.12", Role=role, Handler="a.h",
        Code={"ZipFile": buffer.getvalue()},
        LoggingConfig={"LogFormat": "JSON", "LogGroup": "/aws/lambda/custom"},
    )  # fmt: skip
    created = lam.get_function(FunctionName="f")["Configuration"].get("LoggingConfig")
    lam.update_function_configuration(FunctionName="f", LoggingConfig={"LogFormat": "Text"})
    updated = lam.get_function_configuration(FunctionName="f").get("LoggingConfig")
    return created, updated


def test_gap4_unpatched_moto_drops_the_lambda_logging_config(endpoint: str) -> None:
    created, _ = _logging_config(endpoint)
    assert not created


def test_gap4_patch_returns_the_lambda_logging_config(endpoint: str) -> None:
    with patched(named("lambda-dead-letter-config")):
        created, updated = _logging_config(endpoint)
    assert created == {"LogFormat": "JSON", "LogGroup": "/aws/lambda/custom"}
    assert updated == {"LogFormat": "Text", "LogGroup": "/aws/lambda/custom"}
