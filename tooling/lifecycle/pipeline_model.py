"""The CI pipeline's identity as data: the pipeline of platform.toml ``[pipeline]`` with its
environments, the account it is created in, and one role as it is to be (trust, inline and
customer-managed policies, description), with the names and limits every part uses. Built by
:mod:`.pipeline_identity`, created by :mod:`.pipeline_roles`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

from tooling.lifecycle.account_clients import AccountAccess
from tooling.lifecycle.errors import LifecycleError

__all__ = [
    "DEPLOY_PURPOSE",
    "DEPLOY_SESSION_SECONDS",
    "DRIFT_PURPOSE",
    "GITHUB_AUDIENCE",
    "GITHUB_OIDC_HOST",
    "GITHUB_OIDC_URL",
    "MANAGED_POLICY_LIMIT",
    "PLAN_PURPOSE",
    "ROLE_POLICY_LIMIT",
    "TRUST_POLICY_LIMIT",
    "AccountFacts",
    "PipelineEnvironment",
    "PipelineError",
    "PipelineSpec",
    "RoleSpec",
]

#: GitHub's OIDC issuer, the host IAM names the provider after, and the audience
#: aws-actions/configure-aws-credentials requests (GitHub, "Configuring OpenID Connect in
#: Amazon Web Services").
GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
#: IAM quotas: the aggregate of a role's inline policies, and its trust policy, in characters
#: without whitespace (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
ROLE_POLICY_LIMIT, TRUST_POLICY_LIMIT = 10_240, 2_048
#: IAM quotas: one customer-managed policy, in characters without whitespace (same page); each
#: counts on its own, not towards the role's inline aggregate.
MANAGED_POLICY_LIMIT = 6_144
#: A deploy role's longest session: a first deploy of an Aurora global database runs longer
#: than the default hour. The workflow asks for it (``role-duration-seconds``); 1-12 h allowed.
DEPLOY_SESSION_SECONDS = 4 * 3600
#: The ``Purpose`` tag that marks a role as the pipeline's own: bootstrap changes no other role.
PLAN_PURPOSE, DEPLOY_PURPOSE = "github-actions-plan", "github-actions-deploy"
DRIFT_PURPOSE = "github-actions-drift"


class PipelineError(LifecycleError):
    """The pipeline's identity cannot be created as configured; the message says what to change."""


@dataclass(frozen=True)
class PipelineEnvironment:
    """One environment as the pipeline sees it: its deploy role and GitHub environment, where
    it deploys, the block types its stacks declare, and its state."""

    name: str
    github_environment: str
    deploy_role: str
    suffix: str
    regions: tuple[str, ...]
    types: frozenset[str]
    state_bucket: str
    state_key_prefix: str
    state_kms_key: str
    access: AccountAccess = field(default_factory=AccountAccess)
    #: The key administrator preflight reads (a role name or ARN), None when none is named.
    key_admin_role: str | None = None
    #: ``aws_role_arn``: Terraform assumes it from the deploy role's session.
    assume_role_arn: str | None = None


@dataclass(frozen=True)
class PipelineSpec:
    """platform.toml ``[pipeline]`` with every environment; ``selected``: the environments whose
    deploy roles this bootstrap creates (the plan role always covers its whole account)."""

    repository: str
    platform: str
    plan_role: str
    drift_role: str
    bucket_suffix: str
    lock_table: str
    state_region: str
    environments: tuple[PipelineEnvironment, ...]
    selected: frozenset[str]
    cost_center: str = ""
    managed_by: str = ""

    def for_environments(self, names: Collection[str]) -> PipelineSpec:
        """Deploy roles of ``names`` only; the environments sharing an account with them stay
        (the plan role of that account reads all their states)."""
        accounts = {e.access for e in self.environments if e.name in names}
        return replace(
            self,
            environments=tuple(e for e in self.environments if e.access in accounts),
            selected=self.selected & frozenset(names),
        )


@dataclass(frozen=True)
class AccountFacts:
    """The account the roles are created in, as STS reports it."""

    account_id: str
    partition: str


@dataclass(frozen=True)
class RoleSpec:
    """One pipeline role: its trust, inline policies (name -> document), description, and the
    customer-managed policies created for it and attached to it (policy ARN -> document)."""

    name: str
    trust: dict[str, Any]
    policies: dict[str, dict[str, Any]]
    description: str
    purpose: str
    max_session_seconds: int = 3600
    managed_policies: dict[str, dict[str, Any]] = field(default_factory=dict)
