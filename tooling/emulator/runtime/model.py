"""The runtime's vocabulary: what a function is, what an invocation returns, Lambda's limits.

Kept apart from the machinery so that the emulator's moto integration can build a
:class:`FunctionSpec` and read an :class:`InvocationResult` without importing processes, pipes
or locks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

__all__ = [
    "REQUEST_PAYLOAD_LIMIT_BYTES",
    "RESERVED_ENVIRONMENT_VARIABLES",
    "RESPONSE_PAYLOAD_LIMIT_BYTES",
    "FunctionSpec",
    "InvalidRequestContentError",
    "InvocationResult",
    "LogSink",
    "RequestTooLargeError",
    "RuntimeUnavailableError",
]

#: Lambda refuses a synchronous (RequestResponse) request payload larger than 6 MB.
REQUEST_PAYLOAD_LIMIT_BYTES: Final = 6_291_456
#: The largest response Lambda returns; its error message names this number (6 MiB + 100),
#: which is what the service enforces, not the 6,291,456 bytes of the request limit.
RESPONSE_PAYLOAD_LIMIT_BYTES: Final = 6_291_556

#: Variables Lambda sets itself and refuses in a function's configuration ("Defined runtime
#: environment variables" in the Lambda developer guide). Here the runtime's values win over
#: configured ones; the API layer may refuse them at CreateFunction as Lambda does.
RESERVED_ENVIRONMENT_VARIABLES: Final = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


@dataclass(frozen=True)
class FunctionSpec:
    """One published configuration of a function, as the Lambda API describes it.

    ``code_zip`` is a callable so that the zip (up to 250 MB unpacked) is only read when its
    ``code_sha256`` has not been unpacked yet; ``code_sha256`` is Lambda's ``CodeSha256``
    (base64 of the zip's sha256).
    """

    function_name: str
    function_arn: str
    version: str
    region: str
    account_id: str
    runtime: str
    handler: str
    code_sha256: str
    code_zip: Callable[[], bytes] = field(compare=False, repr=False)
    environment: Mapping[str, str]
    timeout_seconds: int
    memory_mib: int
    log_group: str

    def configuration_key(self) -> tuple[object, ...]:
        """What a warm execution environment depends on: a change retires its workers."""
        return (
            self.function_arn,
            self.function_name,
            self.version,
            self.region,
            self.account_id,
            self.runtime,
            self.handler,
            self.code_sha256,
            tuple(sorted(self.environment.items())),
            self.timeout_seconds,
            self.memory_mib,
            self.log_group,
        )


@dataclass(frozen=True)
class InvocationResult:
    """What one synchronous invocation gives back, as the Invoke API reports it.

    ``payload`` is the handler's JSON result or Lambda's error document; ``function_error`` is
    ``"Unhandled"`` whenever the payload is an error document (the ``X-Amz-Function-Error``
    header); ``log_tail`` is the last 4 KB of this invocation's log (``LogType=Tail``).
    """

    request_id: str
    payload: bytes
    function_error: str | None
    log_tail: str
    duration_ms: float
    billed_duration_ms: int
    init_duration_ms: float | None
    max_memory_used_mib: int


class LogSink(Protocol):
    """Where an invocation's log events go (the emulator's CloudWatch Logs).

    Called once per invocation with the events of that invocation, oldest first, each
    ``(epoch milliseconds, message)``; the messages end with a newline as Lambda's do.
    """

    def put(
        self, *, spec: FunctionSpec, stream_name: str, events: Sequence[tuple[int, str]]
    ) -> None: ...


class RuntimeUnavailableError(Exception):
    """No interpreter (or no runtime environment definition) for a function's runtime."""


class RequestTooLargeError(Exception):
    """The request payload exceeds :data:`REQUEST_PAYLOAD_LIMIT_BYTES`.

    Lambda answers 413 ``RequestEntityTooLargeException`` before running anything.
    """


class InvalidRequestContentError(Exception):
    """The request payload is not JSON.

    Lambda answers 400 ``InvalidRequestContentException`` before running anything.
    """
