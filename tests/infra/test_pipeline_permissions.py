"""The CI pipeline's roles against the real synthesized stacks (``--target aws``): every block
type has permissions, and the names the deploy roles are scoped to are the names the stacks
create (tooling.lifecycle.deploy_permissions, .permission_scopes, .pipeline_identity)."""

from __future__ import annotations

import fnmatch

from trading_infra.config import PlatformConfig

from tests.infra.conftest import Stack
from tests.tooling.lifecycle.pipeline_support import data_reads, writes
from tooling.lifecycle.account_clients import AccountAccess
from tooling.lifecycle.deploy_permissions import PERMISSIONS, declared_types, missing_types
from tooling.lifecycle.permission_scopes import DeploymentScope
from tooling.lifecycle.pipeline_identity import account_roles, pipeline_spec
from tooling.lifecycle.pipeline_model import AccountFacts

ACCOUNT = "111122223333"
#: How the stacks name the deploying account (a Terraform token until apply).
ACCOUNT_TOKEN = "${data.aws_caller_identity.CallerIdentity.account_id}"


def _environment_of(stack: Stack, config: PlatformConfig) -> str:
    (name,) = [e.name for e in config.environments if stack.name.startswith(f"tap-{e.name}-")]
    return name


def _scopes(config: PlatformConfig) -> dict[str, DeploymentScope]:
    return {
        e.name: DeploymentScope(
            ACCOUNT, "aws", "tap", ACCOUNT, ((e.suffix, tuple(r.name for r in e.regions)),)
        )
        for e in config.environments
    }


def test_every_block_type_the_stacks_declare_has_permissions(
    aws_stacks: dict[str, Stack],
) -> None:
    declared: dict[str, list[str]] = {}
    for name, stack in sorted(aws_stacks.items()):
        for block_type in declared_types(stack.document):
            declared.setdefault(block_type, []).append(name)
    missing = {t: declared[t] for t in missing_types(declared)}
    assert missing == {}, f"no IAM permissions in PERMISSIONS for (type: stacks) {missing}"
    # The check names what it cannot find.
    assert missing_types([*declared, "aws_instance"]) == ["aws_instance"]
    # The stacks use every resource kind the table describes but the alarm subscriptions (none
    # configured in the shipped platform.toml): no stale entries.
    assert sorted(set(PERMISSIONS) - set(declared)) == ["aws_sns_topic_subscription"]


def _names(stacks: dict[str, Stack], resource_type: str, attribute: str) -> list[tuple[str, str]]:
    return [
        (stack.name, str(body[attribute]).replace(ACCOUNT_TOKEN, ACCOUNT))
        for stack in stacks.values()
        for body in stack.resources(resource_type).values()
    ]


def _matches(arn: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


def test_each_deploy_role_may_change_and_pass_exactly_its_deployments_roles(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    scopes = _scopes(config)
    roles = _names(aws_stacks, "aws_iam_role", "name")
    assert len(roles) == 30  # 4 per application stack, 1 per network stack
    for stack_name, role in roles:
        owner = _environment_of(aws_stacks[stack_name], config)
        arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
        allowed = [e for e, scope in scopes.items() if _matches(arn, scope.role_arns)]
        assert allowed == [owner], f"{role} of {stack_name} is within reach of {allowed}"


def test_each_deploy_role_may_change_exactly_its_deployments_buckets(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    scopes = _scopes(config)
    buckets = _names(aws_stacks, "aws_s3_bucket", "bucket")
    assert len(buckets) == 12
    for stack_name, bucket in buckets:
        owner = _environment_of(aws_stacks[stack_name], config)
        arn = f"arn:aws:s3:::{bucket}"
        allowed = [e for e, scope in scopes.items() if _matches(arn, scope.bucket_arns)]
        assert allowed == [owner], f"{bucket} of {stack_name} is within reach of {allowed}"


def test_each_deploy_role_may_change_exactly_its_deployments_key_aliases(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    scopes = _scopes(config)
    aliases = _names(aws_stacks, "aws_kms_alias", "name")
    assert len(aliases) == 18
    for stack_name, alias in aliases:
        owner = _environment_of(aws_stacks[stack_name], config)
        region = aws_stacks[stack_name].document["provider"]["aws"][0]["region"]
        arn = f"arn:aws:kms:{region}:{ACCOUNT}:{alias}"
        allowed = [e for e, scope in scopes.items() if _matches(arn, scope.alias_arns)]
        assert allowed == [owner], f"{alias} of {stack_name} is within reach of {allowed}"


def test_the_roles_of_the_real_stacks_fit_iam_and_the_plan_role_only_reads(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    types: dict[str, frozenset[str]] = {}
    for stack in aws_stacks.values():
        environment = _environment_of(stack, config)
        types[environment] = types.get(environment, frozenset()) | declared_types(stack.document)
    spec = pipeline_spec(config, types)
    assert spec is not None
    # Within IAM's size quotas and out of the deploy roles' reach, else this raises.
    roles = account_roles(spec, AccountAccess(), AccountFacts(ACCOUNT, "aws"))
    assert [r.name for r in roles] == [
        "tap-pipeline-plan",
        "tap-pipeline-drift",
        "tap-pipeline-deploy-dev",
        "tap-pipeline-deploy-staging",
        "tap-pipeline-deploy-prod",
        "tap-pipeline-deploy-global",
    ]
    plan = roles[0].policies["plan-read-only"]
    assert writes(plan) == []
    assert data_reads(plan) == []
    assert writes(roles[1].policies["drift"]) == ["cloudwatch:PutMetricData"]
