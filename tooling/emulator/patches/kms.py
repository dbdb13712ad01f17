"""Compatibility patches of moto's KMS: key rotation."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace, undo_all

__all__ = ["PATCHES", "rotation_period"]


@compat_patch("kms-rotation-period", gap="4")
def rotation_period() -> Undo:
    """docs/emulator.md, gap 4 (found by the local deploy): KMS forgets the rotation period.

    moto 5.2.5's EnableKeyRotation ignores ``RotationPeriodInDays`` and GetKeyRotationStatus
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


#: KMS's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (rotation_period,)
