"""Compatibility patches of moto's IAM: AWS managed policies, execution role policies."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace

__all__ = ["PATCHES", "aws_managed_policies", "execution_role_policies"]


@compat_patch("iam-aws-managed-policies", gap="9")
def aws_managed_policies() -> Undo:
    """docs/emulator.md, gap 9: AWS managed policies do not exist.

    moto creates an account's IAM backend without AWS's managed policies unless its
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


@compat_patch("iam-execution-role-policies", gap="R7")
def execution_role_policies() -> Undo:
    """docs/emulator.md, gap R7: AWS authorizes a function's calls with its execution role.

    A Lambda function's code calls AWS with temporary credentials of its execution role
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html), and AWS
    allows a call only if the role's policies allow it
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
    an explicit Deny in any policy denies, an Allow in an identity-based policy (within the
    permissions boundary) or in the resource's policy allows, anything else is denied. moto
    checks nothing unless its IAM checks are on for every request
    (``settings.INITIAL_NO_AUTH_ACTION_COUNT``), which would refuse Terraform's and the tests'
    ``testing`` credentials, and when they are on it evaluates most requests against the
    resource ``"*"`` and takes conditions it cannot evaluate as met.

    The runtime gives each worker a session of its function's role
    (:mod:`tooling.emulator.runtime.role_credentials`). The patch wraps moto's one entry point
    of every request's authorization (``ActionAuthenticatorMixin``'s
    ``_authenticate_and_authorize_action``): a request signed with a key issued to a function
    is authenticated by moto (key, session token, signature) and authorized by
    :mod:`tooling.emulator.function_access` against that role's policies (actions and resource
    ARNs as the service defines them, conditions with the function's request context), and
    refused with the service's AccessDenied error; every other request (Terraform's, the tasks'
    and the tests' ``testing`` credentials) goes to moto unchanged, unauthenticated.
    """
    from moto.core.authorization import ActionAuthenticatorMixin

    from tooling.emulator import function_access

    def make(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def _authenticate_and_authorize_action(
            self: Any, iam_request_cls: type, resource: str = "*"
        ) -> None:
            session = function_access.caller_session(self.headers)
            if session is None:
                original(self, iam_request_cls, resource)
                return
            function_access.authorize(self, iam_request_cls, resource, session)

        return _authenticate_and_authorize_action

    return replace(ActionAuthenticatorMixin, "_authenticate_and_authorize_action", make)


#: IAM's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (aws_managed_policies, execution_role_policies)
