"""The CI pipeline's identity in each account: GitHub's OIDC provider, the plan role, the drift
role and one deploy role per environment, as pure policy documents built from platform.toml
``[pipeline]`` and the synthesized stacks (``./tap bootstrap-backend`` creates them:
:mod:`.pipeline_roles`).

Trust (IAM User Guide, "Create a role for OpenID Connect federation",
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html, and
GitHub's "Configuring OpenID Connect in Amazon Web Services",
https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services):
only ``sts:AssumeRoleWithWebIdentity`` by the account's provider for
``token.actions.githubusercontent.com``, with ``StringEquals`` on both ``aud``
(``sts.amazonaws.com``, the audience of aws-actions/configure-aws-credentials) and ``sub``: the
plan role ``repo:OWNER/REPO:pull_request`` and ``repo:OWNER/REPO:ref:refs/heads/main`` (the
``prod-plan`` job of deploy.yml runs on a push to main in no GitHub environment), the drift role
``repo:OWNER/REPO:ref:refs/heads/main`` (the scheduled drift.yml runs on the default branch),
each deploy role ``repo:OWNER/REPO:environment:<its GitHub environment>``. A condition key with
a list of values matches a request whose value is any of them (IAM User Guide, "Multivalued
context keys": https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html).
Without the ``sub`` condition any workflow of any repository on GitHub could assume the role.
A job that names a GitHub environment gets that environment's ``sub`` whatever triggered it
(GitHub, "OpenID Connect reference":
https://docs.github.com/en/actions/reference/security/oidc), so the environment's protection
rules in GitHub (reviewers, deployment branches) are what guards a deploy role.

Permissions. The plan role reads: the ``plan`` entries of :mod:`.deploy_permissions` for the
block types the account's environments synthesize (configuration metadata, never data: a PR
author can read nothing a plan does not show; hence not AWS's ReadOnlyAccess, which includes
``s3:GetObject`` on every bucket and ``dynamodb:Scan`` of every table, the trade data included)
and each environment's state: ``s3:ListBucket`` on its state bucket, ``s3:GetObject`` under its
key prefix, ``kms:Decrypt`` with its state key, ``dynamodb:GetItem`` of its own items of the
lock table (the S3 backend compares the state's digest kept there; a failed read is only a
warning). Nothing that writes: pull-request plans run with ``-lock=false``, taking no lock
(neither the lock table's item nor ``use_lockfile``'s ``.tflock`` object). The global
deployment's primary application stack reads its master password through an ephemeral resource,
which Terraform opens whenever it needs the value, a plan included (Terraform, "ephemeral block
reference": https://developer.hashicorp.com/terraform/language/ephemeral); the plan role may
not read secret values, so a pull-request plan of that one stack fails: it is planned by the
deploy job. The drift role: the plan role's reads and one write, ``cloudwatch:PutMetricData``
of the drift metric only (``cloudwatch:namespace`` equal to ``trading_infra.drift_metric
.NAMESPACE``: CloudWatch User Guide, "Using condition keys to limit access to CloudWatch
namespaces",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html);
the plan role stays read-only. Each deploy role: ``plan`` and ``apply`` of its environment's
types, scoped by :func:`.permission_scopes.stack_statements`; its state read and written, its
items of the lock table (``dynamodb:LeadingKeys``) and the lock file objects; what
``./tap deploy --target aws`` calls besides Terraform (preflight's reads, the idempotent
bootstrap of its state bucket, key and lock table); the denies that keep it from the backend and
keys of the account's other environments (:mod:`.pipeline_backend`); and what ``./tap verify``
calls after the deploy (:mod:`.pipeline_verify`).

IAM limits (IAM User Guide, "IAM and AWS STS quotas",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): a role's inline
policies together at most 10,240 characters and its trust policy at most 2,048 (whitespace not
counted); a customer-managed policy at most 6,144, and it does not count towards the role's
inline aggregate. The global deploy role's inline policies are close to 10,240 already, so the
verify statements are a customer-managed policy of their own (``<deploy role>-verify``) that
bootstrap creates and attaches to the role; :func:`check_limits` refuses more before anything
is sent.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.account_clients import AccountAccess, access_of
from tooling.lifecycle.deploy_permissions import declared_types, missing_types
from tooling.lifecycle.permission_scopes import DeploymentScope, stack_statements
from tooling.lifecycle.pipeline_backend import (
    backend_protection,
    state_statements,
    tooling_statements,
)
from tooling.lifecycle.pipeline_model import (
    DEPLOY_PURPOSE,
    DEPLOY_SESSION_SECONDS,
    DRIFT_PURPOSE,
    GITHUB_AUDIENCE,
    GITHUB_OIDC_HOST,
    MANAGED_POLICY_LIMIT,
    PLAN_PURPOSE,
    ROLE_POLICY_LIMIT,
    TRUST_POLICY_LIMIT,
    AccountFacts,
    PipelineEnvironment,
    PipelineError,
    PipelineSpec,
    RoleSpec,
)
from tooling.lifecycle.pipeline_verify import verify_statements

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

    from tooling.lifecycle.graph import StackInfo

__all__ = [
    "account_roles",
    "check_limits",
    "check_repository",
    "deploy_role",
    "drift_role",
    "pipeline_spec",
    "plan_role",
    "policy_size",
    "provider_arn",
    "stack_types",
    "trust_policy",
    "verify_policy_arn",
]


def check_repository(config: PlatformConfig, target: str) -> None:
    """Refuse the shipped placeholder repository on the aws target (the emulator has no
    GitHub, so the local target accepts it)."""
    pipeline = config.pipeline
    if target == "aws" and pipeline is not None and pipeline.is_example:
        raise PipelineError(
            f'platform.toml [pipeline] github_repository = "{pipeline.github_repository}" is '
            "the shipped example: set the repository whose workflows deploy this platform "
            '("owner/name", exactly as GitHub shows it, e.g. "acme-trading/trading-platform"), '
            "or delete the [pipeline] section to bootstrap without the pipeline's roles.",
            code=2,
        )


def pipeline_spec(
    config: PlatformConfig, types: Mapping[str, frozenset[str]]
) -> PipelineSpec | None:
    """The pipeline of ``config`` (None without ``[pipeline]``); ``types``: the block types
    each environment's synthesized stacks declare. A type without permissions is refused."""
    from trading_infra.context import key_admin_role

    pipeline = config.pipeline
    if pipeline is None:
        return None
    platform = config.platform.name
    environments = []
    for environment in config.environments:
        declared = types.get(environment.name, frozenset())
        unknown = missing_types(declared)
        if unknown:
            raise PipelineError(
                f"the stacks of {environment.name} declare {', '.join(unknown)}, for which no "
                "IAM permissions are known: add an entry to PERMISSIONS in "
                "tooling/lifecycle/deploy_permissions.py, then bootstrap again"
            )
        location = config.state_of(environment)
        keyed = any(region.kms_key_arn is None for region in environment.regions)
        environments.append(
            PipelineEnvironment(
                name=environment.name,
                github_environment=pipeline.github_environment(environment.name),
                deploy_role=pipeline.deploy_role_name(platform, environment.name),
                suffix=environment.suffix,
                regions=tuple(region.name for region in environment.regions),
                types=declared,
                state_bucket=location.bucket,
                state_key_prefix=location.key_prefix,
                state_kms_key=location.kms_key,
                access=access_of(environment),
                key_admin_role=key_admin_role(config.platform, environment) if keyed else None,
                assume_role_arn=environment.aws_role_arn,
            )
        )
    return PipelineSpec(
        repository=pipeline.github_repository,
        platform=platform,
        plan_role=pipeline.plan_role_name(platform),
        drift_role=pipeline.drift_role_name(platform),
        bucket_suffix=config.platform.bucket_name_suffix,
        lock_table=config.state.lock_table,
        state_region=config.state.region,
        environments=tuple(environments),
        selected=frozenset(e.name for e in environments),
        cost_center=config.platform.cost_center,
        managed_by=config.platform.managed_by,
    )


def provider_arn(facts: AccountFacts) -> str:
    """The ARN of the account's GitHub OIDC provider (IAM names it after the URL's host)."""
    return f"arn:{facts.partition}:iam::{facts.account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


def trust_policy(provider: str, subjects: Sequence[str]) -> dict[str, Any]:
    """Who may assume a pipeline role: GitHub tokens of ``provider`` whose ``sub`` is one of
    ``subjects`` (module docstring)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": GITHUB_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": list(subjects),
                    }
                },
            }
        ],
    }


def _scope(
    spec: PipelineSpec, environments: Collection[PipelineEnvironment], facts: AccountFacts
) -> DeploymentScope:
    """Where ``environments`` deploy, as :func:`.permission_scopes.stack_statements` scopes it."""
    suffix = facts.account_id if spec.bucket_suffix == "account-id" else spec.bucket_suffix
    return DeploymentScope(
        account_id=facts.account_id,
        partition=facts.partition,
        platform=spec.platform,
        bucket_suffix=suffix,
        deployments=tuple((e.suffix, e.regions) for e in environments),
    )


def _plan_reads(
    spec: PipelineSpec, environments: Collection[PipelineEnvironment], facts: AccountFacts
) -> list[dict[str, Any]]:
    """What a plan of ``environments``' stacks reads: their configuration and states."""
    ordered = sorted(environments, key=lambda e: e.name)
    types = frozenset().union(*(e.types for e in ordered))
    statements = stack_statements(types, _scope(spec, ordered, facts), apply=False)
    return statements + state_statements(spec, ordered, facts, write=False)


def _main_subject(spec: PipelineSpec) -> str:
    """The ``sub`` of a job on a push to (or a schedule of) main, in no GitHub environment."""
    return f"repo:{spec.repository}:ref:refs/heads/main"


def plan_role(
    spec: PipelineSpec, environments: Collection[PipelineEnvironment], facts: AccountFacts
) -> RoleSpec:
    """The account's read-only role of pull-request plans and of deploy.yml's ``prod-plan``,
    over ``environments``' stacks and states (module docstring)."""
    subjects = [f"repo:{spec.repository}:pull_request", _main_subject(spec)]
    statements = _plan_reads(spec, environments, facts)
    return RoleSpec(
        name=spec.plan_role,
        trust=trust_policy(provider_arn(facts), subjects),
        policies={"plan-read-only": {"Version": "2012-10-17", "Statement": statements}},
        description=(
            f"Plans of {spec.repository} (pull requests, main): reads {spec.platform}'s stacks "
            "and state, writes nothing. Created by ./tap bootstrap-backend."
        ),
        purpose=PLAN_PURPOSE,
    )


def drift_role(
    spec: PipelineSpec, environments: Collection[PipelineEnvironment], facts: AccountFacts
) -> RoleSpec:
    """The account's role of the nightly drift job: the plan role's reads and the drift
    metric's ``cloudwatch:PutMetricData`` (module docstring)."""
    from trading_infra.drift_metric import NAMESPACE

    publish = {
        "Sid": "PublishDriftMetric",
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": NAMESPACE}},
    }
    statements = [*_plan_reads(spec, environments, facts), publish]
    return RoleSpec(
        name=spec.drift_role,
        trust=trust_policy(provider_arn(facts), [_main_subject(spec)]),
        policies={"drift": {"Version": "2012-10-17", "Statement": statements}},
        description=(
            f"Nightly drift checks of {spec.repository} (main): reads {spec.platform}'s stacks "
            f"and state, writes only the {NAMESPACE} metric. Created by ./tap bootstrap-backend."
        ),
        purpose=DRIFT_PURPOSE,
    )


def deploy_role(
    spec: PipelineSpec,
    environment: PipelineEnvironment,
    facts: AccountFacts,
    neighbours: Collection[PipelineEnvironment] = (),
) -> RoleSpec:
    """``environment``'s deploy role (module docstring); ``neighbours``: the other environments
    of its account, whose keys it is denied."""
    scope = _scope(spec, [environment], facts)
    subject = f"repo:{spec.repository}:environment:{environment.github_environment}"
    backend = state_statements(spec, [environment], facts, write=True)
    backend += tooling_statements(environment, facts)
    backend += backend_protection(spec, environment, neighbours, facts)
    return RoleSpec(
        name=environment.deploy_role,
        trust=trust_policy(provider_arn(facts), [subject]),
        policies={
            "deploy-stacks": {
                "Version": "2012-10-17",
                "Statement": stack_statements(environment.types, scope, apply=True),
            },
            "deploy-backend": {"Version": "2012-10-17", "Statement": backend},
        },
        description=(
            f"Deploys {spec.platform} {environment.name} from the GitHub environment "
            f"{environment.github_environment} of {spec.repository}. Created by ./tap "
            "bootstrap-backend."
        ),
        purpose=DEPLOY_PURPOSE,
        max_session_seconds=DEPLOY_SESSION_SECONDS,
        managed_policies={
            verify_policy_arn(environment, facts): {
                "Version": "2012-10-17",
                "Statement": verify_statements(scope, spec.platform),
            }
        },
    )


def verify_policy_arn(environment: PipelineEnvironment, facts: AccountFacts) -> str:
    """The customer-managed policy of ``environment``'s verify runs (module docstring)."""
    return f"arn:{facts.partition}:iam::{facts.account_id}:policy/{environment.deploy_role}-verify"


def account_roles(spec: PipelineSpec, access: AccountAccess, facts: AccountFacts) -> list[RoleSpec]:
    """The pipeline roles of the account ``access`` reaches: its plan and drift roles over every
    environment of the account, the deploy roles of its selected environments."""
    environments = [e for e in spec.environments if e.access == access]
    if not environments:
        return []
    roles = [plan_role(spec, environments, facts), drift_role(spec, environments, facts)]
    for environment in environments:
        if environment.name in spec.selected:
            neighbours = [e for e in environments if e.name != environment.name]
            roles.append(deploy_role(spec, environment, facts, neighbours))
    check_limits(roles)
    _check_no_escalation(spec, environments, roles, facts)
    return roles


def policy_size(document: Mapping[str, Any]) -> int:
    """A policy's size as IAM counts it: its characters without whitespace."""
    return sum(1 for character in json.dumps(document) if not character.isspace())


def check_limits(roles: Collection[RoleSpec]) -> None:
    """Refuse a role over IAM's policy size quotas (module docstring)."""
    for role in roles:
        total = sum(policy_size(document) for document in role.policies.values())
        if total > ROLE_POLICY_LIMIT:
            raise PipelineError(
                f"the inline policies of {role.name} are {total} characters; IAM allows "
                f"{ROLE_POLICY_LIMIT} per role (IAM and AWS STS quotas): the environment "
                "declares too many resource types for one role"
            )
        for arn, document in role.managed_policies.items():
            size = policy_size(document)
            if size > MANAGED_POLICY_LIMIT:
                raise PipelineError(
                    f"the managed policy {arn} of {role.name} is {size} characters; "
                    f"IAM allows {MANAGED_POLICY_LIMIT} per managed policy (IAM and AWS STS "
                    "quotas)"
                )
        if policy_size(role.trust) > TRUST_POLICY_LIMIT:
            raise PipelineError(
                f"the trust policy of {role.name} is {policy_size(role.trust)} characters; IAM "
                f"allows {TRUST_POLICY_LIMIT}: shorten the repository or environment names"
            )


def _check_no_escalation(
    spec: PipelineSpec,
    environments: Collection[PipelineEnvironment],
    roles: Collection[RoleSpec],
    facts: AccountFacts,
) -> None:
    """A deploy role may change the platform's roles by name pattern; none of the pipeline's
    roles or key administrators may match one, or a deploy could rewrite its own permissions."""
    protected = {role.name for role in roles} | {spec.plan_role, spec.drift_role}
    protected |= {e.deploy_role for e in environments}
    protected |= {e.key_admin_role for e in environments if e.key_admin_role}
    for environment in environments:
        patterns = _scope(spec, [environment], facts).role_arns
        for name in sorted(protected):
            arn = name if name.startswith("arn:") else (
                f"arn:{facts.partition}:iam::{facts.account_id}:role/{name}"
            )  # fmt: skip
            if any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns):
                raise PipelineError(
                    f"role {name} matches the platform roles {environment.name}'s deploy role "
                    f"may change ({', '.join(patterns)}); give it a name that does not end "
                    f"with -{environment.suffix}-<region> ([pipeline] role names)"
                )


def stack_types(stacks: Iterable[StackInfo]) -> dict[str, frozenset[str]]:
    """The block types each environment's synthesized stacks declare (their cdk.tf.json)."""
    types: dict[str, frozenset[str]] = {}
    for stack in stacks:
        document = json.loads((stack.directory / "cdk.tf.json").read_text(encoding="utf-8"))
        types[stack.environment] = types.get(stack.environment, frozenset()) | declared_types(
            document
        )
    return types
