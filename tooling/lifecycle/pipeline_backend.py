"""The pipeline roles' access to the Terraform backend (state buckets, state keys, lock table)
and to what ``./tap deploy`` calls besides Terraform; statements only (:mod:`.pipeline_identity`
assembles the roles).

State (Terraform, "Backend Type: s3", permissions:
https://developer.hashicorp.com/terraform/language/backend/s3): ``s3:ListBucket`` on the state
bucket, ``s3:GetObject`` (``PutObject``, ``DeleteObject`` to write, also the ``.tflock`` lock
objects of ``use_lockfile``) under the environment's key prefix; a key given as an alias is
named by ``kms:ResourceAliases`` (AWS KMS Developer Guide,
https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-resource-aliases),
so that the policy is right before the key exists; reading an SSE-KMS object needs
``kms:Decrypt``, writing one ``kms:GenerateDataKey`` (S3 User Guide,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html). The lock table
is shared by the environments of an account: a role reaches only the items of its own state
keys (``dynamodb:LeadingKeys``: the S3 backend's lock and digest items are
``<bucket>/<key>[-md5]``; DynamoDB Developer Guide,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).

Protection: a deploy role may administer KMS keys in its regions (the stacks create keys), and
the keys' policies let the account's IAM policies administer them; explicit denies keep it away
from every key aliased for another deployment of the account (their data, logs, secrets and
state keys: ``alias/<platform>-*-<their suffix>``), from disabling, deleting or re-writing the
key policy of its own state key, and from deleting or changing the shared lock table. An
explicit deny wins over any allow (IAM User Guide, policy evaluation logic,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Mapping
from typing import Any

from tooling.lifecycle.pipeline_model import AccountFacts, PipelineEnvironment, PipelineSpec

__all__ = ["backend_protection", "state_statements", "tooling_statements"]


def _statement(sid: str, actions: list[str], resource: Any, condition: Mapping[str, Any]) -> Any:
    statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resource}
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def _keys_by_alias(
    spec: PipelineSpec, keys: Collection[str], facts: AccountFacts
) -> tuple[list[str], dict[str, list[str]]]:
    """The state keys given by key ARN, and those given as aliases grouped by the key ARN
    pattern of their region and account (``{"arn:...:key/*": ["alias/..."]}``)."""
    arns = [key for key in keys if key.startswith("arn:") and ":alias/" not in key]
    by_keys: dict[str, list[str]] = {}
    for key in keys:
        if key in arns:
            continue
        if key.startswith("arn:"):
            _, _, _, region, account, alias = key.split(":", 5)
        else:
            region, account, alias = spec.state_region, facts.account_id, key
        by_keys.setdefault(f"arn:{facts.partition}:kms:{region}:{account}:key/*", []).append(alias)
    return arns, by_keys


def _key_statements(
    spec: PipelineSpec, keys: list[str], actions: list[str], facts: AccountFacts
) -> list[dict[str, Any]]:
    """``actions`` on the state keys: by key ARN, or by alias (module docstring)."""
    arns, by_keys = _keys_by_alias(spec, keys, facts)
    statements = [_statement("StateKeys", actions, arns, {})] if arns else []
    for index, (resource, aliases) in enumerate(sorted(by_keys.items())):
        condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}}
        sid = "StateKeyAliases" + (str(index) if index else "")
        statements.append(_statement(sid, actions, resource, condition))
    return statements


def _lock_table(spec: PipelineSpec, facts: AccountFacts) -> str:
    return (
        f"arn:{facts.partition}:dynamodb:{spec.state_region}:{facts.account_id}"
        f":table/{spec.lock_table}"
    )


def state_statements(
    spec: PipelineSpec,
    environments: Collection[PipelineEnvironment],
    facts: AccountFacts,
    *,
    write: bool,
) -> list[dict[str, Any]]:
    """Read ``environments``' state; with ``write`` also write it, lock it and run the
    idempotent bootstrap of its bucket, key and the lock table (``./tap deploy`` bootstraps
    first: tooling.lifecycle.backend; preflight reads the bucket's location)."""
    p = facts.partition
    buckets = [f"arn:{p}:s3:::{e.state_bucket}" for e in environments]
    prefixes = [f"{e.state_bucket}/{e.state_key_prefix}" for e in environments]
    table = _lock_table(spec, facts)
    own_items = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{k}*" for k in prefixes]}}
    bucket_actions, object_actions = ["s3:ListBucket"], ["s3:GetObject"]
    key_actions, item_actions = ["kms:Decrypt"], ["dynamodb:GetItem"]
    if write:
        bucket_actions += [
            "s3:GetBucketLocation", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
        ]  # fmt: skip
        object_actions += ["s3:DeleteObject", "s3:PutObject"]
        key_actions += ["kms:DescribeKey", "kms:EnableKeyRotation", "kms:Encrypt"]
        key_actions += ["kms:GenerateDataKey"]
        item_actions += ["dynamodb:DeleteItem", "dynamodb:PutItem"]
    statements = [
        _statement("StateBuckets", bucket_actions, buckets, {}),
        _statement("StateObjects", object_actions, [f"arn:{p}:s3:::{k}*" for k in prefixes], {}),
        *_key_statements(spec, [e.state_kms_key for e in environments], key_actions, facts),
        _statement("StateLockItems", item_actions, table, own_items),
    ]
    if write:
        table_actions = ["dynamodb:CreateTable", "dynamodb:DescribeTable"]
        table_actions += ["dynamodb:UpdateContinuousBackups"]
        statements.append(_statement("LockTable", table_actions, table, {}))
    return statements


def tooling_statements(
    environment: PipelineEnvironment, facts: AccountFacts
) -> list[dict[str, Any]]:
    """What ``./tap deploy --target aws`` calls besides Terraform and the state: bootstrap's
    bucket listing, preflight's quota reads and key administrator lookup; and Terraform's
    assumption of the environment's ``aws_role_arn`` when it names one."""
    regions = {"StringEquals": {"aws:RequestedRegion": list(environment.regions)}}
    statements = [
        _statement("ListBuckets", ["s3:ListAllMyBuckets"], "*", {}),
        _statement(
            "ServiceQuotas",
            ["servicequotas:GetAWSDefaultServiceQuota", "servicequotas:GetServiceQuota"],
            "*",
            regions,
        ),
    ]
    admin = environment.key_admin_role
    if admin is not None:
        arn = admin if admin.startswith("arn:") else (
            f"arn:{facts.partition}:iam::{facts.account_id}:role/{admin}"
        )  # fmt: skip
        statements.append(_statement("KeyAdministrator", ["iam:GetRole"], arn, {}))
    if environment.assume_role_arn is not None:
        statements.append(
            _statement("DeploymentRole", ["sts:AssumeRole"], environment.assume_role_arn, {})
        )
    return statements


#: What no deploy role may do to its own state key: it would lose or expose its state.
_STATE_KEY_GUARD = ["kms:DisableKey", "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"]


def backend_protection(
    spec: PipelineSpec,
    environment: PipelineEnvironment,
    neighbours: Collection[PipelineEnvironment],
    facts: AccountFacts,
) -> list[dict[str, Any]]:
    """The explicit denies of ``environment``'s deploy role (module docstring); ``neighbours``:
    the other environments of its account."""
    own = f"alias/{spec.platform}-x-{environment.suffix}"
    patterns = [f"alias/{spec.platform}-*-{n.suffix}" for n in neighbours]
    # A neighbour's pattern that would also match this deployment's own aliases (suffix
    # "eu-prod" against "prod") cannot tell them apart: such a neighbour is not fenced.
    patterns = [p for p in dict.fromkeys(patterns) if not fnmatch.fnmatchcase(own, p)]
    arns, by_keys = _keys_by_alias(spec, [n.state_kms_key for n in neighbours], facts)
    for alias in (a for aliases in by_keys.values() for a in aliases):
        if not any(fnmatch.fnmatchcase(alias, pattern) for pattern in patterns):
            patterns.append(alias)  # a state key alias of another name
    statements = []
    if patterns:
        statements.append(
            {
                "Sid": "OtherDeploymentsKeys",
                "Effect": "Deny",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringLike": {"kms:ResourceAliases": sorted(patterns)}},
            }
        )
    if arns:
        statements.append(
            {"Sid": "OtherStateKeys", "Effect": "Deny", "Action": "kms:*", "Resource": arns}
        )
    for statement in _key_statements(spec, [environment.state_kms_key], _STATE_KEY_GUARD, facts):
        statement["Sid"] = "Guard" + statement["Sid"]
        statement["Effect"] = "Deny"
        statements.append(statement)
    statements.append(
        {
            "Sid": "GuardLockTable",
            "Effect": "Deny",
            "Action": ["dynamodb:DeleteTable", "dynamodb:UpdateTable"],
            "Resource": _lock_table(spec, facts),
        }
    )
    return statements
