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
    from mypy_boto3_s3.type_defs import GetObjectRequestTypeDef

QUARANTINE_CONTENT_TYPE: Final = "application/x-ndjson"


class _GuardedBody:
    """A StreamingBody whose read errors (dropped connection, timeout) become DependencyError."""

    def __init__(self, body: StreamingBody, action: str, etag: str | None = None) -> None:
        self._body = body
        self._action = action
        self.etag = etag

    def read(self, size: int, /) -> bytes:
        with aws_call(self._action):
            return self._body.read(size)


class S3ObjectSource:
    """Streams objects with GetObject (with VersionId when the event names one).

    A continuation reads from its checkpoint's offset on (``Range: bytes=<start>-``) and pins
    the content with ``If-Match: <ETag>`` (and the versionId when there is one): an object
    replaced in between answers PreconditionFailed, reported as not found, never mixed in.
    Neither needs a permission beyond s3:GetObject / s3:GetObjectVersion.
    """

    def __init__(self, client: S3Client) -> None:
        self._client = client

    @contextmanager
    def open(
        self, ref: ObjectRef, *, start: int = 0, etag: str | None = None
    ) -> Iterator[Readable]:
        action = f"s3:GetObject s3://{ref.bucket}/{ref.key}"
        request: GetObjectRequestTypeDef = {"Bucket": ref.bucket, "Key": ref.key}
        if ref.version_id:
            request["VersionId"] = ref.version_id
        if start:
            request["Range"] = f"bytes={start}-"
        if etag:
            request["IfMatch"] = etag
        with aws_call(action, object_lookup=True):
            response = self._client.get_object(**request)
        body = response["Body"]
        try:
            yield _GuardedBody(body, action, response.get("ETag"))
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
