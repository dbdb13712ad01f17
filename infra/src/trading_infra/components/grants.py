"""What a grant gives a function: IAM statements, environment variables and uses of a KMS key.

The components own their grants (``tables.grant_trade_reads(function)``,
``storage.grant_read_incoming(function)``, ``key.grant_encrypt_decrypt(function, via="s3")``):
each knows the exact actions its resource needs, the variable that tells the code where the
resource is, and the key the resource is encrypted with. A stack only says who may do what.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class PolicyStatement:
    """One ``Allow`` statement of an identity policy.

    A single action or resource is written as a string, several as a list (IAM reads both).
    """

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": _one_or_list(self.actions),
            "Resource": _one_or_list(self.resources),
        }
        if self.conditions:
            statement["Condition"] = {k: dict(v) for k, v in self.conditions.items()}
        return statement


class Grantee(Protocol):
    """What receives a grant: a function with its own execution role."""

    def add_to_role_policy(self, statement: PolicyStatement) -> None:
        """Allow ``statement`` to the function's own code."""

    def add_environment(self, name: str, value: str) -> None:
        """Tell the function's code ``name`` (where a granted resource is)."""

    def add_key_use(self, key_arn: str, service: str) -> None:
        """Let ``service`` use the KMS key ``key_arn`` on the function's behalf."""


def _one_or_list(values: tuple[str, ...]) -> str | list[str]:
    if not values:
        raise ValueError("a policy statement needs at least one action and one resource")
    return values[0] if len(values) == 1 else list(values)
