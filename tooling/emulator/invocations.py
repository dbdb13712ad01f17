"""How the emulator invokes a deployed Lambda function: moto's function model to the runtime.

moto keeps a function's configuration and code but runs nothing without Docker (docs/
emulator.md, gap 5). The patches in :mod:`tooling.emulator.patches.lambda_` (Invoke API) and
:mod:`tooling.emulator.patches.s3` (bucket notifications) send every invocation here:

* **Synchronous** (``RequestResponse``): run in :class:`~tooling.emulator.runtime.LambdaRuntime`
  and answer with the handler's result, or Lambda's error document and ``X-Amz-Function-Error``.
* **Asynchronous** (``Event``, S3 notifications): queued and answered at once, then run with
  Lambda's asynchronous semantics: a function error or time-out is retried
  ``MaximumRetryAttempts`` times (event invoke config; default 2), an event older than
  ``MaximumEventAgeInSeconds`` (default 6 h) is not run again, and an event that still failed
  goes to the function's dead-letter queue (``DeadLetterConfig``) and to the on-failure
  destination of its event invoke config (SQS, SNS or Lambda), as Lambda sends them; a success
  goes to the on-success destination. Each attempt reads the function's configuration afresh,
  so a configuration fixed between two attempts is what the retry runs.

AWS waits about one and then two minutes between attempts; locally the delays are
:data:`RETRY_DELAYS_ENV` (default ``1,2`` seconds) so that a test can watch an event reach the
dead-letter queue. That is the one deliberate difference, and only in time.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tooling.emulator.runtime import (
    FunctionSpec,
    InvocationResult,
    LambdaRuntime,
)
from tooling.emulator.runtime.environment import DEFAULT_ROOT

__all__ = [
    "ASYNC_PAYLOAD_LIMIT_BYTES",
    "DEFAULT_MAXIMUM_EVENT_AGE_SECONDS",
    "DEFAULT_MAXIMUM_RETRY_ATTEMPTS",
    "RETRY_DELAYS_ENV",
    "RUNTIMES_DIR",
    "RUNTIMES_DIR_ENV",
    "WORK_DIR_ENV",
    "AsyncPayloadTooLargeError",
    "LambdaService",
    "MotoLogSink",
    "configure",
    "current",
    "find_function",
    "function_spec",
    "log_result_header",
    "retry_delays_seconds",
    "shutdown",
]

#: Lambda's limit for an asynchronous request (1 MB since October 2025; 256 KB before).
ASYNC_PAYLOAD_LIMIT_BYTES = 1_048_576
#: Lambda's defaults when a function has no event invoke config.
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2
DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21_600
#: Seconds to wait before the first, second, ... retry of an asynchronous event ("1,2").
RETRY_DELAYS_ENV = "TAP_LAMBDA_RETRY_DELAYS"
_DEFAULT_RETRY_DELAYS_SECONDS = (1.0, 2.0)
#: Threads running asynchronous events at once (each waits on one function invocation).
_ASYNC_THREADS = 8


class AsyncPayloadTooLargeError(ValueError):
    """An ``Event`` invocation above :data:`ASYNC_PAYLOAD_LIMIT_BYTES` (Lambda answers 413)."""


def retry_delays_seconds(environ: Mapping[str, str] | None = None) -> tuple[float, ...]:
    """The delays before each retry of an asynchronous event, from :data:`RETRY_DELAYS_ENV`."""
    raw = (os.environ if environ is None else environ).get(RETRY_DELAYS_ENV, "").strip()
    if not raw:
        return _DEFAULT_RETRY_DELAYS_SECONDS
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        delays = ()
    if not delays or any(delay < 0 for delay in delays):
        raise ValueError(
            f"{RETRY_DELAYS_ENV}={raw!r} is not a list of seconds >= 0; use e.g. '1,2'"
        )
    return delays


# --------------------------------------------------------------------------- moto's model


def function_spec(function: Any) -> FunctionSpec:
    """What the runtime needs of a moto ``LambdaFunction``: read at every invocation, so that a
    configuration or code update is what the next invocation runs."""
    configuration: dict[str, Any] = function.get_configuration()
    logging_config = configuration.get("LoggingConfig") or {}
    environment = (configuration.get("Environment") or {}).get("Variables") or {}
    return FunctionSpec(
        function_name=function.function_name,
        function_arn=function.function_arn,
        version="$LATEST",
        region=function.region,
        account_id=function.account_id,
        runtime=str(function.run_time or ""),
        handler=str(function.handler or ""),
        code_sha256=str(function.code_sha_256),
        code_zip=lambda: bytes(function.code_bytes),
        environment={str(k): str(v) for k, v in environment.items()},
        timeout_seconds=int(function.timeout),
        memory_mib=int(function.memory_size),
        log_group=str(logging_config.get("LogGroup") or f"/aws/lambda/{function.function_name}"),
    )


def find_function(function_arn: str) -> Any:
    """The current moto model of a function (raises when it was deleted meanwhile)."""
    from moto.awslambda.utils import get_backend

    account_id, region = _account_and_region(function_arn)
    return get_backend(account_id, region).get_function(function_arn)


def _account_and_region(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[4], parts[3]


class MotoLogSink:
    """Writes invocation logs into the emulator's CloudWatch Logs, as Lambda does: the group is
    created when missing (the platform declares it; a function without one still logs)."""

    def __init__(self) -> None:
        # moto's logs backend is not thread-safe (its own comment says so) and invocations run
        # on many threads.
        self._lock = threading.Lock()

    def put(
        self, *, spec: FunctionSpec, stream_name: str, events: Sequence[tuple[int, str]]
    ) -> None:
        from moto.logs.models import logs_backends

        if not events:
            return
        backend = logs_backends[spec.account_id][spec.region]
        with self._lock:
            if spec.log_group not in backend.groups:
                backend.create_log_group(spec.log_group, tags={})
            group = backend.groups[spec.log_group]
            if stream_name not in group.streams:
                backend.create_log_stream(spec.log_group, stream_name)
            ordered = sorted(events, key=lambda event: event[0])
            backend.put_log_events(
                spec.log_group,
                stream_name,
                [{"timestamp": stamp, "message": message} for stamp, message in ordered],
            )


# --------------------------------------------------------------------------- destinations


def _send(target_arn: str, body: str, attributes: Mapping[str, tuple[str, str]]) -> None:
    """Deliver ``body`` to an SQS queue or SNS topic of the emulator (``attributes``: name ->
    (data type, value))."""
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    service = target_arn.split(":")[2]
    account_id, region = _account_and_region(target_arn)
    message_attributes = {
        name: {"DataType": data_type, "StringValue": value}
        for name, (data_type, value) in attributes.items()
    }
    if service == "sqs":
        queue_name = target_arn.rsplit(":", 1)[-1]
        sqs_backends[account_id][region].send_message(
            queue_name, body, message_attributes=message_attributes or None
        )
    elif service == "sns":
        sns_backends[account_id][region].publish(
            body, arn=target_arn, message_attributes=message_attributes or None
        )
    else:
        raise ValueError(f"unsupported destination {target_arn!r} (SQS, SNS or Lambda)")


@dataclass(frozen=True)
class _AsyncEvent:
    function_arn: str
    payload: bytes
    request_id: str
    received_at: float  # epoch seconds
    invoke_count: int = 0


@dataclass(frozen=True)
class _AsyncConfig:
    maximum_retry_attempts: int
    maximum_event_age_seconds: int
    on_success: str | None
    on_failure: str | None
    dead_letter_target: str | None


def _async_config(function: Any) -> _AsyncConfig:
    config: dict[str, Any] = {}
    if function.event_invoke_config:
        config = dict(function.event_invoke_config[0].config)
    destinations = config.get("DestinationConfig") or {}
    dead_letter = (function.get_configuration().get("DeadLetterConfig") or {}).get("TargetArn")
    return _AsyncConfig(
        maximum_retry_attempts=int(
            config.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS)
        ),
        maximum_event_age_seconds=int(
            config.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_SECONDS)
        ),
        on_success=(destinations.get("OnSuccess") or {}).get("Destination") or None,
        on_failure=(destinations.get("OnFailure") or {}).get("Destination") or None,
        dead_letter_target=dead_letter or None,
    )


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


# --------------------------------------------------------------------------- the service

FunctionLookup = Callable[[str], Any]


class LambdaService:
    """Synchronous and asynchronous invocation of the emulator's functions (one per server)."""

    def __init__(
        self,
        runtime: LambdaRuntime,
        *,
        retry_delays: Sequence[float] = _DEFAULT_RETRY_DELAYS_SECONDS,
        lookup: FunctionLookup = find_function,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runtime = runtime
        self._retry_delays = tuple(retry_delays) or (0.0,)
        self._lookup = lookup
        self._clock = clock
        self._pool = ThreadPoolExecutor(_ASYNC_THREADS, thread_name_prefix="lambda-async")
        self._pending = 0
        self._idle = threading.Condition()

    # ----------------------------------------------------------------- synchronous

    def invoke(self, function: Any, payload: bytes) -> InvocationResult:
        """Run ``function`` with ``payload`` and wait for its result (``RequestResponse``)."""
        return self.runtime.invoke(function_spec(function), payload)

    # ----------------------------------------------------------------- asynchronous

    def submit(self, function: Any, payload: bytes) -> str:
        """Queue an ``Event`` invocation; return its request id at once (Lambda answers 202)."""
        if len(payload) > ASYNC_PAYLOAD_LIMIT_BYTES:
            raise AsyncPayloadTooLargeError(
                f"{len(payload)} byte payload is too large for the Event invocation type "
                f"(limit {ASYNC_PAYLOAD_LIMIT_BYTES} bytes)"
            )
        event = _AsyncEvent(
            function_arn=function.function_arn,
            payload=payload,
            request_id=str(uuid.uuid4()),
            received_at=self._clock(),
        )
        self._schedule(event, delay_seconds=0.0)
        return event.request_id

    def wait_idle(self, timeout_seconds: float) -> bool:
        """Wait until no asynchronous event is queued, running or waiting for a retry."""
        deadline = time.monotonic() + timeout_seconds
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def shutdown(self) -> None:
        """Stop the asynchronous threads (queued events are dropped) and every worker."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.runtime.shutdown()

    def _schedule(self, event: _AsyncEvent, *, delay_seconds: float) -> None:
        with self._idle:
            self._pending += 1
        if delay_seconds <= 0:
            self._pool.submit(self._run, event)
            return
        timer = threading.Timer(delay_seconds, self._pool.submit, args=(self._run, event))
        timer.daemon = True
        timer.start()

    def _done(self) -> None:
        with self._idle:
            self._pending -= 1
            if not self._pending:
                self._idle.notify_all()

    def _run(self, event: _AsyncEvent) -> None:
        try:
            self._attempt(event)
        except Exception as error:
            print(
                f"lambda async: event {event.request_id} for {event.function_arn} dropped: "
                f"{error!r}",
                flush=True,
            )
        finally:
            self._done()

    def _attempt(self, event: _AsyncEvent) -> None:
        try:
            function = self._lookup(event.function_arn)
        except Exception:
            return
        config = _async_config(function)
        if self._clock() - event.received_at > config.maximum_event_age_seconds:
            self._fail(event, config, None, condition="EventAgeExceeded")
            return
        result = self.runtime.invoke(
            function_spec(function), event.payload, request_id=event.request_id
        )
        attempt = replace(event, invoke_count=event.invoke_count + 1)
        if result.function_error is None:
            if config.on_success:
                self._deliver_record(config.on_success, attempt, result, condition="Success")
            return
        retries_done = attempt.invoke_count - 1
        if retries_done < config.maximum_retry_attempts:
            delay = self._retry_delays[min(retries_done, len(self._retry_delays) - 1)]
            if self._clock() + delay - event.received_at <= config.maximum_event_age_seconds:
                self._schedule(attempt, delay_seconds=delay)
                return
            self._fail(attempt, config, result, condition="EventAgeExceeded")
            return
        self._fail(attempt, config, result, condition="RetriesExhausted")

    def _fail(
        self,
        event: _AsyncEvent,
        config: _AsyncConfig,
        result: InvocationResult | None,
        *,
        condition: str,
    ) -> None:
        if config.dead_letter_target:
            error = _json_or_text(result.payload) if result is not None else {}
            message = error.get("errorMessage", "") if isinstance(error, dict) else str(error)
            _send(
                config.dead_letter_target,
                event.payload.decode("utf-8", "replace"),
                {
                    "RequestID": ("String", event.request_id),
                    "ErrorCode": ("Number", "200"),
                    "ErrorMessage": ("String", message or condition),
                },
            )
        if config.on_failure:
            self._deliver_record(config.on_failure, event, result, condition=condition)

    def _deliver_record(
        self,
        destination: str,
        event: _AsyncEvent,
        result: InvocationResult | None,
        *,
        condition: str,
    ) -> None:
        """Send Lambda's invocation record (the document destinations receive)."""
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if result is not None and result.function_error:
            response_context["functionError"] = result.function_error
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "requestContext": {
                "requestId": event.request_id,
                "functionArn": f"{event.function_arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": event.invoke_count,
            },
            "requestPayload": _json_or_text(event.payload),
            "responseContext": response_context,
        }
        if result is not None:
            record["responsePayload"] = _json_or_text(result.payload)
        body = json.dumps(record)
        if destination.split(":")[2] == "lambda":
            self.submit(self._lookup(destination), body.encode())
        else:
            _send(destination, body, {})


def log_result_header(result: InvocationResult) -> str:
    """The ``X-Amz-Log-Result`` header: the last 4 KB of the invocation's log, base64."""
    return base64.b64encode(result.log_tail.encode("utf-8")[-4096:]).decode("ascii")


# --------------------------------------------------------------------------- one per server

_SERVICE: LambdaService | None = None
_SERVICE_LOCK = threading.Lock()
#: Where a server unpacks function code (default ``.emulator/lambda`` of its working directory).
WORK_DIR_ENV = "TAP_EMULATOR_LAMBDA_DIR"
#: Where the runtime environments are that ``./tap`` installs (default ``.build/lambda-runtimes``).
RUNTIMES_DIR_ENV = "TAP_LAMBDA_RUNTIMES_DIR"
#: The runtime environments' directory of a repository (``./tap`` installs them there).
RUNTIMES_DIR = DEFAULT_ROOT


def configure(service: LambdaService | None) -> LambdaService | None:
    """Install ``service`` as the server's; return the previous one (tests restore it)."""
    global _SERVICE
    with _SERVICE_LOCK:
        previous, _SERVICE = _SERVICE, service
    return previous


def current() -> LambdaService:
    """The server's service, made on first use from its environment: the endpoint is the
    server's own port (``MOTO_PORT``), code and runtime environments under
    :data:`WORK_DIR_ENV`."""
    global _SERVICE
    with _SERVICE_LOCK:
        if _SERVICE is None:
            port = os.environ.get("MOTO_PORT")
            if not port:
                raise RuntimeError(
                    "the emulator's Lambda service is not configured: run the function in the "
                    "emulator server (tooling.emulator.server), or call configure() in a test"
                )
            work_dir = Path(os.environ.get(WORK_DIR_ENV) or Path(".emulator") / "lambda")
            runtimes_dir = Path(os.environ.get(RUNTIMES_DIR_ENV) or RUNTIMES_DIR)
            runtime = LambdaRuntime(
                work_dir=work_dir.resolve(),
                runtimes_dir=runtimes_dir.resolve(),
                endpoint_url=f"http://127.0.0.1:{port}",
                log_sink=MotoLogSink(),
            )
            _SERVICE = LambdaService(runtime, retry_delays=retry_delays_seconds())
        return _SERVICE


def shutdown() -> None:
    """Stop the server's service, if one was made (its workers end with it)."""
    service = configure(None)
    if service is not None:
        service.shutdown()
