"""Creating the CI pipeline's identity in one account with boto3, idempotently: GitHub's OIDC
provider and the roles :mod:`.pipeline_identity` describes.

The provider: IAM allows one per URL in an account ("You cannot register the same provider
multiple times in a single AWS account": CreateOpenIDConnectProvider,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html) and
names it after the URL's host, so an existing one is found by its ARN and used as it is; it must
already accept the audience ``sts.amazonaws.com`` (else STS refuses the token), and a provider
that does not is reported with the command that adds it, never changed here: it may serve
other workloads of the account. No thumbprint is sent: IAM verifies GitHub's certificate with
its library of trusted root CAs (same page; "Create an OpenID Connect (OIDC) identity provider
in IAM": https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html).

The roles are the pipeline's own, marked by their ``Purpose`` tag: created when missing,
otherwise brought to exactly the described trust, description, session length, inline policies
(stale ones deleted) and managed policies: its own customer-managed policies (created tagged
like the role, a changed document written as a new default version, the oldest non-default
version deleted first when IAM's five are taken: CreatePolicyVersion,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html) attached,
every other one detached. A role or policy of that name without the tag is refused, never
changed. Each call says what it did: ``created``, ``updated`` or ``unchanged``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tooling.lifecycle.pipeline_model import (
    GITHUB_AUDIENCE,
    GITHUB_OIDC_URL,
    PipelineError,
    RoleSpec,
)

__all__ = ["ensure_github_provider", "ensure_pipeline_role"]


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def ensure_github_provider(iam: Any, arn: str, *, tags: Mapping[str, str]) -> str:
    """GitHub's OIDC provider of the account (``arn``), created unless it exists; the status."""
    from botocore.exceptions import ClientError

    try:
        provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
    else:
        if GITHUB_AUDIENCE not in provider.get("ClientIDList", []):
            raise PipelineError(
                f"the account's OIDC provider {arn} does not accept the audience "
                f"{GITHUB_AUDIENCE}, which GitHub's tokens for AWS carry; add it (this changes "
                "no other audience): aws iam add-client-id-to-open-id-connect-provider "
                f"--open-id-connect-provider-arn {arn} --client-id {GITHUB_AUDIENCE}"
            )
        return "exists"
    iam.create_open_id_connect_provider(
        Url=GITHUB_OIDC_URL,
        ClientIDList=[GITHUB_AUDIENCE],
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
    )
    return "created"


def _tag_list(role: RoleSpec, tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in {**tags, "Purpose": role.purpose}.items()]


def ensure_pipeline_role(iam: Any, role: RoleSpec, *, tags: Mapping[str, str]) -> str:
    """``role`` created, or brought to its description (module docstring); the status."""
    from botocore.exceptions import ClientError

    try:
        existing = iam.get_role(RoleName=role.name)["Role"]
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        _create(iam, role, tags)
        return "created"
    current_tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role.name)["Tags"]}
    if current_tags.get("Purpose") != role.purpose:
        raise PipelineError(
            f"role {role.name} exists and is not the pipeline's (its Purpose tag is not "
            f"{role.purpose!r}): bootstrap changes no role it did not create. Name another "
            "role in platform.toml [pipeline] (plan_role, drift_role, deploy_role_prefix) or "
            "remove this one."
        )
    changes = [
        _update_role(iam, role, existing),
        _update_policies(iam, role),
        _update_managed(iam, role, tags),
        _update_tags(iam, role, tags, current_tags),
    ]
    return "updated" if any(changes) else "unchanged"


def _create(iam: Any, role: RoleSpec, tags: Mapping[str, str]) -> None:
    iam.create_role(
        RoleName=role.name,
        AssumeRolePolicyDocument=json.dumps(role.trust),
        Description=role.description,
        MaxSessionDuration=role.max_session_seconds,
        Tags=_tag_list(role, tags),
    )
    iam.get_waiter("role_exists").wait(
        RoleName=role.name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    for name, document in role.policies.items():
        iam.put_role_policy(
            RoleName=role.name, PolicyName=name, PolicyDocument=json.dumps(document)
        )
    _update_managed(iam, role, tags)


def _update_role(iam: Any, role: RoleSpec, existing: Mapping[str, Any]) -> bool:
    """Trust, description and session length as described; whether anything changed."""
    changed = False
    if existing.get("AssumeRolePolicyDocument") != role.trust:
        iam.update_assume_role_policy(RoleName=role.name, PolicyDocument=json.dumps(role.trust))
        changed = True
    described = (existing.get("Description"), existing.get("MaxSessionDuration"))
    if described != (role.description, role.max_session_seconds):
        iam.update_role(
            RoleName=role.name,
            Description=role.description,
            MaxSessionDuration=role.max_session_seconds,
        )
        changed = True
    return changed


def _update_policies(iam: Any, role: RoleSpec) -> bool:
    """Exactly the described inline policies; whether anything changed."""
    current = set(iam.list_role_policies(RoleName=role.name)["PolicyNames"])
    changed = False
    for name, document in role.policies.items():
        if name in current:
            found = iam.get_role_policy(RoleName=role.name, PolicyName=name)["PolicyDocument"]
            if found == document:
                continue
        iam.put_role_policy(
            RoleName=role.name, PolicyName=name, PolicyDocument=json.dumps(document)
        )
        changed = True
    for stale in sorted(current - set(role.policies)):
        iam.delete_role_policy(RoleName=role.name, PolicyName=stale)
        changed = True
    return changed


def _update_managed(iam: Any, role: RoleSpec, tags: Mapping[str, str]) -> bool:
    """Exactly the described managed policies attached, each as described; whether anything
    changed."""
    changed = False
    for arn, document in role.managed_policies.items():
        changed = _ensure_managed_policy(iam, role, arn, document, tags) or changed
    attached = iam.list_attached_role_policies(RoleName=role.name)["AttachedPolicies"]
    current = {policy["PolicyArn"] for policy in attached}
    for arn in sorted(current - set(role.managed_policies)):
        iam.detach_role_policy(RoleName=role.name, PolicyArn=arn)
        changed = True
    for arn in sorted(set(role.managed_policies) - current):
        iam.attach_role_policy(RoleName=role.name, PolicyArn=arn)
        changed = True
    return changed


def _ensure_managed_policy(
    iam: Any, role: RoleSpec, arn: str, document: Mapping[str, Any], tags: Mapping[str, str]
) -> bool:
    """The customer-managed policy ``arn`` with ``document`` as its default version; whether
    it was created or changed."""
    from botocore.exceptions import ClientError

    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
    except ClientError as error:
        if _code(error) != "NoSuchEntity":
            raise
        iam.create_policy(
            PolicyName=arn.rsplit("/", 1)[-1],
            PolicyDocument=json.dumps(document),
            Description=f"{role.name}: {role.description}"[:1000],
            Tags=_tag_list(role, tags),
        )
        return True
    found = {t["Key"]: t["Value"] for t in iam.list_policy_tags(PolicyArn=arn)["Tags"]}
    if found.get("Purpose") != role.purpose:
        raise PipelineError(
            f"policy {arn} exists and is not the pipeline's (its Purpose tag is not "
            f"{role.purpose!r}): bootstrap changes no policy it did not create. Remove it, or "
            "name the role otherwise in platform.toml [pipeline] (deploy_role_prefix)."
        )
    default = policy["DefaultVersionId"]
    version = iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]
    if version["Document"] == document:
        return False
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= _POLICY_VERSIONS:
        oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=_created)
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
    return True


#: IAM keeps at most five versions of a managed policy (CreatePolicyVersion).
_POLICY_VERSIONS = 5


def _created(version: Mapping[str, Any]) -> Any:
    return version["CreateDate"]


def _update_tags(
    iam: Any, role: RoleSpec, tags: Mapping[str, str], current: Mapping[str, str]
) -> bool:
    wanted = {t["Key"]: t["Value"] for t in _tag_list(role, tags)}
    if all(current.get(key) == value for key, value in wanted.items()):
        return False
    iam.tag_role(RoleName=role.name, Tags=_tag_list(role, tags))
    return True
