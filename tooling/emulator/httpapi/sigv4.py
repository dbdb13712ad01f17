"""Signature Version 4 verification for routes with ``AWS_IAM`` authorization.

API Gateway recomputes the signature of each signed request for service ``execute-api`` in
the API's region and compares it with the one sent. This module does the same with
botocore's own SigV4 implementation, over a request rebuilt from exactly what the client
signed: the method, the URL it used, the headers it lists in ``SignedHeaders``, the body and
its ``X-Amz-Date``. Both forms are accepted: the ``Authorization`` header and a presigned URL
(``X-Amz-Signature`` in the query). The secret for an access key comes from an injectable
:data:`CredentialLookup`; the emulator's is :func:`fake_credentials` (``testing``/``testing``).

Error messages are API Gateway's, so a client that logs them logs the same text locally.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

__all__ = [
    "SERVICE",
    "CredentialLookup",
    "Principal",
    "SignatureError",
    "fake_credentials",
    "is_signed",
    "verify_sigv4",
]

SERVICE = "execute-api"
_ALGORITHM = "AWS4-HMAC-SHA256"
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_MAX_SKEW = timedelta(minutes=5)
_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@dataclass(frozen=True)
class Principal:
    """Who an access key belongs to, and its secret: what IAM would tell API Gateway."""

    secret_access_key: str
    account_id: str
    user_id: str
    user_arn: str


#: Access key id → its principal, or None for a key IAM does not know.
CredentialLookup = Callable[[str], Principal | None]


class SignatureError(Exception):
    """The request's signature is missing, malformed, expired or wrong; ``str(error)`` is
    API Gateway's message for the 403 response."""


def fake_credentials(account_id: str, access_key_id: str = "testing") -> CredentialLookup:
    """The emulator's credentials: moto's documented fake key (secret equal to the key id),
    an IAM user ``testing`` of ``account_id``. Not a secret, never valid on AWS."""
    principal = Principal(
        secret_access_key=access_key_id,
        account_id=account_id,
        user_id="AIDAEMULATORTESTING1",
        user_arn=f"arn:aws:iam::{account_id}:user/testing",
    )
    return lambda key: principal if key == access_key_id else None


def is_signed(headers: Sequence[tuple[str, str]], raw_query: str) -> bool:
    """Whether a request carries a SigV4 signature (header or presigned query) at all."""
    if any(key.lower() == "authorization" for key, _ in headers):
        return True
    return any(key == "X-Amz-Signature" for key, _ in parse_qsl(raw_query))


@dataclass(frozen=True)
class _Signature:
    access_key: str
    scope_date: str
    scope_region: str
    scope_service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    expires: int | None


class _Verifier(SigV4Auth):
    """botocore's signer, told which headers the client signed instead of choosing them."""

    def __init__(self, credentials: Credentials, region: str, signed: tuple[str, ...]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        chosen = HTTPHeaders()
        for name, value in request.headers.items():
            if name.lower() in self._signed:
                chosen[name.lower()] = value
        return chosen


def verify_sigv4(
    *,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    region: str,
    lookup: CredentialLookup,
    now: datetime,
) -> dict[str, Any]:
    """Check the signature of a request to ``url`` (scheme://host[:port]/path?query, as the
    client used it) and return the ``requestContext.authorizer.iam`` block for its caller;
    raise :class:`SignatureError` with API Gateway's message otherwise."""
    base_url, _, raw_query = url.partition("?")
    signature = _parse(headers, raw_query)
    _check_time(signature, now)
    _check_scope(signature, region)
    principal = lookup(signature.access_key)
    if principal is None:
        raise SignatureError("The security token included in the request is invalid.")
    _check_payload_hash(headers, body)
    unsigned_query = "&".join(
        pair for pair in raw_query.split("&") if pair and not pair.startswith("X-Amz-Signature=")
    )
    request = AWSRequest(
        method=method,
        url=f"{base_url}?{unsigned_query}" if unsigned_query else base_url,
        data=body,
    )
    for name, value in headers:
        if name.lower() in signature.signed_headers:
            request.headers[name] = value
    request.context["timestamp"] = signature.amz_date
    credentials = Credentials(signature.access_key, principal.secret_access_key)
    verifier = _Verifier(credentials, region, signature.signed_headers)
    canonical = verifier.canonical_request(request)
    string_to_sign = verifier.string_to_sign(request, canonical)
    expected = verifier.signature(string_to_sign, request)
    if not hmac.compare_digest(expected, signature.signature):
        raise SignatureError(
            f"{_MISMATCH}\n\nThe Canonical String for this request should have been\n"
            f"'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
        )
    return {
        "accessKey": signature.access_key,
        "accountId": principal.account_id,
        "callerId": principal.user_id,
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": principal.user_arn,
        "userId": principal.user_id,
    }


def _parse(headers: Sequence[tuple[str, str]], raw_query: str) -> _Signature:
    authorization = next((v for k, v in headers if k.lower() == "authorization"), None)
    if authorization is not None:
        return _parse_header(authorization, headers)
    return _parse_query(dict(parse_qsl(raw_query, keep_blank_values=True)))


def _parse_header(authorization: str, headers: Sequence[tuple[str, str]]) -> _Signature:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != _ALGORITHM:
        raise SignatureError(f"Authorization header requires '{_ALGORITHM}' as its algorithm.")
    parts = dict(part.strip().partition("=")[::2] for part in rest.split(",") if "=" in part)
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if name not in parts]
    amz_date = next((v for k, v in headers if k.lower() == "x-amz-date"), None)
    if missing or amz_date is None:
        problems = [f"Authorization header requires '{name}' parameter." for name in missing]
        if amz_date is None:
            problems.append("Authorization header requires existence of a 'X-Amz-Date' header.")
        raise SignatureError(" ".join(problems) + f" Authorization={authorization}")
    return _signature(
        parts["Credential"], parts["SignedHeaders"], parts["Signature"], amz_date, None
    )


def _parse_query(query: dict[str, str]) -> _Signature:
    names = ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date")
    missing = [name for name in names if name not in query]
    if query.get("X-Amz-Algorithm") != _ALGORITHM or missing:
        raise SignatureError(
            " ".join(f"Query string requires '{name}' parameter." for name in missing)
            or f"X-Amz-Algorithm must be {_ALGORITHM}."
        )
    expires = query.get("X-Amz-Expires", "")
    return _signature(
        query["X-Amz-Credential"],
        query["X-Amz-SignedHeaders"],
        query["X-Amz-Signature"],
        query["X-Amz-Date"],
        int(expires) if expires.isdigit() else None,
    )


def _signature(
    credential: str, signed_headers: str, signature: str, amz_date: str, expires: int | None
) -> _Signature:
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SignatureError(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{scope[-1]}'. Credential={credential}"
        )
    return _Signature(
        access_key=scope[0],
        scope_date=scope[1],
        scope_region=scope[2],
        scope_service=scope[3],
        signed_headers=tuple(name.strip().lower() for name in signed_headers.split(";")),
        signature=signature.strip(),
        amz_date=amz_date.strip(),
        expires=expires,
    )


def _check_time(signature: _Signature, now: datetime) -> None:
    now = now.astimezone(UTC)
    try:
        signed_at = datetime.strptime(signature.amz_date, _DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError as error:
        raise SignatureError(
            f"Date must be in ISO-8601 'basic format'. Got '{signature.amz_date}'."
        ) from error
    stamp = now.strftime(_DATE_FORMAT)
    if signature.expires is not None:
        if now > signed_at + timedelta(seconds=signature.expires):
            raise SignatureError("Signature expired: presigned URL is no longer valid.")
    elif now - signed_at > _MAX_SKEW:
        earliest = (now - _MAX_SKEW).strftime(_DATE_FORMAT)
        raise SignatureError(
            f"Signature expired: {signature.amz_date} is now earlier than {earliest} "
            f"({stamp} - 5 min.)"
        )
    if signed_at - now > _MAX_SKEW:
        latest = (now + _MAX_SKEW).strftime(_DATE_FORMAT)
        raise SignatureError(
            f"Signature not yet current: {signature.amz_date} is still later than {latest} "
            f"({stamp} + 5 min.)"
        )
    if signature.scope_date != signature.amz_date[:8]:
        raise SignatureError(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{signature.scope_date}' != '{signature.amz_date[:8]}', from "
            f"ISO-8601 string '{signature.amz_date}'."
        )


def _check_scope(signature: _Signature, region: str) -> None:
    if signature.scope_service != SERVICE:
        raise SignatureError(f"Credential should be scoped to correct service: '{SERVICE}'. ")
    if signature.scope_region != region:
        raise SignatureError(
            f"Credential should be scoped to a valid region, not '{signature.scope_region}'. "
        )


def _check_payload_hash(headers: Sequence[tuple[str, str]], body: bytes) -> None:
    declared = next((v for k, v in headers if k.lower() == "x-amz-content-sha256"), None)
    if declared is None or declared.strip() == _UNSIGNED_PAYLOAD:
        return
    if declared.strip() != hashlib.sha256(body).hexdigest():
        raise SignatureError(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
