"""``./tap bench``: which benchmark a run measures, and how each one is started.

The task only parses its options into a :class:`BenchRequest`; :func:`run_bench` picks the one
benchmark they ask for (in this order: ``ingest``, ``loop``, ``services``, ``lifecycle``, the
local emulator with ``emulator``, else provider import and synth) and prints its report. Every
benchmark is a report, not a test: it fails only when it could not measure, as a
:class:`~tooling.lifecycle.errors.LifecycleError` carrying the task's exit code (the task maps
that one error type to its exit, as for every lifecycle command). The benchmarks themselves live
in :mod:`tooling.bench`, :mod:`tooling.lifecycle.bench`, :mod:`tooling.services_bench`,
:mod:`tooling.ingest_bench`, :mod:`tooling.loop_bench` and :mod:`tooling.emulator.bench`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.interrupts import INTERRUPTED_EXIT

if TYPE_CHECKING:
    from rich.table import Table

    from tooling.lifecycle.session import Session

__all__ = ["BenchCli", "BenchRequest", "Benchmark", "chosen", "run_bench"]

#: The benchmarks a :class:`BenchRequest` may ask for ("synth": provider import and synth).
Benchmark = Literal["ingest", "loop", "services", "lifecycle", "synth", "emulator"]
#: The width a report table is printed at outside a terminal: a log or a pipe has no width of
#: its own, and rich's default of 80 columns would wrap a row of the report over two lines.
_LOG_WIDTH = 200


@dataclass(frozen=True)
class BenchRequest:
    """The options of ``./tap bench``, as the task received them."""

    repeat: int = 1
    emulator: bool = False
    env: str | None = None
    lifecycle: bool = False
    services: bool = False
    runs: int = 9
    ingest: bool = False
    sizes: str | None = None
    loop: bool = False
    saves: str | None = None


@dataclass(frozen=True)
class BenchCli:
    """What the command line running the bench supplies: the one environment its selection
    names (it refuses a selection of several, in its own words), and the command that deploys
    an environment locally (named when the emulator benchmark finds none deployed)."""

    one_environment: Callable[[str | None], str]
    deploy_command: Callable[[str], str]


def chosen(request: BenchRequest) -> Benchmark:
    """The one benchmark ``request`` asks for (the first of :data:`Benchmark` it names; none:
    provider import and synth)."""
    asked: list[tuple[Benchmark, bool]] = [
        ("ingest", request.ingest),
        ("loop", request.loop),
        ("services", request.services),
        ("lifecycle", request.lifecycle),
        ("emulator", request.emulator),
    ]
    return next((benchmark for benchmark, on in asked if on), "synth")


def run_bench(
    root: Path, request: BenchRequest, cli: BenchCli, *, out: TextIO | None = None
) -> None:
    """Run the benchmark ``request`` asks for (:func:`chosen`) in ``root``; print its report to
    ``out`` (default: stdout). A LifecycleError when it could not measure."""
    stream = out if out is not None else sys.stdout
    runners: dict[Benchmark, Callable[[Path, BenchRequest, BenchCli, TextIO], None]] = {
        "ingest": _ingest,
        "loop": _loop,
        "services": _services,
        "lifecycle": _lifecycle,
        "synth": _synth,
        "emulator": _emulator,
    }
    runners[chosen(request)](root, request, cli, stream)


def _local_session(root: Path) -> Session:
    """The session of the emulator this repository runs (a LifecycleError if none runs)."""
    from tooling.lifecycle.commands.context import session_for
    from tooling.lifecycle.workspace import Workspace

    return session_for(Workspace.from_environ(root, target="local"), start=False)


def _print(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


def _print_table(stream: TextIO, table: Table) -> None:
    """``table`` on ``stream``: as wide as the terminal, or :data:`_LOG_WIDTH` in a log."""
    from rich.console import Console

    console = Console(file=stream)
    if not console.is_terminal:
        console = Console(file=stream, width=_LOG_WIDTH)
    console.print(table)


def _synth(root: Path, request: BenchRequest, cli: BenchCli, stream: TextIO) -> None:
    """Provider import and synth (:mod:`tooling.bench`)."""
    from tooling import bench as benchmark
    from tooling.lifecycle.synth import quiet_jsii

    quiet_jsii()
    _print(stream, benchmark.report(benchmark.run(root, repeat=request.repeat)))


def _lifecycle(root: Path, request: BenchRequest, cli: BenchCli, stream: TextIO) -> None:
    """Deploy and destroy, sequential and parallel (:mod:`tooling.lifecycle.bench`)."""
    from tooling.lifecycle import bench as lifecycle_bench

    figures = lifecycle_bench.run(root, selection=request.env or "all", out=stream)
    _print_table(stream, lifecycle_bench.report(figures))


def _services(root: Path, request: BenchRequest, cli: BenchCli, stream: TextIO) -> None:
    """The Lambda services' report (:mod:`tooling.services_bench`), on zips of the sources."""
    from tooling import services_bench
    from tooling.lifecycle.synth import build_lambdas
    from tooling.lifecycle.workspace import Workspace

    build_lambdas(Workspace.from_environ(root))  # the zips measured are those of the sources
    try:
        _print(stream, services_bench.report(services_bench.run(root, import_runs=request.runs)))
    except services_bench.ServicesBenchError as error:
        raise LifecycleError(f"bench --services: {error}", code=1) from None


def _emulator(root: Path, request: BenchRequest, cli: BenchCli, stream: TextIO) -> None:
    """The local emulator serving the deployed environment (:mod:`tooling.emulator.bench`)."""
    from tooling.emulator import bench as emulator_bench
    from tooling.lifecycle.outputs import read_outputs

    environment = cli.one_environment(request.env)
    outputs = read_outputs(root, environment)
    if f"{environment}_api_local_url" not in outputs:
        deploy = cli.deploy_command(environment)
        raise LifecycleError(f"deploy {environment} locally first (`{deploy}`).", code=1)
    session = _local_session(root)
    region = str(outputs[f"{environment}_aws_region"])
    figures = emulator_bench.measure(
        outputs,
        environment,
        client=_clients(session, region),
        http=emulator_bench.HttpClient(region),
    )
    _print(stream, emulator_bench.report(figures))


def _ingest(root: Path, request: BenchRequest, cli: BenchCli, stream: TextIO) -> None:
    """Trade files ingested end to end by the local deployment (:mod:`tooling.ingest_bench`)."""
    from tooling import ingest_bench
    from tooling import upload as uploader
    from tooling.lifecycle.outputs import read_outputs

    environment = cli.one_environment(request.env)
    outputs = read_outputs(root, environment)
    session = _local_session(root)
    assert session.emulator is not None  # a local session has its emulator
    try:
        sizes: Sequence[int] = ingest_bench.DEFAULT_SIZES
        if request.sizes is not None:
            sizes = ingest_bench.parse_sizes(request.sizes)
        deployment = uploader.Deployment.from_outputs(outputs, environment)
        figures = ingest_bench.run(
            _clients(session, deployment.region),
            deployment,
            session.emulator.endpoint,
            sizes,
            environment=environment,
        )
    except (ingest_bench.IngestBenchError, uploader.UploadError) as error:
        raise LifecycleError(f"bench --ingest: {error}", code=error.code) from None
    except KeyboardInterrupt:
        message = "bench --ingest: interrupted (an uploaded file is still processed)."
        raise LifecycleError(message, code=INTERRUPTED_EXIT) from None
    _print(stream, ingest_bench.report(figures))
    if figures.failure is not None:
        raise LifecycleError("bench --ingest: stopped before every file was processed.", code=1)


def _loop(root: Path, request: BenchRequest, cli: BenchCli, stream: TextIO) -> None:
    """The handler developer's loop on the local deployment (:mod:`tooling.loop_bench`)."""
    from tooling import loop_bench
    from tooling.lifecycle.commands.context import session_for
    from tooling.lifecycle.outputs import read_outputs
    from tooling.lifecycle.workspace import Workspace

    environment = cli.one_environment(request.env)
    ws = Workspace.from_environ(root, target="local")
    try:
        count = loop_bench.parse_saves(request.saves)
        outputs = read_outputs(root, environment)
        session = session_for(ws, start=False)
        figures = loop_bench.run(ws, session, outputs, environment, saves=count)
    except loop_bench.LoopBenchError as error:
        raise LifecycleError(f"bench --loop: {error}", code=error.code) from None
    except KeyboardInterrupt:
        message = "bench --loop: interrupted (the lines above say whether dist/ was synced back)."
        raise LifecycleError(message, code=INTERRUPTED_EXIT) from None
    _print(stream, loop_bench.report(figures))
    if figures.failure is not None or figures.restore_failure is not None:
        message = "bench --loop: stopped before every step was measured and restored."
        raise LifecycleError(message, code=1)


def _clients(session: Session, region: str) -> Callable[[str], Any]:
    """The session's boto3 client of a service, in ``region``."""
    return lambda service: session.client(service, region)
