"""The debugger add-on of a runtime: debugpy beside the runtime environment, for debug workers.

A debug session (:mod:`.debug_sessions`) starts an execution environment under debugpy. debugpy
is the emulator's tool, not the function's: Lambda's runtime does not have it, so it must not be
importable by a normal worker. It therefore lives outside the runtime environment, in a site
directory of its own that only a debug worker's bootstrap appends to ``sys.path``:

    <root>/python3.12-debug/
        site-packages/    the pins of ``<runtime>-debug.txt`` (beside this module)
        .pins-sha256      sha256 of the pins file it was built from

Built like the runtime environment (:mod:`.environment`): the project's pip installs the pinned
wheels for the runtime's CPython version into a temporary sibling, the runtime's interpreter
byte-compiles them, and the directory is renamed into place under a file lock; a current add-on
is left alone. ``./tap`` does not build it at start (most runs never debug): the first debug
session does, or ``python -m tooling.emulator.runtime --root <repo> --debug-addon``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Final

from tooling.emulator.runtime.environment import (
    built_from,
    ensure_runtime_environment,
    file_lock,
    install_pinned_wheels,
    run_build_step,
    runtime_environment,
    write_pins_marker,
)
from tooling.emulator.runtime.interpreters import InterpreterFinder, runtime_python_version
from tooling.emulator.runtime.model import RuntimeUnavailableError

__all__ = [
    "debug_addon_is_current",
    "debug_addon_pins",
    "debug_addon_site",
    "debugpy_version",
    "ensure_debug_addon",
]

_PINS_SUFFIX: Final = "-debug.txt"
_DIRECTORY_SUFFIX: Final = "-debug"


def debug_addon_pins(runtime: str) -> Path:
    """The pins of ``runtime``'s add-on; RuntimeUnavailableError if the runtime has none."""
    path = Path(__file__).parent / f"{runtime}{_PINS_SUFFIX}"
    if not path.is_file():
        raise RuntimeUnavailableError(
            f"the local emulator has no debugger for the Lambda runtime {runtime}"
        )
    return path


def debugpy_version(runtime: str) -> str:
    """The debugpy release the add-on of ``runtime`` pins (``1.8.22``)."""
    for line in debug_addon_pins(runtime).read_text(encoding="utf-8").splitlines():
        name, separator, version = line.partition("==")
        if separator and name.strip().lower() == "debugpy":
            return version.strip()
    raise RuntimeUnavailableError(f"{debug_addon_pins(runtime)} does not pin debugpy")


def debug_addon_site(root: Path, runtime: str) -> Path:
    """The site directory of ``runtime``'s add-on under ``root`` (it need not exist yet)."""
    return root / f"{runtime}{_DIRECTORY_SUFFIX}" / "site-packages"


def debug_addon_is_current(root: Path, runtime: str) -> bool:
    """Whether the add-on under ``root`` was built from the current pins."""
    site = debug_addon_site(root, runtime)
    return built_from(site.parent, debug_addon_pins(runtime)) and site.is_dir()


def ensure_debug_addon(
    root: Path, runtime: str, *, interpreters: InterpreterFinder | None = None
) -> Path:
    """Install ``runtime``'s add-on (and its runtime environment) unless current; its site dir.

    Raises RuntimeUnavailableError when the runtime has no add-on or no interpreter, or when
    pip cannot install the pins (its output is in the message).
    """
    site = debug_addon_site(root, runtime)
    debug_addon_pins(runtime)
    if debug_addon_is_current(root, runtime):
        return site
    ensure_runtime_environment(root, runtime, interpreters=interpreters)
    with file_lock(root / f".{runtime}{_DIRECTORY_SUFFIX}.lock"):
        if not debug_addon_is_current(root, runtime):
            try:
                _build(root, runtime)
            except subprocess.CalledProcessError as error:
                raise RuntimeUnavailableError(
                    f"the debugger add-on of {runtime} could not be installed "
                    f"({' '.join(map(str, error.cmd[:4]))} failed):\n{error.stderr}"
                ) from error
    return site


def _build(root: Path, runtime: str) -> None:
    version = runtime_python_version(runtime)
    if version is None:
        raise RuntimeUnavailableError(f"{runtime} is not a Python runtime")
    final = debug_addon_site(root, runtime).parent
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=root))
    try:
        site = staging / "site-packages"
        install_pinned_wheels(debug_addon_pins(runtime), site, version)
        python = runtime_environment(root, runtime).python.absolute()
        run_build_step([str(python), "-I", "-m", "compileall", "-q", "-j", "0", "."], cwd=site)
        write_pins_marker(staging, debug_addon_pins(runtime))
        if final.exists():
            retired = final.with_name(f"{final.name}.retired-{os.getpid()}-{time.time_ns()}")
            final.rename(retired)
            shutil.rmtree(retired, ignore_errors=True)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
