"""``./tap invoke``: invoke a deployed function through the Lambda API and print what it did.

The function
    ``processor``, ``api_handler`` or ``api_authorizer`` (the flat outputs'
    ``<env>_<name>_function_name``), or a function's full name.

The event
    ``--event FILE`` sends the file's bytes unchanged (they must be JSON: Lambda refuses any other
    payload with ``InvalidRequestContentException``,
    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html). ``--sample NAME`` builds one of
    the service package's own samples (``processor.samples``, ``api_handler.samples``) for this
    deployment: the data bucket and region for the processor's S3 notification (``--key`` names
    the object; when it exists its size, ETag and version are filled in), the region, account,
    API id and stage for the API's events.

Synchronous (default)
    ``Invoke`` with ``InvocationType=RequestResponse`` and ``LogType=Tail``: the status code, the
    ``FunctionError`` if any, the payload (pretty-printed when it is JSON) and the invocation's log
    from ``LogResult``. That is only the last 4 KB of the log
    (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html, ``LogType``); when it has lost
    the invocation's ``START`` line, the whole invocation, ``START`` to ``REPORT``, is read from the
    function's log group instead (:mod:`tooling.function_logs`). A function error exits 1. Both
    of Lambda's log formats are read: ``START``/``REPORT`` lines in plain text, ``platform.start``
    and ``platform.report`` records in JSON (the platform's functions log in JSON).

Asynchronous (``--async``)
    ``InvocationType=Event``: Lambda answers 202 with the request id at once and runs the event
    later under that request id; the log group is read until that request's ``REPORT`` (or the
    timeout: exit 1). When no log line carries the answered id (the local emulator answers with
    an id of its own), the one invocation started since the call is followed instead, with a
    note; several cannot be told apart. An asynchronous invocation returns no result: an error
    shows only in the log, and Lambda retries the event.

Debugging (``--debug``, local target)
    Right before the invocation, a debug session of the function is armed in the emulator
    (:func:`debug_hook`, :mod:`tooling.emulator.debugging`): the invocation runs in a new
    execution environment that waits for a debugpy client on loopback (where to attach and a VS
    Code launch configuration are printed first), without a deadline while the debugger holds
    it. Any invocation works this way, ``--async`` too.

The Invoke call waits as long as a function may run (up to 900 s,
https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html) and is never retried by
the client: with botocore's default 60 s read timeout a longer invocation is cut and retried,
which invokes the function again (https://github.com/aws/aws-cli/issues/2657).

One concern per module; this package's root re-exports what ``tasks.py`` and the tests use:

=========  ================================================================================
module     concern
=========  ================================================================================
errors     ``InvokeError``: the message to show and the task's exit code
functions  the platform's functions (``FUNCTIONS``) and the ``Target`` ``FUNCTION`` names in
           the deployment's flat outputs
events     the payload: an ``--event`` file, or a ``--sample`` filled from the deployment (and
           the object the S3 sample names); ``--sample list``
client     the Lambda client (never retrying, waiting as long as a function runs) and the
           Invoke call: what Lambda answered, or why the call failed
debugger   ``--debug``: the hook arming a debug session in the emulator (imports
           :mod:`tooling.emulator.debugging` only when a hook is made)
logs       the invocation's log lines: ``START``/``REPORT`` in both log formats, the
           ``LogResult`` tail, the log group read and waited for
report     what is printed: the answer, the queued asynchronous invocation, the log
command    ``run``: the invocation itself, synchronous or asynchronous
=========  ================================================================================

Imports go one way, down the table (``command`` uses the others).
"""

from __future__ import annotations

from tooling.invoke_function.client import (
    DEBUG_READ_TIMEOUT_SECONDS,
    INVOKE_READ_TIMEOUT_SECONDS,
    Answer,
    invoke,
    invoke_config,
    lambda_client,
)
from tooling.invoke_function.command import Outcome, run
from tooling.invoke_function.debugger import DebugHook, debug_hook
from tooling.invoke_function.errors import InvokeError
from tooling.invoke_function.events import (
    LIST,
    event_from_file,
    payload_for,
    sample_event,
    sample_lines,
)
from tooling.invoke_function.functions import FUNCTIONS, FunctionKind, SampleInfo, Target, resolve
from tooling.invoke_function.logs import (
    DEFAULT_TIMEOUT_SECONDS,
    LOG_MARGIN_MS,
    POLL_SECONDS,
    InvocationLog,
    LogWait,
    invocation_log,
    report_id,
    start_id,
    tail_lines,
)

__all__ = [
    "DEBUG_READ_TIMEOUT_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "FUNCTIONS",
    "INVOKE_READ_TIMEOUT_SECONDS",
    "LIST",
    "LOG_MARGIN_MS",
    "POLL_SECONDS",
    "Answer",
    "DebugHook",
    "FunctionKind",
    "InvocationLog",
    "InvokeError",
    "LogWait",
    "Outcome",
    "SampleInfo",
    "Target",
    "debug_hook",
    "event_from_file",
    "invocation_log",
    "invoke",
    "invoke_config",
    "lambda_client",
    "payload_for",
    "report_id",
    "resolve",
    "run",
    "sample_event",
    "sample_lines",
    "start_id",
    "tail_lines",
]
