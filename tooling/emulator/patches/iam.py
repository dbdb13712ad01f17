"""Compatibility patches of moto's IAM: AWS managed policies."""

from __future__ import annotations

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch

__all__ = ["PATCHES", "aws_managed_policies"]


@compat_patch("iam-aws-managed-policies", gap="9")
def aws_managed_policies() -> Undo:
    """docs/emulator.md, gap 9 (found by the local deploy): AWS managed policies do not exist.

    moto 5.2.5 creates an account's IAM backend without AWS's managed policies unless its
    ``iam.load_aws_managed_policies`` setting is on (``moto.core.config.default_user_config``, or
    ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``), so attaching e.g.
    ``arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`` (the role of RDS
    enhanced monitoring) fails with NoSuchEntity. The patch turns the setting on: every IAM
    backend moto creates from then on (also after ``/moto-api/reset``) has the 1,500-odd AWS
    managed policies moto ships, like every AWS account (~0.3 s per account).
    """
    from moto.core.config import default_user_config

    iam = default_user_config.setdefault("iam", {})
    previous = iam.get("load_aws_managed_policies", False)
    iam["load_aws_managed_policies"] = True

    def undo() -> None:
        iam["load_aws_managed_policies"] = previous

    return undo


#: IAM's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (aws_managed_policies,)
