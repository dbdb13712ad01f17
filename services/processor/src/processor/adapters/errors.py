"""The one place where boto3/botocore/urllib3 errors become the domain's exceptions.

* ``NoSuchKey`` / ``NoSuchVersion`` on GetObject, and ``PreconditionFailed`` (a continuation
  whose object was replaced) -> ``ObjectNotFoundError`` (the file is reported in its
  quarantine object, the invocation succeeds: retrying could not help);
* every other ``ClientError`` (throttling, 5xx, AccessDenied, missing table, validation) and
  every transport error -> ``DependencyError``: the invocation fails, Lambda retries and
  then dead-letters the event. None of these is a problem of the file's data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from botocore.exceptions import BotoCoreError, ClientError
from urllib3.exceptions import HTTPError

from processor.domain.errors import DependencyError, ObjectNotFoundError

# PreconditionFailed: a continuation's If-Match ETag no longer matches (object replaced).
NOT_FOUND_CODES: Final = frozenset({"NoSuchKey", "NoSuchVersion", "PreconditionFailed"})
TRANSPORT_ERRORS: Final = (BotoCoreError, HTTPError, OSError)


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "Unknown")


def translate(exc: Exception, action: str, *, object_lookup: bool = False) -> Exception:
    """The domain exception for an exception raised by a boto3 call (or a body read)."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        if object_lookup and code in NOT_FOUND_CODES:
            return ObjectNotFoundError(f"{action}: {code}")
        return DependencyError(f"{action} failed: {code}: {message}")
    return DependencyError(f"{action} failed: {type(exc).__name__}: {exc}")


@contextmanager
def aws_call(action: str, *, object_lookup: bool = False) -> Iterator[None]:
    """Run a boto3 call (or a read of a response body), translating its failures."""
    try:
        yield
    except (ClientError, *TRANSPORT_ERRORS) as exc:
        raise translate(exc, action, object_lookup=object_lookup) from exc
