"""Schemathesis hooks for fuzzing a running trading API against docs/api/openapi.json.

Used by the e2e contract run (CLI) and by the in-process contract test
(services/api_handler/tests/test_contract.py), so both authenticate the same way:

* **service routes** (tag ``service``, scheme ``sigv4``): every request is signed with SigV4
  for ``execute-api`` by botocore, on the exact bytes requests sends (a ``requests`` auth
  object set in ``before_call``; a generated ``Authorization`` value is replaced);
* **user routes** (tag ``user``, scheme ``session``): ``Authorization: Bearer <session_id>``
  of a session created once (and refreshed every 5 minutes) through a signed
  ``POST /sessions`` for :data:`CONTRACT_ACCOUNT`; half of the generated listings are
  pointed at that account so the 200 path is exercised too (the rest are 403 ``forbidden``).

Configuration (environment):

``TAP_API_URL``       the stage's base URL (output ``api_local_url`` or ``api_endpoint_url``)
``TAP_API_REGION``    the API's region (default ``AWS_REGION``, then ``ap-southeast-1``)
``TAP_CONTRACT_ACCOUNT``  the account of the fuzzing session (default ``acc-contract``)
credentials           botocore's default chain (``AWS_ACCESS_KEY_ID``... or a profile)

CLI::

    PYTHONPATH=docs/api SCHEMATHESIS_HOOKS=schemathesis_hooks TAP_API_URL=$URL \\
      .venv/bin/schemathesis run docs/api/openapi.json --url "$URL" ...
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import get_session

CONTRACT_ACCOUNT = os.environ.get("TAP_CONTRACT_ACCOUNT", "acc-contract")
_SIGNED_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")


def base_url() -> str:
    url = os.environ.get("TAP_API_URL", "")
    if not url:
        raise RuntimeError("set TAP_API_URL to the API stage's base URL")
    return url.rstrip("/")


def region() -> str:
    return os.environ.get("TAP_API_REGION") or os.environ.get("AWS_REGION") or "ap-southeast-1"


def credentials() -> Credentials:
    found = get_session().get_credentials()
    if found is None:
        raise RuntimeError("no AWS credentials for SigV4 (botocore's default chain)")
    return found


class SigV4(requests.auth.AuthBase):
    """Signs the prepared request (method, URL, query, body) for ``execute-api``."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        for name in list(request.headers):
            if name.lower() in _SIGNED_HEADERS:
                del request.headers[name]
        body = request.body or b""
        signed = AWSRequest(
            method=request.method,
            url=request.url,
            data=body.encode("utf-8") if isinstance(body, str) else body,
            headers=dict(request.headers),
        )
        SigV4Auth(credentials(), "execute-api", region()).add_auth(signed)
        request.headers.update(dict(signed.headers.items()))
        return request


def _tags(case: Any) -> list[str]:
    tags: list[str] = case.operation.definition.raw.get("tags", [])
    return tags


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Service routes are signed; so is anything without a user tag (the ``$default``
    route needs SigV4 too, e.g. for unsupported-method probes)."""
    if "user" not in _tags(case):
        kwargs["auth"] = SigV4()


@schemathesis.hook("map_path_parameters").apply_to(tag="user")
def own_account_half_the_time(context: Any, path_parameters: Any) -> Any:
    """Point about half of the generated listings at the session's own account."""
    if not isinstance(path_parameters, dict):
        return path_parameters
    account = path_parameters.get("account_id")
    if isinstance(account, str) and hashlib.sha256(account.encode()).digest()[0] % 2 == 0:
        return {**path_parameters, "account_id": CONTRACT_ACCOUNT}
    return path_parameters


@schemathesis.auth(refresh_interval=300).apply_to(tag="user")
class BearerSession:
    """A session of :data:`CONTRACT_ACCOUNT`, created through the service route."""

    def get(self, case: Any, context: Any) -> str:
        response = requests.post(
            f"{base_url()}/sessions",
            json={"account_id": CONTRACT_ACCOUNT, "ttl_seconds": 900},
            auth=SigV4(),
            timeout=30,
        )
        response.raise_for_status()
        session_id: str = response.json()["session_id"]
        return session_id

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
