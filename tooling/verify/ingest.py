"""How far the canary's ingest is (:class:`IngestWatch`): which canary trades the API's listing
shows, and what the processor says about the file (its part summaries, failed attempts and
dead letter, read as ``./tap upload --wait`` reads them)."""

from __future__ import annotations

from typing import Final

from processor.domain.service import FileStatus

from tooling.upload.errors import UploadError
from tooling.upload.progress import FileState
from tooling.upload.report import describe
from tooling.upload.transfer import UploadedObject
from tooling.verify.api import ApiClient
from tooling.verify.canary import Canary
from tooling.verify.errors import CheckFailedError
from tooling.verify.store import Watch
from tooling.verify.transport import ApiUnreachableError

__all__ = ["LISTING_LIMIT", "IngestWatch"]

#: One page of the account's listing holds every canary trade (the API allows 1..100).
LISTING_LIMIT: Final = 100
#: Answers that asking again may mend: throttled (429) and server-side errors (5xx).
_TOO_MANY_REQUESTS: Final = 429


class IngestWatch:
    """One :meth:`probe` per poll: True once every canary trade shows in the listing, None
    before; raises :class:`CheckFailedError` when waiting cannot help (the
    file was rejected, its event dead-lettered, the listing refused)."""

    def __init__(
        self,
        canary: Canary,
        api: ApiClient,
        bearer: str,
        watch: Watch,
        state: FileState | None = None,
    ) -> None:
        self._canary = canary
        self._api = api
        self._bearer = bearer
        self._watch: Watch | None = watch
        self.state = state if state is not None else FileState(total_lines=None)
        self.visible: frozenset[str] = frozenset()
        #: The last answer of the listing that asking again may mend (shown on a timeout).
        self.problem: str | None = None
        #: Why the processor's side is not followed (its log unreadable), if it is not.
        self.notes: list[str] = []

    @property
    def listing_route(self) -> str:
        return f"GET /accounts/{self._canary.account_id}/trades"

    def probe(self) -> bool | None:
        self._read_processor()
        self._read_listing()
        return True if self.visible >= set(self._canary.trade_ids) else None

    def processor_done(self) -> bool | None:
        """True once the processor has ended a run on the file (a part's summary, a failed
        attempt, its dead letter) or cannot be followed; None before."""
        try:
            self._read_processor()
        except CheckFailedError:
            return True  # it refused the file: done with it
        state = self.state
        ended = self._watch is None or state.finished or state.summaries or state.failures
        return True if ended else None

    def visible_text(self) -> str:
        total = len(self._canary.trades)
        return f"{len(self.visible)} of {total} canary trades in {self.listing_route}"

    def processor_said(self) -> str | None:
        """What the processor said of the file so far (None: nothing yet)."""
        if self._watch is None:
            return f"processor not followed: {'; '.join(self.notes)}"
        summary = self.state.current()
        said = [f"processor: {describe(summary)}"] if summary else []
        if self.state.failures:
            said.append(f"last failed attempt: {self.state.failures[-1].error}")
        return "; ".join(said) or None

    def timed_out(self, uploaded: UploadedObject, timeout_seconds: float) -> str:
        said = self.processor_said() or "processor: nothing logged about it"
        text = f"{uploaded.uri}: {self.visible_text()} after {timeout_seconds:g} s ({said})"
        if self.problem:
            text += f"; last listing: {self.problem}"
        return text

    def _read_processor(self) -> None:
        if self._watch is None:
            return
        try:
            observations = self._watch.poll()
        except UploadError as error:  # no logs:FilterLogEvents, say: the listing still tells
            self.notes.append(f"its log is not readable ({error})")
            self._watch = None
            return
        self.notes.extend(note for note in self._watch.notes if note not in self.notes)
        for observation in observations:
            self.state.add(observation)
        self._fail_if_refused()

    def _fail_if_refused(self) -> None:
        if self.state.dead_letter is not None:
            dead = describe(self.state.dead_letter)
            raise CheckFailedError(f"the processor dead-lettered the file: {dead}")
        summary = self.state.current()
        if summary is None or not summary.terminal:
            return
        if summary.status is not FileStatus.PROCESSED:
            raise CheckFailedError(
                f"the processor refused the file: {summary.status.value}: {summary.reason or '-'}"
            )
        if summary.counts.get("rejected", 0) or summary.counts.get("conflicts", 0):
            said = describe(summary)
            raise CheckFailedError(f"the processor did not store every canary line: {said}")

    def _read_listing(self) -> None:
        try:
            answer = self._api.account_trades(
                self._canary.account_id, self._bearer, limit=LISTING_LIMIT
            )
        except ApiUnreachableError as error:
            self.problem = str(error)
            return
        if answer.status != 200:
            if 400 <= answer.status < 500 and answer.status != _TOO_MANY_REQUESTS:
                raise CheckFailedError(f"{self.listing_route} answered {answer.shown()}")
            self.problem = f"{self.listing_route} answered {answer.shown()}"
            return
        body = answer.json()
        items = body.get("items") if isinstance(body, dict) else None
        ids = {item.get("trade_id") for item in items or () if isinstance(item, dict)}
        self.visible = frozenset(set(self._canary.trade_ids) & ids)
