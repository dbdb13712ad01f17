"""``./tap upload``: put a trade file into an environment's data bucket, as ``aws s3 cp`` does,
and with ``--wait`` follow the deployed processor until the whole file is accounted for.

The upload
    ``upload_file`` of boto3 with the AWS CLI's transfer settings (:func:`transfer_config`):
    a file of 8 MiB or more goes up as a multipart upload of 8 MiB parts. No encryption header
    is sent: the data bucket's default encryption (SSE-KMS with the platform key and the bucket
    key, ``trading_infra.components.storage``) applies to every new object, and its bucket
    policy demands only TLS (``aws:SecureTransport``), not a header. What S3 answered to the
    request that created the object (PutObject or CompleteMultipartUpload) is kept: its ETag,
    version id, encryption and ``Date``.

The wait
    The processor logs one JSON summary per part of a file (``processor.handler``: the counts of
    all parts so far, ``part``, ``status``; a ``continued`` part has ``resume_at_line``, the last
    part the totals of the whole file). Those of this object are read from the function's log
    group with ``FilterLogEvents``: only events naming the key (a quoted-term filter pattern),
    from the creation of the object on, the start time moving forward as events are read.
    A file is accounted for when a part reports ``processed``; it failed when a part reports
    ``file_error`` (or ``ignored``), or when its event reached the function's dead-letter queue
    (looked at without consuming it: the message names the bucket, key and ETag). A failed
    attempt of a part (the processor's ERROR line, Lambda then retries) is reported as it comes.

    The summaries name the bucket and key, not the object's version or ETag: an earlier upload
    of the same key whose processing is still logging after this upload was created cannot be
    told apart from this one (the dead-letter queue's messages can, by ETag and version id).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote_plus

from processor.domain.checkpoint import COUNTS, EVENT_KEY
from processor.domain.parsing import SUPPORTED_EXTENSIONS, detect_file_type
from processor.domain.service import FileStatus
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "INCOMING_PREFIX",
    "MULTIPART_CHUNKSIZE",
    "MULTIPART_THRESHOLD",
    "DeadLetter",
    "Deployment",
    "FailedAttempt",
    "FileState",
    "ObjectWatch",
    "Outcome",
    "PartSummary",
    "UploadError",
    "UploadedObject",
    "count_lines",
    "key_filter_pattern",
    "object_key",
    "run",
    "transfer_config",
    "upload_file",
    "wait_for_file",
]

MIB: Final = 1024 * 1024
#: The AWS CLI's defaults for ``aws s3 cp`` (multipart_threshold, multipart_chunksize and
#: max_concurrent_requests: 8MB, 8MB and 10, https://docs.aws.amazon.com/cli/latest/topic/s3-config.html).
MULTIPART_THRESHOLD: Final = 8 * MIB
MULTIPART_CHUNKSIZE: Final = 8 * MIB
MAX_CONCURRENCY: Final = 10
#: The processor is notified for keys under this prefix only (the bucket notification's
#: ``filter_prefix``, ``trading_infra.components.storage.INCOMING_PREFIX``; a test keeps the two
#: equal).
INCOMING_PREFIX: Final = "incoming/"
DEFAULT_TIMEOUT_SECONDS: Final = 900
#: How long before the ``Date`` of S3's answer (whole seconds, written when the answer is sent)
#: the object may have been created.
DATE_MARGIN_MS: Final = 1_000
POLL_SECONDS: Final = 1.0
#: Each poll reads again the last minute of matching events (deduplicated by event id): an event
#: of another execution environment's stream can become visible after a later one.
REREAD_MS: Final = 60_000
#: The level of the processor's line for a failed attempt (``processor.handler._ingest``: a
#: Powertools ``logger.exception``, the traceback under ``exception``).
_ERROR_LEVEL: Final = "ERROR"


class UploadError(RuntimeError):
    """The upload or the wait failed; ``code`` is the task's exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- the deployment


@dataclass(frozen=True)
class Deployment:
    """What the deploy's flat outputs say about the data bucket and the processor."""

    bucket: str
    function_name: str
    dead_letter_queue_url: str | None
    region: str

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any], prefix: str) -> Deployment:
        """``<prefix>_data_bucket_name``, ``<prefix>_processor_function_name``,
        ``<prefix>_processor_dead_letter_queue_url`` and ``<prefix>_aws_region``."""
        names = ("data_bucket_name", "processor_function_name", "aws_region")
        missing = [f"{prefix}_{name}" for name in names if not outputs.get(f"{prefix}_{name}")]
        if missing:
            environment = prefix.split("_", 1)[0]
            raise UploadError(
                f"cfn-outputs/flat-outputs.json has no {', '.join(missing)}: deploy it first "
                f"(`./tap deploy --env {environment}`)."
            )
        queue = outputs.get(f"{prefix}_processor_dead_letter_queue_url")
        return cls(
            bucket=str(outputs[f"{prefix}_data_bucket_name"]),
            function_name=str(outputs[f"{prefix}_processor_function_name"]),
            dead_letter_queue_url=str(queue) if queue else None,
            region=str(outputs[f"{prefix}_aws_region"]),
        )


def object_key(path: Path, key: str | None) -> str:
    """The key ``aws s3 cp FILE s3://bucket/KEY`` writes: ``incoming/<file name>`` by default,
    ``KEY<file name>`` when KEY ends with ``/`` (a folder), else KEY itself."""
    if key is None:
        return f"{INCOMING_PREFIX}{path.name}"
    if not key or key.startswith("/"):
        raise UploadError(f"--key {key!r}: an object key neither empty nor starting with /.", 2)
    return f"{key}{path.name}" if key.endswith("/") else key


# --------------------------------------------------------------------------- the upload


def transfer_config() -> TransferConfig:
    """The AWS CLI's transfer settings, with boto3's own (classic) transfer client."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNKSIZE,
        max_concurrency=MAX_CONCURRENCY,
        preferred_transfer_client="classic",
    )


@dataclass(frozen=True)
class UploadedObject:
    """The object as S3 answered the request that created it.

    ``parts`` is 0 for a single PutObject; ``created_ms`` is a second before that answer's
    ``Date`` (which has whole seconds): not after the object was created, so its processing
    is logged from then on.
    """

    bucket: str
    key: str
    size: int
    etag: str  # without the quotes, as S3 event notifications write it
    version_id: str | None
    parts: int
    created_ms: int
    encryption: str | None = None
    kms_key_id: str | None = None
    bucket_key: bool = False

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def multipart(self) -> bool:
        return self.parts > 0


@dataclass
class _Answers:
    """The parts uploaded and the answer that created the object, as botocore parsed them."""

    parts: int = 0
    created: dict[str, Any] = field(default_factory=dict)
    date: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def part(self, **_: Any) -> None:
        with self.lock:  # s3transfer uploads the parts from several threads
            self.parts += 1

    def creation(self, http_response: Any, parsed: Mapping[str, Any], **_: Any) -> None:
        if int(getattr(http_response, "status_code", 0)) == 200 and "ETag" in parsed:
            self.created = dict(parsed)
            self.date = http_response.headers.get("Date")


def upload_file(
    s3: Any,
    path: Path,
    bucket: str,
    key: str,
    *,
    config: TransferConfig | None = None,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> UploadedObject:
    """Upload ``path`` to ``s3://bucket/key`` (``upload_file``, :func:`transfer_config`)."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    if not path.is_file():
        raise UploadError(f"{path} is not a file.", 2)
    size = path.stat().st_size
    answers = _Answers()
    hooks = {
        "after-call.s3.UploadPart": answers.part,
        "after-call.s3.PutObject": answers.creation,
        "after-call.s3.CompleteMultipartUpload": answers.creation,
    }
    for event, hook in hooks.items():
        s3.meta.events.register(event, hook, unique_id=f"tap-upload-{event}")
    started_ms = now_ms()
    try:
        s3.upload_file(str(path), bucket, key, Config=config or transfer_config())
    except (Boto3Error, BotoCoreError, ClientError) as error:
        raise UploadError(f"uploading {path} to s3://{bucket}/{key} failed: {error}") from None
    finally:
        for event in hooks:
            s3.meta.events.unregister(event, unique_id=f"tap-upload-{event}")
    created = answers.created
    version = created.get("VersionId")
    return UploadedObject(
        bucket=bucket,
        key=key,
        size=size,
        etag=str(created.get("ETag", "")).strip('"'),
        version_id=str(version) if version and version != "null" else None,
        parts=answers.parts,
        created_ms=_date_ms(answers.date) if answers.date else started_ms,
        encryption=created.get("ServerSideEncryption"),
        kms_key_id=created.get("SSEKMSKeyId"),
        bucket_key=bool(created.get("BucketKeyEnabled")),
    )


def _date_ms(header: str) -> int:
    return int(parsedate_to_datetime(header).timestamp() * 1000) - DATE_MARGIN_MS


def count_lines(path: Path, *, compressed: bool) -> int | None:
    """The file's lines as the processor numbers them (``processor.domain.parsing.iter_lines``:
    every ``\\n`` ends one, and bytes after the last one are one more), of the decompressed
    content when ``compressed``; None when that is not valid gzip data."""
    lines = 0
    last = b"\n"
    try:
        with gzip.open(path, "rb") if compressed else path.open("rb") as stream:
            while chunk := stream.read(MIB):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except (gzip.BadGzipFile, EOFError, zlib.error):
        return None
    return lines + (last != b"\n")


# --------------------------------------------------------------------------- what is logged


@dataclass(frozen=True)
class PartSummary:
    """One part's summary as the processor logged it (``FileSummary.as_dict``)."""

    part: int
    status: FileStatus
    counts: Mapping[str, int]
    quarantine_keys: tuple[str, ...]
    reason: str | None
    resume_at_line: int | None
    timestamp_ms: int

    @property
    def terminal(self) -> bool:
        return self.status is not FileStatus.CONTINUED

    @classmethod
    def from_record(cls, record: Mapping[str, Any], timestamp_ms: int) -> PartSummary | None:
        try:
            status = FileStatus(record["status"])
            part = int(record["part"])
            counts = {name: int(record.get(name, 0)) for name in COUNTS}
        except (KeyError, TypeError, ValueError):
            return None
        resume = record.get("resume_at_line")
        reason = record.get("reason")
        return cls(
            part=part,
            status=status,
            counts=counts,
            quarantine_keys=tuple(str(k) for k in record.get("quarantine_keys") or ()),
            reason=str(reason) if reason else None,
            resume_at_line=int(resume) if isinstance(resume, int) else None,
            timestamp_ms=timestamp_ms,
        )


@dataclass(frozen=True)
class FailedAttempt:
    """An attempt at a part failed (an AWS call): Lambda retries the event, then dead-letters
    it."""

    error: str
    timestamp_ms: int


@dataclass(frozen=True)
class DeadLetter:
    """The event of this object (or of one of its continuations) in the dead-letter queue."""

    error: str
    continuation_part: int | None = None


Observation = PartSummary | FailedAttempt | DeadLetter


def key_filter_pattern(key: str) -> str:
    """A FilterLogEvents pattern matching the events that contain ``key`` as the processor's
    JSON lines write it: a quoted term, "an exact phrase"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).
    A key whose JSON form holds a quote or a backslash (escapes, non-ASCII) cannot be such a
    term: then every event is read and matched here."""
    text = json.dumps(key)[1:-1]
    return "" if '"' in text or "\\" in text else f'"{text}"'


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _error_text(record: Mapping[str, Any]) -> str:
    """``Type: message`` of a Powertools ``logger.exception`` record (the traceback's last
    line), else its message."""
    lines = [line for line in str(record.get("exception") or "").splitlines() if line.strip()]
    if lines:
        return lines[-1].strip()
    return str(record.get("message", "failed"))


class ObjectWatch:
    """Reads what the processor logged about one uploaded object, and its dead-letter queue.

    Each :meth:`poll` returns what is new since the last one.
    """

    def __init__(
        self,
        logs: Any,
        sqs: Any,
        uploaded: UploadedObject,
        deployment: Deployment,
    ) -> None:
        self._logs = logs
        self._sqs = sqs
        self._object = uploaded
        self._group = deployment.log_group
        self._queue = deployment.dead_letter_queue_url
        self._pattern = key_filter_pattern(uploaded.key)
        self._read_from = uploaded.created_ms
        self._seen: set[str] = set()
        self._dead_lettered = False
        self.notes: list[str] = []

    def poll(self) -> list[Observation]:
        found: list[Observation] = list(self._logged())
        dead = self._dead_letter()
        if dead is not None:
            found.append(dead)
        return found

    def _logged(self) -> Iterable[PartSummary | FailedAttempt]:
        events = self._new_events()
        for event in events:
            record = _json_object(str(event.get("message", "")))
            if record is None or record.get("key") != self._object.key:
                continue
            if record.get("bucket") != self._object.bucket:
                continue
            stamp = int(event["timestamp"])
            if "status" in record:
                summary = PartSummary.from_record(record, stamp)
                if summary is not None:
                    yield summary
            elif record.get("level") == _ERROR_LEVEL:
                yield FailedAttempt(error=_error_text(record), timestamp_ms=stamp)

    def _new_events(self) -> list[dict[str, Any]]:
        from botocore.exceptions import BotoCoreError, ClientError

        arguments: dict[str, Any] = {"logGroupName": self._group, "startTime": self._read_from}
        if self._pattern:
            arguments["filterPattern"] = self._pattern
        try:
            pages = self._logs.get_paginator("filter_log_events").paginate(**arguments)
            events = [event for page in pages for event in page.get("events", [])]
        except self._logs.exceptions.ResourceNotFoundException:
            return []  # the function has not logged anything yet
        except (BotoCoreError, ClientError) as error:
            raise UploadError(f"reading the logs of {self._group} failed: {error}") from None
        fresh = []
        for event in sorted(events, key=lambda e: (int(e["timestamp"]), e.get("eventId", ""))):
            identity = str(event.get("eventId") or (event["timestamp"], event.get("message")))
            if identity not in self._seen:
                self._seen.add(identity)
                fresh.append(event)
        if events:
            newest = max(int(event["timestamp"]) for event in events)
            self._read_from = max(self._object.created_ms, newest - REREAD_MS)
        return fresh

    def _dead_letter(self) -> DeadLetter | None:
        """A look at up to 10 messages of the queue, leaving them there (visibility timeout 0:
        a replay or another reader still finds them)."""
        if self._queue is None or self._dead_lettered:
            return None
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._sqs.receive_message(
                QueueUrl=self._queue,
                MaxNumberOfMessages=10,
                VisibilityTimeout=0,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["SentTimestamp"],
                MessageAttributeNames=["All"],
            )
        except (BotoCoreError, ClientError) as error:
            self.notes.append(
                f"cannot read the dead-letter queue {self._queue} ({error}): a dead-lettered "
                "event is then seen only as failed attempts in the logs"
            )
            self._queue = None
            return None
        for message in answer.get("Messages", []):
            sent = int(message.get("Attributes", {}).get("SentTimestamp", "0"))
            if sent < self._object.created_ms:
                continue
            dead = dead_letter_of(self._object, message)
            if dead is not None:
                self._dead_lettered = True
                return dead
        return None


def dead_letter_of(uploaded: UploadedObject, message: Mapping[str, Any]) -> DeadLetter | None:
    """The dead letter of ``uploaded`` that ``message`` is, if it is one.

    The dead-letter queue receives the event itself, with Lambda's ``ErrorMessage`` attribute
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html), and,
    as the on-failure destination, Lambda's invocation record with the event as
    ``requestPayload``. The event is an S3 notification (the object key URL-encoded,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html)
    or the processor's continuation of a file (``processor.domain.checkpoint``).
    """
    body = _json_object(str(message.get("Body", "")))
    if body is None:
        return None
    record = body if "requestContext" in body else None
    event = body.get("requestPayload") if record is not None else body
    if not isinstance(event, dict):
        return None
    part = _names_object(uploaded, event)
    if part is None:
        return None
    attributes = message.get("MessageAttributes", {})
    error = str(attributes.get("ErrorMessage", {}).get("StringValue", ""))
    if not error and record is not None:
        response = record.get("responsePayload")
        if isinstance(response, dict):
            error = ": ".join(
                str(response[name]) for name in ("errorType", "errorMessage") if response.get(name)
            )
        error = error or str(record.get("requestContext", {}).get("condition", ""))
    return DeadLetter(error=error or "the event failed", continuation_part=part or None)


def _names_object(uploaded: UploadedObject, event: Mapping[str, Any]) -> int | None:
    """0 when ``event`` is the S3 notification of ``uploaded``, the part number when it is a
    continuation of it, None otherwise (another object, or another version or content)."""
    continuation = event.get(EVENT_KEY)
    if isinstance(continuation, dict):
        same = _same_object(
            uploaded,
            continuation.get("bucket"),
            continuation.get("key"),
            continuation.get("etag"),
            continuation.get("version_id"),
        )
        return int(continuation.get("part", 0)) if same else None
    for record in event.get("Records") or ():
        s3 = record.get("s3", {}) if isinstance(record, dict) else {}
        target = s3.get("object", {})
        key = target.get("key")
        if _same_object(
            uploaded,
            s3.get("bucket", {}).get("name"),
            unquote_plus(key) if isinstance(key, str) else None,
            target.get("eTag"),
            target.get("versionId"),
        ):
            return 0
    return None


def _same_object(
    uploaded: UploadedObject, bucket: Any, key: Any, etag: Any, version_id: Any
) -> bool:
    if (bucket, key) != (uploaded.bucket, uploaded.key):
        return False
    if not isinstance(etag, str) or etag.strip('"') != uploaded.etag:
        return False
    versioned = version_id not in (None, "null") and uploaded.version_id is not None
    return not versioned or version_id == uploaded.version_id


# --------------------------------------------------------------------------- the file's state


@dataclass
class FileState:
    """What is known of the file so far: its part summaries, failed attempts, dead letter."""

    total_lines: int | None
    summaries: list[PartSummary] = field(default_factory=list)
    failures: list[FailedAttempt] = field(default_factory=list)
    dead_letter: DeadLetter | None = None

    def add(self, observation: Observation) -> None:
        if isinstance(observation, PartSummary):
            self.summaries.append(observation)
        elif isinstance(observation, FailedAttempt):
            self.failures.append(observation)
        else:
            self.dead_letter = observation

    def current(self) -> PartSummary | None:
        """The file's latest summary. Its parts are read in order from the first part 1 logged
        since the upload: part 1, 2, ... as long as each is there (so a later part of an
        earlier upload's file, logged after this upload, is not taken for one of them), up to
        the first final one."""
        firsts = [s.timestamp_ms for s in self.summaries if s.part == 1]
        if not firsts:
            return None
        by_part: dict[int, list[PartSummary]] = {}
        for summary in self.summaries:
            if summary.timestamp_ms >= min(firsts):
                by_part.setdefault(summary.part, []).append(summary)
        latest = None
        part = 1
        while part in by_part:
            final = [s for s in by_part[part] if s.terminal]
            if final:
                return min(final, key=lambda s: s.timestamp_ms)
            latest = max(by_part[part], key=lambda s: s.timestamp_ms)
            part += 1
        return latest

    @property
    def lines_done(self) -> int:
        """Lines accounted for: all of them once a final part is logged (the data and blank
        lines counted when the file's lines are unknown), else the lines before the latest
        part's ``resume_at_line``."""
        summary = self.current()
        if summary is None:
            return 0
        if not summary.terminal:
            return (summary.resume_at_line or 1) - 1
        if self.total_lines is None:
            return sum(summary.counts.values())
        return self.total_lines

    @property
    def finished(self) -> bool:
        summary = self.current()
        return self.dead_letter is not None or (summary is not None and summary.terminal)


@dataclass(frozen=True)
class Outcome:
    """How the wait ended: ``processed``, ``file_error``, ``ignored``, ``dead_lettered`` or
    ``timed_out``."""

    result: str
    summary: PartSummary | None
    total_lines: int | None
    lines_done: int
    elapsed_seconds: float
    failures: tuple[FailedAttempt, ...] = ()
    dead_letter: DeadLetter | None = None

    @property
    def succeeded(self) -> bool:
        return self.result == FileStatus.PROCESSED.value


def wait_for_file(
    watch: ObjectWatch,
    state: FileState,
    *,
    timeout_seconds: float,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[Observation, FileState], None] = lambda observation, state: None,
) -> Outcome:
    """Poll ``watch`` until the file is accounted for, failed, or ``timeout_seconds`` passed."""
    started = clock()
    while True:
        for observation in watch.poll():
            state.add(observation)
            report(observation, state)
        elapsed = clock() - started
        summary = state.current()
        if state.dead_letter is not None:
            result = "dead_lettered"
        elif summary is not None and summary.terminal:
            result = summary.status.value
        elif elapsed >= timeout_seconds:
            result = "timed_out"
        else:
            sleep(poll_seconds)
            continue
        return Outcome(
            result=result,
            summary=summary,
            total_lines=state.total_lines,
            lines_done=state.lines_done,
            elapsed_seconds=elapsed,
            failures=tuple(state.failures),
            dead_letter=state.dead_letter,
        )


# --------------------------------------------------------------------------- what is printed


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _size(size: int) -> str:
    return f"{size:,} bytes ({size / MIB:.1f} MiB)"


def upload_lines(path: Path, uploaded: UploadedObject) -> list[str]:
    """What the upload printed: the URI, size, multipart or not, ETag, version, encryption."""
    if uploaded.multipart:
        how = (
            f"yes: {uploaded.parts} parts of up to {MULTIPART_CHUNKSIZE // MIB} MiB "
            "(CompleteMultipartUpload)"
        )
    else:
        how = f"no: one PutObject (under {MULTIPART_THRESHOLD // MIB} MiB)"
    encryption = uploaded.encryption or "none reported"
    if uploaded.bucket_key:
        encryption += ", bucket key"
    if uploaded.kms_key_id:
        encryption += f" ({uploaded.kms_key_id})"
    return [
        f"uploaded {path.name} to {uploaded.uri}",
        f"  size        {_size(uploaded.size)}",
        f"  multipart   {how}",
        f"  etag        {uploaded.etag}",
        f"  version     {uploaded.version_id or '- (bucket not versioned)'}",
        f"  encryption  {encryption}",
    ]


def describe(observation: Observation) -> str:
    """One line per thing read about the file while waiting."""
    if isinstance(observation, FailedAttempt):
        return f"attempt failed: {observation.error} (Lambda retries the event)"
    if isinstance(observation, DeadLetter):
        where = (
            f"continuation of part {observation.continuation_part}"
            if observation.continuation_part
            else "event"
        )
        return f"dead-lettered: the {where} failed every attempt: {observation.error}"
    counts = ", ".join(f"{name} {observation.counts[name]:,}" for name in COUNTS)
    if observation.status is FileStatus.CONTINUED:
        return (
            f"part {observation.part}: continued at line {observation.resume_at_line:,} ({counts})"
        )
    return f"part {observation.part}: {observation.status.value} ({counts})"


def outcome_lines(uploaded: UploadedObject, outcome: Outcome) -> list[str]:
    """The file's final summary."""
    total = f"{outcome.total_lines:,}" if outcome.total_lines is not None else "?"
    head = f"{outcome.result} {uploaded.uri}: {outcome.lines_done:,} of {total} lines"
    summary = outcome.summary
    if summary is not None:
        head += f" in {summary.part} part{'s' if summary.part != 1 else ''}"
    head += f", {outcome.elapsed_seconds:.1f} s"
    if outcome.succeeded and outcome.elapsed_seconds > 0:
        head += f", {outcome.lines_done / outcome.elapsed_seconds:,.0f} lines/s"
    lines = [head]
    if summary is not None:
        labels = {"blank_lines": "blank"}
        lines += [f"  {labels.get(name, name):<11} {summary.counts[name]:,}" for name in COUNTS]
        keys = ", ".join(summary.quarantine_keys) or "-"
        lines.append(f"  {'quarantine':<11} {keys}")
    return lines


def failure_message(uploaded: UploadedObject, deployment: Deployment, outcome: Outcome) -> str:
    """Why the task exits 1, and where to look."""
    summary = outcome.summary
    if outcome.result == "dead_lettered" and outcome.dead_letter is not None:
        return (
            f"{uploaded.uri} was dead-lettered: {outcome.dead_letter.error}; the event is in "
            f"{deployment.dead_letter_queue_url} (Lambda retried it and gave up)."
        )
    if outcome.result in (FileStatus.FILE_ERROR.value, FileStatus.IGNORED.value):
        reason = summary.reason if summary is not None else None
        return f"the processor rejected {uploaded.uri} as a whole: {reason or outcome.result}."
    last = describe(summary) if summary is not None else "nothing logged for it yet"
    failed = f"; last failed attempt: {outcome.failures[-1].error}" if outcome.failures else ""
    return (
        f"no final summary of {uploaded.uri} after {outcome.elapsed_seconds:.0f} s "
        f"(last: {last}{failed}); see the function's logs ({deployment.log_group}) and its "
        f"dead-letter queue ({deployment.dead_letter_queue_url or 'not in the outputs'})."
    )


def follow(
    watch: ObjectWatch,
    state: FileState,
    *,
    console: Console,
    timeout_seconds: float,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """:func:`wait_for_file` behind a progress bar of the lines accounted for."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, get_time=clock) as progress:
        bar = progress.add_task("processing", total=state.total_lines)

        def report(observation: Observation, current: FileState) -> None:
            _say(progress.console, describe(observation))
            progress.update(bar, completed=current.lines_done)

        outcome = wait_for_file(
            watch,
            state,
            timeout_seconds=timeout_seconds,
            poll_seconds=poll_seconds,
            clock=clock,
            sleep=sleep,
            report=report,
        )
        for note in watch.notes:
            _say(progress.console, f"note: {note}")
        progress.update(bar, completed=outcome.lines_done)
    return outcome


# --------------------------------------------------------------------------- the task


def run(
    client: Callable[[str], Any],
    deployment: Deployment,
    path: Path,
    *,
    key: str | None = None,
    wait: bool = False,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    console: Console | None = None,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome | None:
    """``./tap upload``: upload ``path``; with ``wait``, follow it to its final summary.

    ``client(service)`` is a boto3 client in the deployment's region. Raises
    :class:`UploadError` (after printing the summary) when the file failed or the wait timed
    out; returns the outcome (None without ``wait``).
    """
    out = console or Console()
    target = object_key(path, key)
    if wait and not target.startswith(INCOMING_PREFIX):
        raise UploadError(
            f"--wait: the processor is notified only for keys under {INCOMING_PREFIX} "
            f"({target} never is); drop --key or choose a key under it.",
            2,
        )
    if timeout_seconds <= 0:
        raise UploadError(f"--timeout {timeout_seconds:g}: a number of seconds above 0.", 2)
    file_type = detect_file_type(target)
    total = count_lines(path, compressed=file_type is not None and file_type.gzip) if wait else 0
    uploaded = upload_file(client("s3"), path, deployment.bucket, target)
    for line in upload_lines(path, uploaded):
        _say(out, line)
    if not wait:
        return None
    if file_type is None:
        _say(out, f"note: not a {SUPPORTED_EXTENSIONS} key: the processor rejects the file")
    _say(
        out,
        f"waiting for {deployment.function_name} to account for "
        f"{f'{total:,}' if total is not None else 'every'} lines "
        f"(timeout {timeout_seconds:g} s)",
    )
    watch = ObjectWatch(client("logs"), client("sqs"), uploaded, deployment)
    state = FileState(total_lines=total)
    outcome = follow(
        watch,
        state,
        console=out,
        timeout_seconds=timeout_seconds,
        poll_seconds=poll_seconds,
        clock=clock,
        sleep=sleep,
    )
    for line in outcome_lines(uploaded, outcome):
        _say(out, line)
    if not outcome.succeeded:
        raise UploadError(failure_message(uploaded, deployment, outcome))
    return outcome
