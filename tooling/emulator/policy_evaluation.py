"""IAM's policy language, evaluated for one request: statements, wildcards and conditions.

AWS decides a request in one account like this
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html and
.../reference_policies_evaluation-logic_policy-eval-basics.html): an explicit ``Deny`` in any
applicable policy denies; otherwise an ``Allow`` in the principal's identity-based policies (within
its permissions boundary, if it has one) or in the resource's policy allows; otherwise the request
is implicitly denied. :func:`decide` implements exactly that for the policies it is given.

A statement applies when its action, resource, principal (resource policies) and condition all
match. Conditions follow the condition operators page
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
a key absent from the request makes a positive operator false and a negated one true, except
``...IfExists`` (true) and ``Null``; ``ForAnyValue``/``ForAllValues`` qualify multivalued keys.

What the emulator cannot decide is never decided in the request's favour. The request context
only holds the keys the emulator knows (:attr:`Request.known_keys`): a condition on any other key,
an operator not implemented here (``Date*``, ``IpAddress``, ``Binary*``), a policy variable
(``${...}``) or a resource the emulator cannot name is *unknown*: an ``Allow`` statement whose
match is unknown does not apply, a ``Deny`` statement does. So a local allow is always an AWS
allow; a local deny may, in those cases only, be stricter than AWS.
"""

from __future__ import annotations

import enum
import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

__all__ = [
    "Decision",
    "Match",
    "Request",
    "arn_like",
    "decide",
    "parse_document",
    "statement_matches",
]


class Match(enum.Enum):
    """Whether a statement (or one of its elements) matches a request."""

    YES = "yes"
    NO = "no"
    #: The emulator cannot tell: never counts for an Allow, always for a Deny.
    UNKNOWN = "unknown"


class Decision(enum.Enum):
    """The outcome for a request, with the policy type that decided it."""

    ALLOWED = "allowed"
    IMPLICIT_DENY = "implicit deny"
    IDENTITY_DENY = "explicit deny in an identity-based policy"
    BOUNDARY_DENY = "explicit deny in a permissions boundary"
    RESOURCE_DENY = "explicit deny in a resource-based policy"

    @property
    def allowed(self) -> bool:
        return self is Decision.ALLOWED


@dataclass(frozen=True)
class Request:
    """What a policy is evaluated against.

    ``resource`` is None when the emulator cannot name the resource (no statement naming a
    resource can then be said to match it; ``"*"`` does). ``context`` holds the condition keys
    with a value in this request (names in lower case, each with its values); ``known_keys``
    are the keys whose presence or absence the emulator knows (lower case): any other key makes
    a condition unknown. ``principals`` are the ARNs a resource policy may name for the caller
    (the role and the role session), ``account_id`` its account.
    """

    action: str
    resource: str | None
    principals: frozenset[str]
    account_id: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    known_keys: frozenset[str] = frozenset()


def parse_document(document: str | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy document (JSON text or parsed), always as a list."""
    parsed = json.loads(document) if isinstance(document, str) else document
    statements = parsed.get("Statement", []) if isinstance(parsed, Mapping) else []
    if isinstance(statements, Mapping):
        statements = [statements]
    return [dict(s) for s in statements if isinstance(s, Mapping)]


def decide(
    request: Request,
    *,
    identity: Sequence[str | Mapping[str, Any]],
    boundary: Sequence[str | Mapping[str, Any]] | None = None,
    resource: Sequence[str | Mapping[str, Any]] = (),
) -> Decision:
    """AWS's decision for a request within one account (see the module docstring).

    ``identity`` are the principal's identity-based policies, ``boundary`` its permissions
    boundary (None: it has none), ``resource`` the resource's policy (empty: it has none).
    """
    identity_effect = _effect(identity, request, resource_policy=False)
    boundary_effect = None if boundary is None else _effect(boundary, request, False)
    resource_effect = _effect(resource, request, resource_policy=True)
    if identity_effect == "Deny":
        return Decision.IDENTITY_DENY
    if boundary_effect == "Deny":
        return Decision.BOUNDARY_DENY
    if resource_effect == "Deny":
        return Decision.RESOURCE_DENY
    if resource_effect == "Allow":
        return Decision.ALLOWED
    if identity_effect == "Allow" and boundary_effect in (None, "Allow"):
        return Decision.ALLOWED
    return Decision.IMPLICIT_DENY


def _effect(
    documents: Iterable[str | Mapping[str, Any]], request: Request, resource_policy: bool
) -> str:
    """``Deny``, ``Allow`` or ``""`` (nothing applies) for a set of policies."""
    allowed = False
    for document in documents:
        for statement in parse_document(document):
            match = statement_matches(statement, request, resource_policy=resource_policy)
            if statement.get("Effect") == "Deny" and match is not Match.NO:
                return "Deny"
            if statement.get("Effect") == "Allow" and match is Match.YES:
                allowed = True
    return "Allow" if allowed else ""


def statement_matches(
    statement: Mapping[str, Any], request: Request, *, resource_policy: bool = False
) -> Match:
    """Whether every element of ``statement`` matches ``request``."""
    action = _element(statement, "Action", lambda pattern: _action_matches(pattern, request))
    if "${" in json.dumps(statement):
        # Policy variables are not substituted by the emulator.
        return Match.NO if action is Match.NO else Match.UNKNOWN
    parts = [
        action,
        _resource_element(statement, request),
        _condition(statement.get("Condition"), request),
    ]
    if resource_policy:
        parts.append(_principal_element(statement, request))
    return _combine(parts)


def _combine(parts: Iterable[Match]) -> Match:
    result = Match.YES
    for part in parts:
        if part is Match.NO:
            return Match.NO
        if part is Match.UNKNOWN:
            result = Match.UNKNOWN
    return result


def _values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [json.dumps(v) if isinstance(v, bool) else str(v) for v in items]


def _element(statement: Mapping[str, Any], name: str, matches: Callable[[str], Match]) -> Match:
    """``name`` or ``Not<name>``: a list of patterns of which one must (must not) match."""
    negated = f"Not{name}"
    if name in statement:
        return _any(matches(pattern) for pattern in _values(statement[name]))
    if negated in statement:
        return _negate(_any(matches(pattern) for pattern in _values(statement[negated])))
    return Match.NO


def _any(results: Iterable[Match]) -> Match:
    result = Match.NO
    for match in results:
        if match is Match.YES:
            return Match.YES
        if match is Match.UNKNOWN:
            result = Match.UNKNOWN
    return result


def _negate(match: Match) -> Match:
    return {Match.YES: Match.NO, Match.NO: Match.YES}.get(match, Match.UNKNOWN)


# --------------------------------------------------------------------------- action, resource


def _action_matches(pattern: str, request: Request) -> Match:
    # Action names are case-insensitive in IAM.
    return Match.YES if _glob(pattern, case_sensitive=False).fullmatch(request.action) else Match.NO


def _resource_element(statement: Mapping[str, Any], request: Request) -> Match:
    resource = request.resource
    if resource is None:
        # The resource is not known: only "Resource": "*" certainly covers it.
        if "*" in _values(statement.get("Resource", [])):
            return Match.YES
        return Match.UNKNOWN if "Resource" in statement or "NotResource" in statement else Match.NO
    return _element(
        statement,
        "Resource",
        lambda pattern: Match.YES if arn_like(pattern, resource) else Match.NO,
    )


def arn_like(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: each of the six colon-separated parts separately, with ``*``/``?``."""
    if pattern == "*":
        return True
    pattern_parts, arn_parts = pattern.split(":", 5), arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return bool(_glob(pattern, case_sensitive=True).fullmatch(arn))
    return all(
        _glob(p, case_sensitive=True).fullmatch(a)
        for p, a in zip(pattern_parts, arn_parts, strict=True)
    )


@lru_cache(maxsize=4096)
def _glob(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    """``*`` any characters, ``?`` one character, everything else literal."""
    text = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(text, re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE)


# --------------------------------------------------------------------------- principal


def _principal_element(statement: Mapping[str, Any], request: Request) -> Match:
    deny = statement.get("Effect") == "Deny"
    if "Principal" in statement:
        return _principal_matches(statement["Principal"], request, deny=deny)
    if "NotPrincipal" in statement:
        return _negate(_principal_matches(statement["NotPrincipal"], request, deny=deny))
    return Match.NO


def _principal_matches(principal: Any, request: Request, *, deny: bool) -> Match:
    """Whether a resource policy's principal names the caller.

    ``"*"`` names everyone. An account (its id or root ARN) names every principal of it in a
    Deny; in an Allow it only delegates to the account's identity-based policies, so it grants
    nothing by itself. Service and federated principals never name a role session.
    """
    if principal == "*":
        return Match.YES
    if not isinstance(principal, Mapping):
        return Match.NO
    names = _values(principal.get("AWS", []))
    if "*" in names or request.principals.intersection(names):
        return Match.YES
    account = [n for n in names if n == request.account_id or _is_root(n, request.account_id)]
    return Match.YES if deny and account else Match.NO


def _is_root(name: str, account_id: str) -> bool:
    return re.fullmatch(rf"arn:[a-z-]+:iam::{re.escape(account_id)}:root", name) is not None


# --------------------------------------------------------------------------- conditions

_Comparator = Callable[[str, str], bool]


def _numeric(compare: Callable[[float, float], bool]) -> _Comparator:
    def check(actual: str, expected: str) -> bool:
        try:
            return compare(float(actual), float(expected))
        except ValueError:
            return False

    return check


def _string_like(actual: str, expected: str) -> bool:
    return bool(_glob(expected, case_sensitive=True).fullmatch(actual))


#: Base operator -> (comparison of one request value with one policy value, negated?).
_OPERATORS: Final[dict[str, tuple[_Comparator, bool]]] = {
    "stringequals": (operator.eq, False),
    "stringnotequals": (operator.eq, True),
    "stringequalsignorecase": (lambda a, e: a.casefold() == e.casefold(), False),
    "stringnotequalsignorecase": (lambda a, e: a.casefold() == e.casefold(), True),
    "stringlike": (_string_like, False),
    "stringnotlike": (_string_like, True),
    "arnequals": (lambda a, e: arn_like(e, a), False),
    "arnlike": (lambda a, e: arn_like(e, a), False),
    "arnnotequals": (lambda a, e: arn_like(e, a), True),
    "arnnotlike": (lambda a, e: arn_like(e, a), True),
    "bool": (lambda a, e: a.lower() == e.lower(), False),
    "numericequals": (_numeric(operator.eq), False),
    "numericnotequals": (_numeric(operator.eq), True),
    "numericlessthan": (_numeric(operator.lt), False),
    "numericlessthanequals": (_numeric(operator.le), False),
    "numericgreaterthan": (_numeric(operator.gt), False),
    "numericgreaterthanequals": (_numeric(operator.ge), False),
}


def _condition(block: Any, request: Request) -> Match:
    """A Condition element: every operator and every key in it must hold (logical AND)."""
    if not block:
        return Match.YES
    if not isinstance(block, Mapping):
        return Match.UNKNOWN
    results = []
    for condition_operator, pairs in block.items():
        if not isinstance(pairs, Mapping):
            return Match.UNKNOWN
        for key, expected in pairs.items():
            results.append(_test(str(condition_operator), str(key), _values(expected), request))
    return _combine(results)


def _test(condition_operator: str, key: str, expected: list[str], request: Request) -> Match:
    name = key.lower()
    if name not in request.known_keys:
        return Match.UNKNOWN
    actual = request.context.get(name)
    qualifier, _, base = condition_operator.rpartition(":")
    base = base.lower()
    if base == "null":
        wanted_absent = [value.lower() == "true" for value in expected]
        return Match.YES if (actual is None) in wanted_absent else Match.NO
    if_exists = base.endswith("ifexists")
    base = base.removesuffix("ifexists")
    if base not in _OPERATORS:
        return Match.UNKNOWN
    if actual is None:
        return _absent(qualifier.lower(), negated=_OPERATORS[base][1], if_exists=if_exists)
    compare, negated = _OPERATORS[base]
    hits = [any(compare(value, e) for e in expected) for value in actual]
    return Match.YES if _holds(qualifier.lower(), hits, negated) else Match.NO


def _absent(qualifier: str, *, negated: bool, if_exists: bool) -> Match:
    """A condition on a key the request does not have."""
    if if_exists or qualifier == "forallvalues":
        return Match.YES
    if qualifier == "foranyvalue":
        return Match.NO
    return Match.YES if negated else Match.NO


def _holds(qualifier: str, hits: list[bool], negated: bool) -> bool:
    """``hits``: for each request value, whether it matches one of the policy's values."""
    if qualifier == "forallvalues":
        return all((not hit) if negated else hit for hit in hits)
    if qualifier == "foranyvalue":
        return any((not hit) if negated else hit for hit in hits)
    return not any(hits) if negated else any(hits)
