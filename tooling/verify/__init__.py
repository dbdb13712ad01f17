"""``./tap verify --env ENV [--target aws|local]``: a black-box smoke test of a deployed
environment, for a pipeline after each deploy and for anyone at any time.

From outside, with only the deploy's flat outputs and the public interfaces (the API over HTTP,
S3, DynamoDB, the processor's logs), five checks in order:

``health``   ``GET /health`` answers 200, status ok (unsigned).
``session``  ``POST /sessions`` (SigV4-signed, an IAM route) opens a session of the canary
             account.
``ingest``   a canary trade file uploaded to the data bucket's ``incoming/`` prefix (as
             ``./tap upload`` uploads one) shows, every trade, in the account's listing
             (``GET /accounts/{id}/trades`` with the session), asked again with a growing pause
             until the timeout; the processor's summary ends the wait early if it rejected the
             file or its event was dead-lettered (as ``./tap upload --wait`` reads them).
``read``     each trade read back with the session (``GET /trades/{id}``, the listing, newest
             first) equals the file; ``GET /sessions/current`` names the account.
``cleanup``  always, even after a failure or Ctrl-C: the canary's object versions (and any
             quarantine object of it), its trades (only items still the canary's) and its
             session are removed.

A check is skipped when one it needs did not pass (``ingest`` needs ``session``, ``read`` needs
``ingest``). The canary cannot collide with real data: a run's id, ``verify-<UTC time>-<6 hex>``,
is its account id, begins each of its trade ids and names its file
(``incoming/verify/<run id>.csv``); the cleanup touches nothing else.

One concern per module; this package's root re-exports what ``tasks.py`` and the tests use:

==========  ===============================================================================
module      concern
==========  ===============================================================================
results     ``CheckResult`` (name, passed, seconds, detail), ``VerifyResult``
errors      ``VerifyError`` (message, exit code, result), ``CheckFailedError``, how an error reads
canary      the run's id, its trade file, and what the API must answer for it
target      the API URL of the target, the trades table, the upload's ``Deployment``
transport   HTTP requests and answers, urllib, the SigV4 signer of ``execute-api``
api         the API's routes a run calls
polling     asking again with a growing pause until something holds or the time is up
store       the AWS side: upload, the processor's watch, removal of objects and trades
ingest      how far the ingest is: the listing and the processor's summaries
checks      ``health``, ``session``, ``ingest``, ``read``; the run's state
cleanup     the removal of what the canary created
runner      the order: timing, skipping, the cleanup in ``finally``
report      the printed lines and the failure message
command     ``run`` (the task), ``execute`` (ports given), ``verify_environment`` (a root)
==========  ===============================================================================

Imports go one way, down the table.
"""

from __future__ import annotations

from tooling.verify.canary import CANARY_FOLDER, Canary, CanaryTrade, new_canary
from tooling.verify.checks import DEFAULT_TIMEOUT_SECONDS, CanaryRun, session_ttl
from tooling.verify.command import execute, run, verify_environment
from tooling.verify.errors import CheckFailedError, VerifyError
from tooling.verify.report import failure_message, report_lines
from tooling.verify.results import CheckResult, VerifyResult
from tooling.verify.runner import CHECKS, verify
from tooling.verify.target import VerifyTarget

__all__ = [
    "CANARY_FOLDER",
    "CHECKS",
    "DEFAULT_TIMEOUT_SECONDS",
    "Canary",
    "CanaryRun",
    "CanaryTrade",
    "CheckFailedError",
    "CheckResult",
    "VerifyError",
    "VerifyResult",
    "VerifyTarget",
    "execute",
    "failure_message",
    "new_canary",
    "report_lines",
    "run",
    "session_ttl",
    "verify",
    "verify_environment",
]
