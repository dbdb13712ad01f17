"""``./tap sync``: the working tree's Lambda code into a deployed environment's functions, through
the Lambda API, in about a second per service after a change to its modules.

Which functions run which zip
    :data:`SERVICE_FUNCTIONS`: the ``processor`` zip runs the processor function, the
    ``api_handler`` zip the API handler and the session authorizer (its second entry point).
    The keys are those of the application stack's outputs (``<function>_function_name``;
    trading_infra/stacks.py), so a deployment's function names are read from its flat outputs:
    ``<prefix>_<function>_function_name``, the prefix being the environment, or
    ``<environment>_<region>`` for each region of a multi-region one (every region by default,
    one with ``--region``). tests/tooling/test_sync.py checks the mapping against the
    synthesized stacks (each ``aws_lambda_function``'s ``filename`` is ``<service>.zip``).

A sync of one service (:meth:`Syncer.sync`)
    1. **build** ``dist/<service>.zip`` for the current sources
       (:func:`tooling.build.lambda_zip.build_service`: after a change to the service's own
       code the dependency layer pip made last time is reused, so the build takes about half a
       second and writes the bytes a build from scratch writes);
    2. **check** that every module of the service package in the zip compiles under the
       runtime's CPython (``python3.12``, :func:`check_syntax`): a syntax error is reported and
       nothing is updated (Lambda would accept the zip and fail every invocation at import);
    3. **compare** each function's ``CodeSha256`` (GetFunctionConfiguration) with the zip's:
       a function already running it is left alone;
    4. **update** each other one: UpdateFunctionCode with ``FunctionName`` and the zip's bytes as
       ``ZipFile`` only (what ``aws lambda update-function-code --zip-file`` sends; no
       ``Publish``: ``$LATEST`` is what the triggers invoke), and check that the ``CodeSha256``
       Lambda answers is the zip's;
    5. **wait** until each one's ``LastUpdateStatus`` is ``Successful`` (the waiter
       ``function_updated_v2``: GetFunction every second). Until then Lambda still runs the
       previous code, afterwards every new invocation runs the new one
       (https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html). The emulator does
       the same: its warm workers are keyed by the function's configuration, ``CodeSha256``
       included (tooling/emulator/runtime/model.py), so the next invocation starts a worker on
       the new code and the old idle workers are stopped.

    One line per sync: ``synced api_handler -> tap-api-handler-dev, tap-api-authorizer-dev in
    0.6 s`` (the seconds from the start of the build until every function's update succeeded).

Rules of the Lambda API checked before anything is sent (each would be refused by AWS):
    - a zip uploaded in the request (``ZipFile``) is at most 50 MB, 52,428,800 bytes
      (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html; the API answers
      ``RequestEntityTooLargeException: Request must be smaller than 69905067 bytes``, the
      base64 size of that): :data:`DIRECT_UPLOAD_LIMIT_BYTES`;
    - the code must suit the function's instruction set architecture
      (https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html): a function
      whose ``Architectures`` differ from the zip's target is refused (the zip's binary wheels
      would not load); so is a function of package type ``Image``;
    - a function that is ``Pending`` or whose last update is ``InProgress`` refuses another
      update (``ResourceConflictException``, functions-states.html above): the sync waits for
      it first (``function_active_v2``, ``function_updated_v2``).

``--watch`` (:class:`Watcher`): after a first sync of every service, the input hash of each
service (:func:`~tooling.build.lambda_zip.compute_input_hash`: every file the build reads) is
polled every :data:`POLL_SECONDS`; a service whose hash changed is synced. A failed build or
sync is printed and watching goes on; the functions keep the code they had.

Terraform and a synced function: the state keeps the ``source_code_hash`` of the zip Terraform
uploaded, and the AWS provider does not read a function's code back
(hashicorp/terraform-provider-aws#41092, #42826), so neither ``plan`` nor ``drift`` sees the
code a sync put in. The next deploy updates the function in place when ``dist/`` holds a zip
other than the one in the state (which it does after a sync: the synced one), re-uploading the
same code and making the state match again. If the change is reverted instead, ``dist/`` holds
Terraform's zip again and the plan shows nothing: a sync puts that code back
(:data:`AWS_WARNING`, :data:`LOCAL_NOTE`).

One concern per module; this package's root re-exports what ``tasks.py``,
:mod:`tooling.loop_bench` and the tests use:

=========  ================================================================================
module     concern
=========  ================================================================================
errors     ``SyncError``: the message to show and the task's exit code
functions  which functions run which zip (:data:`SERVICE_FUNCTIONS`), and a deployment's
           functions read from its flat outputs
syntax     the syntax check of a zip's modules under the runtime's CPython
report     what a sync prints: its line (``SyncResult``), the Terraform state's warning
           (AWS) or note (local)
syncer     ``Syncer``: build, check, compare ``CodeSha256``, UpdateFunctionCode, wait; the
           Lambda API's rules checked before anything is sent
watcher    ``Watcher``: ``--watch``'s polling of the services' build inputs
command    ``syncer_for`` and ``run``: the task itself
=========  ================================================================================

Imports go one way, down the table (``command`` uses the others).
"""

from __future__ import annotations

from tooling.sync.command import run, syncer_for
from tooling.sync.errors import SyncError
from tooling.sync.functions import (
    SERVICE_FUNCTIONS,
    DeployedFunction,
    deployed_functions,
    output_prefixes,
)
from tooling.sync.report import AWS_WARNING, LOCAL_NOTE, SyncResult
from tooling.sync.syncer import DIRECT_UPLOAD_LIMIT_BYTES, Syncer, code_sha256
from tooling.sync.syntax import check_syntax
from tooling.sync.watcher import POLL_SECONDS, Watcher

__all__ = [
    "AWS_WARNING",
    "DIRECT_UPLOAD_LIMIT_BYTES",
    "LOCAL_NOTE",
    "POLL_SECONDS",
    "SERVICE_FUNCTIONS",
    "DeployedFunction",
    "SyncError",
    "SyncResult",
    "Syncer",
    "Watcher",
    "check_syntax",
    "code_sha256",
    "deployed_functions",
    "output_prefixes",
    "run",
    "syncer_for",
]
