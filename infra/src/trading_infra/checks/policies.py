"""IAM policy documents as typed statements, and IAM's matching of actions and resources."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trading_infra.checks.synthesized import as_list

#: The deploying account and partition are lookups (``data.aws_caller_identity``,
#: ``data.aws_partition``) in every stack; two stacks of one environment and region deploy with
#: the same provider settings, so each stack's lookup is the same value.
_ACCOUNT = re.compile(r"\$\{data\.aws_caller_identity\.[A-Za-z0-9_-]+\.account_id\}")
_PARTITION = re.compile(r"\$\{data\.aws_partition\.[A-Za-z0-9_-]+\.partition\}")
ACCOUNT = "${account}"
PARTITION = "${partition}"


class UnreadablePolicyError(ValueError):
    """A policy that is not a literal JSON document (a reference or an expression)."""


def normalized(value: str) -> str:
    """``value`` with every stack's account and partition lookup written the same way."""
    return _PARTITION.sub(PARTITION, _ACCOUNT.sub(ACCOUNT, value))


@dataclass(frozen=True)
class Statement:
    """One statement of a policy document; ``index`` is its position (from 1)."""

    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, Any]]
    principal: Any = None
    #: NotAction / NotResource / NotPrincipal: what the statement covers is their complement.
    negated: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.sid if self.sid else f"#{self.index}"

    def condition_keys(self) -> set[str]:
        return {key.lower() for keys in self.condition.values() for key in keys}

    def condition_values(self, key: str) -> list[Any]:
        """Every value that any operator compares ``key`` (case-insensitive) with."""
        return [
            value
            for keys in self.condition.values()
            for name, values in keys.items()
            if name.lower() == key.lower()
            for value in as_list(values)
        ]


def statements(policy: object) -> tuple[Statement, ...]:
    """The statements of ``policy`` (a JSON string as synthesized)."""
    if not isinstance(policy, str) or (policy.startswith("${") and policy.endswith("}")):
        raise UnreadablePolicyError(f"the policy {policy!r} is not a literal JSON document")
    try:
        document = json.loads(policy)
    except json.JSONDecodeError as error:
        raise UnreadablePolicyError(f"the policy is not JSON: {error}") from error
    return tuple(_statement(i + 1, raw) for i, raw in enumerate(as_list(document["Statement"])))


def _statement(index: int, raw: Mapping[str, Any]) -> Statement:
    negated = frozenset(key for key in ("NotAction", "NotResource", "NotPrincipal") if key in raw)
    return Statement(
        index=index,
        sid=raw.get("Sid"),
        effect=str(raw.get("Effect", "")),
        actions=tuple(str(a) for a in as_list(raw.get("Action", raw.get("NotAction")))),
        resources=tuple(str(r) for r in as_list(raw.get("Resource", raw.get("NotResource")))),
        condition=dict(raw.get("Condition", {})),
        principal=raw.get("Principal", raw.get("NotPrincipal")),
        negated=negated,
    )


def _pattern(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), 0 if case_sensitive else re.IGNORECASE)


def action_matches(pattern: str, action: str) -> bool:
    """IAM's action matching: ``*`` and ``?`` wildcards, case-insensitive."""
    return _pattern(pattern, case_sensitive=False).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """Whether ``pattern`` covers every ARN ``resource`` names (its own wildcards included).

    A wildcard of ``resource`` is matched as a character, so ``function:x:*`` is covered by
    ``function:x:*`` or ``*`` but not by ``function:x:1``. Terraform references other than the
    account and partition lookups are known only to ``*``.
    """
    if pattern == "*":
        return True
    resource, pattern = normalized(resource), normalized(pattern)
    unresolved = resource.replace(ACCOUNT, "").replace(PARTITION, "")
    if "${" in unresolved:
        return pattern == resource
    return _pattern(pattern, case_sensitive=True).fullmatch(resource) is not None


def service_of(action: str) -> str | None:
    """The service prefix of ``action`` (``s3`` of ``s3:GetObject``); None for ``*``."""
    prefix, separator, _ = action.partition(":")
    if not separator or not prefix or "*" in prefix or "?" in prefix:
        return None
    return prefix.lower()
