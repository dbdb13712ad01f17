"""The saves: the api_handler's ``/health`` changed in the copy, synced into the deployment as
``./tap sync --watch`` syncs a saved service (:class:`tooling.sync.Syncer`, that service only),
and ``/health`` asked until it answers the change."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TextIO

from tooling.loop_bench.errors import LoopBenchError
from tooling.loop_bench.figures import SaveFigure
from tooling.loop_bench.probe import HealthProbe
from tooling.loop_bench.sources import SourceCopy
from tooling.sync import Syncer, SyncError, SyncResult, syncer_for

if TYPE_CHECKING:
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["DEFAULT_SAVES", "SERVICE", "api_handler_syncer", "measure_saves", "parse_saves"]

#: Saves measured unless ``--saves`` says.
DEFAULT_SAVES: Final = 7
#: The service changed and synced: its zip runs the API handler and the authorizer.
SERVICE: Final = "api_handler"


def parse_saves(text: str | None) -> int:
    """``--saves N``: the number of saves, 1 or more (None: :data:`DEFAULT_SAVES`)."""
    if text is None:
        return DEFAULT_SAVES
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise LoopBenchError(f"--saves {text!r}: a number of saves, 1 or more (e.g. 7).", 2)
    return int(value)


def api_handler_syncer(
    ws: Workspace, session: Session, outputs: Mapping[str, Any], environment: str, out: TextIO
) -> Syncer:
    """The syncer ``./tap sync`` makes for ``ws`` (the copy's workspace: its sources and dist;
    the repository's dependency layer cache), for :data:`SERVICE` only, in every region of
    ``environment``; its Lambda clients made now, before any clock runs."""
    try:
        syncer = syncer_for(ws, session, outputs, environment, services=[SERVICE], out=out)
    except SyncError as error:
        raise LoopBenchError(str(error), error.code) from None
    clients = {fn.region: session.client("lambda", fn.region) for fn in syncer.functions[SERVICE]}
    syncer.client = clients.__getitem__
    return syncer


def measure_saves(
    copy: SourceCopy,
    sync: Callable[[str], SyncResult],
    probe: HealthProbe,
    markers: Sequence[str],
    *,
    say: Callable[[str], None],
) -> tuple[tuple[SaveFigure, ...], str | None]:
    """A save per marker: change the copy, ``sync(SERVICE)`` (a :class:`tooling.sync.Syncer`'s
    ``sync``: raises on failure, returns its result), then ask ``/health`` until it answers the
    marker. Returns the figures, and why the saves stopped (None: every one was measured)."""
    from botocore.exceptions import BotoCoreError, ClientError

    figures: list[SaveFigure] = []
    for number, marker in enumerate(markers, 1):
        copy.change(marker)
        started = probe.clock()
        try:
            result = sync(SERVICE)
            serving = probe.wait_for(marker, since=started)
        except (SyncError, LoopBenchError, BotoCoreError, ClientError) as error:
            return tuple(figures), f"save {number} of {len(markers)}: {error}"
        figures.append(SaveFigure(sync_seconds=result.seconds, serving_seconds=serving))
        say(
            f"save {number}/{len(markers)}: {result.line()}; /health answered the change "
            f"{serving:.2f} s after the save"
        )
    return tuple(figures), None
