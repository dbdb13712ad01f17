"""The exceptions the domain knows about (the adapters translate AWS errors into these)."""

from __future__ import annotations


class ProcessorError(Exception):
    """Base class of the service's own exceptions."""


class DependencyError(ProcessorError):
    """An AWS call failed (throttling, a 5xx, a dropped connection, access denied, ...).

    Never a data problem. It propagates out of the Lambda handler so that the invocation
    fails: Lambda retries the asynchronous event and, after its retries, sends it to the
    on-failure (dead-letter) destination. Processing is idempotent, so a retry is safe.
    """


class ObjectNotFoundError(ProcessorError):
    """The S3 object (or object version) named in the event does not exist (any more)."""


class FileRejectedError(ProcessorError):
    """The file as a whole cannot be processed: unsupported, empty, undecodable, bad header.

    Reported as a quarantine entry with line 0, never raised out of the handler.
    """

    def __init__(self, reason: str, raw: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw
