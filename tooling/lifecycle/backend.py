"""The Terraform state backends of platform.toml ``[state]``: their description and bootstrap.

Every environment has its own state bucket, encrypted with its own customer-managed KMS key
(``PlatformConfig.state_of``) in the account the environment deploys into; the lock table is
shared by the environments of an account. The keys, buckets and the lock table
must exist before the first ``terraform init``; they are created here with boto3
(idempotently), because a stack cannot hold the backend it is stored in. So is the key
administrator every key policy names (:mod:`.key_admin`), where the platform may create it, and,
with platform.toml ``[pipeline]``, the CI pipeline's identity in each account: GitHub's OIDC
provider, the plan role and the deploy roles (:mod:`.pipeline_identity`, :mod:`.pipeline_roles`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.account_clients import AccountAccess, Clients, access_of, account_clients
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.key_admin import KeyAdminRole, ensure_key_admin_role, key_admin_role_name
from tooling.lifecycle.pipeline_identity import account_roles, provider_arn
from tooling.lifecycle.pipeline_model import GITHUB_OIDC_HOST, AccountFacts, PipelineSpec

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

    from tooling.lifecycle.session import Session

__all__ = [
    "BackendError",
    "BackendSpec",
    "StateBucket",
    "backend_spec",
    "bootstrap_backend",
    "bucket_is_ours",
    "create_bucket_request",
    "load_backend_spec",
]

#: The one region where CreateBucket takes no LocationConstraint: AWS refuses
#: ``LocationConstraint=us-east-1`` (InvalidLocationConstraint), a bucket created without one
#: is in us-east-1 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html).
_DEFAULT_BUCKET_REGION = "us-east-1"


class BackendError(LifecycleError):
    """The state backend cannot be bootstrapped as configured; the message says what to change."""


@dataclass(frozen=True)
class StateBucket:
    """One environment's state bucket, the KMS key (alias or ARN) that encrypts it, and how the
    environment reaches its account (where bootstrap creates them)."""

    environment: str
    bucket: str
    kms_key: str
    access: AccountAccess = field(default_factory=AccountAccess)


@dataclass(frozen=True)
class BackendSpec:
    """The remote state backends of platform.toml ``[state]``: a bucket per environment."""

    lock_table: str
    region: str
    platform: str
    cost_center: str = ""
    state_buckets: tuple[StateBucket, ...] = ()
    #: The key administrators the platform creates when missing (:mod:`.key_admin`).
    key_admin_roles: tuple[KeyAdminRole, ...] = ()
    #: The ``ManagedBy`` tag of what bootstrap creates outside any stack (the key-admin role).
    managed_by: str = ""
    #: ``[state] bucket_prefix``, named in the fix of a state bucket another account owns.
    bucket_prefix: str = ""
    #: The CI pipeline's identity to create (``./tap bootstrap-backend`` with ``[pipeline]``
    #: only: a deploy never changes the roles it runs with).
    pipeline: PipelineSpec | None = None

    @property
    def buckets(self) -> frozenset[str]:
        """Every environment's state bucket (never a leftover of a destroy)."""
        return frozenset(state.bucket for state in self.state_buckets)

    @property
    def kms_aliases(self) -> frozenset[str]:
        """The state keys given by alias name (``alias/...``; never a leftover either)."""
        return frozenset(s.kms_key for s in self.state_buckets if s.kms_key.startswith("alias/"))

    def for_environments(self, environments: Collection[str]) -> BackendSpec:
        """This backend with only ``environments``' state buckets (the lock table is shared):
        deploying one environment creates its own state, never another's (which may belong to
        another account)."""
        return dataclasses.replace(
            self,
            state_buckets=tuple(s for s in self.state_buckets if s.environment in environments),
            key_admin_roles=tuple(r for r in self.key_admin_roles if r.environment in environments),
            pipeline=self.pipeline.for_environments(environments) if self.pipeline else None,
        )

    def bucket_of(self, environment: str) -> str:
        """The state bucket of ``environment``."""
        for state in self.state_buckets:
            if state.environment == environment:
                return state.bucket
        raise KeyError(f"no state bucket for environment {environment!r}")


def backend_spec(config: PlatformConfig) -> BackendSpec:
    """The state backends (and the platform's name and cost center) of a validated config."""
    locations = [(e, config.state_of(e)) for e in config.environments]
    roles = [(e.name, key_admin_role_name(config.platform, e)) for e in config.environments]
    return BackendSpec(
        lock_table=config.state.lock_table,
        region=config.state.region,
        platform=config.platform.name,
        cost_center=config.platform.cost_center,
        state_buckets=tuple(
            StateBucket(
                environment=environment.name,
                bucket=location.bucket,
                kms_key=location.kms_key,
                access=access_of(environment),
            )
            for environment, location in locations
        ),
        key_admin_roles=tuple(KeyAdminRole(env, role) for env, role in roles if role is not None),
        managed_by=config.platform.managed_by,
        bucket_prefix=config.state.bucket_prefix,
    )


def load_backend_spec(config_file: Path) -> BackendSpec:
    """The state backend of the platform.toml at ``config_file`` (validated by load_config)."""
    from trading_infra.config import load_config

    return backend_spec(load_config(config_file))


def _ignore(error_codes: Iterable[str], call: Callable[[], Any]) -> bool:
    """Run ``call``; True if it did something, False if it failed with one of the codes."""
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in set(error_codes):
            return False
        raise
    return True


def bootstrap_backend(session: Session, spec: BackendSpec) -> list[str]:
    """Create (idempotently) every environment's state key and bucket, the lock table and the
    key administrators the platform may create; return what was done.

    Key (per environment, when named by alias): symmetric, rotation on, the alias pointing at
    it. Bucket: versioning, default SSE-KMS with that key (bucket key on), public access
    block, TLS-only policy; a name another account owns is a :class:`BackendError` naming
    the setting to change. Table: ``LockID`` (S) hash key, on-demand, PITR, SSE. Existing ones
    are brought to these settings (every setting call is idempotent). A key given as an ARN
    must exist already (it belongs to the account's key administrators). Key-administrator
    role: created when missing (:func:`.key_admin.ensure_key_admin_role`), never changed.
    Pipeline (``spec.pipeline``): the account's GitHub OIDC provider (created unless it exists)
    and its pipeline roles, brought to their description (:mod:`.pipeline_roles`).
    """
    done: list[str] = []
    # Each account gets what its environments need, made with the credentials Terraform uses
    # for them: state keys and buckets, the lock table (the backend's DynamoDB lock is read in
    # the account of the role it assumes), the key administrators.
    known = {state.environment: state.access for state in spec.state_buckets}
    environments = [*known, *(role.environment for role in spec.key_admin_roles)]
    access = {name: known.get(name, AccountAccess()) for name in environments}
    for account in dict.fromkeys(access.values()):
        names = {name for name in environments if access[name] == account}
        clients = account_clients(
            session, account, region=spec.region, session_name="tap-bootstrap"
        )
        _bootstrap_account(clients, spec.for_environments(names), account, done)
    return done


def _bootstrap_account(
    clients: Clients, spec: BackendSpec, account: AccountAccess, done: list[str]
) -> None:
    """What :func:`bootstrap_backend` creates in one account (``spec``: its environments)."""
    for state in spec.state_buckets:
        key_id = _state_key(clients, spec, state, done)
        _state_bucket(clients, spec, state, key_id, done)
    dynamodb = clients("dynamodb", spec.region)
    created = _ignore(
        ("ResourceInUseException",),
        lambda: dynamodb.create_table(
            TableName=spec.lock_table,
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
        ),
    )
    done.append(f"table {spec.lock_table}: {'created' if created else 'exists'}")
    dynamodb.get_waiter("table_exists").wait(
        TableName=spec.lock_table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    dynamodb.update_continuous_backups(
        TableName=spec.lock_table,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    _key_admin_roles(clients, spec, done)
    if spec.pipeline is not None:
        _pipeline_identity(clients, spec, spec.pipeline, account, done)


def _account_facts(clients: Clients, region: str) -> AccountFacts:
    """The account and partition of ``clients``' credentials, as STS reports them."""
    identity = clients("sts", region).get_caller_identity()
    return AccountFacts(str(identity["Account"]), str(identity["Arn"]).split(":")[1])


def _tags(spec: BackendSpec) -> dict[str, str]:
    """The tags of what bootstrap creates outside any stack (the empty ones left out)."""
    tags = {"CostCenter": spec.cost_center, "ManagedBy": spec.managed_by}
    return {key: value for key, value in tags.items() if value}


def _key_admin_roles(clients: Clients, spec: BackendSpec, done: list[str]) -> None:
    """Each distinct key-administrator role of ``spec``, created when missing."""
    names = list(dict.fromkeys(role.name for role in spec.key_admin_roles))
    if not names:
        return
    facts = _account_facts(clients, spec.region)
    root = f"arn:{facts.partition}:iam::{facts.account_id}:root"
    iam = clients("iam", spec.region)
    for name in names:
        created = ensure_key_admin_role(
            iam, name, account_root_arn=root, platform=spec.platform, tags=_tags(spec)
        )
        done.append(f"role {name}: {'created' if created else 'exists'}")


def _pipeline_identity(
    clients: Clients,
    spec: BackendSpec,
    pipeline: PipelineSpec,
    account: AccountAccess,
    done: list[str],
) -> None:
    """The account's GitHub OIDC provider and pipeline roles (:mod:`.pipeline_identity`)."""
    from tooling.lifecycle.pipeline_roles import ensure_github_provider, ensure_pipeline_role

    facts = _account_facts(clients, spec.region)
    roles = account_roles(pipeline, account, facts)  # refused before anything is created
    if not roles:
        return
    iam = clients("iam", spec.region)
    status = ensure_github_provider(iam, provider_arn(facts), tags=_tags(spec))
    done.append(f"oidc provider {GITHUB_OIDC_HOST}: {status}")
    for role in roles:
        done.append(f"role {role.name}: {ensure_pipeline_role(iam, role, tags=_tags(spec))}")


def _state_key(clients: Clients, spec: BackendSpec, state: StateBucket, done: list[str]) -> str:
    """The ARN of ``state``'s KMS key, created (with its alias) when it is missing."""
    from botocore.exceptions import ClientError

    kms = clients("kms", spec.region)
    try:
        arn = str(kms.describe_key(KeyId=state.kms_key)["KeyMetadata"]["Arn"])
        created = False
    except ClientError as exc:
        missing = exc.response.get("Error", {}).get("Code") == "NotFoundException"
        if not (missing and state.kms_key.startswith("alias/")):
            raise
        arn = str(
            kms.create_key(
                Description=f"Terraform state of {spec.platform} {state.environment}",
                Tags=[
                    {"TagKey": "CostCenter", "TagValue": spec.cost_center},
                    {"TagKey": "Purpose", "TagValue": "terraform-state"},
                ],
            )["KeyMetadata"]["Arn"]
        )
        kms.create_alias(AliasName=state.kms_key, TargetKeyId=arn)
        created = True
    kms.enable_key_rotation(KeyId=arn)
    done.append(f"key {state.kms_key}: {'created' if created else 'exists'}")
    return arn


def create_bucket_request(bucket: str, region: str) -> dict[str, Any]:
    """The CreateBucket arguments of ``bucket`` in ``region``: a LocationConstraint everywhere
    but us-east-1, where AWS refuses one (see :data:`_DEFAULT_BUCKET_REGION`)."""
    if region == _DEFAULT_BUCKET_REGION:
        return {"Bucket": bucket}
    return {"Bucket": bucket, "CreateBucketConfiguration": {"LocationConstraint": region}}


def bucket_is_ours(s3: Any, bucket: str) -> bool:
    """Whether this account owns ``bucket``: ListBuckets lists exactly the caller's own buckets
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html), whereas
    HeadBucket also answers 200 for a bucket of another account that grants access to it."""
    listed = s3.list_buckets(Prefix=bucket).get("Buckets", [])
    return any(found["Name"] == bucket for found in listed)


def _state_bucket(
    clients: Clients, spec: BackendSpec, state: StateBucket, key_arn: str, done: list[str]
) -> None:
    """Create ``state``'s bucket unless this account owns it, then apply its settings.

    Ownership is read before CreateBucket, because CreateBucket does not say it: in us-east-1
    it answers 200 OK for a bucket the caller already owns (and resets its ACLs), elsewhere
    BucketAlreadyOwnedByYou; BucketAlreadyExists means another account owns the name
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html).
    """
    from botocore.exceptions import ClientError

    bucket, region = state.bucket, spec.region
    s3 = clients("s3", region)
    created = False
    if not bucket_is_ours(s3, bucket):
        try:
            s3.create_bucket(**create_bucket_request(bucket, region))
            created = True
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "BucketAlreadyExists":
                raise _foreign_state_bucket(clients, spec, state) from None
            if code != "BucketAlreadyOwnedByYou":  # created since the listing: ours
                raise
    done.append(f"bucket {bucket}: {'created' if created else 'exists'}")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    arn = f"arn:aws:s3:::{bucket}"
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, f"{arn}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )


def _foreign_state_bucket(clients: Clients, spec: BackendSpec, state: StateBucket) -> BackendError:
    """The error for a state bucket name another account owns, with the settings to change."""
    account = str(clients("sts", spec.region).get_caller_identity()["Account"])
    prefix = f"{spec.bucket_prefix}-{account}" if spec.bucket_prefix else f"<prefix>-{account}"
    return BackendError(
        f"state bucket {state.bucket} (environment {state.environment}) belongs to another AWS "
        "account: S3 bucket names are shared by all accounts, and CreateBucket answered "
        "BucketAlreadyExists. Name a bucket of this account in platform.toml: add the account "
        f'id to [state] bucket_prefix (bucket_prefix = "{prefix}"; each environment\'s bucket '
        f'is <bucket_prefix>-<environment>), or set state_bucket = "{state.bucket}-{account}" '
        f"in [environments.{state.environment}]."
    )
