"""Lambda entry point (``processor.handler.lambda_handler``) for S3 ObjectCreated events.

Importing this module needs no AWS configuration and imports almost nothing: the
Powertools logger, boto3, the adapters and the domain are loaded, the configuration is
validated and the clients are built on the first invocation (then reused by the warm
container). pydantic is loaded only when a first line is rejected (for its error report).
That keeps the cold import of this module far below the 250 ms budget.

Outcome per invocation: ``{"files": [summary, ...]}``, one summary per object, each also
logged as one structured JSON line. Bad data never fails the invocation (it is counted and
quarantined); a failing AWS call (``DependencyError``), a configuration error or an event
that is not an S3 notification does, so that Lambda retries the event and then sends it to
the dead-letter destination.

A file that does not fit in one invocation is continued: when the remaining time runs
short the service stops at a line boundary, and this handler sends the checkpoint as the
event of an asynchronous invocation of this same function (then hands over, unstarted, any
further objects of the event).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from processor.bootstrap import Runtime
    from processor.domain.ports import ObjectRef
    from processor.domain.service import FileSummary, IngestService

SERVICE_NAME = "trade-processor"


@functools.cache
def get_logger() -> Logger:
    """The Powertools logger, created on first use (its import costs ~150 ms)."""
    from aws_lambda_powertools import Logger

    return Logger(service=SERVICE_NAME)


@functools.cache
def get_runtime() -> Runtime:
    """The service of this container, built (and the configuration validated) once."""
    from processor.bootstrap import bootstrap

    runtime = bootstrap()
    get_logger().setLevel(runtime.config.log_level)
    return runtime


def get_service() -> IngestService:
    return get_runtime().service


def _log_summary(summary: FileSummary) -> None:
    from processor.domain.service import FileStatus

    logger = get_logger()
    fields = summary.as_dict()
    if summary.status is FileStatus.FILE_ERROR:
        logger.error("trade file rejected as a whole", extra=fields)
    elif summary.status is FileStatus.IGNORED:
        logger.warning("object ignored", extra=fields)
    elif summary.status is FileStatus.CONTINUED:
        logger.info("trade file part processed; continuing in a new invocation", extra=fields)
    else:
        logger.info("trade file processed", extra=fields)


def _ingest(call: Callable[[], FileSummary], ref: ObjectRef) -> FileSummary:
    try:
        return call()
    except Exception:
        get_logger().exception(
            "trade file processing failed; the event will be retried",
            extra={"bucket": ref.bucket, "key": ref.key},
        )
        raise


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from processor.domain.checkpoint import Checkpoint
    from processor.events import parse_s3_event

    runtime = get_runtime()
    service = runtime.service
    logger = get_logger()
    parsed = parse_s3_event(event)
    for skipped in parsed.skipped:
        logger.info("event record skipped", extra={"record": skipped})
    summaries = []
    handed_over = False
    for index, ref in enumerate(parsed.objects):
        if handed_over:  # time ran short on an earlier object: this one starts anew
            runtime.continuations.send(Checkpoint.start_of(ref).to_event())
            logger.info("object handed over to a new invocation", extra={"key": ref.key})
            continue
        resume = parsed.continuation if index == 0 else None
        summary = _ingest(
            functools.partial(
                service.ingest,
                ref,
                resume=resume,
                remaining_ms=context.get_remaining_time_in_millis,
            ),
            ref,
        )
        if summary.continuation is not None:
            runtime.continuations.send(summary.continuation.to_event())
            handed_over = True
        _log_summary(summary)
        summaries.append(summary.as_dict())
    return {"files": summaries}


@functools.cache
def _entry() -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """``_handle`` wrapped by Powertools (context keys, cold start flag, cleared state)."""
    handle: Callable[[dict[str, Any], LambdaContext], dict[str, Any]] = (
        get_logger().inject_lambda_context(clear_state=True)(_handle)
    )
    return handle


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _entry()(event, context)
