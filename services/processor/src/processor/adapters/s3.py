"""S3 adapters: stream the source object, upload the quarantine object."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Final

from processor.adapters.errors import aws_call
from processor.domain.ports import ObjectRef, Readable

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client

QUARANTINE_CONTENT_TYPE: Final = "application/x-ndjson"


class _GuardedBody:
    """A StreamingBody whose read errors (dropped connection, timeout) become DependencyError."""

    def __init__(self, body: StreamingBody, action: str) -> None:
        self._body = body
        self._action = action

    def read(self, size: int, /) -> bytes:
        with aws_call(self._action):
            return self._body.read(size)


class S3ObjectSource:
    """Streams objects with GetObject (with VersionId when the event names one)."""

    def __init__(self, client: S3Client) -> None:
        self._client = client

    @contextmanager
    def open(self, ref: ObjectRef) -> Iterator[Readable]:
        action = f"s3:GetObject s3://{ref.bucket}/{ref.key}"
        with aws_call(action, object_lookup=True):
            if ref.version_id:
                response = self._client.get_object(
                    Bucket=ref.bucket, Key=ref.key, VersionId=ref.version_id
                )
            else:
                response = self._client.get_object(Bucket=ref.bucket, Key=ref.key)
        body = response["Body"]
        try:
            yield _GuardedBody(body, action)
        finally:
            body.close()


class S3QuarantineSink:
    """Uploads a quarantine object with one PutObject."""

    def __init__(self, client: S3Client) -> None:
        self._client = client

    def put(self, bucket: str, key: str, body: IO[bytes], length: int) -> None:
        with aws_call(f"s3:PutObject s3://{bucket}/{key}"):
            self._client.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentLength=length,
                ContentType=QUARANTINE_CONTENT_TYPE,
            )
