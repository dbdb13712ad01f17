"""The Lambda client and the Invoke call: what Lambda answered, or why the call failed.

The call waits as long as a function may run and is never retried by the client (see the
package's docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tooling.invoke_function.errors import InvokeError
from tooling.invoke_function.functions import FUNCTIONS

if TYPE_CHECKING:
    from botocore.config import Config

    from tooling.lifecycle.session import Session

#: Lambda's longest function timeout (900 s) and a margin: how long the Invoke call may take
#: (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html).
INVOKE_READ_TIMEOUT_SECONDS: Final = 960
#: ``--debug``: an invocation held by a debugger has no deadline in the emulator
#: (:mod:`tooling.emulator.runtime.debug_sessions`); the call waits a day.
DEBUG_READ_TIMEOUT_SECONDS: Final = 86_400


def invoke_config(read_timeout_seconds: float = INVOKE_READ_TIMEOUT_SECONDS) -> Config:
    """The Lambda client's configuration: wait as long as a function may run, never retry."""
    from botocore.config import Config

    return Config(read_timeout=read_timeout_seconds, retries={"total_max_attempts": 1})


def lambda_client(session: Session, region: str, *, debugging: bool = False) -> Any:
    """A Lambda client of ``session`` (the emulator on loopback, or AWS) with
    :func:`invoke_config` (``debugging``: waiting as long as a debugger may hold the call)."""

    config = invoke_config(DEBUG_READ_TIMEOUT_SECONDS if debugging else INVOKE_READ_TIMEOUT_SECONDS)
    return session.client("lambda", region, config=config)


@dataclass(frozen=True)
class Answer:
    """What Lambda answered to Invoke: the status code, the request id of the answer's
    metadata, the ``FunctionError`` if any, the payload and the (base64) ``LogResult``."""

    status_code: int
    request_id: str
    function_error: str | None
    payload: bytes
    log_result: str | None

    @classmethod
    def of(cls, response: Any) -> Answer:
        """The answer in boto3's ``invoke`` response (its payload stream read to the end)."""
        return cls(
            status_code=int(response["StatusCode"]),
            request_id=str(response.get("ResponseMetadata", {}).get("RequestId", "")),
            function_error=response.get("FunctionError"),
            payload=response["Payload"].read() if "Payload" in response else b"",
            log_result=response.get("LogResult"),
        )


def invoke(lambda_: Any, function_name: str, payload: bytes, *, asynchronous: bool) -> Answer:
    """Invoke ``function_name`` with ``payload``: ``InvocationType=Event`` when
    ``asynchronous``, else ``RequestResponse`` with the log's tail (``LogType=Tail``)."""
    return Answer.of(_call(lambda_, function_name, payload, asynchronous=asynchronous))


def _call(lambda_: Any, function_name: str, payload: bytes, *, asynchronous: bool) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if asynchronous:
            return lambda_.invoke(
                FunctionName=function_name, InvocationType="Event", Payload=payload
            )
        return lambda_.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=payload,
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        hint = (
            f" (FUNCTION is {', '.join(FUNCTIONS)} or a function's full name)"
            if code == "ResourceNotFoundException"
            else ""
        )
        raise InvokeError(f"invoking {function_name} failed: {error}{hint}") from None
    except BotoCoreError as error:
        raise InvokeError(f"invoking {function_name} failed: {error}") from None
