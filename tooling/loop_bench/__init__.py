"""``./tap bench --loop``: the handler developer's loop against an environment deployed locally
(``./tap deploy``): a report, not a timed test (it prints numbers and never fails on them).

1. **Save to new code serving**, ``--saves`` times (default 7): the api_handler's ``GET /health``
   body is changed in a copy of the sources (never the working tree: other engineers build and
   deploy from it; :mod:`.sources`) to carry a marker unique to the save, the service is synced
   into the deployment as ``./tap sync --watch`` syncs a saved service (:class:`tooling.sync.
   Syncer`: the zip rebuilt into the copy's own dist with the repository's dependency layer
   cache, so without pip; its syntax checked; UpdateFunctionCode of the API handler and the
   authorizer until the update succeeded), and ``GET <api_local_url>/health`` is asked until it
   answers the marker. The figure: seconds from the start of the sync (the save) to that answer;
   the report gives each save's, and their p50, min and max.
2. **./tap deploy after a handler-only change**: one more change in the copy, then
   :func:`tooling.lifecycle.commands.deploy.deploy_stacks` on the copy's workspace (the deploy skips
   the stacks unchanged since their last apply), timed until it returns; ``/health`` must then
   answer the change. The stacks it applied and skipped are read from its output.
3. **Restore**: ``./tap sync`` of the working tree (:func:`tooling.sync.run`), whatever happened
   before, so the deployment runs what ``dist/`` holds again. The Terraform state keeps the
   deploy's zip until the next ``./tap deploy``, which updates the functions with ``dist/``.

Then the goals beside today's figures: p50 <= 2 s, the deploy <= 25 s on an idle machine, with
the machine's cores and its load average at the start and the end.

One concern per module; this package's root re-exports what ``tasks.py`` and the tests use:

==========  ================================================================================
module      concern
==========  ================================================================================
errors      ``LoopBenchError``: the message to show and the task's exit code
sources     the copy of the sources, its health body changed to a marker
probe       ``GET /health`` asked until it answers a marker
transcript  a stream keeping what a step writes while passing it on
figures     what a run measured, and the p50/min/max of the saves
saves       ``--saves``, the api_handler's syncer, the saves measured
deploy      the deploy measured, the stacks it applied and skipped
runner      a run: the saves, the deploy, the restore
reporting   the report: the saves' table, the deploy, the goals beside today's figures
==========  ================================================================================
"""

from __future__ import annotations

from tooling.loop_bench.deploy import Deploy, measure_deploy, stacks_of
from tooling.loop_bench.errors import LoopBenchError
from tooling.loop_bench.figures import AppliedStack, DeployFigure, LoopFigures, SaveFigure, Spread
from tooling.loop_bench.probe import (
    ANSWER_TIMEOUT_SECONDS,
    POLL_SECONDS,
    HealthProbe,
    http_get,
    marker_of,
)
from tooling.loop_bench.reporting import GOAL_DEPLOY_SECONDS, GOAL_SAVE_P50_SECONDS, goals, report
from tooling.loop_bench.runner import health_url, markers, restore, run
from tooling.loop_bench.saves import (
    DEFAULT_SAVES,
    SERVICE,
    api_handler_syncer,
    measure_saves,
    parse_saves,
)
from tooling.loop_bench.sources import (
    HEALTH_BODY,
    HEALTH_MODULE,
    MARKER_KEY,
    SourceCopy,
    changed_body,
)
from tooling.loop_bench.transcript import Transcript

__all__ = [
    "ANSWER_TIMEOUT_SECONDS",
    "DEFAULT_SAVES",
    "GOAL_DEPLOY_SECONDS",
    "GOAL_SAVE_P50_SECONDS",
    "HEALTH_BODY",
    "HEALTH_MODULE",
    "MARKER_KEY",
    "POLL_SECONDS",
    "SERVICE",
    "AppliedStack",
    "Deploy",
    "DeployFigure",
    "HealthProbe",
    "LoopBenchError",
    "LoopFigures",
    "SaveFigure",
    "SourceCopy",
    "Spread",
    "Transcript",
    "api_handler_syncer",
    "changed_body",
    "goals",
    "health_url",
    "http_get",
    "marker_of",
    "markers",
    "measure_deploy",
    "measure_saves",
    "parse_saves",
    "report",
    "restore",
    "run",
    "stacks_of",
]
