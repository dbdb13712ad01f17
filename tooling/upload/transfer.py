"""The upload: ``upload_file`` of boto3 with the AWS CLI's transfer settings
(:func:`transfer_config`: multipart from 8 MiB, no encryption header, the bucket's default
encryption applies), and what S3 answered to the request that created the object
(:class:`UploadedObject`: its ETag, version id, encryption and ``Date``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tooling.upload.errors import UploadError

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig

__all__ = [
    "MAX_CONCURRENCY",
    "MIB",
    "MULTIPART_CHUNKSIZE",
    "MULTIPART_THRESHOLD",
    "UploadedObject",
    "transfer_config",
    "upload_file",
]

MIB: Final = 1024 * 1024
#: The AWS CLI's defaults for ``aws s3 cp`` (multipart_threshold, multipart_chunksize and
#: max_concurrent_requests: 8MB, 8MB and 10, https://docs.aws.amazon.com/cli/latest/topic/s3-config.html).
MULTIPART_THRESHOLD: Final = 8 * MIB
MULTIPART_CHUNKSIZE: Final = 8 * MIB
MAX_CONCURRENCY: Final = 10
#: How long before the ``Date`` of S3's answer (whole seconds, written when the answer is sent)
#: the object may have been created.
DATE_MARGIN_MS: Final = 1_000


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
