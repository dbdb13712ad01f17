"""tooling.emulator.patches.s3: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 7:
TLS-only bucket policies deny everything; gap 6: the logging check crashes on a ``"*"``
principal)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.tooling.emulator.conftest import FakeRuntime, client, named
from tooling.emulator import invocations
from tooling.emulator.invocations import LambdaService
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


# --------------------------------------------------------------------------- gap 5 (notifications)

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:processor"


@pytest.fixture
def received(endpoint: str) -> Iterator[FakeRuntime]:
    """What the emulator's Lambda service runs, recorded by a fake runtime."""
    runtime = FakeRuntime()
    service = LambdaService(runtime, retry_delays=(0.0,))  # type: ignore[arg-type]
    previous = invocations.configure(service)
    try:
        yield runtime
    finally:
        invocations.configure(previous)
        assert service.wait_idle(10)


def _notified_bucket(endpoint: str) -> Any:
    """A versioned bucket notifying the function of ObjectCreated under incoming/ (a .csv)."""
    iam = _client(endpoint, "iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client(endpoint, "lambda", region=REGION, reset=False).create_function(
        FunctionName="processor", Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )  # fmt: skip
    s3 = client(endpoint, "s3", region=REGION, reset=False)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "Id": "ingest",
                    "LambdaFunctionArn": FUNCTION_ARN,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "incoming/"},
                                {"Name": "suffix", "Value": ".csv"},
                            ]
                        }
                    },
                }
            ]
        },
    )
    return s3


def test_gap5_unpatched_moto_builds_an_event_record_unlike_s3s() -> None:
    from types import SimpleNamespace

    from moto.s3 import notifications

    bucket = SimpleNamespace(name="b", arn="arn:aws:s3:::b", region_name=REGION, is_versioned=True)
    key = SimpleNamespace(name="incoming/a.csv", size=1, etag='"e"', version_id="v1")
    event = notifications._get_s3_event("s3:ObjectCreated:Put", bucket, key, "id")  # type: ignore[arg-type]
    (record,) = event["Records"]
    assert "sequencer" not in record["s3"]["object"]
    assert "versionId" not in record["s3"]["object"]
    assert record["s3"]["object"]["key"] == "incoming%2Fa.csv"


def test_gap5_patch_invokes_the_function_asynchronously_with_the_event_aws_sends(
    endpoint: str, received: FakeRuntime
) -> None:
    with patched(named("s3-notifications-invoke-lambda-asynchronously")):
        s3 = _notified_bucket(endpoint)
        put = s3.put_object(Bucket=BUCKET, Key="incoming/day 1.csv", Body=b"a,b\n")
        assert invocations.current().wait_idle(10)
    ((spec, payload, _),) = received.calls
    assert spec.function_arn == FUNCTION_ARN
    (record,) = json.loads(payload)["Records"]
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["eventTime"].endswith("Z")
    assert record["s3"]["configurationId"] == "ingest"
    target = record["s3"]["object"]
    assert target["key"] == "incoming/day+1.csv"  # URL-encoded, as S3 sends it
    assert target["size"] == 4
    assert target["versionId"] == put["VersionId"]
    assert int(target["sequencer"], 16) > 0


def test_gap5_patch_keeps_the_notifications_filters(endpoint: str, received: FakeRuntime) -> None:
    with patched(named("s3-notifications-invoke-lambda-asynchronously")):
        s3 = _notified_bucket(endpoint)
        s3.put_object(Bucket=BUCKET, Key="elsewhere/a.csv", Body=b"x")
        s3.put_object(Bucket=BUCKET, Key="incoming/a.json", Body=b"x")
        assert invocations.current().wait_idle(10)
    assert received.calls == []


def test_gap5_later_events_have_greater_sequencers() -> None:
    from tooling.emulator.patches.s3 import _sequencer

    first, second, third = (_sequencer() for _ in range(3))
    assert int(first, 16) < int(second, 16) < int(third, 16)


def test_the_s3_patches_are_undone() -> None:
    from moto.s3.models import FakeBucket

    from tooling.emulator.patches import s3

    names = ("get_permission", "_log_permissions_enabled_policy")
    originals = {name: FakeBucket.__dict__[name] for name in names}
    from moto.s3 import notifications

    functions = ("_get_s3_event", "_invoke_awslambda")
    module_originals = {name: notifications.__dict__[name] for name in functions}
    with patched(s3.PATCHES):
        assert all(FakeBucket.__dict__[name] is not fn for name, fn in originals.items())
        assert all(notifications.__dict__[n] is not fn for n, fn in module_originals.items())
    assert all(FakeBucket.__dict__[name] is fn for name, fn in originals.items())
    assert all(notifications.__dict__[n] is fn for n, fn in module_originals.items())
