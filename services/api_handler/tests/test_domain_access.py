"""Bearer tokens and the claims the authorizer passes to the handler (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from api_handler.domain.access import (
    SessionClaims,
    bearer_token,
    claims_from_context,
    is_iam_context,
)

SID = "s" * 43
CLAIMS = {"account_id": "acc-1", "session_id": SID, "expires_at": 1709298000}


@pytest.mark.parametrize("header", [f"Bearer {SID}", f"bearer {SID}", f"BEARER  {SID} "])
def test_a_bearer_header_yields_the_session_id(header: str) -> None:
    assert bearer_token(header) == SID


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        SID,  # no scheme
        f"Basic {SID}",
        "Bearer short",
        f"Bearer {SID}x",
        f"Bearer {SID[:-1]}=",
        f"Bearer {SID[:-1]}\u00e9",
        "Bearer " + "A" * 200,
        f"AWS4-HMAC-SHA256 Credential={SID}",
    ],
)
def test_anything_else_yields_no_token(header: str | None) -> None:
    assert bearer_token(header) is None


def test_claims_round_trip_through_the_authorizer_context() -> None:
    claims = SessionClaims(session_id=SID, account_id="acc-1", expires_at=1709298000)
    assert claims_from_context(claims.to_context()) == claims


def test_a_stringified_expiry_is_accepted() -> None:
    claims = claims_from_context({**CLAIMS, "expires_at": "1709298000"})
    assert claims is not None and claims.expires_at == 1709298000


@pytest.mark.parametrize(
    "context",
    [
        None,
        {},
        "acc-1",
        {**CLAIMS, "account_id": "acc 1"},
        {**CLAIMS, "account_id": None},
        {**CLAIMS, "session_id": "short"},
        {**CLAIMS, "expires_at": True},
        {**CLAIMS, "expires_at": 1.5},
        {**CLAIMS, "expires_at": "-1"},
        {k: v for k, v in CLAIMS.items() if k != "expires_at"},
    ],
)
def test_a_context_of_another_shape_yields_no_claims(context: Any) -> None:
    assert claims_from_context(context) is None


def test_claims_expire_at_expires_at() -> None:
    claims = SessionClaims(session_id=SID, account_id="acc-1", expires_at=1709298000)
    assert not claims.is_expired(datetime.fromtimestamp(1709297999.999, UTC))
    assert claims.is_expired(datetime.fromtimestamp(1709298000, UTC))


def test_an_iam_context_names_a_signer() -> None:
    assert is_iam_context({"accessKey": "ASIA1", "userArn": "arn:aws:iam::1:role/x"})


@pytest.mark.parametrize("context", [None, {}, {"accessKey": ""}, {"lambda": {}}, "iam"])
def test_anything_else_is_not_an_iam_context(context: Any) -> None:
    assert not is_iam_context(context)
