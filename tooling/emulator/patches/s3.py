"""Compatibility patches of moto's S3: bucket policies."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace

__all__ = ["PATCHES", "bucket_policy_secure_transport", "logging_policy_with_wildcard_principal"]

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
    """docs/emulator.md, gap 7 (found by the local deploy): TLS-only bucket policies lock moto
    out.

    moto 5.2.5 checks a bucket's policy on every object request
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
    """docs/emulator.md, gap 6 (found by the local deploy): moto crashes on the logging check.

    moto 5.2.5's ``FakeBucket._log_permissions_enabled_policy`` (PutBucketLogging: does the
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


#: S3's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (
    bucket_policy_secure_transport,
    logging_policy_with_wildcard_principal,
)
