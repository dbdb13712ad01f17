"""The last step of every verify run, whatever happened before: remove what the canary created.

Three steps, each tried even when another failed: the canary's objects (its file and any
quarantine object of it, every version), its trades (only items still the canary's), its
session (``DELETE /sessions/{id}``, SigV4-signed).

The objects go first: no invocation of the processor that starts after that can read the file.
One already reading it may still store trades, so when the ingest did not see every trade
stored, the trades step first waits (at most :data:`SETTLE_SECONDS`) until the processor has
ended its run on the file (a summary, a failed attempt, a dead letter), then deletes.

Nothing else is touched: every object key and trade id carries the run's id
(:mod:`tooling.verify.canary`).

Left behind by design: the processor's log lines about the canary (logs are not data, and
expire with the log group's retention). A session whose ``POST /sessions`` answer was lost
cannot be revoked (its id is unknown): it expires after its TTL
(:func:`tooling.verify.checks.session_ttl`). An invocation still running after the wait (stuck
past its own timeout, which is under a minute as shipped) may store trades after the cleanup:
the trades step says so, naming the canary's account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from tooling.verify.checks import CanaryRun
from tooling.verify.errors import CheckFailedError, describe_error
from tooling.verify.polling import poll

__all__ = ["SETTLE_SECONDS", "clean_up"]

#: How long the cleanup waits for the processor to end a run on the file that the ingest did
#: not see through: longer than the processor's own timeout.
SETTLE_SECONDS: Final = 60.0

_NO_CONTENT: Final = 204
_NOT_FOUND: Final = 404


def clean_up(run: CanaryRun) -> str:
    """Every step tried; what each removed, or (raised) what failed."""
    steps: tuple[tuple[str, Callable[[CanaryRun], str]], ...] = (
        ("objects", _remove_objects),
        ("trades", _remove_trades),
        ("session", _revoke_session),
    )
    done: list[str] = []
    failed: list[str] = []
    for name, step in steps:
        try:
            done.append(step(run))
        except Exception as error:  # a step's failure must not keep the next from running
            failed.append(f"{name} not removed: {describe_error(error)}")
    if failed:
        raise CheckFailedError("; ".join(failed + done))
    return "; ".join(done)


def _remove_objects(run: CanaryRun) -> str:
    if not run.upload_attempted:
        return "no file uploaded"
    removed = run.store.remove_objects(run.canary)
    if not removed:
        return f"no object left under {run.canary.key}"
    keys = sorted(set(removed))
    return f"{len(removed)} object version(s) deleted: {', '.join(keys)}"


def _remove_trades(run: CanaryRun) -> str:
    if not run.upload_attempted:
        return "no trades written"
    settled = _settle(run)
    removal = run.store.remove_trades(run.canary)
    text = f"{len(removal.deleted)} of {len(run.canary.trades)} canary trades deleted"
    notes = [settled.text] if settled else []
    if removal.absent:
        notes.append(f"{len(removal.absent)} not in the table")
        if settled is None or not settled.ended:
            notes.append(f"any stored later stays, account {run.canary.account_id}")
    return f"{text} ({'; '.join(notes)})" if notes else text


@dataclass(frozen=True)
class _Settled:
    """What the wait for the processor saw: whether its run on the file ended, and in words."""

    ended: bool
    text: str


def _settle(run: CanaryRun) -> _Settled | None:
    """When the ingest did not see every trade stored: wait until the processor has ended its
    run on the file (None: no wait)."""
    if run.ingested or run.progress is None:
        return None
    started = run.clock()
    ended = poll(
        run.progress.processor_done,
        timeout_seconds=SETTLE_SECONDS,
        clock=run.clock,
        sleep=run.sleep,
        backoff=run.backoff,
    )
    waited = run.clock() - started
    if ended is None:
        return _Settled(False, f"no end of the processor's run on the file in {waited:.1f} s")
    return _Settled(True, f"after the processor ended its run on the file, {waited:.1f} s")


def _revoke_session(run: CanaryRun) -> str:
    if run.session_id is None:
        return "no session opened"
    answer = run.api.delete_session(run.session_id)
    if answer.status == _NO_CONTENT:
        run.session_id = None
        return "session revoked (DELETE /sessions/{id}: 204)"
    if answer.status == _NOT_FOUND:
        run.session_id = None
        return "session already gone (DELETE /sessions/{id}: 404)"
    raise CheckFailedError(f"DELETE /sessions/{{id}} answered {answer.shown()}")
