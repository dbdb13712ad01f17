"""Continuation adapter: hand the rest of a file to a new invocation of this function.

One asynchronous ``Invoke`` (``InvocationType=Event``) of the function itself, by name
(``AWS_LAMBDA_FUNCTION_NAME``, set by the Lambda runtime), with the checkpoint as the event.
Why this mechanism: it needs one permission, ``lambda:InvokeFunction`` on the function's own
ARN, and nothing new to deploy; the continuation is an ordinary async event, so the
function's async retries and its dead-letter destination cover it exactly like the S3
notification that started the file. (A queue or a state machine would need a new resource,
a new trigger and more permissions for the same effect.)

The boto3 client is created on the first continuation only: most invocations never need it,
and creating a client costs tens of milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from processor.adapters.errors import aws_call
from processor.domain.errors import DependencyError

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient


class LambdaSelfInvoker:
    """A ContinuationSink: ``send`` invokes ``function_name`` asynchronously with the event."""

    def __init__(self, client_factory: Callable[[], LambdaClient], function_name: str | None):
        self._client_factory = client_factory
        self._client: LambdaClient | None = None
        self._function_name = function_name

    def send(self, event: Mapping[str, object]) -> None:
        if not self._function_name:
            raise DependencyError(
                "cannot continue the file: AWS_LAMBDA_FUNCTION_NAME is not set (not in Lambda?)"
            )
        if self._client is None:
            self._client = self._client_factory()
        action = f"lambda:InvokeFunction {self._function_name}"
        with aws_call(action):
            response = self._client.invoke(
                FunctionName=self._function_name,
                InvocationType="Event",
                Payload=json.dumps(event).encode(),
            )
        if response.get("StatusCode") != 202:
            raise DependencyError(f"{action}: status {response.get('StatusCode')}, expected 202")
