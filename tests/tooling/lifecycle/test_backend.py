"""tooling.lifecycle.backend: the state backend read from the validated configuration, and its
idempotent bootstrap (on an in-process moto), including the key administrator it may create and
the CI pipeline's identity (GitHub's OIDC provider, the plan and deploy roles)."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
from trading_infra.config import load_config

from tests.tooling.conftest import fresh_local_session
from tooling.emulator.credentials import FAKE_CREDENTIALS
from tooling.lifecycle.account_clients import AccountAccess
from tooling.lifecycle.backend import (
    BackendError,
    BackendSpec,
    StateBucket,
    backend_spec,
    bootstrap_backend,
    create_bucket_request,
    load_backend_spec,
)
from tooling.lifecycle.commands import bootstrap as commands_bootstrap
from tooling.lifecycle.deploy_permissions import PERMISSIONS
from tooling.lifecycle.graph import StackInfo
from tooling.lifecycle.key_admin import KeyAdminRole, key_admin_role_name
from tooling.lifecycle.pipeline_identity import pipeline_spec
from tooling.lifecycle.pipeline_model import PipelineError, PipelineSpec
from tooling.lifecycle.session import Session
from tooling.lifecycle.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
#: The account moto serves when a request names none (tooling.emulator.process.MOTO_ACCOUNT_ID).
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "444455556666"


def _other_account_s3(endpoint: str, region: str) -> Any:
    """An S3 client of another account on the same moto server (moto's account header)."""
    client = boto3.client(
        "s3",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=FAKE_CREDENTIALS.access_key_id,
        aws_secret_access_key=FAKE_CREDENTIALS.secret_access_key,
    )
    client.meta.events.register(
        "before-sign.s3.*",
        lambda request, **_: request.headers.__setitem__("x-moto-account-id", OTHER_ACCOUNT),
    )
    return client


def test_the_spec_comes_from_platform_toml() -> None:
    config = load_config(ROOT / "platform.toml")
    spec = load_backend_spec(ROOT / "platform.toml")
    assert spec == backend_spec(config)
    assert (spec.lock_table, spec.region) == (config.state.lock_table, config.state.region)
    assert (spec.platform, spec.cost_center) == (config.platform.name, config.platform.cost_center)
    assert [s.environment for s in spec.state_buckets] == [e.name for e in config.environments]
    for environment in config.environments:
        location = config.state_of(environment)
        assert spec.bucket_of(environment.name) == location.bucket
        assert StateBucket(environment.name, location.bucket, location.kms_key) in (
            spec.state_buckets
        )


def test_the_spec_names_the_key_administrator_bootstrap_creates() -> None:
    spec = load_backend_spec(ROOT / "platform.toml")
    assert spec.key_admin_roles == (
        KeyAdminRole("dev", "tap-deployer"),
        KeyAdminRole("staging", "tap-deployer"),
        KeyAdminRole("prod", "tap-deployer"),
        KeyAdminRole("global", "tap-deployer"),
    )
    assert (spec.managed_by, spec.bucket_prefix) == ("cdktf", "tap-terraform-state")
    assert spec.for_environments({"prod"}).key_admin_roles == (
        KeyAdminRole("prod", "tap-deployer"),
    )


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({}, "tap-deployer"),  # the default: <platform>-deployer of the deploying account
        ({"key_admin_role": "security-admin"}, "security-admin"),
        # Given as an ARN, the role belongs to whoever wrote it: never created.
        ({"key_admin_role": "arn:aws:iam::111122223333:role/kms/admin"}, None),
        ({"aws_role_arn": "arn:aws:iam::111122223333:role/tap-deployer"}, None),
    ],
)
def test_the_creatable_key_administrator_is_the_role_the_key_policies_name_by_name(
    update: dict[str, str], expected: str | None
) -> None:
    config = load_config(ROOT / "platform.toml")
    environment = config.environment("dev").model_copy(update=update)
    assert key_admin_role_name(config.platform, environment) == expected


def test_no_key_administrator_when_every_region_uses_an_existing_key() -> None:
    config = load_config(ROOT / "platform.toml")
    environment = config.environment("dev")
    key = "arn:aws:kms:ap-southeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    regions = tuple(r.model_copy(update={"kms_key_arn": key}) for r in environment.regions)
    assert (
        key_admin_role_name(config.platform, environment.model_copy(update={"regions": regions}))
        is None
    )


def test_create_bucket_sends_a_location_constraint_except_in_us_east_1() -> None:
    assert create_bucket_request("b", "us-east-1") == {"Bucket": "b"}
    assert create_bucket_request("b", "eu-west-1") == {
        "Bucket": "b",
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
    }


def test_every_environment_has_its_own_state_bucket_and_key() -> None:
    spec = load_backend_spec(ROOT / "platform.toml")
    assert len(spec.buckets) == len(spec.state_buckets) == len(spec.kms_aliases)
    assert spec.bucket_of("prod") == "tap-terraform-state-prod"


SPEC = BackendSpec(
    "tap-locks-test",
    "ap-southeast-1",
    "tap",
    "CC-1",
    state_buckets=(
        StateBucket("dev", "tap-state-test-dev", "alias/tap-state-test-dev"),
        StateBucket("prod", "tap-state-test-prod", "alias/tap-state-test-prod"),
    ),
)


def test_a_deploy_bootstraps_only_the_state_of_its_own_environments(
    endpoint: str, tmp_path: Path
) -> None:
    # GIVEN two environments (in real use possibly two accounts) WHEN only prod is deployed
    session = fresh_local_session(endpoint, tmp_path)
    done = bootstrap_backend(session, SPEC.for_environments({"prod"}))
    # THEN only prod's key and bucket (and the shared lock table) are created
    assert done == [
        "key alias/tap-state-test-prod: created",
        "bucket tap-state-test-prod: created",
        "table tap-locks-test: created",
    ]
    buckets = {b["Name"] for b in session.client("s3", SPEC.region).list_buckets()["Buckets"]}
    assert "tap-state-test-dev" not in buckets


def test_bootstrap_creates_once_and_then_finds_all(endpoint: str, tmp_path: Path) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    assert bootstrap_backend(session, SPEC) == [
        "key alias/tap-state-test-dev: created",
        "bucket tap-state-test-dev: created",
        "key alias/tap-state-test-prod: created",
        "bucket tap-state-test-prod: created",
        "table tap-locks-test: created",
    ]
    assert bootstrap_backend(session, SPEC) == [
        "key alias/tap-state-test-dev: exists",
        "bucket tap-state-test-dev: exists",
        "key alias/tap-state-test-prod: exists",
        "bucket tap-state-test-prod: exists",
        "table tap-locks-test: exists",
    ]
    s3 = session.client("s3", SPEC.region)
    kms = session.client("kms", SPEC.region)
    keys = set()
    for state in SPEC.state_buckets:
        assert s3.get_bucket_versioning(Bucket=state.bucket)["Status"] == "Enabled"
        key = kms.describe_key(KeyId=state.kms_key)["KeyMetadata"]
        assert key["KeyManager"] == "CUSTOMER"
        assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
        (rule,) = s3.get_bucket_encryption(Bucket=state.bucket)[
            "ServerSideEncryptionConfiguration"
        ]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key["Arn"],
        }
        keys.add(key["Arn"])
    assert len(keys) == 2  # one customer-managed key per environment
    dynamodb = session.client("dynamodb", SPEC.region)
    backups = dynamodb.describe_continuous_backups(TableName=SPEC.lock_table)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_state_buckets_and_keys_are_never_leftovers(endpoint: str, tmp_path: Path) -> None:
    """A destroy (and its sweep) keeps every environment's state bucket and key."""
    from tooling.lifecycle.leftovers import leftovers

    session = fresh_local_session(endpoint, tmp_path)
    spec = BackendSpec(
        "tap-terraform-locks",
        "ap-southeast-1",
        "tap",
        "CC-1",
        state_buckets=(
            StateBucket("dev", "tap-terraform-state-dev", "alias/tap-terraform-state-dev"),
        ),
    )
    bootstrap_backend(session, spec)
    session.client("s3", spec.region).create_bucket(
        Bucket="tap-data-dev", CreateBucketConfiguration={"LocationConstraint": spec.region}
    )
    for environments in ([], ["dev"]):
        found = leftovers(session, [spec.region], spec, environments=environments)
        assert [(f.kind, f.name) for f in found] == [("s3 bucket", "tap-data-dev")]


def test_bootstrap_creates_the_key_administrator_once(endpoint: str, tmp_path: Path) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    spec = BackendSpec(
        "tap-locks-test",
        "ap-southeast-1",
        "tap",
        "CC-1",
        key_admin_roles=(KeyAdminRole("dev", "tap-deployer"), KeyAdminRole("prod", "tap-deployer")),
        managed_by="cdktf",
    )
    # One role for both environments: created once, then found.
    assert bootstrap_backend(session, spec) == [
        "table tap-locks-test: created",
        "role tap-deployer: created",
    ]
    assert bootstrap_backend(session, spec) == [
        "table tap-locks-test: exists",
        "role tap-deployer: exists",
    ]
    iam = session.client("iam", spec.region)
    role = iam.get_role(RoleName="tap-deployer")["Role"]
    # Trusted by the account itself: its administrators decide who may assume it.
    assert role["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    assert role["Description"] == (
        "Administers the KMS keys of tap (named in their key policies; no encrypt or decrypt). "
        "Created by ./tap bootstrap-backend."
    )
    tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName="tap-deployer")["Tags"]}
    assert tags == {"CostCenter": "CC-1", "ManagedBy": "cdktf"}
    # No permissions of its own: the key policies grant key administration.
    assert iam.list_role_policies(RoleName="tap-deployer")["PolicyNames"] == []
    assert iam.list_attached_role_policies(RoleName="tap-deployer")["AttachedPolicies"] == []


def test_an_existing_key_administrator_is_left_as_it_is(endpoint: str, tmp_path: Path) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    iam = session.client("iam", "ap-southeast-1")
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(RoleName="security-admin", AssumeRolePolicyDocument=json.dumps(trust))
    spec = BackendSpec(
        "tap-locks-test",
        "ap-southeast-1",
        "tap",
        "CC-1",
        key_admin_roles=(KeyAdminRole("dev", "security-admin"),),
    )
    assert bootstrap_backend(session, spec)[-1] == "role security-admin: exists"
    assert iam.get_role(RoleName="security-admin")["Role"]["AssumeRolePolicyDocument"] == trust


def test_a_state_bucket_in_us_east_1_is_created_without_location_and_then_found(
    endpoint: str, tmp_path: Path
) -> None:
    # In us-east-1 CreateBucket answers 200 for a bucket the caller owns: only the ownership
    # read before it tells "exists" from "created".
    session = fresh_local_session(endpoint, tmp_path)
    spec = BackendSpec(
        "tap-locks-test",
        "us-east-1",
        "tap",
        "CC-1",
        state_buckets=(StateBucket("dev", "tap-state-test-dev", "alias/tap-state-test-dev"),),
    )
    assert bootstrap_backend(session, spec)[1] == "bucket tap-state-test-dev: created"
    assert bootstrap_backend(session, spec)[1] == "bucket tap-state-test-dev: exists"
    s3 = session.client("s3", "us-east-1")
    assert s3.get_bucket_location(Bucket="tap-state-test-dev")["LocationConstraint"] is None


def test_a_state_bucket_of_another_account_is_refused_with_the_setting_to_change(
    endpoint: str, tmp_path: Path
) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    _other_account_s3(endpoint, "ap-southeast-1").create_bucket(
        Bucket="tap-terraform-state-dev",
        CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"},
    )
    spec = BackendSpec(
        "tap-locks-test",
        "ap-southeast-1",
        "tap",
        "CC-1",
        state_buckets=(
            StateBucket("dev", "tap-terraform-state-dev", "alias/tap-terraform-state-dev"),
        ),
        bucket_prefix="tap-terraform-state",
    )
    with pytest.raises(BackendError) as refused:
        bootstrap_backend(session, spec)
    assert str(refused.value) == (
        "state bucket tap-terraform-state-dev (environment dev) belongs to another AWS account: "
        "S3 bucket names are shared by all accounts, and CreateBucket answered "
        "BucketAlreadyExists. Name a bucket of this account in platform.toml: add the account id "
        'to [state] bucket_prefix (bucket_prefix = "tap-terraform-state-123456789012"; each '
        "environment's bucket is <bucket_prefix>-<environment>), or set state_bucket = "
        '"tap-terraform-state-dev-123456789012" in [environments.dev].'
    )
    assert refused.value.code == 1
    # Nothing was written to the other account's bucket.
    s3 = session.client("s3", spec.region)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == []


def test_an_environment_of_another_account_is_bootstrapped_in_that_account(
    endpoint: str, bare_account: Session
) -> None:
    """GIVEN prod deploying into another account through its aws_role_arn WHEN bootstrap runs
    with the shell's credentials THEN prod's state bucket and a lock table are made in prod's
    account, with the role assumed as Terraform's backend assumes it, and dev's in the shell's."""
    role = f"arn:aws:iam::{OTHER_ACCOUNT}:role/tap-deployment"
    spec = BackendSpec(
        "tap-locks-test",
        "ap-southeast-1",
        "tap",
        "CC-1",
        state_buckets=(
            StateBucket("dev", "tap-state-test-dev", "alias/tap-state-test-dev"),
            StateBucket(
                "prod",
                "tap-state-test-prod",
                "alias/tap-state-test-prod",
                AccountAccess(role_arn=role),
            ),
        ),
    )
    bootstrap_backend(bare_account, spec)
    own = boto3.client("s3", region_name="ap-southeast-1")
    assert [b["Name"] for b in own.list_buckets()["Buckets"]] == ["tap-state-test-dev"]
    other = _other_account_s3(endpoint, "ap-southeast-1")
    assert [b["Name"] for b in other.list_buckets()["Buckets"]] == ["tap-state-test-prod"]
    own_tables = boto3.client("dynamodb", region_name="ap-southeast-1").list_tables()
    assert own_tables["TableNames"] == ["tap-locks-test"]
    credentials = boto3.client("sts", region_name="ap-southeast-1").assume_role(
        RoleArn=role, RoleSessionName="check"
    )["Credentials"]
    other_tables = boto3.client(
        "dynamodb",
        region_name="ap-southeast-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).list_tables()
    assert other_tables["TableNames"] == ["tap-locks-test"]


def _pipeline(config_file: Path = ROOT / "platform.toml") -> PipelineSpec:
    """The shipped configuration's pipeline (the example repository: the local target takes
    it), every block type the permissions know declared by every environment."""
    config = load_config(config_file, environ={})
    spec = pipeline_spec(config, {e.name: frozenset(PERMISSIONS) for e in config.environments})
    assert spec is not None
    return spec


PIPELINE_SPEC = dataclasses.replace(SPEC, managed_by="cdktf", pipeline=_pipeline())
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
PIPELINE_ROLES = [
    "tap-pipeline-plan",
    "tap-pipeline-drift",
    "tap-pipeline-deploy-dev",
    "tap-pipeline-deploy-prod",
]


def _identity(iam: Any) -> dict[str, Any]:
    """Everything bootstrap sets on the provider and the pipeline roles."""
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=PROVIDER_ARN)
    found: dict[str, Any] = {
        "providers": [p["Arn"] for p in iam.list_open_id_connect_providers()[
            "OpenIDConnectProviderList"
        ]],
        "provider": (provider["Url"], provider["ClientIDList"], provider.get("Tags", [])),
    }  # fmt: skip
    for name in PIPELINE_ROLES:
        role = iam.get_role(RoleName=name)["Role"]
        policies = {
            policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
        }
        found[name] = (
            role["AssumeRolePolicyDocument"],
            role["Description"],
            role["MaxSessionDuration"],
            policies,
            iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"],
            iam.list_role_tags(RoleName=name)["Tags"],
        )
    return found


def test_bootstrap_creates_the_pipeline_identity_once_and_then_changes_nothing(
    endpoint: str, tmp_path: Path
) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    assert bootstrap_backend(session, PIPELINE_SPEC)[-5:] == [
        "oidc provider token.actions.githubusercontent.com: created",
        "role tap-pipeline-plan: created",
        "role tap-pipeline-drift: created",
        "role tap-pipeline-deploy-dev: created",
        "role tap-pipeline-deploy-prod: created",
    ]
    iam = session.client("iam", SPEC.region)
    created = _identity(iam)
    assert bootstrap_backend(session, PIPELINE_SPEC)[-5:] == [
        "oidc provider token.actions.githubusercontent.com: exists",
        "role tap-pipeline-plan: unchanged",
        "role tap-pipeline-drift: unchanged",
        "role tap-pipeline-deploy-dev: unchanged",
        "role tap-pipeline-deploy-prod: unchanged",
    ]
    assert _identity(iam) == created
    assert created["providers"] == [PROVIDER_ARN]  # one provider for the URL
    assert created["provider"] == (
        "token.actions.githubusercontent.com",
        ["sts.amazonaws.com"],
        [{"Key": "CostCenter", "Value": "CC-1"}, {"Key": "ManagedBy", "Value": "cdktf"}],
    )
    trust, description, session_seconds, policies, attached, tags = created["tap-pipeline-plan"]
    assert trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": [
                            "repo:example-org/trading-platform:pull_request",
                            "repo:example-org/trading-platform:ref:refs/heads/main",
                        ],
                    }
                },
            }
        ],
    }
    assert (description, session_seconds, attached) == (
        "Plans of example-org/trading-platform (pull requests, main): reads tap's stacks and "
        "state, writes nothing. Created by ./tap bootstrap-backend.",
        3600,
        [],
    )
    assert list(policies) == ["plan-read-only"]
    assert {t["Key"]: t["Value"] for t in tags} == {
        "CostCenter": "CC-1",
        "ManagedBy": "cdktf",
        "Purpose": "github-actions-plan",
    }
    trust, _, _, policies, _, tags = created["tap-pipeline-drift"]
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:sub"] == [
        "repo:example-org/trading-platform:ref:refs/heads/main"
    ]
    assert list(policies) == ["drift"]
    assert {t["Key"]: t["Value"] for t in tags}["Purpose"] == "github-actions-drift"
    trust, _, session_seconds, policies, attached, _ = created["tap-pipeline-deploy-prod"]
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:sub"] == [
        "repo:example-org/trading-platform:environment:prod"
    ]
    assert (session_seconds, sorted(policies)) == (14400, ["deploy-backend", "deploy-stacks"])
    # The verify statements: a customer-managed policy of the role's own, attached to it.
    verify = f"arn:aws:iam::{ACCOUNT}:policy/tap-pipeline-deploy-prod-verify"
    assert attached == [{"PolicyName": "tap-pipeline-deploy-prod-verify", "PolicyArn": verify}]
    default = iam.get_policy(PolicyArn=verify)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=verify, VersionId=default)["PolicyVersion"]
    assert [s["Sid"] for s in document["Document"]["Statement"]] == [
        "VerifyApi", "VerifyUpload", "VerifyListCanary", "VerifyRemoveCanary", "VerifyDataKey",
        "VerifyTrades", "VerifyProcessorLog", "VerifyDeadLetters",
    ]  # fmt: skip


def test_an_existing_github_provider_is_used_as_it_is(endpoint: str, tmp_path: Path) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    iam = session.client("iam", SPEC.region)
    iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com", "api://other-workload"],
    )
    lines = bootstrap_backend(session, PIPELINE_SPEC)
    assert "oidc provider token.actions.githubusercontent.com: exists" in lines
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=PROVIDER_ARN)
    assert provider["ClientIDList"] == ["sts.amazonaws.com", "api://other-workload"]
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1


def test_a_github_provider_without_the_sts_audience_is_refused_with_the_fix(
    endpoint: str, tmp_path: Path
) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    iam = session.client("iam", SPEC.region)
    iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["api://other-workload"]
    )
    with pytest.raises(PipelineError) as refused:
        bootstrap_backend(session, PIPELINE_SPEC)
    assert str(refused.value) == (
        f"the account's OIDC provider {PROVIDER_ARN} does not accept the audience "
        "sts.amazonaws.com, which GitHub's tokens for AWS carry; add it (this changes no other "
        "audience): aws iam add-client-id-to-open-id-connect-provider "
        f"--open-id-connect-provider-arn {PROVIDER_ARN} --client-id sts.amazonaws.com"
    )
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert roles.isdisjoint(PIPELINE_ROLES)


def test_a_role_of_the_same_name_that_is_not_the_pipelines_is_left_alone(
    endpoint: str, tmp_path: Path
) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    iam = session.client("iam", SPEC.region)
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(RoleName="tap-pipeline-plan", AssumeRolePolicyDocument=json.dumps(trust))
    with pytest.raises(PipelineError) as refused:
        bootstrap_backend(session, PIPELINE_SPEC)
    assert str(refused.value) == (
        "role tap-pipeline-plan exists and is not the pipeline's (its Purpose tag is not "
        "'github-actions-plan'): bootstrap changes no role it did not create. Name another role "
        "in platform.toml [pipeline] (plan_role, drift_role, deploy_role_prefix) or remove this "
        "one."
    )
    assert iam.get_role(RoleName="tap-pipeline-plan")["Role"]["AssumeRolePolicyDocument"] == trust
    assert iam.list_role_policies(RoleName="tap-pipeline-plan")["PolicyNames"] == []


def test_a_verify_policy_of_the_same_name_that_is_not_the_pipelines_is_left_alone(
    endpoint: str, tmp_path: Path
) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    iam = session.client("iam", SPEC.region)
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                        "Resource": "*"}]}  # fmt: skip
    arn = iam.create_policy(
        PolicyName="tap-pipeline-deploy-dev-verify", PolicyDocument=json.dumps(document)
    )["Policy"]["Arn"]
    with pytest.raises(PipelineError) as refused:
        bootstrap_backend(session, PIPELINE_SPEC)
    assert str(refused.value) == (
        f"policy {arn} exists and is not the pipeline's (its Purpose tag is not "
        "'github-actions-deploy'): bootstrap changes no policy it did not create. Remove it, or "
        "name the role otherwise in platform.toml [pipeline] (deploy_role_prefix)."
    )
    assert iam.list_policy_versions(PolicyArn=arn)["Versions"][0]["VersionId"] == "v1"
    assert iam.list_attached_role_policies(RoleName="tap-pipeline-deploy-dev")[
        "AttachedPolicies"
    ] == []  # fmt: skip


def test_a_pipeline_role_changed_by_hand_is_brought_back(endpoint: str, tmp_path: Path) -> None:
    session = fresh_local_session(endpoint, tmp_path)
    bootstrap_backend(session, PIPELINE_SPEC)
    iam = session.client("iam", SPEC.region)
    created = _identity(iam)
    name = "tap-pipeline-plan"
    iam.put_role_policy(
        RoleName=name,
        PolicyName="plan-read-only",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    iam.put_role_policy(
        RoleName=name,
        PolicyName="extra",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    everything = iam.create_policy(
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=everything)
    iam.update_role(RoleName=name, MaxSessionDuration=43200)
    # A verify policy widened by hand, another detached.
    verify = f"arn:aws:iam::{ACCOUNT}:policy/tap-pipeline-deploy-dev-verify"
    original = iam.get_policy_version(PolicyArn=verify, VersionId="v1")["PolicyVersion"]
    iam.create_policy_version(
        PolicyArn=verify,
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
        SetAsDefault=True,
    )
    iam.detach_role_policy(
        RoleName="tap-pipeline-deploy-prod",
        PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/tap-pipeline-deploy-prod-verify",
    )
    assert bootstrap_backend(session, PIPELINE_SPEC)[-4:] == [
        "role tap-pipeline-plan: updated",
        "role tap-pipeline-drift: unchanged",
        "role tap-pipeline-deploy-dev: updated",
        "role tap-pipeline-deploy-prod: updated",
    ]
    assert _identity(iam) == created
    default = iam.get_policy(PolicyArn=verify)["Policy"]["DefaultVersionId"]
    restored = iam.get_policy_version(PolicyArn=verify, VersionId=default)["PolicyVersion"]
    assert (default, restored["Document"]) == ("v3", original["Document"])


def _command_workspace(tmp_path: Path, target: str) -> Workspace:
    """A workspace of a copy of the shipped platform.toml (example repository), its output
    collected."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(ROOT / "platform.toml", root / "platform.toml")
    return Workspace(root=root, outdir=root / "cdktf.out", target=target, out=io.StringIO())


def _synthesized(ws: Workspace) -> list[StackInfo]:
    """Stand-ins for the synthesized stacks of every environment: a VPC and a role each."""
    stacks = []
    for environment in ("dev", "staging", "prod", "global"):
        directory = ws.outdir / "stacks" / f"tap-{environment}-network"
        directory.mkdir(parents=True)
        document: dict[str, Any] = {"resource": {"aws_vpc": {}, "aws_iam_role": {}}}
        (directory / "cdk.tf.json").write_text(json.dumps(document), encoding="utf-8")
        stacks.append(StackInfo(directory.name, directory, environment, "ap-southeast-1"))
    return stacks


def test_the_bootstrap_backend_command_creates_the_pipeline_identity_of_platform_toml(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``./tap bootstrap-backend --env dev`` (local): the plan role of the account and dev's
    deploy role, from the block types of every environment's synthesized stacks."""
    ws = _command_workspace(tmp_path, "local")
    session = fresh_local_session(endpoint, tmp_path)
    synthesized: list[str | None] = []

    def ordered_stacks(workspace: Workspace, env: str | None) -> list[StackInfo]:
        synthesized.append(env)
        return _synthesized(workspace)

    monkeypatch.setattr(commands_bootstrap, "session_for", lambda workspace: session)
    monkeypatch.setattr(commands_bootstrap, "ordered_stacks", ordered_stacks)
    commands_bootstrap.bootstrap_environments(ws, "dev")
    assert synthesized == ["all"]
    assert isinstance(ws.out, io.StringIO)
    assert ws.out.getvalue().splitlines()[-5:] == [
        "bootstrap-backend: role tap-deployer: created",
        "bootstrap-backend: oidc provider token.actions.githubusercontent.com: created",
        "bootstrap-backend: role tap-pipeline-plan: created",
        "bootstrap-backend: role tap-pipeline-drift: created",
        "bootstrap-backend: role tap-pipeline-deploy-dev: created",
    ]
    iam = session.client("iam", "ap-southeast-1")
    policy = iam.get_role_policy(RoleName="tap-pipeline-deploy-dev", PolicyName="deploy-stacks")
    assert [s["Sid"] for s in policy["PolicyDocument"]["Statement"]] == [
        "StackServicesInRegions",
        "PlatformRoles",
    ]


def test_the_bootstrap_backend_command_refuses_the_example_repository_for_aws_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _command_workspace(tmp_path, "aws")

    def no_session(workspace: Workspace) -> Session:
        raise AssertionError("no AWS call before the configuration is accepted")

    monkeypatch.setattr(commands_bootstrap, "session_for", no_session)
    with pytest.raises(PipelineError, match="is the shipped example") as refused:
        commands_bootstrap.bootstrap_environments(ws, "dev")
    assert refused.value.code == 2
