"""Lambda entry point (``processor.handler.lambda_handler``) for S3 ObjectCreated events.

Importing this module needs no AWS configuration: the configuration is validated and the
boto3 clients are built on the first invocation (then reused by the warm container).

Outcome per invocation: ``{"files": [summary, ...]}``, one summary per object, each also
logged as one structured JSON line. Bad data never fails the invocation (it is counted and
quarantined); a failing AWS call (``DependencyError``), a configuration error or an event
that is not an S3 notification does, so that Lambda retries the event and then sends it to
the dead-letter destination.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from processor.bootstrap import bootstrap
from processor.domain.ports import ObjectRef
from processor.domain.service import FileStatus, FileSummary, IngestService
from processor.events import parse_s3_event

logger = Logger(service="trade-processor")


@functools.cache
def get_service() -> IngestService:
    """The service of this container, built (and the configuration validated) once."""
    config, service = bootstrap()
    logger.setLevel(config.log_level)
    return service


def _log_summary(summary: FileSummary) -> None:
    fields = summary.as_dict()
    if summary.status is FileStatus.FILE_ERROR:
        logger.error("trade file rejected as a whole", extra=fields)
    elif summary.status is FileStatus.IGNORED:
        logger.warning("object ignored", extra=fields)
    else:
        logger.info("trade file processed", extra=fields)


def _ingest(service: IngestService, ref: ObjectRef) -> FileSummary:
    try:
        return service.ingest(ref)
    except Exception:
        logger.exception(
            "trade file processing failed; the event will be retried",
            extra={"bucket": ref.bucket, "key": ref.key},
        )
        raise


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    service = get_service()
    parsed = parse_s3_event(event)
    for skipped in parsed.skipped:
        logger.info("event record skipped", extra={"record": skipped})
    summaries = []
    for ref in parsed.objects:
        summary = _ingest(service, ref)
        _log_summary(summary)
        summaries.append(summary.as_dict())
    return {"files": summaries}
