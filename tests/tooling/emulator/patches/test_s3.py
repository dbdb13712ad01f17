"""tooling.emulator.patches.s3: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 7:
TLS-only bucket policies deny everything; gap 6: the logging check crashes on a ``"*"``
principal; gap 5: notifications; gap R5: a bucket policy naming an IAM principal that does not
exist is accepted). Rules R2 and R3 of docs/emulator.md need no patch: moto already answers as
AWS does, and the tests here pin that."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.tooling.emulator.conftest import FakeRuntime, client, named, refusal_of
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


def _upload_in_two_parts(s3: Any, key: str) -> None:
    """What ``aws s3 cp`` does for a file over its 8 MiB threshold (S3's minimum part: 5 MiB)."""
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    parts = []
    for number, body in ((1, b"a" * (5 * 1024 * 1024)), (2, b"tail\n")):
        part = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=body)
        parts.append({"PartNumber": number, "ETag": part["ETag"]})
    s3.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
    )


@pytest.mark.parametrize(
    ("patches", "events"),
    [
        ((), ["ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload"]),
        (("s3-multipart-upload-notifies-once",), ["ObjectCreated:CompleteMultipartUpload"]),
    ],
    ids=["unpatched", "patched"],
)
def test_gap16_a_multipart_upload_notifies_once_with_its_own_event(
    endpoint: str, received: FakeRuntime, patches: tuple[str, ...], events: list[str]
) -> None:
    with patched(named("s3-notifications-invoke-lambda-asynchronously", *patches)):
        s3 = _notified_bucket(endpoint)
        _upload_in_two_parts(s3, "incoming/day.csv")
        assert invocations.current().wait_idle(10)
        stored = s3.head_object(Bucket=BUCKET, Key="incoming/day.csv")
    names = [json.loads(payload)["Records"][0]["eventName"] for _, payload, _ in received.calls]
    assert sorted(names) == sorted(events)
    assert stored["ContentLength"] == 5 * 1024 * 1024 + 5
    assert stored["ETag"].endswith('-2"')


def test_gap16_a_put_object_still_notifies(endpoint: str, received: FakeRuntime) -> None:
    with patched(
        named("s3-notifications-invoke-lambda-asynchronously", "s3-multipart-upload-notifies-once")
    ):
        s3 = _notified_bucket(endpoint)
        s3.put_object(Bucket=BUCKET, Key="incoming/one.csv", Body=b"a,b\n")
        assert invocations.current().wait_idle(10)
    names = [json.loads(payload)["Records"][0]["eventName"] for _, payload, _ in received.calls]
    assert names == ["ObjectCreated:Put"]


def test_gap5_later_events_have_greater_sequencers() -> None:
    from tooling.emulator.patches.s3 import _sequencer

    first, second, third = (_sequencer() for _ in range(3))
    assert int(first, 16) < int(second, 16) < int(third, 16)


# --------------------------------------------------------------------------- gap R5 (principals)

ACCOUNT = "123456789012"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/tap-deployer"
#: What AWS answers (400) to a bucket policy naming a principal that does not exist.
INVALID_PRINCIPAL = {"Code": "MalformedPolicy", "Message": "Invalid principal in policy"}


def _read_only_for(*principals: Any) -> str:
    """A bucket policy letting each ``Principal`` value read the bucket's objects."""
    statements = [
        {"Sid": f"Read{n}", "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{BUCKET}/*"}
        for n, principal in enumerate(principals)
    ]  # fmt: skip
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _new_bucket(s3: Any, name: str = BUCKET) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})


def test_r5_unpatched_moto_accepts_a_bucket_policy_naming_a_missing_role(endpoint: str) -> None:
    s3 = _client(endpoint, "s3")
    _new_bucket(s3)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=_read_only_for({"AWS": DEPLOYER}))
    assert DEPLOYER in s3.get_bucket_policy(Bucket=BUCKET)["Policy"]


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": DEPLOYER},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:user/operator"},
        {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", DEPLOYER]},  # one missing is enough
    ],
)
def test_r5_patch_refuses_a_bucket_policy_naming_a_missing_principal(
    endpoint: str, principal: dict[str, Any]
) -> None:
    with patched(named("s3-bucket-policy-principals-exist")):
        s3 = _client(endpoint, "s3")
        _new_bucket(s3)
        refusal = refusal_of(s3.put_bucket_policy, Bucket=BUCKET, Policy=_read_only_for(principal))
        kept = refusal_of(s3.get_bucket_policy, Bucket=BUCKET)
    assert refusal == (400, INVALID_PRINCIPAL)
    assert (kept[0], kept[1]["Code"]) == (404, "NoSuchBucketPolicy")


def test_r5_patch_accepts_principals_that_exist_and_those_it_does_not_resolve(
    endpoint: str,
) -> None:
    policy = _read_only_for(
        {"AWS": DEPLOYER},
        {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT]},
        {"Service": "logging.s3.amazonaws.com"},
        "*",
    )
    with patched(named("s3-bucket-policy-principals-exist")):
        iam = _client(endpoint, "iam")
        iam.create_role(RoleName="tap-deployer", AssumeRolePolicyDocument="{}")
        s3 = client(endpoint, "s3", region=REGION, reset=False)
        # both buckets, the log bucket with the platform's policy: a "*" deny and the grant to
        # the logging service
        _logging_setup(s3)
        s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)
        stored = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert stored == json.loads(policy)


def test_r5_patch_answers_a_missing_bucket_before_its_policy(endpoint: str) -> None:
    with patched(named("s3-bucket-policy-principals-exist")):
        s3 = _client(endpoint, "s3")
        status, error = refusal_of(
            s3.put_bucket_policy, Bucket=BUCKET, Policy=_read_only_for({"AWS": DEPLOYER})
        )
    assert (status, error["Code"]) == (404, "NoSuchBucket")


# --------------------------------------------------------------------------- rule R3 (location)


@pytest.mark.parametrize(
    ("region", "configuration", "expected"),
    [
        (
            "us-east-1",
            {"LocationConstraint": "us-east-1"},
            {"Code": "InvalidLocationConstraint",
             "Message": "The specified location-constraint is not valid"},
        ),
        (
            REGION,
            None,
            {"Code": "IllegalLocationConstraintException",
             "Message": "The unspecified location constraint is incompatible for the region "
             "specific endpoint this request was sent to."},
        ),
        (
            REGION,
            {"LocationConstraint": "eu-west-1"},
            {"Code": "IllegalLocationConstraintException",
             "Message": "The eu-west-1 location constraint is incompatible for the region "
             "specific endpoint this request was sent to."},
        ),
    ],
)  # fmt: skip
def test_r3_moto_already_refuses_a_location_constraint_aws_refuses(
    endpoint: str, region: str, configuration: dict[str, str] | None, expected: dict[str, str]
) -> None:
    s3 = client(endpoint, "s3", region=region, reset=True)
    extra = {} if configuration is None else {"CreateBucketConfiguration": configuration}
    assert refusal_of(s3.create_bucket, Bucket=BUCKET, **extra) == (400, expected)
    assert s3.list_buckets()["Buckets"] == []


@pytest.mark.parametrize(
    ("region", "configuration"),
    [("us-east-1", None), (REGION, {"LocationConstraint": REGION})],
)
def test_r3_moto_creates_a_bucket_with_the_location_aws_accepts(
    endpoint: str, region: str, configuration: dict[str, str] | None
) -> None:
    s3 = client(endpoint, "s3", region=region, reset=True)
    extra = {} if configuration is None else {"CreateBucketConfiguration": configuration}
    s3.create_bucket(Bucket=BUCKET, **extra)
    # GetBucketLocation answers null for us-east-1, as S3 does
    assert s3.get_bucket_location(Bucket=BUCKET).get("LocationConstraint") == (
        None if region == "us-east-1" else region
    )


# --------------------------------------------------------------------------- rule R2 (Object Lock)


DEFAULT_RETENTION = {
    "ObjectLockEnabled": "Enabled",
    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}},
}


def _logs_grant(s3: Any) -> None:
    """The log bucket's grant to the logging service (what PutBucketLogging checks)."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{LOGS}/*",
    }
    s3.put_bucket_policy(
        Bucket=LOGS, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )


@pytest.mark.parametrize("retention_first", [True, False], ids=["retention-first", "logging-first"])
def test_r2_moto_accepts_logging_to_a_bucket_with_default_retention_as_aws_does(
    endpoint: str, retention_first: bool
) -> None:
    """AWS documents that such a target receives no logs, not that PutBucketLogging or
    PutObjectLockConfiguration refuse it (docs/emulator.md, rule R2): the emulator accepts both
    orders too, and nothing is patched."""
    s3 = _client(endpoint, "s3")
    _new_bucket(s3)
    s3.create_bucket(
        Bucket=LOGS,
        CreateBucketConfiguration={"LocationConstraint": REGION},
        ObjectLockEnabledForBucket=True,
    )
    _logs_grant(s3)
    if retention_first:
        s3.put_object_lock_configuration(Bucket=LOGS, ObjectLockConfiguration=DEFAULT_RETENTION)
    _enable_logging(s3)
    if not retention_first:
        s3.put_object_lock_configuration(Bucket=LOGS, ObjectLockConfiguration=DEFAULT_RETENTION)
    retention = s3.get_object_lock_configuration(Bucket=LOGS)["ObjectLockConfiguration"]["Rule"][
        "DefaultRetention"
    ]
    assert (retention["Mode"], retention["Days"]) == ("GOVERNANCE", 30)
    assert s3.get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]["TargetBucket"] == LOGS


# --------------------------------------------------------------------------- reversibility


def test_the_s3_patches_are_undone() -> None:
    from moto.s3.models import FakeBucket, S3Backend

    from tooling.emulator.patches import s3

    names = ("get_permission", "_log_permissions_enabled_policy")
    originals = {name: FakeBucket.__dict__[name] for name in names}
    from moto.s3 import notifications

    functions = ("_get_s3_event", "_invoke_awslambda")
    module_originals = {name: notifications.__dict__[name] for name in functions}
    put_bucket_policy = S3Backend.__dict__["put_bucket_policy"]
    with patched(s3.PATCHES):
        assert all(FakeBucket.__dict__[name] is not fn for name, fn in originals.items())
        assert all(notifications.__dict__[n] is not fn for n, fn in module_originals.items())
        assert S3Backend.__dict__["put_bucket_policy"] is not put_bucket_policy
    assert all(FakeBucket.__dict__[name] is fn for name, fn in originals.items())
    assert all(notifications.__dict__[n] is fn for n, fn in module_originals.items())
    assert S3Backend.__dict__["put_bucket_policy"] is put_bucket_policy
