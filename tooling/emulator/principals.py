"""The IAM users and roles a resource policy names as principals that do not exist in moto's IAM.

AWS resolves the IAM users and roles named in the ``Principal`` of a key policy or a bucket policy
when the policy is set, and refuses the policy when one of them does not exist; moto stores any
policy. The KMS and S3 compatibility patches ask :func:`missing_principals` which principals AWS
would refuse, and answer with their service's error.

Only what AWS documents is checked: IAM user and role ARNs of the partition the policy is set in,
by account and name (a user or role of that name must exist; IAM names are unique regardless
of case, and whether AWS also compares the path of a user or role that has one is not
documented, so neither case nor path is compared). Account
principals (``arn:aws:iam::111122223333:root``, a bare account id), ``"*"``, service, federated
and canonical-user principals, and every other ARN form are left as moto has them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["aws_principals", "missing_principals"]

#: An IAM user or role ARN: ``arn:<partition>:iam::<account>:role/<path/><name>``.
_IAM_ENTITY_ARN = re.compile(
    r"^arn:(?P<partition>[a-z-]+):iam::(?P<account>\d{12}):"
    r"(?P<kind>role|user)/(?:.*/)?(?P<name>[^/]+)$"
)


def aws_principals(policy: str | bytes) -> Iterator[str]:
    """Every ``"AWS"`` principal (a string or a list of them) of ``policy``'s statements, in
    order. A policy that is not a JSON object yields nothing: refusing it is the service's own
    policy validation, not this check."""
    try:
        document = json.loads(policy)
    except ValueError:
        return
    if not isinstance(document, dict):
        return
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return
    for statement in statements:
        principal = statement.get("Principal") if isinstance(statement, dict) else None
        if not isinstance(principal, dict):
            continue  # "*" (everyone) or absent
        values = principal.get("AWS")
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str):
                yield value


def missing_principals(policy: str | bytes, *, partition: str) -> list[str]:
    """The IAM user and role ARNs of ``partition`` that ``policy`` names as ``"AWS"`` principals
    and that moto's IAM does not have (in the account the ARN names), in order."""
    missing = []
    for principal in aws_principals(policy):
        match = _IAM_ENTITY_ARN.match(principal)
        if match is None or match["partition"] != partition:
            continue
        if not _exists(match["kind"], match["name"], account=match["account"], partition=partition):
            missing.append(principal)
    return missing


def _exists(kind: str, name: str, *, account: str, partition: str) -> bool:
    """Whether the IAM ``kind`` (``user`` or ``role``) called ``name`` exists in moto's IAM
    backend of ``account``: moto keeps IAM once per partition, not per region
    (``iam_backends[account][partition]``)."""
    from moto.iam.models import iam_backends

    # dict.get, not [...]: moto's BackendDict creates an account's backend on first access, and
    # an account that has none has no users or roles either.
    account_backends: Any = dict.get(iam_backends, account)
    backend: Any = dict.get(account_backends, partition) if account_backends else None
    if backend is None:
        return False
    entities = backend.roles.values() if kind == "role" else backend.users.values()
    wanted = name.casefold()
    return any(entity.name.casefold() == wanted for entity in list(entities))
