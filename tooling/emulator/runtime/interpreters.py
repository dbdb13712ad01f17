"""Finding the CPython that plays a Lambda Python runtime (``python3.12`` → CPython 3.12).

Lambda runs a function with its runtime's minor version; running it with the project's own
interpreter (3.11) would hide syntax, stdlib and ``cp312`` wheel problems, so the exact minor
version is required. The first candidate that really is that version wins:

1. ``TAP_PYTHON_3_12`` (``TAP_PYTHON_<major>_<minor>``): an explicit path, for machines where
   the interpreter lives elsewhere;
2. ``python3.12`` on ``PATH``;
3. pyenv's installs, ``$PYENV_ROOT`` and ``~/.pyenv``,
   ``versions/3.12*/bin/python3.12``, newest patch release first.

Each candidate is probed by running it (``-I -S``): a PATH entry can be a pyenv shim that
exists but fails for a version that is not selected, and the probe answers with the real
executable behind the shim.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

__all__ = [
    "InterpreterFinder",
    "find_cpython",
    "install_hint",
    "override_variable",
    "runtime_python_version",
]

#: Finds the interpreter of a ``major.minor`` version, or None: ``find_cpython`` or a stand-in.
InterpreterFinder = Callable[[str], Path | None]

_RUNTIME_NAME: Final = re.compile(r"python(3\.\d+)")
_VERSION: Final = re.compile(r"3\.\d+")
_PROBE_SECONDS: Final = 10.0


def runtime_python_version(runtime: str) -> str | None:
    """``"python3.12"`` → ``"3.12"``; None for a runtime that is not a Python one."""
    match = _RUNTIME_NAME.fullmatch(runtime)
    return match.group(1) if match else None


def override_variable(version: str) -> str:
    """The variable naming the interpreter of ``version`` explicitly (``TAP_PYTHON_3_12``)."""
    return "TAP_PYTHON_" + version.replace(".", "_")


def install_hint(version: str) -> str:
    """What to do when no interpreter of ``version`` is found (for error messages)."""
    return (
        f"install CPython {version} (e.g. `pyenv install {version}` or the distribution's "
        f"python{version} package) so that python{version} is on PATH or under "
        f"~/.pyenv/versions/, or set {override_variable(version)} to its path"
    )


def find_cpython(version: str) -> Path | None:
    """The executable of a working CPython ``version`` (``"3.12"``), or None if there is none."""
    if not _VERSION.fullmatch(version):
        raise ValueError(f"expected a major.minor version such as '3.12', got {version!r}")
    for candidate in _candidates(version):
        found = _probe(candidate, version)
        if found is not None:
            return found
    return None


def _candidates(version: str) -> Iterator[str]:
    override = os.environ.get(override_variable(version))
    if override:
        yield override
    on_path = shutil.which(f"python{version}")
    if on_path:
        yield on_path
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    seen: set[Path] = set()
    for root in filter(None, roots):
        versions = Path(root) / "versions"
        if versions in seen or not versions.is_dir():
            continue
        seen.add(versions)
        installs = [
            entry
            for entry in versions.iterdir()
            if re.fullmatch(re.escape(version) + r"(\.\d+)?", entry.name)
        ]
        for install in sorted(installs, key=_release_key, reverse=True):
            yield str(install / "bin" / f"python{version}")


def _release_key(install: Path) -> tuple[int, ...]:
    """``3.12.10`` sorts after ``3.12.9`` (a plain string sort would not)."""
    return tuple(int(part) for part in install.name.split("."))


def _probe(candidate: str, version: str) -> Path | None:
    """Run ``candidate`` and return its real executable if it is CPython ``version``."""
    major, minor = (int(part) for part in version.split("."))
    code = (
        "import sys; "
        f"print(sys.version_info[:2] == ({major}, {minor}) "
        "and sys.implementation.name == 'cpython', sys.executable)"
    )
    try:
        probe = subprocess.run(
            [candidate, "-I", "-S", "-c", code],
            capture_output=True,
            text=True,
            check=False,
            timeout=_PROBE_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    matches, _, executable = probe.stdout.strip().partition(" ")
    if probe.returncode == 0 and matches == "True" and executable:
        return Path(executable)
    return None
