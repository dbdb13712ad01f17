"""Whether a VPC endpoint's policy lets a function's call through.

An endpoint policy is a resource-based policy on the endpoint; a request through the endpoint
must be allowed by it as well as by the caller's own policies, and an endpoint without a policy
has the default one, which allows everything
(https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html).

What is evaluated, conservatively (a call the evaluation cannot prove allowed is refused):

* an ``Allow`` statement counts when its principal is ``*``, its ``Action`` and ``Resource``
  cover the call, and its only conditions are ``aws:PrincipalAccount`` /
  ``aws:ResourceAccount`` equal to the deploying account (the functions' roles are of that
  account; the resource must be one of this deployment's, or name the account);
* a ``Deny`` statement whose actions and resources may cover the call refuses it whatever its
  conditions (they are not evaluated).
"""

from __future__ import annotations

from collections.abc import Iterable

from trading_infra.checks.policies import (
    ACCOUNT,
    Statement,
    action_matches,
    normalized,
    resource_matches,
    statements,
)

_ACCOUNT_KEYS = {"aws:principalaccount", "aws:resourceaccount"}


def refusal(policy: object, action: str, resource: str) -> str | None:
    """Why the endpoint policy ``policy`` refuses ``action`` on ``resource``; None if it allows
    it. ``policy`` is the endpoint's ``policy`` attribute (absent: the default policy)."""
    if policy is None:
        return None
    document = statements(policy)
    for statement in document:
        if statement.effect == "Deny" and _may_cover(statement, action, resource):
            return f"its statement {statement.name} denies {action} on {resource}"
    if any(_allows(statement, action, resource) for statement in document):
        return None
    return f"it allows {action} on {resource} by no statement"


def _may_cover(statement: Statement, action: str, resource: str) -> bool:
    if statement.negated:
        return True
    return _covers(statement.actions, action, statement.resources, resource)


def _covers(actions: Iterable[str], action: str, resources: Iterable[str], resource: str) -> bool:
    return any(action_matches(a, action) for a in actions) and any(
        resource_matches(r, resource) for r in resources
    )


def _allows(statement: Statement, action: str, resource: str) -> bool:
    if statement.effect != "Allow" or statement.negated:
        return False
    if statement.principal not in ("*", {"AWS": "*"}):
        return False
    if not _covers(statement.actions, action, statement.resources, resource):
        return False
    return _account_conditions_hold(statement, resource)


def _account_conditions_hold(statement: Statement, resource: str) -> bool:
    for operator, keys in statement.condition.items():
        if operator != "StringEquals" or not {k.lower() for k in keys} <= _ACCOUNT_KEYS:
            return False
    for key in statement.condition_keys():
        if any(normalized(str(v)) != ACCOUNT for v in statement.condition_values(key)):
            return False
    if "aws:resourceaccount" in statement.condition_keys():
        return _of_this_account(resource)
    return True


def _of_this_account(resource: str) -> bool:
    """A resource of this deployment (a Terraform reference to one of its resources or to its
    network's outputs) or an ARN naming the deploying account."""
    value = normalized(resource)
    return ACCOUNT in value or value.startswith(("${aws_", "${data.terraform_remote_state."))
