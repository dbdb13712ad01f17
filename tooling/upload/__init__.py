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

One concern per module; this package's root re-exports what ``tasks.py``,
:mod:`tooling.ingest_bench` and the tests use:

============  =============================================================================
module        concern
============  =============================================================================
errors        ``UploadError``: the message to show and the task's exit code
deployment    the data bucket, processor and dead-letter queue of the deploy's flat outputs;
              the object key ``aws s3 cp`` would write
transfer      the upload with the AWS CLI's transfer settings, and what S3 answered
records       what a log line or dead-letter message says: part summary, failed attempt,
              dead letter
dead_letters  whether a dead-letter queue message is the uploaded object's event
watch         ``ObjectWatch``: the processor's log events of the key, and the dead-letter queue
progress      the file's lines, what is known of it so far, and the wait for its end
report        what is printed: the upload, each thing read (behind a progress bar), the
              outcome, why it failed
command       ``run``: the task itself
============  =============================================================================

Imports go one way, down the table (``command`` uses the others).
"""

from __future__ import annotations

from tooling.upload.command import run
from tooling.upload.dead_letters import dead_letter_of
from tooling.upload.deployment import INCOMING_PREFIX, Deployment, object_key
from tooling.upload.errors import UploadError
from tooling.upload.progress import (
    DEFAULT_TIMEOUT_SECONDS,
    POLL_SECONDS,
    FileState,
    Outcome,
    count_lines,
    wait_for_file,
)
from tooling.upload.records import DeadLetter, FailedAttempt, PartSummary
from tooling.upload.report import failure_message, follow, outcome_lines, upload_lines
from tooling.upload.transfer import (
    MULTIPART_CHUNKSIZE,
    MULTIPART_THRESHOLD,
    UploadedObject,
    transfer_config,
    upload_file,
)
from tooling.upload.watch import ObjectWatch, key_filter_pattern

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "INCOMING_PREFIX",
    "MULTIPART_CHUNKSIZE",
    "MULTIPART_THRESHOLD",
    "POLL_SECONDS",
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
    "dead_letter_of",
    "failure_message",
    "follow",
    "key_filter_pattern",
    "object_key",
    "outcome_lines",
    "run",
    "transfer_config",
    "upload_file",
    "upload_lines",
    "wait_for_file",
]
