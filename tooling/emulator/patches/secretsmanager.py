"""Compatibility patches of moto's Secrets Manager: secret rotation."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace

__all__ = ["PATCHES", "managed_rotation", "rotation_without_invocation"]


@compat_patch("secretsmanager-managed-rotation", gap="8")
def managed_rotation() -> Undo:
    """docs/emulator.md, gap 8: managed rotation cannot be
    cancelled.

    A secret owned by a service (``OwningService``, e.g. the master user secret RDS creates
    with ``manage_master_user_password``) rotates through the service's managed rotation, with
    no rotation Lambda (RotateSecret with only ``RotationRules``, which moto accepts).
    moto's ``SecretsManagerBackend.cancel_rotate_secret`` refuses every secret without a
    ``RotationLambdaARN`` ("doesn't already have a Lambda function ARN configured"), so
    destroying ``aws_secretsmanager_secret_rotation`` of such a secret fails. The patch lets
    CancelRotateSecret turn rotation off for a service-owned secret without a Lambda, like
    AWS; any other secret without a Lambda still gets moto's (AWS's documented) error.
    """
    from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

    def make_cancel(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def cancel_rotate_secret(self: SecretsManagerBackend, secret_id: str) -> str:
            secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
            if (
                isinstance(secret, FakeSecret)
                and not secret.is_deleted()
                and not secret.rotation_lambda_arn
                and secret.owning_service
            ):
                secret.rotation_enabled = False
                return secret.to_short_dict()
            return original(self, secret_id)

        return cancel_rotate_secret

    return replace(SecretsManagerBackend, "cancel_rotate_secret", make_cancel)


@compat_patch("secretsmanager-rotation-without-invocation", gap="5")
def rotation_without_invocation() -> Undo:
    """docs/emulator.md, gap 5: RotateSecret with a
    Lambda runs it.

    moto's ``SecretsManagerBackend.rotate_secret`` with a ``RotationLambdaARN`` invokes
    the function for every rotation step (create/set/test/finish); invoking Lambda code needs
    Docker, each step fails (only logged), and moto then makes the new, empty ``AWSPENDING``
    version current: GetSecretValue of the secret fails from then on ("can't find the specified
    secret value for staging label: AWSCURRENT"), so the next plan's ephemeral read of the
    master password (``master_password_wo``) fails. On AWS, RotateSecret records the schedule
    and the function (which really runs) writes a new value. The patch does the recording
    part only: for a live (not deleted, not replica) secret it checks, like moto, that the
    function exists and the rules are in range, then sets ``RotationLambdaARN``,
    ``RotationRules`` and ``RotationEnabled`` (and the next rotation date) and leaves the
    secret's versions as they are, i.e. as if the function had not run yet.
    RotateSecret without a Lambda (managed rotation) is unchanged.
    """
    import time

    from moto.awslambda.utils import get_backend
    from moto.secretsmanager.exceptions import InvalidParameterException, ResourceNotFoundException
    from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

    def make_rotate(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def rotate_secret(
            self: SecretsManagerBackend,
            secret_id: str,
            client_request_token: str | None = None,
            rotation_lambda_arn: str | None = None,
            rotation_rules: dict[str, Any] | None = None,
            rotate_immediately: bool = True,
        ) -> str:
            secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
            if (
                not rotation_lambda_arn
                or not isinstance(secret, FakeSecret)
                or secret.is_deleted()
                or len(rotation_lambda_arn) > 2048
            ):
                return original(
                    self,
                    secret_id,
                    client_request_token=client_request_token,
                    rotation_lambda_arn=rotation_lambda_arn,
                    rotation_rules=rotation_rules,
                    rotate_immediately=rotate_immediately,
                )
            try:
                get_backend(self.account_id, self.region_name).get_function(rotation_lambda_arn)
            except Exception:
                msg = f"Resource not found for ARN '{rotation_lambda_arn}'."
                raise ResourceNotFoundException(msg) from None
            days = (rotation_rules or {}).get("AutomaticallyAfterDays")
            if days is not None:
                if not 1 <= int(days) <= 1000:
                    msg = "RotationRules.AutomaticallyAfterDays must be within 1-1000."
                    raise InvalidParameterException(msg)
                secret.auto_rotate_after_days = int(days)
                secret.next_rotation_date = int(time.time()) + int(days) * 86400
            secret.rotation_lambda_arn = rotation_lambda_arn
            secret.rotation_requested = True
            if secret.auto_rotate_after_days > 0:
                secret.rotation_enabled = True
            return secret.to_short_dict()

        return rotate_secret

    return replace(SecretsManagerBackend, "rotate_secret", make_rotate)


#: Secrets Manager's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (managed_rotation, rotation_without_invocation)
