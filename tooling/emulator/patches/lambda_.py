"""Compatibility patches of moto's Lambda (``lambda_``: ``lambda`` is a Python keyword)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from tooling.emulator.patches.base import CompatPatch, Undo, add, compat_patch, replace, undo_all

__all__ = ["PATCHES", "dead_letter_config", "invoke_in_local_runtime"]

_DLQ_ATTRIBUTE = "_tap_dead_letter_target_arn"
_LOGGING_ATTRIBUTE = "_tap_logging_config"


def _dead_letter_target(config: Any) -> str | None:
    """The TargetArn of a request's DeadLetterConfig; None when absent or emptied ("")."""
    if isinstance(config, dict):
        target = config.get("TargetArn")
        if isinstance(target, str) and target:
            return target
    return None


def _logging_config(update: Any, current: dict[str, Any] | None) -> dict[str, Any] | None:
    """A function's LoggingConfig after a request's ``LoggingConfig`` (merged, like AWS)."""
    if not isinstance(update, dict):
        return current
    merged = dict(current or {})
    merged.update({k: v for k, v in update.items() if isinstance(v, str) and v})
    return merged


@compat_patch("lambda-dead-letter-config", gap="4")
def dead_letter_config() -> Undo:
    """docs/emulator.md, gap 4: return a Lambda function's ``DeadLetterConfig``.

    moto's ``moto.awslambda.models.LambdaFunction`` ignores ``DeadLetterConfig`` in
    CreateFunction and UpdateFunctionConfiguration, and ``get_configuration`` (the body of
    GetFunction's ``Configuration``, GetFunctionConfiguration, ListFunctions, Create/Update
    responses) never has it, so ``aws_lambda_function.dead_letter_config`` shows an in-place
    update on every plan. The patch keeps the TargetArn from both requests (an empty TargetArn,
    which is how the provider removes it, clears it) and adds ``{"TargetArn": ...}`` to the
    configuration when there is one, like AWS.

    Same gap, same three methods (so in the same patch): moto also drops ``LoggingConfig``, so
    ``logging_config { log_format = "JSON" }`` would show as an in-place update on every plan.
    The patch keeps it from both requests and returns it with AWS's defaults (``LogFormat``
    ``Text``, ``LogGroup`` ``/aws/lambda/<name>``).
    """
    from moto.awslambda.models import LambdaFunction

    def make_init(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def __init__(  # noqa: N807
            self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
        ) -> None:
            original(self, account_id, spec, *args, **kwargs)
            setattr(self, _DLQ_ATTRIBUTE, _dead_letter_target(spec.get("DeadLetterConfig")))
            setattr(self, _LOGGING_ATTRIBUTE, _logging_config(spec.get("LoggingConfig"), None))

        return __init__

    def make_update(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(original)
        def update_configuration(
            self: LambdaFunction, config_updates: dict[str, Any]
        ) -> dict[str, Any]:
            if "DeadLetterConfig" in config_updates:
                target = _dead_letter_target(config_updates["DeadLetterConfig"])
                setattr(self, _DLQ_ATTRIBUTE, target)
            if "LoggingConfig" in config_updates:
                current = getattr(self, _LOGGING_ATTRIBUTE, None)
                setattr(
                    self,
                    _LOGGING_ATTRIBUTE,
                    _logging_config(config_updates["LoggingConfig"], current),
                )
            return original(self, config_updates)

        return update_configuration

    def make_get(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(original)
        def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
            config = original(self, *args, **kwargs)
            target = getattr(self, _DLQ_ATTRIBUTE, None)
            if target:
                config["DeadLetterConfig"] = {"TargetArn": target}
            config["LoggingConfig"] = {
                "LogFormat": "Text",
                "LogGroup": f"/aws/lambda/{self.function_name}",
                **(getattr(self, _LOGGING_ATTRIBUTE, None) or {}),
            }
            return config

        return get_configuration

    return undo_all(
        [
            replace(LambdaFunction, "__init__", make_init),
            replace(LambdaFunction, "update_configuration", make_update),
            replace(LambdaFunction, "get_configuration", make_get),
        ]
    )


#: The result the local runtime answered to this thread's synchronous invocation, when it is no
#: function error (see :func:`invoke_in_local_runtime`: moto's Invoke response must keep it).
_ANSWERED = threading.local()


def _lambda_error(code: int, error_type: str, message: str) -> Exception:
    """A Lambda service error as moto answers it (JSON body, ``x-amzn-errortype``)."""
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(error_type, message)
    error.code = code
    return error


@compat_patch("lambda-invoke-local-runtime", gap="5")
def invoke_in_local_runtime() -> Undo:
    """docs/emulator.md, gap 5: run a function's deployed code when it is invoked.

    moto's ``LambdaFunction.invoke`` (the Invoke API, and S3 notifications) runs the code
    only in a Docker container (``_invoke_lambda``); without Docker the invocation answers
    ``error running docker``. The patch hands every invocation of a zip function to
    :mod:`tooling.emulator.invocations`: ``RequestResponse`` runs it in the local runtime and
    answers its result (or Lambda's error document with ``X-Amz-Function-Error``, and the log
    tail in ``X-Amz-Log-Result``), ``Event`` is queued with Lambda's asynchronous semantics and
    answered 202, ``DryRun`` runs nothing. A request over Lambda's payload limits answers 413
    ``RequestEntityTooLargeException``; a runtime without an interpreter on this machine answers
    500 naming it.

    Lambda's limits (docs/emulator.md, rule R4;
    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html,
    https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): 6 MB for a
    synchronous request and its response, 1 MB for an asynchronous request. The runtime enforces
    the response limit exactly (a larger result is the ``Function.ResponseSizeTooLarge`` function
    error, whose message names 6,291,556 bytes); moto's Invoke response
    (``LambdaResponse.invoke``) checks ``sys.getsizeof`` of the result against 6,000,000 and so
    replaces results of about 6,000,000 to 6,291,556 bytes, which Lambda returns, by that error.
    The patch gives such a result back.
    """
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    def make_invoke(original: Callable[..., str | bytes]) -> Callable[..., str | bytes]:
        @functools.wraps(original)
        def invoke(
            self: Any, body: str | bytes | None, request_headers: Any, response_headers: Any
        ) -> str | bytes:
            from tooling.emulator import invocations
            from tooling.emulator.runtime import RequestTooLargeError, RuntimeUnavailableError

            payload = (body.encode() if isinstance(body, str) else bytes(body or b"")) or b"{}"
            kind = (request_headers or {}).get("x-amz-invocation-type") or "RequestResponse"
            service = invocations.current()
            try:
                if kind == "DryRun":
                    return b""
                if kind == "Event":
                    request_id = service.submit(self, payload)
                    response_headers["x-amzn-requestid"] = request_id
                    return b""
                result = service.invoke(self, payload)
            except (RequestTooLargeError, invocations.AsyncPayloadTooLargeError) as error:
                raise _lambda_error(413, "RequestEntityTooLargeException", str(error)) from None
            except RuntimeUnavailableError as error:
                raise _lambda_error(500, "ServiceException", str(error)) from None
            response_headers["x-amzn-requestid"] = result.request_id
            response_headers["x-amz-executed-version"] = "$LATEST"
            response_headers["x-amz-log-result"] = invocations.log_result_header(result)
            if result.function_error:
                response_headers["x-amz-function-error"] = result.function_error
            else:
                _ANSWERED.payload = result.payload
            return result.payload

        return invoke

    return undo_all(
        [
            replace(LambdaFunction, "invoke", make_invoke),
            replace(LambdaResponse, "invoke", _response_keeping_the_result),
            add(LambdaResponse, "_enrich_response", staticmethod(_enrich_keeping_request_id)),
        ]
    )


def _enrich_keeping_request_id(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    """moto's ``BaseResponse._enrich_response``, keeping the invocation's request id.

    Lambda answers an Invoke with the invocation's own request id (``x-amzn-RequestId``, the id
    of its START and REPORT lines); moto replaces every response's id by a random one, so a
    caller could not find the invocation's log lines by the id it was given.
    """
    from moto.core.responses import BaseResponse

    kept = headers.get("x-amzn-requestid")
    headers, body = BaseResponse._enrich_response(headers, body)
    if kept:
        headers["x-amzn-requestid"] = kept
    return headers, body


def _response_keeping_the_result(original: Callable[..., Any]) -> Callable[..., Any]:
    """moto's Invoke response (``LambdaResponse.invoke``), but answering the result the runtime
    returned (:data:`_ANSWERED`) where moto's own size check replaced it by an error."""
    from moto.awslambda.responses import LambdaResponse
    from moto.utilities.aws_headers import gen_amz_crc32

    @functools.wraps(original)
    def invoke(self: LambdaResponse) -> tuple[Any, dict[str, Any], str | bytes]:
        _ANSWERED.payload = None
        try:
            status, headers, body = original(self)
            answered = _ANSWERED.payload
        finally:
            _ANSWERED.payload = None
        if answered is None or body == answered:
            return status, headers, body
        dropped = {"content-length", "x-amz-function-error"}
        headers = {k: v for k, v in headers.items() if k.lower() not in dropped}
        gen_amz_crc32(answered, headers)  # the checksum moto computed was the error's
        return status, headers, answered

    return invoke


#: Lambda's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (dead_letter_config, invoke_in_local_runtime)
