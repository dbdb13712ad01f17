"""tooling.lifecycle.pipeline_identity: the CI pipeline's roles as policy documents, from
platform.toml ``[pipeline]`` and the block types of the synthesized stacks (no AWS here; the
bootstrap that creates them on moto: test_backend.py)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from trading_infra.config import load_config
from trading_infra.drift_metric import NAMESPACE

from tests.tooling.lifecycle.pipeline_support import (
    REPOSITORY,
    ROOT,
    data_reads,
    pipeline_config,
    writes,
)
from tooling.lifecycle.account_clients import AccountAccess
from tooling.lifecycle.commands.bootstrap import pipeline_for
from tooling.lifecycle.deploy_permissions import PERMISSIONS
from tooling.lifecycle.graph import StackInfo
from tooling.lifecycle.pipeline_identity import (
    account_roles,
    check_limits,
    check_repository,
    pipeline_spec,
    policy_size,
    stack_types,
    trust_policy,
)
from tooling.lifecycle.pipeline_model import AccountFacts, PipelineError, PipelineSpec, RoleSpec
from tooling.lifecycle.workspace import Workspace

FACTS = AccountFacts("111122223333", "aws")
PROVIDER = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
#: Every block type the permissions know, for every environment: the widest policies.
ALL_TYPES = frozenset(PERMISSIONS)


def _spec(**pipeline: Any) -> PipelineSpec:
    config = pipeline_config(**pipeline)
    spec = pipeline_spec(config, {e.name: ALL_TYPES for e in config.environments})
    assert spec is not None
    return spec


def _roles(spec: PipelineSpec) -> dict[str, RoleSpec]:
    return {role.name: role for role in account_roles(spec, AccountAccess(), FACTS)}


def _statement(role: RoleSpec, policy: str, sid: str) -> dict[str, Any]:
    (found,) = [s for s in role.policies[policy]["Statement"] if s["Sid"] == sid]
    return dict(found)


def test_the_plan_role_trusts_pull_requests_and_main_of_the_repository_only() -> None:
    plan = _roles(_spec())["tap-pipeline-plan"]
    assert plan.trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        # Pull-request plans, and deploy.yml's prod-plan on a push to main.
                        "token.actions.githubusercontent.com:sub": [
                            "repo:acme-trading/trading-platform:pull_request",
                            "repo:acme-trading/trading-platform:ref:refs/heads/main",
                        ],
                    }
                },
            }
        ],
    }
    assert plan.max_session_seconds == 3600


def test_a_deploy_role_trusts_jobs_of_its_github_environment_only() -> None:
    roles = _roles(_spec(github_environments={"prod": "production"}))
    assert sorted(roles) == [
        "tap-pipeline-deploy-dev",
        "tap-pipeline-deploy-global",
        "tap-pipeline-deploy-prod",
        "tap-pipeline-deploy-staging",
        "tap-pipeline-drift",
        "tap-pipeline-plan",
    ]
    assert roles["tap-pipeline-deploy-prod"].trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": [
                            "repo:acme-trading/trading-platform:environment:production"
                        ],
                    }
                },
            }
        ],
    }
    # Without a mapping the GitHub environment is the platform environment's name.
    staging = roles["tap-pipeline-deploy-staging"].trust["Statement"][0]["Condition"]
    assert staging["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        "repo:acme-trading/trading-platform:environment:staging"
    ]
    # A first deploy of the Aurora global database outlasts the default hour.
    assert roles["tap-pipeline-deploy-prod"].max_session_seconds == 14400


def test_the_plan_role_allows_reads_only_and_reads_no_data_but_the_state() -> None:
    plan = _roles(_spec())["tap-pipeline-plan"]
    assert list(plan.policies) == ["plan-read-only"]
    document = plan.policies["plan-read-only"]
    assert writes(document) == []
    assert data_reads(document) == []
    assert {s["Effect"] for s in document["Statement"]} == {"Allow"}


def test_the_drift_role_trusts_main_of_the_repository_only() -> None:
    drift = _roles(_spec())["tap-pipeline-drift"]
    assert drift.trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": [
                            "repo:acme-trading/trading-platform:ref:refs/heads/main"
                        ],
                    }
                },
            }
        ],
    }
    assert (drift.purpose, drift.max_session_seconds) == ("github-actions-drift", 3600)


def test_the_drift_role_reads_as_the_plan_role_and_writes_only_the_drift_metric() -> None:
    roles = _roles(_spec())
    plan = roles["tap-pipeline-plan"].policies["plan-read-only"]["Statement"]
    drift = roles["tap-pipeline-drift"]
    assert list(drift.policies) == ["drift"]
    document = drift.policies["drift"]
    assert document["Statement"][:-1] == plan
    assert document["Statement"][-1] == {
        "Sid": "PublishDriftMetric",
        "Effect": "Allow",
        "Action": "cloudwatch:PutMetricData",
        "Resource": "*",
        "Condition": {"StringEquals": {"cloudwatch:namespace": "TAP/Drift"}},
    }
    # Its only write is that one, conditioned on the drift namespace.
    assert writes(document) == ["cloudwatch:PutMetricData"]
    (writing,) = [s for s in document["Statement"] if writes({"Statement": [s]})]
    assert writing["Condition"] == {"StringEquals": {"cloudwatch:namespace": NAMESPACE}}
    assert data_reads(document) == []


def test_a_trust_policy_accepts_any_of_its_subjects() -> None:
    trust = trust_policy(PROVIDER, ["repo:a/b:pull_request", "repo:a/b:ref:refs/heads/main"])
    (statement,) = trust["Statement"]
    assert statement["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": [
            "repo:a/b:pull_request",
            "repo:a/b:ref:refs/heads/main",
        ],
    }


def test_a_deploy_role_may_run_verify_on_its_own_deployment_only() -> None:
    dev = _roles(_spec())["tap-pipeline-deploy-dev"]
    arn = "arn:aws:iam::111122223333:policy/tap-pipeline-deploy-dev-verify"
    assert list(dev.managed_policies) == [arn]
    bucket = "arn:aws:s3:::tap-*-dev-ap-southeast-1-111122223333"
    assert dev.managed_policies[arn] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                # GET /health is an open route: only the SigV4-signed session routes ask IAM.
                "Sid": "VerifyApi",
                "Effect": "Allow",
                "Action": ["execute-api:Invoke"],
                "Resource": [
                    "arn:aws:execute-api:ap-southeast-1:111122223333:*/*/POST/sessions",
                    "arn:aws:execute-api:ap-southeast-1:111122223333:*/*/DELETE/sessions/*",
                ],
            },
            {
                "Sid": "VerifyUpload",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"{bucket}/incoming/verify/*"],
            },
            {
                "Sid": "VerifyListCanary",
                "Effect": "Allow",
                "Action": ["s3:ListBucketVersions"],
                "Resource": [bucket],
                "Condition": {
                    "StringLike": {
                        "s3:prefix": ["incoming/verify/*", "quarantine/incoming/verify/*"]
                    }
                },
            },
            {
                "Sid": "VerifyRemoveCanary",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
                "Resource": [
                    f"{bucket}/incoming/verify/*",
                    f"{bucket}/quarantine/incoming/verify/*",
                ],
            },
            {
                "Sid": "VerifyDataKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": ["arn:aws:kms:ap-southeast-1:111122223333:key/*"],
                "Condition": {
                    "ForAnyValue:StringLike": {"kms:ResourceAliases": ["alias/tap-*-dev"]},
                    "StringEquals": {
                        "kms:ViaService": [
                            "s3.ap-southeast-1.amazonaws.com",
                            "sqs.ap-southeast-1.amazonaws.com",
                        ]
                    },
                },
            },
            {
                "Sid": "VerifyTrades",
                "Effect": "Allow",
                "Action": ["dynamodb:DeleteItem"],
                "Resource": ["arn:aws:dynamodb:ap-southeast-1:111122223333:table/tap-*-dev"],
            },
            {
                "Sid": "VerifyProcessorLog",
                "Effect": "Allow",
                "Action": ["logs:FilterLogEvents"],
                "Resource": [
                    "arn:aws:logs:ap-southeast-1:111122223333:log-group:/aws/lambda/tap-*-dev:*"
                ],
            },
            {
                "Sid": "VerifyDeadLetters",
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage"],
                "Resource": ["arn:aws:sqs:ap-southeast-1:111122223333:tap-*-dev"],
            },
        ],
    }


def test_the_verify_policy_is_managed_because_the_inline_policies_have_no_room_for_it() -> None:
    # IAM counts a role's inline policies together (10,240); the global deploy role's are close.
    deploy = _roles(_spec())["tap-pipeline-deploy-global"]
    inline = sum(policy_size(document) for document in deploy.policies.values())
    (verify,) = deploy.managed_policies.values()
    assert inline + policy_size(verify) > 10_240
    assert policy_size(verify) <= 6_144


def test_a_managed_policy_over_the_iam_size_quota_is_refused() -> None:
    over = RoleSpec(
        "r",
        trust={},
        policies={},
        description="",
        purpose="p",
        managed_policies={"arn:aws:iam::1:policy/m": {"Sid": "X" * 6_135}},
    )
    with pytest.raises(PipelineError) as refused:
        check_limits([over])
    assert str(refused.value) == (
        "the managed policy arn:aws:iam::1:policy/m of r is 6145 characters; IAM allows 6144 per "
        "managed policy (IAM and AWS STS quotas)"
    )


def test_the_read_only_check_fails_on_a_write() -> None:
    document = _roles(_spec())["tap-pipeline-plan"].policies["plan-read-only"]
    widened = {
        **document,
        "Statement": [
            *document["Statement"],
            {"Sid": "Widened", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*"},
        ],
    }
    assert writes(widened) == ["s3:PutObject"]


def test_the_data_read_check_fails_on_an_object_read_outside_the_state() -> None:
    document = _roles(_spec())["tap-pipeline-plan"].policies["plan-read-only"]
    widened = {
        **document,
        "Statement": [
            *document["Statement"],
            {"Sid": "Widened", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
        ],
    }
    assert writes(widened) == []  # a read ...
    assert data_reads(widened) == ["s3:Get*"]  # ... of data (s3:GetObject)


def test_the_plan_role_reads_every_state_of_its_account_and_takes_no_lock() -> None:
    plan = _roles(_spec())["tap-pipeline-plan"]
    states = [s for s in plan.policies["plan-read-only"]["Statement"] if s["Sid"].startswith("St")]
    environments = ["dev", "global", "prod", "staging"]
    assert states[1:] == [
        {
            "Sid": "StateBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::tap-terraform-state-{e}" for e in environments],
        },
        {
            "Sid": "StateObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::tap-terraform-state-{e}/tap/{e}/*" for e in environments],
        },
        {
            "Sid": "StateKeyAliases",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": "arn:aws:kms:ap-southeast-1:111122223333:key/*",
            "Condition": {
                "ForAnyValue:StringEquals": {
                    "kms:ResourceAliases": [f"alias/tap-terraform-state-{e}" for e in environments]
                }
            },
        },
        {
            # The S3 backend's digest of each state; only the items of these states.
            "Sid": "StateLockItems",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem"],
            "Resource": "arn:aws:dynamodb:ap-southeast-1:111122223333:table/tap-terraform-locks",
            "Condition": {
                "ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [
                        f"tap-terraform-state-{e}/tap/{e}/*" for e in environments
                    ]
                }
            },
        },
    ]
    assert states[0]["Sid"] == "StackServicesInRegions"


def test_a_deploy_role_writes_its_own_state_and_lock_items_only() -> None:
    backend = _roles(_spec())["tap-pipeline-deploy-dev"].policies["deploy-backend"]
    by_sid = {s["Sid"]: s for s in backend["Statement"]}
    assert by_sid["StateObjects"] == {
        "Sid": "StateObjects",
        "Effect": "Allow",
        "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
        "Resource": ["arn:aws:s3:::tap-terraform-state-dev/tap/dev/*"],
    }
    assert by_sid["StateLockItems"] == {
        "Sid": "StateLockItems",
        "Effect": "Allow",
        "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
        "Resource": "arn:aws:dynamodb:ap-southeast-1:111122223333:table/tap-terraform-locks",
        "Condition": {
            "ForAllValues:StringLike": {
                "dynamodb:LeadingKeys": ["tap-terraform-state-dev/tap/dev/*"]
            }
        },
    }
    assert by_sid["StateKeyAliases"]["Action"] == [
        "kms:Decrypt", "kms:DescribeKey", "kms:EnableKeyRotation", "kms:Encrypt",
        "kms:GenerateDataKey",
    ]  # fmt: skip


def test_a_deploy_role_is_denied_the_keys_of_its_accounts_other_deployments() -> None:
    dev = _roles(_spec())["tap-pipeline-deploy-dev"]
    assert _statement(dev, "deploy-backend", "OtherDeploymentsKeys") == {
        "Sid": "OtherDeploymentsKeys",
        "Effect": "Deny",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {
            "ForAnyValue:StringLike": {
                "kms:ResourceAliases": [
                    "alias/tap-*-global",
                    "alias/tap-*-prod",
                    "alias/tap-*-staging",
                ]
            }
        },
    }
    assert _statement(dev, "deploy-backend", "GuardStateKeyAliases") == {
        "Sid": "GuardStateKeyAliases",
        "Effect": "Deny",
        "Action": ["kms:DisableKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"],
        "Resource": "arn:aws:kms:ap-southeast-1:111122223333:key/*",
        "Condition": {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/tap-terraform-state-dev"]}
        },
    }


def test_a_deploy_role_changes_only_its_deployments_roles_and_passes_only_them() -> None:
    roles = _roles(_spec())
    statement = _statement(roles["tap-pipeline-deploy-global"], "deploy-stacks", "PlatformRoles")
    assert statement["Resource"] == [
        "arn:aws:iam::111122223333:role/tap-*-global-ap-southeast-1",
        "arn:aws:iam::111122223333:role/tap-*-global-us-east-1",
        "arn:aws:iam::111122223333:role/tap-*-global-us-east-2",
    ]
    assert "iam:PassRole" in statement["Action"]
    linked = _statement(roles["tap-pipeline-deploy-global"], "deploy-stacks", "ServiceLinkedRoles")
    assert linked["Condition"] == {
        "StringEquals": {
            "iam:AWSServiceName": [
                "dynamodb.application-autoscaling.amazonaws.com",
                "ops.apigateway.amazonaws.com",
                "rds.amazonaws.com",
                "replication.dynamodb.amazonaws.com",
            ]
        }
    }


def _regional_actions(types: frozenset[str]) -> list[str]:
    """The regional actions of dev's deploy role when dev's stacks declare only ``types``."""
    spec = pipeline_spec(pipeline_config(), {"dev": types})
    assert spec is not None
    dev = _roles(spec)["tap-pipeline-deploy-dev"]
    return list(_statement(dev, "deploy-stacks", "StackServicesInRegions")["Action"])


def test_a_deploy_role_may_delete_the_network_interfaces_lambda_leaves_in_a_subnet() -> None:
    # Destroying a subnet or a security group first deletes the ENIs of deleted functions.
    assert _regional_actions(frozenset({"aws_subnet"})) == [
        "ec2:CreateSubnet", "ec2:CreateTags", "ec2:DeleteNetworkInterface", "ec2:DeleteSubnet",
        "ec2:DeleteTags", "ec2:Describe*", "ec2:DetachNetworkInterface",
        "ec2:ModifySubnetAttribute",
    ]  # fmt: skip
    group = _regional_actions(frozenset({"aws_security_group"}))
    assert [a for a in group if "NetworkInterface" in a] == [
        "ec2:DeleteNetworkInterface",
        "ec2:DetachNetworkInterface",
    ]


def test_a_deploy_role_may_describe_the_subnets_and_groups_of_a_function_in_a_vpc() -> None:
    lambda_only = _regional_actions(frozenset({"aws_lambda_function"}))
    assert [a for a in lambda_only if a.startswith("ec2:")] == [
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ]
    # With the network's types, ec2:Describe* covers them: they take no room in the policy.
    everything = _regional_actions(ALL_TYPES)
    assert [a for a in everything if a.startswith("ec2:Describe")] == ["ec2:Describe*"]


def test_a_pipeline_role_the_deploy_roles_could_change_is_refused() -> None:
    # A plan role named like a platform role of dev would be rewritable by dev's deploys.
    spec = _spec(plan_role="tap-ci-dev-ap-southeast-1")
    with pytest.raises(PipelineError) as refused:
        account_roles(spec, AccountAccess(), FACTS)
    assert str(refused.value) == (
        "role tap-ci-dev-ap-southeast-1 matches the platform roles dev's deploy role may change "
        "(arn:aws:iam::111122223333:role/tap-*-dev-ap-southeast-1); give it a name that does "
        "not end with -dev-<region> ([pipeline] role names)"
    )


def test_a_role_over_the_iam_policy_size_quota_is_refused() -> None:
    # IAM counts characters without whitespace: {"Sid": "X...X"} is 10 plus the X's.
    at_limit = RoleSpec(
        "r", trust={}, policies={"p": {"Sid": "X" * 10_230}}, description="", purpose="p"
    )
    check_limits([at_limit])
    over = replace(at_limit, policies={"p": {"Sid": "X" * 10_200}, "q": {"Sid": "X" * 21}})
    with pytest.raises(PipelineError) as refused:
        check_limits([over])
    assert str(refused.value) == (
        "the inline policies of r are 10241 characters; IAM allows 10240 per role (IAM and AWS "
        "STS quotas): the environment declares too many resource types for one role"
    )


def test_a_block_type_without_permissions_is_refused_naming_it() -> None:
    config = pipeline_config()
    with pytest.raises(PipelineError) as refused:
        pipeline_spec(config, {"dev": frozenset({"aws_vpc", "aws_instance"})})
    assert str(refused.value) == (
        "the stacks of dev declare aws_instance, for which no IAM permissions are known: add an "
        "entry to PERMISSIONS in tooling/lifecycle/deploy_permissions.py, then bootstrap again"
    )


def test_the_example_repository_is_refused_for_aws_and_accepted_locally() -> None:
    shipped = load_config(ROOT / "platform.toml", environ={})
    assert shipped.pipeline is not None and shipped.pipeline.is_example
    check_repository(shipped, "local")
    with pytest.raises(PipelineError) as refused:
        check_repository(shipped, "aws")
    assert refused.value.code == 2
    assert str(refused.value) == (
        'platform.toml [pipeline] github_repository = "example-org/trading-platform" is the '
        "shipped example: set the repository whose workflows deploy this platform "
        '("owner/name", exactly as GitHub shows it, e.g. "acme-trading/trading-platform"), or '
        "delete the [pipeline] section to bootstrap without the pipeline's roles."
    )
    check_repository(pipeline_config(), "aws")


def test_without_a_pipeline_section_bootstrap_says_it_creates_no_pipeline_identity(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    ws = Workspace(root=tmp_path, outdir=tmp_path / "out", out=out)
    config = pipeline_config().model_copy(update={"pipeline": None})
    assert pipeline_for(ws, config) is None
    assert out.getvalue() == (
        "bootstrap-backend: no [pipeline] in platform.toml: the CI pipeline's OIDC provider and "
        "roles are not created (docs/delivery.md)\n"
    )


def test_stack_types_are_the_block_types_of_each_environments_stacks(tmp_path: Path) -> None:
    documents = {
        ("dev", "network"): {"resource": {"aws_vpc": {}}, "data": {"aws_partition": {}}},
        ("dev", "app"): {
            "resource": {"aws_dynamodb_table": {"T": {"name": "t"}}},
            "ephemeral": {"aws_secretsmanager_secret_version": {}},
        },
        ("global", "app"): {"resource": {"aws_dynamodb_table": {"T": {"replica": [{}]}}}},
    }
    stacks = []
    for (environment, part), document in documents.items():
        directory = tmp_path / f"{environment}-{part}"
        directory.mkdir()
        (directory / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")
        stacks.append(StackInfo(directory.name, directory, environment, "ap-southeast-1"))
    assert stack_types(stacks) == {
        "dev": frozenset(
            {
                "aws_vpc",
                "data.aws_partition",
                "aws_dynamodb_table",
                "ephemeral.aws_secretsmanager_secret_version",
            }
        ),
        "global": frozenset({"aws_dynamodb_table", "aws_dynamodb_table+replica"}),
    }


def test_a_bootstrap_of_one_environment_keeps_its_accounts_other_states_in_the_plan_role() -> None:
    spec = _spec().for_environments({"prod"})
    assert spec.selected == frozenset({"prod"})
    assert [e.name for e in spec.environments] == ["dev", "staging", "prod", "global"]
    roles = _roles(spec)
    assert sorted(roles) == ["tap-pipeline-deploy-prod", "tap-pipeline-drift", "tap-pipeline-plan"]
    buckets = _statement(roles["tap-pipeline-plan"], "plan-read-only", "StateBuckets")
    assert len(buckets["Resource"]) == 4
    # An environment of another account is left to that account's bootstrap.
    other = AccountAccess(role_arn="arn:aws:iam::444455556666:role/tap-deployer")
    environments = tuple(
        replace(e, access=other) if e.name == "prod" else e for e in _spec().environments
    )
    split = replace(_spec(), environments=environments).for_environments({"prod"})
    assert [e.name for e in split.environments] == ["prod"]
    assert REPOSITORY in roles["tap-pipeline-plan"].description
