"""What an e2e test may use of a deployment: AWS APIs and HTTP, nothing of the handlers' code.

* :func:`call` sends an HTTP request to a deployed API's URL, SigV4-signed for
  ``execute-api`` like any IAM client when ``credentials`` are given, unsigned otherwise.
* :func:`wait_for` polls a condition with a deadline and says what it was waiting for.
* :func:`log_messages` reads a function's CloudWatch Logs; :func:`file_summary` finds the
  processor's "trade file processed" record of one object in them.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def call(
    url: str,
    method: str = "GET",
    *,
    body: Any = None,
    raw: bytes | None = None,
    region: str,
    credentials: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """One HTTP request to a loopback URL; signed with SigV4 when ``credentials`` are given."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    assert urlsplit(url).hostname in LOOPBACK, url
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request_headers = dict(headers or {})
    if data is not None:
        request_headers.setdefault("content-type", "application/json")
    if credentials is not None:
        signed = AWSRequest(method=method, url=url, data=data or b"", headers=request_headers)
        SigV4Auth(credentials, "execute-api", region).add_auth(signed)
        request_headers = dict(signed.headers.items())
    request = urllib.request.Request(url, data=data, method=method, headers=request_headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            status, answer_headers, payload = answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        status, answer_headers, payload = error.code, dict(error.headers), error.read()
    return Response(status, {k.lower(): v for k, v in answer_headers.items()}, payload)


def wait_for(what: str, probe: Callable[[], T | None], *, timeout_seconds: float = 30.0) -> T:
    """``probe()`` until it returns something other than None/False/empty; fail after
    ``timeout_seconds`` naming ``what``."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_seconds:g} s waiting for {what}")
        time.sleep(0.25)


def log_messages(logs: Any, group: str, *, contains: str = "") -> list[str]:
    """Every message of a log group (all streams), oldest first; [] while the group is absent."""
    try:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
        events = [event for page in pages for event in page.get("events", [])]
    except logs.exceptions.ResourceNotFoundException:
        return []
    events.sort(key=lambda event: event["timestamp"])
    return [str(e["message"]) for e in events if contains in str(e["message"])]


def file_summary(logs: Any, group: str, key: str) -> dict[str, Any] | None:
    """The processor's structured "trade file processed" record of object ``key``, if logged."""
    for message in log_messages(logs, group, contains="trade file processed"):
        try:
            record = json.loads(message)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("key") == key:
            return dict(record)
    return None
