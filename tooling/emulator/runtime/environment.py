"""The runtime environment of a Lambda Python runtime: its interpreter and its ``/var/runtime``.

Lambda's ``python3.12`` image ships boto3/botocore (a release AWS chooses, older than the
project's) beside the standard library; a function that does not bundle its own boto3 imports
that one. Running it against the project's ``.venv`` would hide version drift, so each runtime
gets a venv of its own CPython with exactly the pins of ``<runtime>-runtime.txt`` (beside this
module) and nothing else:

    <root>/python3.12/            python3.12 -m venv --without-pip
        lib/python3.12/site-packages/   the pins, installed with the project's pip
        .pins-sha256              sha256 of the pins file it was built from

It is built in a temporary sibling and renamed into place, under a file lock, so two callers
(threads or processes) never see half an environment; a current environment is left alone.
The pins are pure-Python wheels, so the project's pip (``--target``, ``--python-version``) can
install them for another interpreter; they are then byte-compiled by that interpreter so that
a cold start does not compile botocore.

``python -m tooling.emulator.runtime --root <repo>`` (:func:`main`) installs every runtime into
``<repo>/.build/lambda-runtimes`` up front, for ``./tap`` to call; with ``--debug-addon`` it
also installs each runtime's debugger add-on (:mod:`.debug_addon`), which is otherwise built on
the first debug session.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from filelock import FileLock

from tooling.emulator.runtime.interpreters import (
    InterpreterFinder,
    find_cpython,
    install_hint,
    runtime_python_version,
)
from tooling.emulator.runtime.model import RuntimeUnavailableError

__all__ = [
    "DEFAULT_ROOT",
    "RuntimeEnvironment",
    "built_from",
    "ensure_runtime_environment",
    "environment_is_current",
    "file_lock",
    "main",
    "pins_file",
    "run_build_step",
    "runtime_environment",
    "supported_runtimes",
    "write_pins_marker",
]

#: Where ``./tap`` and the tests keep the environments, relative to the repository root.
DEFAULT_ROOT: Final = Path(".build") / "lambda-runtimes"

_PINS_SUFFIX: Final = "-runtime.txt"
_MARKER: Final = ".pins-sha256"
_PIP_SECONDS: Final = 600.0


class RuntimeEnvironment:
    """Paths inside one runtime environment directory (it need not exist yet)."""

    def __init__(self, directory: Path, runtime: str) -> None:
        version = runtime_python_version(runtime)
        if version is None:
            raise RuntimeUnavailableError(f"{runtime} is not a Python runtime")
        self.directory = directory
        self.runtime = runtime
        self.python_version = version
        self.python = directory / "bin" / "python"
        self.site_packages = directory / "lib" / f"python{version}" / "site-packages"


def supported_runtimes() -> list[str]:
    """The runtimes that have a pins file beside this module (``["python3.12"]``)."""
    return sorted(
        path.name.removesuffix(_PINS_SUFFIX)
        for path in Path(__file__).parent.glob("*" + _PINS_SUFFIX)
    )


def pins_file(runtime: str) -> Path:
    """The pins of ``runtime``'s environment; RuntimeUnavailableError if there are none."""
    path = Path(__file__).parent / f"{runtime}{_PINS_SUFFIX}"
    if not path.is_file():
        raise RuntimeUnavailableError(
            f"the Lambda runtime {runtime} is not supported by the local emulator "
            f"(supported: {', '.join(supported_runtimes())})"
        )
    return path


def runtime_environment(root: Path, runtime: str) -> RuntimeEnvironment:
    """The environment of ``runtime`` under ``root``, whether or not it is installed."""
    return RuntimeEnvironment(root / runtime, runtime)


def environment_is_current(root: Path, runtime: str) -> bool:
    """Whether ``root/<runtime>`` was built from the current pins and its python still runs."""
    environment = runtime_environment(root, runtime)
    return built_from(environment.directory, pins_file(runtime)) and environment.python.exists()


def ensure_runtime_environment(
    root: Path, runtime: str, *, interpreters: InterpreterFinder | None = None
) -> Path:
    """Install ``runtime``'s environment under ``root`` unless it is current; its directory.

    Raises RuntimeUnavailableError when the runtime has no pins or no interpreter of its
    version is found, and CalledProcessError when pip fails.
    """
    environment = runtime_environment(root, runtime)
    pins_file(runtime)
    if environment_is_current(root, runtime):
        return environment.directory
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / f".{runtime}.lock"):
        if not environment_is_current(root, runtime):
            _build(environment, interpreters or find_cpython)
    return environment.directory


def write_pins_marker(directory: Path, pins: Path) -> None:
    """Record in ``directory`` that it was built from ``pins`` (their sha256)."""
    digest = hashlib.sha256(pins.read_bytes()).hexdigest()
    (directory / _MARKER).write_text(digest + "\n", "ascii")


def built_from(directory: Path, pins: Path) -> bool:
    """Whether ``directory`` records that it was built from ``pins`` as they are now."""
    try:
        recorded = (directory / _MARKER).read_text(encoding="ascii").strip()
    except OSError:
        return False
    return recorded == hashlib.sha256(pins.read_bytes()).hexdigest()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing): one builder at a time, across
    threads and processes."""
    with FileLock(path):
        yield


def _build(environment: RuntimeEnvironment, interpreters: InterpreterFinder) -> None:
    version = environment.python_version
    interpreter = interpreters(version)
    if interpreter is None:
        raise RuntimeUnavailableError(
            f"no CPython {version} for the Lambda runtime {environment.runtime}: "
            + install_hint(version)
        )
    final = environment.directory
    staging = Path(tempfile.mkdtemp(prefix=f".{environment.runtime}-", dir=final.parent))
    try:
        staged = RuntimeEnvironment(staging, environment.runtime)
        run_build_step([str(interpreter), "-m", "venv", "--without-pip", "--clear", str(staging)])
        install_pinned_wheels(pins_file(environment.runtime), staged.site_packages, version)
        run_build_step(
            [str(staged.python), "-I", "-m", "compileall", "-q", "-j", "0", "."],
            cwd=staged.site_packages,
        )
        write_pins_marker(staging, pins_file(environment.runtime))
        if final.exists():
            retired = final.with_name(f"{final.name}.retired-{os.getpid()}-{time.time_ns()}")
            final.rename(retired)
            shutil.rmtree(retired, ignore_errors=True)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install_pinned_wheels(pins: Path, site_packages: Path, python_version: str) -> None:
    """pip installs exactly the wheels ``pins`` names (``--no-deps``: the pins file is the whole
    set) for CPython ``python_version`` into ``site_packages``, without compiling them (the
    caller compiles with the runtime's own interpreter)."""
    run_build_step(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--no-compile",
            "--python-version",
            python_version,
            "--implementation",
            "cp",
            "--target",
            str(site_packages),
            "-r",
            str(pins),
        ]
    )


def run_build_step(command: Sequence[str], cwd: Path | None = None) -> None:
    """Run a build step; its output is only shown when it fails (in the exception)."""
    subprocess.run(
        command,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=_PIP_SECONDS,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Install the runtime environments under ``<root>/.build/lambda-runtimes``."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.emulator.runtime", description=main.__doc__
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument(
        "--runtime",
        action="append",
        choices=supported_runtimes(),
        help="runtime to install (repeatable; default: all)",
    )
    parser.add_argument(
        "--debug-addon",
        action="store_true",
        help="also install each runtime's debugger add-on (debugpy, for debug sessions)",
    )
    arguments = parser.parse_args(argv)
    target = arguments.root / DEFAULT_ROOT
    for runtime in arguments.runtime or supported_runtimes():
        if not _install_runtime(target, runtime):
            return 1
        if arguments.debug_addon and not _install_debug_addon(target, runtime):
            return 1
    return 0


def _install_runtime(target: Path, runtime: str) -> bool:
    """Install one runtime environment unless it is current, saying so; False on failure."""
    if environment_is_current(target, runtime):
        print(f"lambda runtime {runtime}: up to date in {target / runtime}")
        return True
    started = time.monotonic()
    try:
        directory = ensure_runtime_environment(target, runtime)
    except RuntimeUnavailableError as error:
        print(f"lambda runtime {runtime}: {error}", file=sys.stderr)
        return False
    except subprocess.CalledProcessError as error:
        print(
            f"lambda runtime {runtime}: {error.cmd[:4]} failed:\n{error.stderr}",
            file=sys.stderr,
        )
        return False
    seconds = time.monotonic() - started
    print(f"lambda runtime {runtime}: installed {directory} in {seconds:.1f} s")
    return True


def _install_debug_addon(target: Path, runtime: str) -> bool:
    """Install one runtime's debugger add-on unless it is current; False on failure."""
    # Imported here: the add-on module builds on this one (its lock, build step, environment).
    from tooling.emulator.runtime.debug_addon import debug_addon_is_current, ensure_debug_addon

    if debug_addon_is_current(target, runtime):
        print(f"lambda runtime {runtime}: debugger add-on up to date")
        return True
    try:
        site = ensure_debug_addon(target, runtime)
    except RuntimeUnavailableError as error:
        print(f"lambda runtime {runtime}: {error}", file=sys.stderr)
        return False
    print(f"lambda runtime {runtime}: installed the debugger add-on in {site}")
    return True
