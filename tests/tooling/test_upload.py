"""tooling.upload: what `./tap upload FILE [--wait]` does against an account (moto's server).

The processor's log lines are written with the processor's own code (``processor.handler``'s
summary and failure logging through a Powertools logger, ``FileSummary`` and ``Checkpoint``),
so the lines read here are the lines the deployed function writes.
"""

from __future__ import annotations

import ast
import functools
import gzip
import inspect
import io
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from aws_lambda_powertools import Logger
from processor import handler
from processor.domain.checkpoint import Checkpoint
from processor.domain.errors import DependencyError
from processor.domain.parsing import iter_lines
from processor.domain.ports import ObjectRef
from processor.domain.service import FileStatus, FileSummary
from rich.console import Console

from tooling import upload
from tooling.lifecycle.session import Session
from tooling.upload import (
    DeadLetter,
    Deployment,
    FileState,
    ObjectWatch,
    UploadedObject,
    UploadError,
    command,
)

pytestmark = pytest.mark.moto

ROOT = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-1"
BUCKET = "tap-data-dev-ap-southeast-1-123456789012"
FUNCTION = "tap-processor-dev"
GROUP = f"/aws/lambda/{FUNCTION}"
HEADER = "trade_id,account_id,symbol,side,quantity,price,currency,executed_at"
MIB = 1024 * 1024


# --------------------------------------------------------------------------- the processor's lines


class _Lines(logging.Handler):
    """Keeps each line the processor's Powertools logger writes."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@functools.cache
def _processor_logger() -> tuple[Logger, _Lines]:
    # One Powertools logger per service name and process: Powertools configures the
    # underlying logger once, with the first handler it is given.
    lines = _Lines()
    return Logger(service=handler.SERVICE_NAME, logger_handler=lines), lines


@pytest.fixture
def processor_log(monkeypatch: pytest.MonkeyPatch) -> _Lines:
    logger, lines = _processor_logger()
    monkeypatch.setattr(handler, "get_logger", lambda: logger)
    lines.lines.clear()
    return lines


def summary_line(lines: _Lines, summary: FileSummary) -> str:
    """The line the processor logs for ``summary`` (``processor.handler._log_summary``)."""
    handler._log_summary(summary)
    return lines.lines.pop()


def failure_line(lines: _Lines, bucket: str, key: str, error: str) -> str:
    """The line the processor logs when an attempt fails (``processor.handler._ingest``)."""

    def fail() -> FileSummary:
        raise DependencyError(error)

    with pytest.raises(DependencyError):
        handler._ingest(fail, ObjectRef(bucket, key))
    return lines.lines.pop()


def continued(key: str, part: int, *, line: int, accepted: int, etag: str) -> FileSummary:
    """Part ``part`` of ``key`` stopped after ``line``: the next part resumes at ``line + 1``."""
    checkpoint = Checkpoint(
        BUCKET, key, None, f'"{etag}"', offset=line * 60, line=line, part=part + 1,
        header=tuple(HEADER.split(",")), seen_content=True,
        counts={"accepted": accepted}, quarantine_keys=(),
    )  # fmt: skip
    return FileSummary(
        BUCKET, key, FileStatus.CONTINUED, accepted=accepted, part=part, continuation=checkpoint
    )


# --------------------------------------------------------------------------- the account


@dataclass
class Account:
    """The deployed pieces ``./tap upload`` uses, in moto: data bucket (SSE-KMS with the bucket
    key, as trading_infra.components.storage configures it), log group, dead-letter queue."""

    session: Session
    deployment: Deployment
    kms_key_arn: str
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self.session.client(service, REGION)
        return self.clients[service]

    def put_events(self, stream: str, *events: tuple[int, str]) -> None:
        logs = self.client("logs")
        streams = logs.describe_log_streams(logGroupName=GROUP)["logStreams"]
        if stream not in {s["logStreamName"] for s in streams}:
            logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
        logs.put_log_events(
            logGroupName=GROUP,
            logStreamName=stream,
            logEvents=[{"timestamp": stamp, "message": message} for stamp, message in events],
        )


@pytest.fixture
def account(bare_account: Session) -> Account:
    kms = bare_account.client("kms", REGION)
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    s3 = bare_account.client("s3", REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    bare_account.client("logs", REGION).create_log_group(logGroupName=GROUP)
    queue = bare_account.client("sqs", REGION).create_queue(QueueName="tap-processor-dlq-dev")
    deployment = Deployment(BUCKET, FUNCTION, queue["QueueUrl"], REGION)
    return Account(bare_account, deployment, key_arn)


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch) -> Uploads:
    recorded = Uploads()
    original = upload.upload_file

    def recording(*args: Any, **kwargs: Any) -> UploadedObject:
        made = original(*args, **kwargs)
        recorded.made.append(made)
        return made

    monkeypatch.setattr(command, "upload_file", recording)  # where ``upload.run`` finds it
    return recorded


@dataclass
class Script:
    """A fake clock, and a sleep that lets the next step of the processor's run happen."""

    steps: list[Callable[[], None]] = field(default_factory=list)
    now: float = 0.0
    sleeps: int = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        if self.steps:
            self.steps.pop(0)()


def trade_file(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def csv_lines(count: int) -> list[str]:
    return [HEADER] + [
        f"T-{i},ACC-1,D05.SI,BUY,100,35.125,SGD,2024-03-01T09:30:00Z" for i in range(count)
    ]


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=100), out


# --------------------------------------------------------------------------- where and what


def test_the_default_key_is_the_file_name_under_incoming() -> None:
    assert upload.object_key(Path("data/trades.csv"), None) == "incoming/trades.csv"


def test_a_key_ending_in_a_slash_is_a_folder_for_the_file_as_aws_s3_cp_takes_it() -> None:
    assert upload.object_key(Path("trades.csv"), "incoming/2026/") == "incoming/2026/trades.csv"
    assert upload.object_key(Path("trades.csv"), "incoming/day.csv") == "incoming/day.csv"


def test_an_empty_key_is_refused_as_a_usage_error() -> None:
    with pytest.raises(UploadError, match="--key ''") as raised:
        upload.object_key(Path("trades.csv"), "")
    assert raised.value.code == 2


def test_the_deployment_is_read_from_the_flat_outputs() -> None:
    outputs = {
        "dev_data_bucket_name": BUCKET,
        "dev_processor_function_name": FUNCTION,
        "dev_processor_dead_letter_queue_url": "http://127.0.0.1:4566/123456789012/dlq",
        "dev_aws_region": REGION,
    }
    deployment = Deployment.from_outputs(outputs, "dev")
    assert deployment == Deployment(
        BUCKET, FUNCTION, "http://127.0.0.1:4566/123456789012/dlq", REGION
    )
    assert deployment.log_group == "/aws/lambda/tap-processor-dev"


def test_an_undeployed_environment_says_what_to_run() -> None:
    with pytest.raises(UploadError) as raised:
        Deployment.from_outputs({"dev_aws_region": REGION}, "staging")
    assert str(raised.value) == (
        "cfn-outputs/flat-outputs.json has no staging_data_bucket_name, "
        "staging_processor_function_name, staging_aws_region: deploy it first "
        "(`./tap deploy --env staging`)."
    )


def test_the_incoming_prefix_is_the_one_the_bucket_notification_filters_on() -> None:
    source = (ROOT / "infra/src/trading_infra/components/storage.py").read_text(encoding="utf-8")
    assigned = {
        target.id: node.value.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert assigned["INCOMING_PREFIX"] == upload.INCOMING_PREFIX == "incoming/"


def test_the_task_waits_as_long_as_the_module_by_default() -> None:
    import tasks

    default = inspect.signature(tasks.upload.body).parameters["timeout"].default
    assert default == upload.DEFAULT_TIMEOUT_SECONDS == 900


def test_the_transfer_settings_are_the_aws_clis() -> None:
    config = upload.transfer_config()
    assert config.multipart_threshold == config.multipart_chunksize == 8 * MIB
    assert config.max_request_concurrency == 10


# --------------------------------------------------------------------------- lines of the file


@pytest.mark.parametrize(
    ("content", "lines"),
    [
        (b"", 0),
        (b"a", 1),
        (b"a\n", 1),
        (b"a\r\nb", 2),
        (b"\n\n", 2),
        (b"\xef\xbb\xbfh\n\nx\ny", 4),
    ],
)
def test_lines_are_counted_as_the_processor_numbers_them(
    tmp_path: Path, content: bytes, lines: int
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    numbered = [line.number for line in iter_lines(io.BytesIO(content))]
    assert upload.count_lines(path, compressed=False) == len(numbered) == lines


def test_a_gzip_file_counts_its_decompressed_lines(tmp_path: Path) -> None:
    path = tmp_path / "f.csv.gz"
    path.write_bytes(gzip.compress(b"h\n" + b"x\n" * 2_000))
    assert upload.count_lines(path, compressed=True) == 2_001


def test_a_broken_gzip_file_has_no_line_count(tmp_path: Path) -> None:
    path = tmp_path / "f.csv.gz"
    path.write_bytes(b"not gzip data\n")
    assert upload.count_lines(path, compressed=True) is None


def test_the_logs_are_filtered_on_the_key_as_a_quoted_term() -> None:
    assert upload.key_filter_pattern("incoming/2026/day 1.csv") == '"incoming/2026/day 1.csv"'
    # a quote or a non-ASCII character is escaped in the JSON line: no term can match it
    assert upload.key_filter_pattern('incoming/"q".csv') == ""
    assert upload.key_filter_pattern("incoming/café.csv") == ""


# --------------------------------------------------------------------------- the upload


def test_a_small_file_is_one_put_object_encrypted_by_the_bucket_default(
    account: Account, tmp_path: Path
) -> None:
    path = trade_file(tmp_path, "trades.csv", csv_lines(3))
    uploaded = upload.upload_file(account.client("s3"), path, BUCKET, "incoming/trades.csv")
    head = account.client("s3").head_object(Bucket=BUCKET, Key="incoming/trades.csv")
    assert (uploaded.size, uploaded.parts, uploaded.multipart) == (path.stat().st_size, 0, False)
    assert uploaded.etag == head["ETag"].strip('"')
    assert (uploaded.encryption, uploaded.bucket_key, uploaded.kms_key_id) == (
        "aws:kms",
        True,
        account.kms_key_arn,
    )
    assert uploaded.version_id is None
    assert upload.upload_lines(path, uploaded) == [
        f"uploaded trades.csv to s3://{BUCKET}/incoming/trades.csv",
        "  size        239 bytes (0.0 MiB)",
        "  multipart   no: one PutObject (under 8 MiB)",
        f"  etag        {uploaded.etag}",
        "  version     - (bucket not versioned)",
        f"  encryption  aws:kms, bucket key ({account.kms_key_arn})",
    ]


def test_a_file_over_8_mib_is_a_multipart_upload_of_8_mib_parts(
    account: Account, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * (8 * MIB + 1))
    uploaded = upload.upload_file(account.client("s3"), path, BUCKET, "incoming/big.csv")
    head = account.client("s3").head_object(Bucket=BUCKET, Key="incoming/big.csv")
    # CompleteMultipartUpload made the object: its ETag ends with -<number of parts>
    assert (uploaded.parts, uploaded.multipart) == (2, True)
    assert head["ETag"].strip('"') == uploaded.etag
    assert uploaded.etag.endswith("-2")
    assert (head["ContentLength"], head["ServerSideEncryption"]) == (8 * MIB + 1, "aws:kms")
    assert upload.upload_lines(path, uploaded)[1:3] == [
        "  size        8,388,609 bytes (8.0 MiB)",
        "  multipart   yes: 2 parts of up to 8 MiB (CompleteMultipartUpload)",
    ]


def test_a_file_of_exactly_8_mib_is_already_multipart(account: Account, tmp_path: Path) -> None:
    path = tmp_path / "edge.csv"
    path.write_bytes(b"x" * (8 * MIB))
    uploaded = upload.upload_file(account.client("s3"), path, BUCKET, "incoming/edge.csv")
    assert (uploaded.parts, uploaded.etag[-2:]) == (1, "-1")


def test_a_missing_file_is_a_usage_error(account: Account, tmp_path: Path) -> None:
    with pytest.raises(UploadError, match="is not a file") as raised:
        upload.upload_file(account.client("s3"), tmp_path / "none.csv", BUCKET, "incoming/x")
    assert raised.value.code == 2


def test_a_failed_upload_names_the_object(account: Account, tmp_path: Path) -> None:
    path = trade_file(tmp_path, "trades.csv", csv_lines(1))
    with pytest.raises(UploadError, match=r"to s3://no-such-bucket-x/incoming/trades.csv failed"):
        upload.upload_file(account.client("s3"), path, "no-such-bucket-x", "incoming/trades.csv")


# --------------------------------------------------------------------------- --wait


def test_wait_prints_the_final_summary_of_this_upload_only(
    account: Account, processor_log: _Lines, uploads: Uploads, tmp_path: Path
) -> None:
    key = "incoming/trades.csv"
    path = trade_file(tmp_path, "trades.csv", [*csv_lines(4), ""])
    # an earlier upload of the same key, processed before this one was created
    earlier = FileSummary(BUCKET, key, accepted=99, quarantine_key=None)
    account.put_events("old", (_now_ms() - 120_000, summary_line(processor_log, earlier)))
    script = Script()

    def processed() -> None:
        created = uploads.created_ms
        other = FileSummary(BUCKET, "incoming/other.csv", accepted=7)
        mine = FileSummary(
            BUCKET, key, accepted=3, rejected=1, blank_lines=1,
            quarantine_key=f"quarantine/{key}.jsonl", quarantine_keys=[f"quarantine/{key}.jsonl"],
        )  # fmt: skip
        account.put_events(
            "new",
            (created + 5, summary_line(processor_log, other)),
            (created + 6, summary_line(processor_log, mine)),
        )

    script.steps = [processed]
    out_console, out = console()
    outcome = upload.run(
        account.client, account.deployment, path, wait=True, timeout_seconds=30,
        console=out_console, clock=script.clock, sleep=script.sleep,
    )  # fmt: skip
    assert outcome is not None
    assert (outcome.result, outcome.lines_done, outcome.total_lines) == ("processed", 6, 6)
    printed = out.getvalue().splitlines()
    assert printed[6:] == [
        "waiting for tap-processor-dev to account for 6 lines (timeout 30 s)",
        "part 1: processed (accepted 3, duplicates 0, conflicts 0, rejected 1, blank_lines 1)",
        "processing " + "━" * 40 + " 6/6 lines 0:00:01",
        f"processed s3://{BUCKET}/{key}: 6 of 6 lines in 1 part, 1.0 s, 6 lines/s",
        "  accepted    3",
        "  duplicates  0",
        "  conflicts   0",
        "  rejected    1",
        "  blank       1",
        f"  quarantine  quarantine/{key}.jsonl",
    ]
    assert printed[0] == f"uploaded trades.csv to s3://{BUCKET}/{key}"


def test_a_file_in_several_parts_is_followed_part_by_part(
    account: Account, processor_log: _Lines, tmp_path: Path
) -> None:
    key = "incoming/big-day.csv"
    path = trade_file(tmp_path, "big-day.csv", csv_lines(1_000))
    uploaded = upload.upload_file(account.client("s3"), path, BUCKET, key)
    created = uploaded.created_ms
    etag = uploaded.etag
    lines = processor_log
    part_1 = summary_line(lines, continued(key, 1, line=400, accepted=399, etag=etag))
    part_2 = summary_line(lines, continued(key, 2, line=800, accepted=799, etag=etag))
    part_3 = summary_line(lines, FileSummary(BUCKET, key, accepted=1_000, part=3))
    # each part runs in an execution environment (log stream) of its own, a minute apart
    steps = [
        lambda: account.put_events("p1", (created + 70_000, part_1)),
        lambda: None,
        lambda: account.put_events("p2", (created + 140_000, part_2)),
        lambda: account.put_events("p3", (created + 210_000, part_3)),
    ]
    script = Script(steps=steps)
    requests: list[dict[str, Any]] = []
    logs = account.client("logs")
    logs.meta.events.register(
        "before-parameter-build.logs.FilterLogEvents",
        lambda params, **_: requests.append(dict(params)),
    )
    progress: list[int] = []
    watch = ObjectWatch(logs, account.client("sqs"), uploaded, account.deployment)
    outcome = upload.wait_for_file(
        watch, FileState(total_lines=1_001), timeout_seconds=60,
        clock=script.clock, sleep=script.sleep,
        report=lambda observation, state: progress.append(state.lines_done),
    )  # fmt: skip
    assert progress == [400, 800, 1_001]
    assert (outcome.result, outcome.summary and outcome.summary.part) == ("processed", 3)
    assert outcome.summary is not None and outcome.summary.counts["accepted"] == 1_000
    # only the key's events, from the upload on; the start moves on with what was read (less
    # a minute read again: a stream's event may become visible after a later one)
    assert {r["filterPattern"] for r in requests} == {'"incoming/big-day.csv"'}
    assert [r["startTime"] - created for r in requests] == [0, 0, 10_000, 10_000, 80_000]


def test_an_earlier_uploads_later_parts_are_not_taken_for_this_files() -> None:
    state = FileState(total_lines=1_001)
    old = continued("incoming/a.csv", 5, line=2_000, accepted=1_999, etag="e")
    old_final = FileSummary(BUCKET, "incoming/a.csv", FileStatus.FILE_ERROR, part=6)
    for summary, stamp in ((old, 1), (old_final, 2)):
        parsed = upload.PartSummary.from_record(summary.as_dict(), stamp)
        assert parsed is not None
        state.add(parsed)
    assert (state.current(), state.lines_done, state.finished) == (None, 0, False)
    mine = upload.PartSummary.from_record(
        continued("incoming/a.csv", 1, line=400, accepted=399, etag="e").as_dict(), 3
    )
    assert mine is not None
    state.add(mine)
    assert (state.current(), state.lines_done, state.finished) == (mine, 400, False)


def test_a_file_rejected_as_a_whole_exits_1_with_the_reason(
    account: Account, processor_log: _Lines, uploads: Uploads, tmp_path: Path
) -> None:
    key = "incoming/bad.csv"
    path = trade_file(tmp_path, "bad.csv", ["trade_id,price", "T-1,1"])
    reason = "bad CSV header: missing account_id, currency, executed_at, quantity, side, symbol"
    script = Script()
    script.steps = [
        lambda: account.put_events(
            "s",
            (uploads.created_ms + 1, summary_line(processor_log, FileSummary(
                BUCKET, key, FileStatus.FILE_ERROR, reason=reason,
                quarantine_key=f"quarantine/{key}.jsonl",
                quarantine_keys=[f"quarantine/{key}.jsonl"],
            ))),
        )
    ]  # fmt: skip
    out_console, out = console()
    with pytest.raises(UploadError) as raised:
        upload.run(
            account.client, account.deployment, path, wait=True, timeout_seconds=30,
            console=out_console, clock=script.clock, sleep=script.sleep,
        )  # fmt: skip
    assert (raised.value.code, str(raised.value)) == (
        1,
        f"the processor rejected s3://{BUCKET}/{key} as a whole: {reason}.",
    )
    assert out.getvalue().splitlines()[-7] == (
        f"file_error s3://{BUCKET}/{key}: 2 of 2 lines in 1 part, 1.0 s"
    )


def test_a_dead_lettered_file_exits_1_with_the_error(
    account: Account, processor_log: _Lines, uploads: Uploads, tmp_path: Path
) -> None:
    key = "incoming/day 2.csv"
    path = trade_file(tmp_path, "day 2.csv", csv_lines(2))
    sqs = account.client("sqs")
    queue = account.deployment.dead_letter_queue_url
    error = "DynamoDB BatchGetItem failed: ResourceNotFoundException"
    attempts: list[str] = []
    script = Script()

    def attempt() -> None:
        # Lambda runs the event again after each failed attempt (in a new environment)
        attempts.append(failure_line(processor_log, BUCKET, key, error))
        stamp = uploads.created_ms + 1_000 * len(attempts)
        account.put_events(f"attempt-{len(attempts)}", (stamp, attempts[-1]))

    def dead_letter() -> None:
        etag = uploads.etag
        # another upload of the key (other content) dead-lettered too: not this file's
        for tag in ("0" * 32, etag):
            sqs.send_message(
                QueueUrl=queue,
                MessageBody=json.dumps(_s3_event(key, tag)),
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": "r-1"},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": f"{tag[:4]}: {error}"},
                },
            )

    script.steps = [attempt, attempt, attempt, dead_letter]
    out_console, out = console()
    with pytest.raises(UploadError) as raised:
        upload.run(
            account.client, account.deployment, path, wait=True, timeout_seconds=30,
            console=out_console, clock=script.clock, sleep=script.sleep,
        )  # fmt: skip
    etag = uploads.etag
    assert str(raised.value) == (
        f"s3://{BUCKET}/{key} was dead-lettered: {etag[:4]}: {error}; the event is in {queue} "
        "(Lambda retried it and gave up)."
    )
    printed = out.getvalue().splitlines()
    failed = (
        f"attempt failed: processor.domain.errors.DependencyError: {error} "
        "(Lambda retries the event)"
    )
    assert printed[7:11] == [failed, failed, failed, (
        f"dead-lettered: the event failed every attempt: {etag[:4]}: {error}"
    )]  # fmt: skip
    # looked at, not taken: both messages are still in the queue for a replay
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "2"


def test_a_continuation_in_the_dead_letter_queue_is_this_files_when_its_etag_matches() -> None:
    uploaded = UploadedObject(BUCKET, "incoming/a.csv", 10, "abc-2", None, 2, 0)
    checkpoint = Checkpoint(BUCKET, "incoming/a.csv", None, '"abc-2"', offset=600, line=10, part=3)
    record = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": checkpoint.to_event(),
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "DependencyError", "errorMessage": "throttled"},
    }
    assert upload.dead_letter_of(uploaded, {"Body": json.dumps(record)}) == DeadLetter(
        "DependencyError: throttled", continuation_part=3
    )
    other = Checkpoint(BUCKET, "incoming/a.csv", None, '"def-2"', offset=600, line=10, part=3)
    assert upload.dead_letter_of(uploaded, {"Body": json.dumps(other.to_event())}) is None


def test_a_versioned_objects_dead_letter_must_name_its_version() -> None:
    uploaded = UploadedObject(BUCKET, "incoming/a.csv", 10, "abc", "v2", 0, 0)
    for version, mine in (("v2", True), ("v1", False)):
        event = _s3_event("incoming/a.csv", "abc", version=version)
        found = upload.dead_letter_of(uploaded, {"Body": json.dumps(event)})
        assert (found is not None) is mine


def test_no_final_summary_within_the_timeout_exits_1(
    account: Account, processor_log: _Lines, uploads: Uploads, tmp_path: Path
) -> None:
    key = "incoming/slow.csv"
    path = trade_file(tmp_path, "slow.csv", csv_lines(1_000))
    script = Script()
    script.steps = [
        lambda: account.put_events(
            "s",
            (uploads.created_ms + 1, summary_line(processor_log, continued(
                key, 1, line=300, accepted=299, etag="e",
            ))),
        )
    ]  # fmt: skip
    out_console, _ = console()
    with pytest.raises(UploadError) as raised:
        upload.run(
            account.client, account.deployment, path, wait=True, timeout_seconds=5,
            console=out_console, clock=script.clock, sleep=script.sleep,
        )  # fmt: skip
    assert script.sleeps == 5
    assert str(raised.value) == (
        f"no final summary of s3://{BUCKET}/{key} after 5 s (last: part 1: continued at line "
        "301 (accepted 299, duplicates 0, conflicts 0, rejected 0, blank_lines 0)); see the "
        f"function's logs ({GROUP}) and its dead-letter queue "
        f"({account.deployment.dead_letter_queue_url})."
    )


def test_wait_refuses_a_key_the_processor_is_not_notified_for(
    account: Account, tmp_path: Path
) -> None:
    path = trade_file(tmp_path, "trades.csv", csv_lines(1))
    with pytest.raises(UploadError, match="only for keys under incoming/") as raised:
        upload.run(account.client, account.deployment, path, key="elsewhere/t.csv", wait=True)
    assert raised.value.code == 2
    assert "Contents" not in account.client("s3").list_objects_v2(Bucket=BUCKET)


# --------------------------------------------------------------------------- helpers


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Uploads:
    """What ``upload.run`` uploaded (``upload.upload_file``'s answers, recorded)."""

    made: list[UploadedObject] = field(default_factory=list)

    @property
    def created_ms(self) -> int:
        return self.made[-1].created_ms

    @property
    def etag(self) -> str:
        return self.made[-1].etag


def _s3_event(key: str, etag: str, version: str | None = None) -> dict[str, Any]:
    """An S3 ObjectCreated notification as S3 sends it (the key form-encoded)."""
    target: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": 10, "eTag": etag}
    if version is not None:
        target["versionId"] = version
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": BUCKET}, "object": target},
            }
        ]
    }
