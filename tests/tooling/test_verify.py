"""tooling.verify: what `./tap verify --env ENV` checks, prints and cleans up, against a fake
deployment (the API as a fake HTTP transport, the AWS side as a fake store sharing its trades).

Time is a fake clock: each HTTP request takes 0.5 s, each pause what it asks for, so every
figure of a report is exact.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError
from processor.domain.service import FileStatus

from tooling.upload.deployment import Deployment
from tooling.upload.errors import UploadError
from tooling.upload.records import DeadLetter, FailedAttempt, Observation, PartSummary
from tooling.upload.transfer import UploadedObject
from tooling.verify import (
    Canary,
    VerifyError,
    VerifyResult,
    VerifyTarget,
    execute,
    new_canary,
    report_lines,
)
from tooling.verify.api import ApiClient
from tooling.verify.polling import Backoff
from tooling.verify.store import TradeRemoval
from tooling.verify.transport import ApiUnreachableError, HttpAnswer, HttpRequest

RUN = "verify-20261205T145700Z-0a1b2c"
KEY = f"incoming/verify/{RUN}.csv"
BUCKET = "tap-data-dev"
BASE = "http://127.0.0.1:4566/_tap/execute-api/abc123/dev"
SESSION = "S" * 43
COUNTS = {"accepted": 3, "duplicates": 0, "conflicts": 0, "rejected": 0, "blank_lines": 0}
PROCESSED = PartSummary(1, FileStatus.PROCESSED, COUNTS, (), None, None, 1_000)
PROCESSED_TEXT = (
    "processor: part 1: processed (accepted 3, duplicates 0, conflicts 0, rejected 0, "
    "blank_lines 0)"
)
HEADER = f"verify dev on local: canary {RUN}, file {KEY}"
LISTING = f"GET /accounts/{RUN}/trades"


def canary() -> Canary:
    return new_canary(datetime(2026, 12, 5, 14, 57, 0, 123_456, tzinfo=UTC), lambda: "0a1b2c")


def target() -> VerifyTarget:
    deployment = Deployment(BUCKET, "tap-processor-dev", None, "ap-southeast-1")
    return VerifyTarget("dev", "local", BASE, "tap-trades-dev", deployment)


def signed(request: HttpRequest) -> HttpRequest:
    """The fake signer: marks the request as SigV4-signed."""
    return replace(request, headers={**request.headers, "authorization": "AWS4-HMAC-SHA256 fake"})


def ok(body: str) -> HttpAnswer:
    return HttpAnswer(200, body.encode())


@dataclass
class FakeWatch:
    """The processor's log and dead-letter queue: one batch of observations per poll."""

    batches: list[list[Observation]]
    notes: list[str] = field(default_factory=list)
    error: Exception | None = None

    def poll(self) -> list[Observation]:
        if self.error is not None:
            raise self.error
        return self.batches.pop(0) if self.batches else []


@dataclass
class FakeDeployment:
    """A healthy deployment in memory, both sides of it: a Transport (the API) and a Store (S3,
    DynamoDB, the processor's log). An uploaded canary's trades show in the listing from the
    ``visible_from``-th listing on. ``answers`` replaces the next answers of a route (method,
    path)."""

    canary: Canary
    visible_from: int = 2
    answers: dict[tuple[str, str], list[HttpAnswer | Exception]] = field(default_factory=dict)
    batches: list[list[Observation]] = field(default_factory=lambda: [[PROCESSED]])
    watch_error: Exception | None = None
    failures: dict[str, BaseException] = field(default_factory=dict)
    now: float = 100.0
    sent: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    pauses: list[float] = field(default_factory=list)
    listings: int = 0
    uploaded: bool = False
    sessions: set[str] = field(default_factory=set)

    # --- the clock
    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds

    # --- the API
    def send(self, request: HttpRequest) -> HttpAnswer:
        self.now += 0.5
        path = urlsplit(request.url).path.removeprefix(urlsplit(BASE).path)
        query = urlsplit(request.url).query
        auth = request.headers.get("authorization", "")
        how = "signed" if auth.startswith("AWS4") else "bearer" if auth else "unsigned"
        self.sent.append(f"{request.method} {path}{'?' + query if query else ''} {how}")
        if self.answers.get((request.method, path)):
            answer = self.answers[(request.method, path)].pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return self._serve(request, path)

    def _serve(self, request: HttpRequest, path: str) -> HttpAnswer:
        trades = {t.trade_id: t for t in self.canary.trades}
        if path == "/health":
            return ok('{"status":"ok"}')
        if (request.method, path) == ("POST", "/sessions"):
            self.sessions.add(SESSION)
            return HttpAnswer(201, f'{{"session_id":"{SESSION}","account_id":"{RUN}"}}'.encode())
        if request.method == "DELETE":
            gone = SESSION in self.sessions
            self.sessions.discard(SESSION)
            return HttpAnswer(204 if gone else 404)
        if path == "/sessions/current":
            return ok(f'{{"session_id":"{SESSION}","account_id":"{RUN}"}}')
        if path == f"/accounts/{RUN}/trades":
            self.listings += 1
            shown = self.uploaded and self.listings >= self.visible_from
            return ok(_json({"items": self.canary.listing() if shown else [], "next_token": None}))
        trade = trades[path.removeprefix("/trades/")]
        return ok(_json(trade.api_body()))

    # --- the AWS side
    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.failures:
            raise self.failures[name]

    def upload(self, canary: Canary) -> UploadedObject:
        self._call("upload")
        self.uploaded = True
        return UploadedObject(BUCKET, canary.key, 300, "etag", None, 0, 1_000)

    def watch(self, uploaded: UploadedObject) -> FakeWatch:
        self._call("watch")
        return FakeWatch(self.batches, error=self.watch_error)

    def remove_objects(self, canary: Canary) -> tuple[str, ...]:
        self._call("remove_objects")
        return (canary.key,) if self.uploaded else ()

    def remove_trades(self, canary: Canary) -> TradeRemoval:
        self._call("remove_trades")
        ids = canary.trade_ids
        return TradeRemoval(ids, ()) if self.uploaded else TradeRemoval((), ids)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def verify_run(fake: FakeDeployment, *, timeout_seconds: float = 300) -> tuple[str, VerifyResult]:
    """``execute`` on the fake: the printed report and the result (also when it failed)."""
    out = io.StringIO()
    try:
        result = execute(
            target(),
            ApiClient(BASE, fake, signed),
            fake,
            fake.canary,
            timeout_seconds=timeout_seconds,
            out=out,
            clock=fake.clock,
            sleep=fake.sleep,
            backoff=Backoff(first_seconds=1.0, factor=2.0, most_seconds=4.0),
        )
    except VerifyError as error:
        failed = error
    else:
        return out.getvalue(), result
    assert failed.code == 1 and failed.result is not None
    return out.getvalue(), failed.result


CLEANED = (
    f"1 object version(s) deleted: {KEY}; 3 of 3 canary trades deleted; "
    "session revoked (DELETE /sessions/{id}: 204)"
)
READ = (
    f"3 trades read back equal to the file: GET /trades/{{id}} and {LISTING}; "
    "GET /sessions/current names the account"
)


# --------------------------------------------------------------------------- a healthy deployment


def test_a_healthy_deployment_passes_every_check_and_the_report_says_what_each_saw() -> None:
    fake = FakeDeployment(canary())
    report, result = verify_run(fake)
    assert report.splitlines() == [
        HEADER,
        '  PASS  health     0.5 s  GET /health answered 200 {"status":"ok"}',
        f"  PASS  session    0.5 s  POST /sessions (SigV4-signed) opened a session of {RUN} "
        "for 600 s",
        f"  PASS  ingest     2.0 s  s3://{BUCKET}/{KEY}: 3 of 3 canary trades in {LISTING} "
        f"after 2.0 s ({PROCESSED_TEXT})",
        f"  PASS  read       2.5 s  {READ}",
        f"  PASS  cleanup    0.5 s  {CLEANED}",
        "verify dev: passed, 5 checks in 6.0 s",
    ]
    assert result.passed and result.failed == () and result.run_id == RUN
    assert [(c.name, c.passed, c.seconds) for c in result.checks] == [
        ("health", True, 0.5),
        ("session", True, 0.5),
        ("ingest", True, 2.0),
        ("read", True, 2.5),
        ("cleanup", True, 0.5),
    ]
    assert report_lines(result, fake.canary) == report.splitlines()


def test_the_run_calls_each_route_as_a_client_does() -> None:
    """Health unsigned, the session routes SigV4-signed, the user routes with the bearer; the
    listing asked again (1 s, then 2 s later) until the trades show; the cleanup last."""
    fake = FakeDeployment(canary())
    verify_run(fake)
    trades = [f"GET /trades/{RUN}-{n} bearer" for n in (1, 2, 3)]
    assert fake.sent == [
        "GET /health unsigned",
        "POST /sessions signed",
        f"GET /accounts/{RUN}/trades?limit=100 bearer",
        f"GET /accounts/{RUN}/trades?limit=100 bearer",
        *trades,
        f"GET /accounts/{RUN}/trades?limit=100 bearer",
        "GET /sessions/current bearer",
        f"DELETE /sessions/{SESSION} signed",
    ]
    assert fake.pauses == [1.0]
    assert fake.calls == ["upload", "watch", "remove_objects", "remove_trades"]


# --------------------------------------------------------------------------- failures


def test_an_ingest_that_never_shows_fails_after_the_timeout_and_everything_is_cleaned_up() -> None:
    fake = FakeDeployment(canary(), visible_from=99, batches=[])
    report, result = verify_run(fake, timeout_seconds=10)
    assert report.splitlines()[3:] == [
        f"  FAIL  ingest    10.5 s  s3://{BUCKET}/{KEY}: 0 of 3 canary trades in {LISTING} "
        "after 10 s (processor: nothing logged about it)",
        "  SKIP  read         -    not run: ingest did not pass",
        f"  PASS  cleanup   60.5 s  1 object version(s) deleted: {KEY}; 3 of 3 canary trades "
        "deleted (no end of the processor's run on the file in 60.0 s); session revoked "
        "(DELETE /sessions/{id}: 204)",
        "verify dev: FAILED: ingest (not run: read), 72.0 s",
    ]
    # the ingest's pauses (the last one ends at its deadline), then the cleanup's wait
    assert fake.pauses == [1.0, 2.0, 4.0, 1.0] + [1.0, 2.0, 4.0, 4.0] + [4.0] * 12 + [1.0]
    assert fake.calls[-2:] == ["remove_objects", "remove_trades"]
    assert fake.sent[-1] == f"DELETE /sessions/{SESSION} signed"
    assert (result.failed, result.skipped) == (("ingest",), ("read",))


def test_after_a_timeout_the_trades_are_deleted_once_the_processor_ended_its_run() -> None:
    """The file is deleted first; an invocation already reading it may still store trades, so
    the cleanup waits for the processor's end of its run (here a failed attempt) before it
    deletes them."""
    attempt = FailedAttempt("Task timed out after 30.00 seconds", 1_000)
    fake = FakeDeployment(canary(), visible_from=99, batches=[[], [], [], [], [attempt]])
    report, _ = verify_run(fake, timeout_seconds=3)
    assert report.splitlines()[3] == (
        f"  FAIL  ingest     3.5 s  s3://{BUCKET}/{KEY}: 0 of 3 canary trades in {LISTING} "
        "after 3 s (processor: nothing logged about it)"
    )
    assert report.splitlines()[5] == (
        f"  PASS  cleanup    1.5 s  1 object version(s) deleted: {KEY}; 3 of 3 canary trades "
        "deleted (after the processor ended its run on the file, 1.0 s); session revoked "
        "(DELETE /sessions/{id}: 204)"
    )
    assert fake.calls[-2:] == ["remove_objects", "remove_trades"]


def test_the_error_names_each_failed_check_with_what_it_saw() -> None:
    fake = FakeDeployment(canary(), visible_from=99, batches=[])
    with pytest.raises(VerifyError) as raised:
        execute(
            target(), ApiClient(BASE, fake, signed), fake, fake.canary, timeout_seconds=1,
            out=io.StringIO(), clock=fake.clock, sleep=fake.sleep,
        )  # fmt: skip
    assert raised.value.code == 1
    assert str(raised.value) == (
        f"dev failed ingest (ingest: s3://{BUCKET}/{KEY}: 0 of 3 canary trades in {LISTING} "
        "after 1 s (processor: nothing logged about it))"
    )


def test_a_rejected_file_fails_the_ingest_at_once_without_waiting_for_the_timeout() -> None:
    rejected = PartSummary(1, FileStatus.FILE_ERROR, COUNTS, (), "bad CSV header", None, 1_000)
    fake = FakeDeployment(canary(), visible_from=99, batches=[[], [rejected]])
    report, _ = verify_run(fake)
    assert report.splitlines()[3] == (
        "  FAIL  ingest     1.5 s  the processor refused the file: file_error: bad CSV header"
    )
    assert fake.pauses == [1.0]


def test_a_dead_lettered_event_fails_the_ingest_at_once() -> None:
    attempt = FailedAttempt("DependencyError: s3:GetObject: AccessDenied", 1_000)
    dead = DeadLetter("DependencyError: s3:GetObject: AccessDenied")
    fake = FakeDeployment(canary(), visible_from=99, batches=[[attempt], [dead]])
    report, _ = verify_run(fake)
    assert report.splitlines()[3] == (
        "  FAIL  ingest     1.5 s  the processor dead-lettered the file: dead-lettered: the "
        "event failed every attempt: DependencyError: s3:GetObject: AccessDenied"
    )


def test_lines_the_processor_rejected_fail_the_ingest_naming_its_counts() -> None:
    counts = {**COUNTS, "accepted": 2, "rejected": 1}
    partial = PartSummary(1, FileStatus.PROCESSED, counts, ("quarantine/x.jsonl",), None, None, 1)
    fake = FakeDeployment(canary(), visible_from=99, batches=[[partial]])
    report, _ = verify_run(fake)
    assert report.splitlines()[3] == (
        "  FAIL  ingest     0.0 s  the processor did not store every canary line: part 1: "
        "processed (accepted 2, duplicates 0, conflicts 0, rejected 1, blank_lines 0)"
    )


def test_a_listing_refused_fails_at_once_and_a_5xx_or_no_answer_is_asked_again() -> None:
    route = ("GET", f"/accounts/{RUN}/trades")
    refused = FakeDeployment(canary(), answers={route: [HttpAnswer(403, b'{"message":"no"}')]})
    report, _ = verify_run(refused)
    assert report.splitlines()[3] == (
        f'  FAIL  ingest     0.5 s  {LISTING} answered 403 {{"message":"no"}}'
    )
    transient = FakeDeployment(
        canary(),
        visible_from=1,
        answers={route: [HttpAnswer(503, b"busy"), ApiUnreachableError("GET ...: timed out")]},
    )
    report, result = verify_run(transient)
    assert result.passed, report
    assert transient.pauses == [1.0, 2.0]


def test_the_session_failing_skips_the_checks_that_need_it_and_nothing_is_left_to_remove() -> None:
    fake = FakeDeployment(
        canary(), answers={("POST", "/sessions"): [HttpAnswer(403, b'{"message":"Forbidden"}')]}
    )
    report, result = verify_run(fake)
    assert report.splitlines()[1:] == [
        '  PASS  health     0.5 s  GET /health answered 200 {"status":"ok"}',
        '  FAIL  session    0.5 s  POST /sessions (SigV4-signed) answered 403 {"message":'
        '"Forbidden"} (expected 201)',
        "  SKIP  ingest       -    not run: session did not pass",
        "  SKIP  read         -    not run: ingest did not pass",
        "  PASS  cleanup    0.0 s  no file uploaded; no trades written; no session opened",
        "verify dev: FAILED: session (not run: ingest, read), 1.0 s",
    ]
    assert fake.calls == []
    assert result.failed == ("session",)


def test_the_health_check_failing_does_not_stop_the_others() -> None:
    fake = FakeDeployment(canary(), answers={("GET", "/health"): [HttpAnswer(502, b"bad")]})
    report, result = verify_run(fake)
    assert report.splitlines()[1] == (
        "  FAIL  health     0.5 s  GET /health answered 502 bad (expected 200, status ok)"
    )
    assert [c.name for c in result.checks if c.passed] == ["session", "ingest", "read", "cleanup"]


def test_a_trade_read_back_different_from_the_file_fails_naming_the_field() -> None:
    first = canary().trades[0]
    wrong = {**first.api_body(), "price": "100.250"}
    fake = FakeDeployment(canary(), answers={("GET", f"/trades/{RUN}-1"): [ok(_json(wrong))]})
    report, _ = verify_run(fake)
    assert report.splitlines()[4] == (
        f"  FAIL  read       0.5 s  GET /trades/{RUN}-1: price: expected '100.25', got '100.250'"
    )
    assert fake.sent[-1] == f"DELETE /sessions/{SESSION} signed"


def test_an_unexpected_error_of_a_check_is_its_failure_and_the_cleanup_still_runs() -> None:
    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "no s3:PutObject"}}, "PutObject"
    )
    fake = FakeDeployment(canary(), failures={"upload": UploadError(f"uploading failed: {denied}")})
    report, _ = verify_run(fake)
    assert report.splitlines()[3] == (
        "  FAIL  ingest     0.0 s  uploading failed: An error occurred (AccessDenied) when "
        "calling the PutObject operation: no s3:PutObject"
    )
    assert fake.calls == ["upload", "remove_objects", "remove_trades"]
    assert report.splitlines()[5] == (
        "  PASS  cleanup    0.5 s  no object left under "
        f"{KEY}; 0 of 3 canary trades deleted (3 not in the table; any stored later stays, "
        f"account {RUN}); session revoked (DELETE /sessions/{{id}}: 204)"
    )


def test_an_interrupted_run_still_cleans_up_then_stops() -> None:
    fake = FakeDeployment(canary(), failures={"watch": KeyboardInterrupt()})
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        execute(
            target(), ApiClient(BASE, fake, signed), fake, fake.canary, out=out,
            clock=fake.clock, sleep=fake.sleep,
        )  # fmt: skip
    assert fake.calls == ["upload", "watch", "remove_objects", "remove_trades"]
    assert fake.sent[-1] == f"DELETE /sessions/{SESSION} signed"
    assert out.getvalue().splitlines()[-1] == f"  PASS  cleanup    0.5 s  {CLEANED}"


def test_a_failed_cleanup_step_does_not_stop_the_others_and_fails_the_run() -> None:
    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DeleteItem"
    )
    fake = FakeDeployment(canary(), failures={"remove_trades": throttled})
    report, result = verify_run(fake)
    assert report.splitlines()[5:] == [
        "  FAIL  cleanup    0.5 s  trades not removed: An error occurred (ThrottlingException) "
        f"when calling the DeleteItem operation: slow down; 1 object version(s) deleted: {KEY}; "
        "session revoked (DELETE /sessions/{id}: 204)",
        "verify dev: FAILED: cleanup, 6.0 s",
    ]
    assert result.failed == ("cleanup",)


def test_a_session_already_gone_counts_as_removed() -> None:
    fake = FakeDeployment(canary(), answers={("DELETE", f"/sessions/{SESSION}"): [HttpAnswer(404)]})
    report, result = verify_run(fake)
    assert result.passed
    assert report.splitlines()[5].endswith("session already gone (DELETE /sessions/{id}: 404)")


def test_unreadable_processor_logs_leave_the_listing_to_decide() -> None:
    fake = FakeDeployment(canary(), watch_error=UploadError("reading the logs failed: denied"))
    report, result = verify_run(fake)
    assert result.passed
    assert report.splitlines()[3].endswith(
        "after 2.0 s (processor not followed: its log is not readable (reading the logs "
        "failed: denied))"
    )


def test_the_session_id_never_appears_in_the_report() -> None:
    fake = FakeDeployment(
        canary(), visible_from=99, answers={("GET", "/sessions/current"): [HttpAnswer(500)]}
    )
    report, _ = verify_run(fake, timeout_seconds=3)
    assert SESSION not in report
