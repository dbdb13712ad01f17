"""``./tap bench --services``: the Lambda services' performance report, measured in one run.

A report, not a timed test: it prints numbers and never fails on them (it fails only when it
cannot measure: no CPython 3.12, no runtime boto3, no zip, the processor report crashing).

* **Processor throughput and memory**: ``services/processor/benchmarks/report.py
  --skip-import``, run as a subprocess and its output included as is.
* **Cold import of every handler** the stacks configure (``trading_infra.stacks.HANDLERS``;
  tests/tooling checks that :data:`ENTRIES` names the same ones): the wall time of ``import
  <handler module>`` in a fresh CPython 3.12 (``-I -S -B``) from the unpacked
  ``dist/<service>.zip`` with the Lambda runtime's boto3 (``.build/lambda-runtimes``, installed
  by ``./tap``) behind it on ``sys.path``, as in Lambda (``/var/task`` before ``/var/runtime``);
  median, min and max of ``import_runs`` runs. For a handler that defers imports to its first
  invocation (the processor), also the import plus what that first invocation imports.
* **Zip sizes** of ``dist/<service>.zip``.

Why the processor report runs as a subprocess rather than being imported or copied here: it
belongs to the processor package, which stands on its own (its benchmarks import only the
package and the standard library, so they cannot import this module either), and its
throughput and memory code should exist once. The cold imports, by contrast, need what only
the repository has (the built zips, the runtime's boto3, the interpreter finder of
:mod:`tooling.emulator.runtime.interpreters`), so they live here once, for every handler; the
processor report's own cold-import section runs ``python -m tooling.services_bench --service
processor --skip-report`` rather than keeping a copy of this code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tooling.emulator.runtime.environment import DEFAULT_ROOT, runtime_environment
from tooling.emulator.runtime.interpreters import (
    InterpreterFinder,
    find_cpython,
    install_hint,
    runtime_python_version,
)

__all__ = [
    "BUDGET_MS",
    "ENTRIES",
    "ColdImport",
    "Entry",
    "ServicesBenchError",
    "ServicesFigures",
    "Spread",
    "format_size",
    "import_script",
    "main",
    "processor_report",
    "report",
    "run",
    "runtime_python",
    "runtime_site_packages",
    "spread",
    "zip_path",
]

#: The Lambda runtime of both services (infra: components/functions.py RUNTIME).
RUNTIME: Final = "python3.12"
#: The issue's budget for each handler's cold import; reported against, never enforced.
BUDGET_MS: Final = 250.0
PROCESSOR_REPORT: Final = Path("services/processor/benchmarks/report.py")
#: Libraries whose presence after the import shows what a handler loads eagerly.
HEAVY: Final = ("aws_lambda_powertools", "boto3", "botocore", "pydantic")


class ServicesBenchError(RuntimeError):
    """Something the report needs is missing or failed; the message says what to do."""


@dataclass(frozen=True)
class Entry:
    """One configured Lambda handler of a service's zip."""

    service: str
    handler: str
    #: Statements run after the import: what the first invocation imports when the handler
    #: defers it (empty: the handler imports everything at module level).
    first_invocation: str = ""

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]


ENTRIES: Final = (
    # processor.handler defers the Powertools logger, boto3, the adapters and the domain to
    # the first invocation (get_logger, then get_runtime's processor.bootstrap); pydantic loads
    # on the first rejected line only, so it is not part of this figure.
    Entry(
        "processor",
        "processor.handler.lambda_handler",
        "processor.handler.get_logger()\nimport processor.bootstrap",
    ),
    # Both api_handler entry points defer Powertools, pydantic (models, configuration), boto3
    # and the application to the first invocation (handler._serve / authorizer._authorize).
    Entry("api_handler", "api_handler.handler.lambda_handler", "api_handler.handler._serve()"),
    # The user routes' authorizer: a second entry point of the same zip, cold-started by its
    # own function, so it has a cold import of its own.
    Entry(
        "api_handler",
        "api_handler.authorizer.lambda_handler",
        "api_handler.authorizer._authorize()",
    ),
)
SERVICES: Final = tuple(dict.fromkeys(entry.service for entry in ENTRIES))

# Only sys and time are imported before the clock starts: anything else imported first (json)
# would already be loaded when the handler asks for it and shorten the figure.
_IMPORT_SCRIPT: Final = """\
import sys, time
sys.path[:0] = sys.argv[1:3]
started = time.perf_counter()
import {module}
imported = time.perf_counter()
at_import = [name for name in {heavy!r} if name in sys.modules]
{first_invocation}
loaded = time.perf_counter()
import json, platform
print(json.dumps({{"import": imported - started, "first": loaded - started,
                  "at_import": at_import, "version": platform.python_version()}}))
"""


def import_script(entry: Entry) -> str:
    """The ``python -c`` program timing ``entry``'s import (and its first invocation's)."""
    return _IMPORT_SCRIPT.format(
        module=entry.module, heavy=HEAVY, first_invocation=entry.first_invocation
    )


@dataclass(frozen=True)
class Spread:
    """Median, min and max of a sample, in its unit."""

    median: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.median:.0f} ms ({self.low:.0f}-{self.high:.0f})"


def spread(samples: Sequence[float]) -> Spread:
    """The median (of an even count: the mean of the middle two), min and max of ``samples``."""
    if not samples:
        raise ValueError("no samples")
    return Spread(statistics.median(samples), min(samples), max(samples))


@dataclass(frozen=True)
class ColdImport:
    """Milliseconds per run of one handler's cold import (and of its first invocation)."""

    entry: Entry
    import_ms: tuple[float, ...]
    #: Import plus what the first invocation imports; empty when the handler defers nothing.
    first_invocation_ms: tuple[float, ...] = ()
    loaded_at_import: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServicesFigures:
    python_version: str
    load_before: float
    load_after: float
    cpus: int | None
    cold_imports: Sequence[ColdImport]
    #: (zip path relative to the repository, bytes)
    zip_sizes: Sequence[tuple[str, int]]
    processor_report: str | None = None
    import_runs: int = 0


def runtime_python(finder: InterpreterFinder = find_cpython) -> Path:
    """The CPython of the Lambda runtime (3.12 for python3.12), found as tests/build find it."""
    version = runtime_python_version(RUNTIME)
    assert version is not None  # RUNTIME is a Python runtime
    found = finder(version)
    if found is None:
        raise ServicesBenchError(
            f"no CPython {version} found for the Lambda runtime {RUNTIME} (the cold imports "
            f"run under it): {install_hint(version)}"
        )
    return found


def runtime_site_packages(root: Path) -> Path:
    """The runtime's boto3 and botocore, as ``./tap`` installs them before every task."""
    site_packages = runtime_environment(root / DEFAULT_ROOT, RUNTIME).site_packages
    if not (site_packages / "boto3").is_dir():
        raise ServicesBenchError(
            f"the {RUNTIME} runtime's boto3 is not installed under "
            f"{DEFAULT_ROOT / RUNTIME}: run the task through ./tap (it installs it), or "
            f"`python -m tooling.emulator.runtime --root .`"
        )
    return site_packages


def zip_path(root: Path, service: str) -> Path:
    path = root / "dist" / f"{service}.zip"
    if not path.is_file():
        raise ServicesBenchError(f"dist/{service}.zip is missing: run `./tap build` first")
    return path


@contextmanager
def _unpacked(archive_path: Path) -> Iterator[Path]:
    """The zip extracted into a scratch task root (Lambda's /var/task), removed afterwards."""
    with tempfile.TemporaryDirectory() as scratch:
        task_root = Path(scratch) / "task"
        with zipfile.ZipFile(archive_path) as archive:
            archive.extractall(task_root)
        yield task_root


def _measure(
    entry: Entry, task_root: Path, python: Path, site_packages: Path, runs: int
) -> tuple[ColdImport, str]:
    """``runs`` fresh interpreters importing ``entry``'s module; also the interpreter version."""
    script = import_script(entry)
    # -I -S: nothing of this machine's site-packages or environment leaks in; -B: the zip ships
    # no bytecode and /var/task is read-only in Lambda, so every cold start compiles the zip's
    # modules, and -B keeps a run from leaving .pyc files for the next one. (The runtime's
    # boto3 is byte-compiled when installed, like /var/runtime.)
    command = [str(python), "-I", "-S", "-B", "-c", script, str(task_root), str(site_packages)]
    imports: list[float] = []
    firsts: list[float] = []
    at_import: list[str] = []
    version = ""
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"}
        for _ in range(runs):
            out = subprocess.run(
                command, env=env, cwd=home, capture_output=True, text=True, check=False
            )
            if out.returncode != 0:
                raise ServicesBenchError(
                    f"importing {entry.module} from dist/{entry.service}.zip failed:\n"
                    f"{out.stderr.strip()}"
                )
            result = json.loads(out.stdout)
            imports.append(result["import"] * 1000)
            firsts.append(result["first"] * 1000)
            at_import, version = result["at_import"], result["version"]
    return (
        ColdImport(
            entry,
            tuple(imports),
            tuple(firsts) if entry.first_invocation else (),
            tuple(at_import),
        ),
        version,
    )


def processor_report(root: Path, *, lines: int, repeat: int, memory_lines: int) -> str:
    """The processor's throughput and memory report (its own script, without cold import)."""
    command = [
        sys.executable,
        str(root / PROCESSOR_REPORT),
        "--skip-import",
        f"--lines={lines}",
        f"--repeat={repeat}",
        f"--memory-lines={memory_lines}",
    ]
    out = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise ServicesBenchError(
            f"{PROCESSOR_REPORT} failed (exit {out.returncode}):\n{out.stderr.strip()}"
        )
    return out.stdout.rstrip()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(
    root: Path,
    *,
    services: Sequence[str] = SERVICES,
    import_runs: int = 9,
    with_processor_report: bool = True,
    lines: int = 50_000,
    repeat: int = 3,
    memory_lines: int = 1_000_000,
    python: Path | None = None,
    site_packages: Path | None = None,
    zips: dict[str, Path] | None = None,
    progress: Callable[[str], None] = _stderr,
) -> ServicesFigures:
    """Measure every figure of the services' report on this machine.

    The cold imports run first: they take seconds, and a missing interpreter or zip is found
    before the minutes of the processor report.
    """
    load_before = os.getloadavg()[0]
    python = python or runtime_python()
    site_packages = site_packages or runtime_site_packages(root)
    paths = {service: (zips or {}).get(service) or zip_path(root, service) for service in services}
    cold_imports = []
    version = ""
    for service in services:
        with _unpacked(paths[service]) as task_root:
            for entry in (entry for entry in ENTRIES if entry.service == service):
                progress(f"cold import of {entry.module}, {import_runs} runs")
                figure, version = _measure(entry, task_root, python, site_packages, import_runs)
                cold_imports.append(figure)
    text = None
    if with_processor_report and "processor" in services:
        progress(f"{PROCESSOR_REPORT} --skip-import (throughput and memory: a few minutes)")
        text = processor_report(root, lines=lines, repeat=repeat, memory_lines=memory_lines)
    sizes = [(_shown(path, root), path.stat().st_size) for path in paths.values()]
    return ServicesFigures(
        python_version=version,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        cpus=os.cpu_count(),
        cold_imports=cold_imports,
        zip_sizes=sizes,
        processor_report=text,
        import_runs=import_runs,
    )


def _shown(path: Path, root: Path) -> str:
    """A path relative to the repository when it is inside it (no machine paths in output)."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return path.name


def format_size(size: int) -> str:
    return f"{size:,} bytes ({size / 2**20:.2f} MiB)"


def _budget(ms: float) -> str:
    return "within" if ms <= BUDGET_MS else "OVER"


def report(figures: ServicesFigures) -> str:
    lines = [
        f"services report: {figures.cpus} CPUs, load average {figures.load_before:.2f} at the "
        f"start, {figures.load_after:.2f} at the end (wall times on a loaded machine vary)",
    ]
    if figures.processor_report is not None:
        lines += ["", f"processor throughput and memory ({PROCESSOR_REPORT}):"]
        lines += [f"  {line}" for line in figures.processor_report.splitlines()]
    lines += [
        "",
        f"cold import under CPython {figures.python_version} ({RUNTIME}) from the unpacked zip, "
        f"the runtime's boto3 beside it, -B, {figures.import_runs} runs: median (min-max); "
        f"budget {BUDGET_MS:.0f} ms per handler",
        "",
        "| handler module | import | budget | + first invocation's imports | loaded at import |",
        "|---|---|---|---|---|",
    ]
    for figure in figures.cold_imports:
        imported = spread(figure.import_ms)
        first = (
            str(spread(figure.first_invocation_ms))
            if figure.first_invocation_ms
            else "nothing deferred"
        )
        loaded = ", ".join(figure.loaded_at_import) or "none of " + ", ".join(HEAVY)
        lines.append(
            f"| {figure.entry.module} | {imported} | {_budget(imported.median)} | {first} "
            f"| {loaded} |"
        )
    lines += ["", "| zip | size |", "|---|---|"]
    lines += [f"| {path} | {format_size(size)} |" for path, size in figures.zip_sizes]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the services' report (what ``./tap bench --services`` prints, without building)."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.services_bench", description=main.__doc__
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument(
        "--service", action="append", choices=SERVICES, help="repeatable (default: all)"
    )
    parser.add_argument("--import-runs", type=int, default=9)
    parser.add_argument("--skip-report", action="store_true", help="no processor report")
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-lines", type=int, default=1_000_000)
    parser.add_argument("--python312", type=Path, help="default: found as tests/build find it")
    parser.add_argument("--runtime", type=Path, help="the runtime's site-packages (boto3)")
    parser.add_argument("--zip", type=Path, help="the zip to measure (one --service only)")
    args = parser.parse_args(argv)
    services = args.service or list(SERVICES)
    if args.zip and len(services) != 1:
        parser.error("--zip needs exactly one --service")
    try:
        figures = run(
            args.root,
            services=services,
            import_runs=args.import_runs,
            with_processor_report=not args.skip_report,
            lines=args.lines,
            repeat=args.repeat,
            memory_lines=args.memory_lines,
            python=args.python312,
            site_packages=args.runtime,
            zips={services[0]: args.zip} if args.zip else None,
        )
    except ServicesBenchError as error:
        print(f"services bench: {error}", file=sys.stderr)
        return 1
    print(report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
