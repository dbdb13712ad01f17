"""The checks of a verify run, in order: the API answers (``health``), a session of the canary
account opens (``session``), the canary's file is ingested end to end (``ingest``) and its
trades read back through the API (``read``). The cleanup is :mod:`tooling.verify.cleanup`.

Each check takes the run's state (:class:`CanaryRun`, where a check leaves what a later one and
the cleanup need) and returns what it saw, or raises :class:`CheckFailedError` saying what was
wrong. A session id is a bearer token: no check writes one into its detail.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from api_handler.domain.sessions import SESSION_TTL_MAX_SECONDS, SESSION_TTL_MIN_SECONDS

from tooling.upload.progress import FileState
from tooling.upload.transfer import UploadedObject
from tooling.verify.api import ApiClient
from tooling.verify.canary import Canary
from tooling.verify.errors import CheckFailedError
from tooling.verify.ingest import LISTING_LIMIT, IngestWatch
from tooling.verify.polling import Backoff, poll
from tooling.verify.store import Store

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "SESSION_MARGIN_SECONDS",
    "CanaryRun",
    "check_health",
    "check_ingest",
    "check_read",
    "check_session",
    "session_ttl",
]

#: How long the ingest may take before the check fails: a cold processor in a VPC on AWS, its
#: retries after a throttled or failed attempt, the account index catching up.
DEFAULT_TIMEOUT_SECONDS: Final = 300
#: The session outlives the run by this much: if its revocation fails, it still ends soon.
SESSION_MARGIN_SECONDS: Final = 300


@dataclass
class CanaryRun:
    """One run's canary, the ports it uses and what its checks left for the later ones."""

    canary: Canary
    api: ApiClient
    store: Store
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    backoff: Backoff = field(default_factory=Backoff)
    #: The open session (a bearer token: never shown).
    session_id: str | None = None
    #: Whether an upload of the canary's file was attempted (the cleanup then looks for it).
    upload_attempted: bool = False
    uploaded: UploadedObject | None = None
    #: Whether every canary trade was seen stored (else the processor may still write some).
    ingested: bool = False
    processor: FileState = field(default_factory=lambda: FileState(total_lines=None))
    #: The ingest's view of the listing and the processor (the cleanup asks it again).
    progress: IngestWatch | None = None

    def bearer(self) -> str:
        if self.session_id is None:
            raise CheckFailedError("no session of the canary account is open")
        return self.session_id


def session_ttl(timeout_seconds: float) -> int:
    """The canary session's ``ttl_seconds``: the ingest's timeout and a margin, within the
    API's bounds."""
    wanted = math.ceil(timeout_seconds) + SESSION_MARGIN_SECONDS
    return max(SESSION_TTL_MIN_SECONDS, min(SESSION_TTL_MAX_SECONDS, wanted))


def check_health(run: CanaryRun) -> str:
    """``GET /health`` (unsigned) answers 200 with status ok."""
    answer = run.api.health()
    body = answer.json()
    if answer.status != 200 or not isinstance(body, dict) or body.get("status") != "ok":
        raise CheckFailedError(f"GET /health answered {answer.shown()} (expected 200, status ok)")
    return f"GET /health answered {answer.shown()}"


def check_session(run: CanaryRun) -> str:
    """``POST /sessions`` (SigV4-signed) opens a session of the canary account."""
    account = run.canary.account_id
    ttl = session_ttl(run.timeout_seconds)
    answer = run.api.create_session(account, ttl)
    body = answer.json()
    session_id = body.get("session_id") if isinstance(body, dict) else None
    if answer.status != 201 or not isinstance(session_id, str) or not session_id:
        shown = answer.shown() if answer.status != 201 else f"{answer.status} without a session_id"
        raise CheckFailedError(f"POST /sessions (SigV4-signed) answered {shown} (expected 201)")
    run.session_id = session_id  # before anything else can fail: the cleanup revokes it
    if body.get("account_id") != account:
        raise CheckFailedError(f"POST /sessions opened a session of {body.get('account_id')!r}")
    return f"POST /sessions (SigV4-signed) opened a session of {account} for {ttl} s"


def check_ingest(run: CanaryRun) -> str:
    """The canary's file, uploaded to ``incoming/``, is ingested: every canary trade shows in
    the account's listing (``GET /accounts/{account_id}/trades``, the session's bearer token).

    The listing is read from a global secondary index, which DynamoDB keeps eventually
    consistent (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html):
    it is asked again until the trades show or the timeout passes. Meanwhile the processor's
    own account of the file (its log and dead-letter queue, as ``./tap upload --wait`` reads
    them) ends the wait at once when the file was rejected or its event dead-lettered.
    """
    bearer = run.bearer()
    started = run.clock()
    run.upload_attempted = True
    run.uploaded = run.store.upload(run.canary)
    watch = run.store.watch(run.uploaded)
    progress = IngestWatch(run.canary, run.api, bearer, watch, run.processor)
    run.progress = progress
    seen = poll(
        progress.probe,
        timeout_seconds=run.timeout_seconds,
        clock=run.clock,
        sleep=run.sleep,
        backoff=run.backoff,
    )
    elapsed = run.clock() - started
    if seen is None:
        raise CheckFailedError(progress.timed_out(run.uploaded, run.timeout_seconds))
    run.ingested = True
    seen_text = f"{run.uploaded.uri}: {progress.visible_text()} after {elapsed:.1f} s"
    said = progress.processor_said()
    return f"{seen_text} ({said})" if said else seen_text


def check_read(run: CanaryRun) -> str:
    """Each canary trade read back with the session equals the file: ``GET /trades/{id}``, the
    account's listing (newest first, one page), and ``GET /sessions/current`` names the
    canary account."""
    canary, bearer = run.canary, run.bearer()
    for trade in canary.trades:
        answer = run.api.trade(trade.trade_id, bearer)
        if answer.status != 200:
            raise CheckFailedError(f"GET /trades/{trade.trade_id} answered {answer.shown()}")
        _expect(f"GET /trades/{trade.trade_id}", answer.json(), trade.api_body())
    listing = run.api.account_trades(canary.account_id, bearer, limit=LISTING_LIMIT)
    route = f"GET /accounts/{canary.account_id}/trades"
    if listing.status != 200:
        raise CheckFailedError(f"{route} answered {listing.shown()}")
    _expect(route, listing.json(), {"items": canary.listing(), "next_token": None})
    current = run.api.current_session(bearer)
    body = current.json()
    owner = body.get("account_id") if isinstance(body, dict) else None
    if current.status != 200 or owner != canary.account_id:
        raise CheckFailedError(
            f"GET /sessions/current answered {current.status} for account {owner!r} "
            f"(expected 200, {canary.account_id})"
        )
    return (
        f"{len(canary.trades)} trades read back equal to the file: GET /trades/{{id}} and "
        f"GET /accounts/{canary.account_id}/trades; GET /sessions/current names the account"
    )


_SHOWN: Final = 80


def _expect(what: str, got: Any, expected: Mapping[str, Any]) -> None:
    """Fail naming each field of ``got`` (a JSON body) that differs from ``expected``."""
    if not isinstance(got, dict):
        raise CheckFailedError(f"{what}: not a JSON object: {_short(got)}")
    differences = [
        f"{name}: expected {_short(expected.get(name))}, got {_short(got.get(name))}"
        for name in sorted(set(expected) | set(got))
        if expected.get(name) != got.get(name)
    ]
    if differences:
        raise CheckFailedError(f"{what}: {'; '.join(differences)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
