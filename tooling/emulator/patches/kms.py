"""Compatibility patches of moto's KMS: key rotation, key policy principals."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace, undo_all

__all__ = ["INVALID_PRINCIPALS", "PATCHES", "key_policy_principals_exist", "rotation_period"]


@compat_patch("kms-rotation-period", gap="4")
def rotation_period() -> Undo:
    """docs/emulator.md, gap 4: KMS forgets the rotation period.

    moto's EnableKeyRotation ignores ``RotationPeriodInDays`` and GetKeyRotationStatus
    returns only ``KeyRotationEnabled``, so ``aws_kms_key.rotation_period_in_days = 365`` reads
    back as 0 and shows ``0 -> 365`` on every plan. The patch keeps the period (AWS's default
    365 when not given) and returns it while rotation is enabled, like AWS.
    """
    from moto.kms.responses import KmsResponse

    attribute = "_tap_rotation_period_in_days"

    def make_enable(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def enable_key_rotation(self: KmsResponse) -> str:
            result = original(self)
            key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
            setattr(key, attribute, int(self._get_param("RotationPeriodInDays") or 365))
            return result

        return enable_key_rotation

    def make_status(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def get_key_rotation_status(self: KmsResponse) -> str:
            body = json.loads(original(self))
            key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
            if body.get("KeyRotationEnabled"):
                body["RotationPeriodInDays"] = getattr(key, attribute, 365)
                body["KeyId"] = key.id
            return json.dumps(body)

        return get_key_rotation_status

    return undo_all(
        [
            replace(KmsResponse, "enable_key_rotation", make_enable),
            replace(KmsResponse, "get_key_rotation_status", make_status),
        ]
    )


#: KMS's answer to a key policy naming a principal that does not exist (MalformedPolicyDocument).
INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."


@compat_patch("kms-key-policy-principals-exist", gap="R1")
def key_policy_principals_exist() -> Undo:
    """docs/emulator.md, gap R1: KMS refuses a key policy whose principals do not exist.

    AWS documents for the ``Policy`` of CreateKey and PutKeyPolicy: "The principals in the key
    policy must exist and be visible to AWS KMS", and refuses a policy that breaks this with
    400 ``MalformedPolicyDocumentException`` "Policy contains a statement with one or more
    invalid principals." (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html,
    https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html,
    https://repost.aws/knowledge-center/kms-policy-error-invalid-principals).
    ``BypassPolicyLockoutSafetyCheck`` skips only the lockout safety check, not this one.
    moto stores any key policy. The patch refuses, before moto sees it, a policy naming an IAM
    user or role ARN (of the request's partition) that moto's IAM does not have
    (:func:`tooling.emulator.principals.missing_principals`); account, ``"*"`` and service
    principals pass as before. PutKeyPolicy on a key that does not exist still answers
    NotFoundException first.
    """
    from moto.core.exceptions import JsonRESTError
    from moto.kms.responses import KmsResponse
    from moto.utilities.utils import get_partition

    from tooling.emulator.principals import missing_principals

    def refuse_missing_principals(response: KmsResponse) -> None:
        policy = response._get_param("Policy")
        if isinstance(policy, str) and missing_principals(
            policy, partition=get_partition(response.region)
        ):
            raise JsonRESTError("MalformedPolicyDocumentException", INVALID_PRINCIPALS)

    def make_create(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def create_key(self: KmsResponse) -> str:
            refuse_missing_principals(self)
            return original(self)

        return create_key

    def make_put(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def put_key_policy(self: KmsResponse) -> str:
            self._validate_cmk_id(self._get_param("KeyId"))
            refuse_missing_principals(self)
            return original(self)

        return put_key_policy

    return undo_all(
        [
            replace(KmsResponse, "create_key", make_create),
            replace(KmsResponse, "put_key_policy", make_put),
        ]
    )


#: KMS's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (rotation_period, key_policy_principals_exist)
