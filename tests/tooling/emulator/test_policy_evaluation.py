"""tooling.emulator.policy_evaluation: IAM's evaluation logic and condition operators as AWS
documents them, and never a local allow where the emulator cannot tell."""

from __future__ import annotations

from typing import Any

import pytest

from tooling.emulator.policy_evaluation import Decision, Request, arn_like, decide

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/processor"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/processor/processor-fn"
FUNCTION = f"arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:processor-fn"
TABLE = f"arn:aws:dynamodb:ap-southeast-1:{ACCOUNT}:table/trades"
KNOWN = frozenset({"aws:securetransport", "lambda:sourcefunctionarn", "kms:viaservice"})
CONTEXT = {"aws:securetransport": ("true",), "lambda:sourcefunctionarn": (FUNCTION,)}


def request(action: str = "dynamodb:PutItem", resource: str | None = TABLE) -> Request:
    return Request(
        action=action,
        resource=resource,
        principals=frozenset({ROLE, SESSION}),
        account_id=ACCOUNT,
        context=CONTEXT,
        known_keys=KNOWN,
    )


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str = "dynamodb:PutItem", resource: Any = TABLE, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str = "dynamodb:PutItem", resource: Any = TABLE, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


# --------------------------------------------------------------------------- evaluation logic


def test_nothing_allows_means_an_implicit_deny() -> None:
    assert decide(request(), identity=[]) is Decision.IMPLICIT_DENY
    assert decide(request(), identity=[policy(allow("dynamodb:GetItem"))]) is (
        Decision.IMPLICIT_DENY
    )


def test_an_identity_allow_allows_and_an_explicit_deny_wins_over_it() -> None:
    assert decide(request(), identity=[policy(allow())]) is Decision.ALLOWED
    assert decide(request(), identity=[policy(allow()), policy(deny())]) is (Decision.IDENTITY_DENY)


def test_policies_arrive_as_json_text_or_parsed_documents() -> None:
    text = '{"Statement": {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}}'
    assert decide(request(), identity=[text]) is Decision.ALLOWED


def test_within_one_account_a_resource_policy_naming_the_session_allows_alone() -> None:
    grant = {**allow("s3:GetObject", "arn:aws:s3:::data/*"), "Principal": {"AWS": SESSION}}
    s3_request = request("s3:GetObject", "arn:aws:s3:::data/a.csv")

    assert decide(s3_request, identity=[], resource=[policy(grant)]) is Decision.ALLOWED


def test_a_resource_policy_naming_the_account_delegates_to_iam_and_grants_nothing_alone() -> None:
    grant = {
        **allow("s3:GetObject", "arn:aws:s3:::data/*"),
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
    }
    s3_request = request("s3:GetObject", "arn:aws:s3:::data/a.csv")

    assert decide(s3_request, identity=[], resource=[policy(grant)]) is (Decision.IMPLICIT_DENY)


def test_a_resource_policy_deny_naming_everyone_or_the_account_denies() -> None:
    s3_request = request("s3:GetObject", "arn:aws:s3:::data/a.csv")
    identity = [policy(allow("s3:GetObject", "arn:aws:s3:::data/*"))]
    for principal in ("*", {"AWS": ACCOUNT}, {"AWS": ROLE}):
        refusal = {**deny("s3:*", "arn:aws:s3:::data/*"), "Principal": principal}
        assert decide(s3_request, identity=identity, resource=[policy(refusal)]) is (
            Decision.RESOURCE_DENY
        ), principal


def test_a_service_principal_never_names_a_role_session() -> None:
    grant = {
        **allow("s3:PutObject", "arn:aws:s3:::logs/*"),
        "Principal": {"Service": "logging.s3.amazonaws.com"},
    }
    s3_request = request("s3:PutObject", "arn:aws:s3:::logs/x")

    assert decide(s3_request, identity=[], resource=[policy(grant)]) is (Decision.IMPLICIT_DENY)


def test_a_permissions_boundary_limits_what_the_identity_policy_allows() -> None:
    identity = [policy(allow("dynamodb:*", "*"))]

    assert decide(request(), identity=identity, boundary=[]) is Decision.IMPLICIT_DENY
    assert decide(request(), identity=identity, boundary=[policy(allow())]) is Decision.ALLOWED
    assert (
        decide(request(), identity=identity, boundary=[policy(allow("dynamodb:*", "*"), deny())])
        is Decision.BOUNDARY_DENY
    )


# --------------------------------------------------------------------------- actions, resources


def test_actions_match_with_wildcards_and_without_case() -> None:
    assert decide(request(), identity=[policy(allow("DynamoDB:Put*"))]) is Decision.ALLOWED
    assert decide(request(), identity=[policy(allow("dynamodb:?utItem"))]) is Decision.ALLOWED
    assert decide(request(), identity=[policy(allow("dynamodb:Get*"))]) is (Decision.IMPLICIT_DENY)


def test_not_action_and_not_resource_match_everything_else() -> None:
    everything_but_get = {"Effect": "Allow", "NotAction": "dynamodb:GetItem", "Resource": "*"}
    not_other_table = {
        "Effect": "Allow",
        "Action": "dynamodb:PutItem",
        "NotResource": TABLE.replace("trades", "sessions"),
    }

    assert decide(request(), identity=[policy(everything_but_get)]) is Decision.ALLOWED
    assert decide(request("dynamodb:GetItem"), identity=[policy(everything_but_get)]) is (
        Decision.IMPLICIT_DENY
    )
    assert decide(request(), identity=[policy(not_other_table)]) is Decision.ALLOWED


def test_a_table_grant_does_not_cover_its_indexes_and_an_index_grant_not_the_table() -> None:
    index = f"{TABLE}/index/by-account"
    table_grant = [policy(allow("dynamodb:Query", TABLE))]
    index_grant = [policy(allow("dynamodb:Query", index))]

    assert decide(request("dynamodb:Query", index), identity=table_grant) is (
        Decision.IMPLICIT_DENY
    )
    assert decide(request("dynamodb:Query", index), identity=index_grant) is Decision.ALLOWED
    assert decide(request("dynamodb:Query", TABLE), identity=index_grant) is (
        Decision.IMPLICIT_DENY
    )


def test_s3_object_arns_match_their_prefix_pattern_only() -> None:
    incoming = [policy(allow("s3:GetObject", "arn:aws:s3:::data/incoming/*"))]

    def outcome(resource: str) -> Decision:
        return decide(request("s3:GetObject", resource), identity=incoming)

    assert outcome("arn:aws:s3:::data/incoming/a.csv") is Decision.ALLOWED
    assert outcome("arn:aws:s3:::data/quarantine/a") is Decision.IMPLICIT_DENY
    assert outcome("arn:aws:s3:::data") is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:dynamodb:*:*:table/trades", TABLE, True),
        ("arn:aws:dynamodb:*:*:table/trades", f"{TABLE}/index/by-account", False),
        ("arn:aws:dynamodb:*:*:table/trades*", f"{TABLE}/index/by-account", True),
        ("arn:aws:s3:::data/*", "arn:aws:s3:::data/a/b.csv", True),
        ("arn:aws:lambda:*:*:function:processor-fn", FUNCTION, True),
        ("arn:aws:lambda:*:*:function:processor-fn", f"{FUNCTION}:live", False),
        ("arn:aws:lambda:*:*:function:processor-fn*", f"{FUNCTION}:live", True),
        ("arn:aws:dynamodb:us-east-1:*:table/trades", TABLE, False),
        ("arn:aws:s3:::data.x/*", "arn:aws:s3:::dataax/k", False),
    ],
)
def test_arn_patterns(pattern: str, arn: str, expected: bool) -> None:
    assert arn_like(pattern, arn) is expected


def test_an_unnamed_resource_is_covered_only_by_a_star_grant_and_any_deny_applies() -> None:
    unnamed = request("kms:Decrypt", None)

    assert decide(unnamed, identity=[policy(allow("kms:Decrypt", "*"))]) is Decision.ALLOWED
    assert decide(unnamed, identity=[policy(allow("kms:Decrypt", "arn:aws:kms:*:*:key/k"))]) is (
        Decision.IMPLICIT_DENY
    )
    denied = [policy(allow("kms:Decrypt", "*"), deny("kms:Decrypt", "arn:aws:kms:*:*:key/k"))]
    assert decide(unnamed, identity=denied) is Decision.IDENTITY_DENY


# --------------------------------------------------------------------------- conditions


def source_function(arn: str) -> dict[str, Any]:
    return {"ArnEquals": {"lambda:SourceFunctionArn": arn}}


def test_an_allow_limited_to_the_calling_function_applies_to_it_only() -> None:
    own = [policy(allow(Condition=source_function(FUNCTION)))]
    other = [policy(allow(Condition=source_function(FUNCTION.replace("processor", "api"))))]

    assert decide(request(), identity=own) is Decision.ALLOWED
    assert decide(request(), identity=other) is Decision.IMPLICIT_DENY


def test_a_tls_only_deny_does_not_deny_requests_over_tls() -> None:
    tls_only = deny("s3:*", "*", Condition={"Bool": {"aws:SecureTransport": "false"}})
    tls_only_bool = deny("s3:*", "*", Condition={"Bool": {"aws:SecureTransport": False}})
    plain_http = deny("s3:*", "*", Condition={"Bool": {"aws:SecureTransport": "true"}})
    s3_request = request("s3:GetObject", "arn:aws:s3:::data/a")
    identity = [policy(allow("s3:GetObject", "*"))]

    for refusal in (tls_only, tls_only_bool):
        bucket_policy = policy({**refusal, "Principal": "*"})
        assert decide(s3_request, identity=identity, resource=[bucket_policy]) is (Decision.ALLOWED)
        assert decide(s3_request, identity=[policy(allow("s3:GetObject", "*"), refusal)]) is (
            Decision.ALLOWED
        )
    assert (
        decide(s3_request, identity=identity, resource=[policy({**plain_http, "Principal": "*"})])
        is Decision.RESOURCE_DENY
    )


def test_a_key_the_request_lacks_fails_a_positive_operator_and_passes_a_negated_one() -> None:
    via_dynamodb = {"StringEquals": {"kms:ViaService": "dynamodb.ap-southeast-1.amazonaws.com"}}
    not_via = {"StringNotEquals": {"kms:ViaService": "dynamodb.ap-southeast-1.amazonaws.com"}}
    if_exists = {"StringEqualsIfExists": {"kms:ViaService": "x"}}
    null = {"Null": {"kms:ViaService": "true"}}
    kms = request("kms:Decrypt", "arn:aws:kms:ap-southeast-1:123456789012:key/k")

    def outcome(condition: dict[str, Any]) -> Decision:
        return decide(kms, identity=[policy(allow("kms:Decrypt", "*", Condition=condition))])

    assert outcome(via_dynamodb) is Decision.IMPLICIT_DENY
    assert outcome(not_via) is Decision.ALLOWED
    assert outcome(if_exists) is Decision.ALLOWED
    assert outcome(null) is Decision.ALLOWED


def test_set_operators_on_multivalued_keys() -> None:
    tags = Request(
        action="dynamodb:PutItem",
        resource=TABLE,
        principals=frozenset({SESSION}),
        account_id=ACCOUNT,
        context={"aws:tagkeys": ("team", "cost")},
        known_keys=frozenset({"aws:tagkeys", "kms:viaservice"}),
    )

    def outcome(condition: dict[str, Any], request_: Request = tags) -> Decision:
        return decide(request_, identity=[policy(allow(Condition=condition))])

    assert outcome({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost", "x"]}}) is (
        Decision.ALLOWED
    )
    assert outcome({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}) is (
        Decision.IMPLICIT_DENY
    )
    assert outcome({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}) is Decision.ALLOWED
    assert outcome({"ForAnyValue:StringEquals": {"aws:TagKeys": ["x"]}}) is (Decision.IMPLICIT_DENY)
    # A key the request lacks: ForAllValues holds (vacuously), ForAnyValue does not.
    assert outcome({"ForAllValues:StringEquals": {"kms:ViaService": ["x"]}}) is Decision.ALLOWED
    assert outcome({"ForAnyValue:StringEquals": {"kms:ViaService": ["x"]}}) is (
        Decision.IMPLICIT_DENY
    )


def test_string_like_numeric_and_case_insensitive_operators() -> None:
    def outcome(condition: dict[str, Any]) -> Decision:
        return decide(request(), identity=[policy(allow(Condition=condition))])

    assert outcome({"StringLike": {"lambda:SourceFunctionArn": "*:function:processor-*"}}) is (
        Decision.ALLOWED
    )
    assert outcome({"StringEqualsIgnoreCase": {"aws:SecureTransport": "TRUE"}}) is (
        Decision.ALLOWED
    )
    assert outcome({"StringNotLike": {"lambda:SourceFunctionArn": "*processor*"}}) is (
        Decision.IMPLICIT_DENY
    )
    assert outcome({"NumericLessThan": {"aws:SecureTransport": "1"}}) is Decision.IMPLICIT_DENY


def test_what_the_emulator_cannot_evaluate_never_allows_and_always_denies() -> None:
    unknown_key = {"StringEquals": {"aws:SourceVpc": "vpc-1"}}
    unknown_operator = {"DateLessThan": {"aws:SecureTransport": "2030-01-01T00:00:00Z"}}
    variable = f"{TABLE[: -len('trades')]}${{aws:username}}"

    for condition in (unknown_key, unknown_operator):
        assert decide(request(), identity=[policy(allow(Condition=condition))]) is (
            Decision.IMPLICIT_DENY
        ), condition
        assert (
            decide(request(), identity=[policy(allow(), deny(Condition=condition))])
            is Decision.IDENTITY_DENY
        ), condition
    assert decide(request(), identity=[policy(allow(resource=variable))]) is (
        Decision.IMPLICIT_DENY
    )
    assert decide(request(), identity=[policy(allow(), deny(resource=variable))]) is (
        Decision.IDENTITY_DENY
    )
