"""Compatibility patches of moto's S3: bucket policies, access logging, notifications."""

from __future__ import annotations

import functools
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace, undo_all

__all__ = [
    "INVALID_PRINCIPAL",
    "PATCHES",
    "bucket_policy_principals_exist",
    "bucket_policy_secure_transport",
    "logging_policy_with_wildcard_principal",
    "notifications_invoke_lambda_asynchronously",
]

_SECURE_TRANSPORT = "aws:securetransport"


def _secure_transport_applies(statement: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Evaluate a statement's ``aws:SecureTransport`` Bool conditions for a TLS request.

    Returns whether the statement still applies and the statement without those conditions
    (the rest is left to moto's own evaluation).
    """
    conditions = statement.get("Condition")
    if not isinstance(conditions, dict):
        return True, statement
    applies = True
    remaining: dict[str, Any] = {}
    for operator, values in conditions.items():
        if operator.lower() not in ("bool", "boolifexists") or not isinstance(values, dict):
            remaining[operator] = values
            continue
        kept = {}
        for key, expected in values.items():
            if key.lower() != _SECURE_TRANSPORT:
                kept[key] = expected
                continue
            wanted = expected if isinstance(expected, list) else [expected]
            if "true" not in [str(value).lower() for value in wanted]:
                applies = False
        if kept:
            remaining[operator] = kept
    rest = {k: v for k, v in statement.items() if k != "Condition"}
    if remaining:
        rest["Condition"] = remaining
    return applies, rest


@compat_patch("s3-bucket-policy-secure-transport", gap="7")
def bucket_policy_secure_transport() -> Undo:
    """docs/emulator.md, gap 7: TLS-only bucket policies lock moto
    out.

    moto checks a bucket's policy on every object request
    (``moto.s3.models.FakeBucket.get_permission`` -> ``IAMPolicy.is_action_permitted``) but
    knows no request context: a condition on a key it has no value for counts as met, so the
    standard ``Deny s3:* if aws:SecureTransport = false`` statement (the state bucket's and the
    data buckets' TLS-only policy) denies every object request, and Terraform's S3 backend fails
    with 403 on ``HeadObject``. The emulator stands in for AWS's HTTPS endpoints (clients reach it
    over plain HTTP on loopback only), so the patch evaluates ``aws:SecureTransport`` as ``true``:
    a statement whose ``Bool``/``BoolIfExists`` ``aws:SecureTransport`` condition does not accept
    ``true`` does not apply; the rest of each statement is evaluated by moto as before.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def make_get_permission(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
            if self.policy is None:
                return original(self, action, resource)
            document = json.loads(self.policy)
            statements = document.get("Statement")
            if isinstance(statements, dict):
                statements = [statements]
            if not isinstance(statements, list):
                return original(self, action, resource)
            kept = []
            for statement in statements:
                applies, rest = _secure_transport_applies(statement)
                if applies:
                    kept.append(rest)
            if not kept:
                return PermissionResult.NEUTRAL
            policy = json.dumps({**document, "Statement": kept})
            return IAMPolicy(policy).is_action_permitted(action, resource)

        return get_permission

    return replace(FakeBucket, "get_permission", make_get_permission)


@compat_patch("s3-logging-policy-wildcard-principal", gap="6")
def logging_policy_with_wildcard_principal() -> Undo:
    """docs/emulator.md, gap 6: moto crashes on the logging check.

    moto's ``FakeBucket._log_permissions_enabled_policy`` (PutBucketLogging: does the
    target bucket's policy let ``logging.s3.amazonaws.com`` write?) calls
    ``stmt.get("Principal", {}).get("Service")`` on every statement of the target bucket's
    policy, so a statement with ``"Principal": "*"`` (the TLS-only deny every platform bucket
    has) raises AttributeError: HTTP 500, and the provider gives up on
    ``aws_s3_bucket_logging``. The patch hands moto's check only the statements whose
    ``Principal`` is an object (a ``"*"`` principal can never be the logging service grant);
    the check itself is unchanged.
    """
    from types import SimpleNamespace

    from moto.s3.models import FakeBucket

    def make_check(original: Any) -> Any:
        check = original.__func__ if isinstance(original, staticmethod) else original

        @functools.wraps(check)
        def _log_permissions_enabled_policy(target_bucket: Any, target_prefix: str | None) -> bool:
            policy = target_bucket.policy
            if policy:
                document = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
                statements = document.get("Statement")
                if isinstance(statements, dict):
                    statements = [statements]
                kept = [
                    s for s in statements or [] if isinstance(s, dict)
                    and isinstance(s.get("Principal", {}), dict)
                ]  # fmt: skip
                policy = json.dumps({**document, "Statement": kept}).encode()
            view = SimpleNamespace(
                policy=policy, partition=target_bucket.partition, name=target_bucket.name
            )
            return bool(check(view, target_prefix))

        return staticmethod(_log_permissions_enabled_policy)

    return replace(FakeBucket, "_log_permissions_enabled_policy", make_check)


_SEQUENCER = itertools.count(1)
_SEQUENCER_LOCK = threading.Lock()


def _sequencer() -> str:
    """An S3 event ``sequencer``: hexadecimal, and greater for every later event (as AWS's,
    only meant to be compared between events of one key)."""
    with _SEQUENCER_LOCK:
        return f"{time.time_ns():016X}{next(_SEQUENCER):04X}"


def _complete_event(event: dict[str, Any], bucket: Any, key: Any) -> dict[str, Any]:
    """Add what AWS's event record has and moto's lacks (see the patch's docstring)."""
    for record in event.get("Records", []):
        record.setdefault("userIdentity", {"principalId": "AWS:TESTING"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault(
            "responseElements",
            {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex},
        )
        s3 = record.get("s3", {})
        s3.get("bucket", {}).setdefault("ownerIdentity", {"principalId": "TESTING"})
        target = s3.get("object", {})
        # S3 form-encodes the key but keeps its slashes ("incoming/day+1.csv")
        target["key"] = quote_plus(str(key.name), safe="/")
        version_id = getattr(key, "version_id", None)
        if getattr(bucket, "is_versioned", False) and version_id and version_id != "null":
            target["versionId"] = version_id
        target["sequencer"] = _sequencer()
    return event


@compat_patch("s3-notifications-invoke-lambda-asynchronously", gap="5")
def notifications_invoke_lambda_asynchronously() -> Undo:
    """docs/emulator.md, gap 5: S3 invokes a notified function asynchronously, with the whole
    event record.

    moto's ``moto.s3.notifications._invoke_awslambda`` calls ``LambdaFunction.invoke``
    synchronously inside the PutObject request (the upload waits for the function; its failure
    is swallowed, so nothing is retried or dead-lettered), and ``_get_s3_event`` builds a
    record without ``versionId`` (versioned buckets) and ``sequencer``, whose key has its
    slashes encoded (``incoming%2Fa.csv``; S3 sends ``incoming/a.csv``). The patch queues the
    invocation as an ``Event`` invocation of :mod:`tooling.emulator.invocations` (retries, event
    age, dead-letter queue and on-failure destination of the function apply) and completes the
    record as AWS documents it.
    """
    from moto.s3 import notifications

    def make_event(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(original)
        def _get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
            return _complete_event(original(event_name, bucket, key, notification_id), bucket, key)

        return _get_s3_event

    def make_invoke(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def _invoke_awslambda(
            account_id: str, event_body: Any, fn_arn: str, region_name: str
        ) -> None:
            from moto.awslambda.utils import get_backend

            from tooling.emulator import invocations

            try:
                function = get_backend(account_id, region_name).get_function(fn_arn)
            except Exception:
                return
            invocations.current().submit(function, json.dumps(event_body).encode())

        return _invoke_awslambda

    return undo_all(
        [
            replace(notifications, "_get_s3_event", make_event),
            replace(notifications, "_invoke_awslambda", make_invoke),
        ]
    )


@compat_patch("s3-multipart-upload-notifies-once", gap="16")
def multipart_upload_notifies_once() -> Undo:
    """docs/emulator.md, gap 16: a completed multipart upload notifies twice.

    S3 sends one event for each object it creates, and for an object created by
    CompleteMultipartUpload that event is ``s3:ObjectCreated:CompleteMultipartUpload``
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html,
    "Supported event types"). moto's ``complete_multipart_upload`` stores the object with its own
    ``put_object``, which sends ``ObjectCreated:Put`` first, and then sends the
    CompleteMultipartUpload event: a function notified of ``s3:ObjectCreated:*`` runs twice, side by
    side, for every file uploaded the way ``aws s3 cp`` uploads one over 8 MiB. The patch stores
    the completed object without the Put event; the CompleteMultipartUpload event is unchanged.
    """
    from moto.s3.models import S3Backend

    completing = threading.local()

    def make_complete(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def complete_multipart_upload(self: Any, *args: Any, **kwargs: Any) -> Any:
            completing.active = True
            try:
                return original(self, *args, **kwargs)
            finally:
                completing.active = False

        return complete_multipart_upload

    def make_put(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def put_object(self: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(completing, "active", False):
                kwargs["disable_notification"] = True
            return original(self, *args, **kwargs)

        return put_object

    return undo_all(
        [
            replace(S3Backend, "complete_multipart_upload", make_complete),
            replace(S3Backend, "put_object", make_put),
        ]
    )


#: S3's answer to a bucket policy naming a principal that does not exist (MalformedPolicy).
INVALID_PRINCIPAL = "Invalid principal in policy"


@compat_patch("s3-bucket-policy-principals-exist", gap="R5")
def bucket_policy_principals_exist() -> Undo:
    """docs/emulator.md, gap R5: S3 refuses a bucket policy whose principals do not exist.

    AWS answers PutBucketPolicy with 400 ``MalformedPolicy`` "Invalid principal in policy" when a
    ``Principal`` is not valid, among others when it names an IAM user or role that does not
    exist (https://repost.aws/knowledge-center/s3-invalid-principal-in-policy-error; the
    principal forms:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-bucket-user-policy-specifying-principal-intro.html).
    moto stores any bucket policy (``S3Backend.put_bucket_policy``). The patch refuses a policy
    naming an IAM user or role ARN of the bucket's partition that moto's IAM does not have (the
    check KMS key policies get: :func:`tooling.emulator.principals.missing_principals`);
    ``"*"``, account and service principals pass as before. A missing bucket still answers
    NoSuchBucket first.
    """
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend

    from tooling.emulator.principals import missing_principals

    def make_put(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def put_bucket_policy(self: S3Backend, bucket_name: str, policy: bytes) -> None:
            bucket = self.get_bucket(bucket_name)
            if missing_principals(policy, partition=bucket.partition):
                raise S3ClientError("MalformedPolicy", INVALID_PRINCIPAL)
            original(self, bucket_name, policy)

        return put_bucket_policy

    return replace(S3Backend, "put_bucket_policy", make_put)


#: S3's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (
    bucket_policy_secure_transport,
    logging_policy_with_wildcard_principal,
    notifications_invoke_lambda_asynchronously,
    bucket_policy_principals_exist,
    multipart_upload_notifies_once,
)
