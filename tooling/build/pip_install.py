"""A service's wheel installed by pip, with its dependencies, for the Lambda target, and the
installed tree stripped to what a Lambda zip ships.

:func:`install` runs ``sys.executable -m pip install --target <staging> --only-binary=:all:
--implementation cp --python-version <3.X> --platform <manylinux tags> -c constraints.txt
<wheel>``: binary wheels only, so a dependency without a wheel for the target fails
(``BuildError`` names it). :func:`strip` then

1. checks that every shipped dependency is pinned with ``==`` in ``constraints.txt``
   (otherwise a rebuild from the same inputs could pick another release);
2. removes the distributions the Lambda runtime already provides
   (:data:`RUNTIME_PROVIDED_DISTRIBUTIONS`) file by file from their ``.dist-info/RECORD``;
3. removes the junk (:func:`is_junk`): ``__pycache__``/``*.pyc``/``*.pyo``, console-script
   wrappers under ``bin/`` (their shebang is the build interpreter's absolute path and Lambda
   never runs them), and pip's ``direct_url.json`` (an absolute temp path) and ``REQUESTED``;
4. rewrites the ``RECORD`` of every shipped distribution without the removed entries.

Every pip run goes through :func:`run_pip`.
"""

from __future__ import annotations

import csv
import logging
import os
import posixpath
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tooling.build.errors import BuildError
from tooling.build.target import LambdaTarget

__all__ = [
    "PIP_TEMP_PATH",
    "RUNTIME_PROVIDED_DISTRIBUTIONS",
    "InstalledDistribution",
    "install",
    "is_junk",
    "normalize",
    "pip_output",
    "record_path_in_target",
    "run_pip",
    "strip",
    "walk_files",
]

logger = logging.getLogger(__name__)

#: Distributions (PEP 503 normalized names) that the Lambda Python runtime already ships in
#: /var/runtime: boto3 and its dependency closure. They are resolved (a service may declare
#: boto3 because its code imports it) and then removed from the zip.
RUNTIME_PROVIDED_DISTRIBUTIONS: Final[frozenset[str]] = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
#: pip's own temporary directories, which must never be named inside a zip.
PIP_TEMP_PATH: Final = re.compile(rb"/pip-(?:target|install|req-build|wheel|build-env)-\w{8}")

_BYTECODE_SUFFIXES: Final = (".pyc", ".pyo")
# pip's files that describe the installation rather than the distribution.
_PIP_INSTALL_FILES: Final = frozenset({"direct_url.json", "REQUESTED"})
# pip --target installs into a --home scheme, then moves <home>/lib/python/* and the rest of
# <home> (bin/, share/, ...) into the target: RECORD paths are relative to <home>/lib/python.
_PIP_TARGET_LIB: Final = "lib/python"
_REQUIREMENT_NAME = r"([A-Za-z0-9][A-Za-z0-9._-]*)"
_MISSING_WHEEL_PATTERNS: Final = (
    re.compile(r"No matching distribution found for " + _REQUIREMENT_NAME),
    re.compile(r"Could not find a version that satisfies the requirement " + _REQUIREMENT_NAME),
)
_PIN_LINE: Final = re.compile(_REQUIREMENT_NAME + r"\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")
# pip.conf may name find-links locations that do not exist on a machine.
_PIP_NOISE: Final = re.compile(r"WARNING: Location .* is ignored")


@dataclass(frozen=True)
class InstalledDistribution:
    """A distribution pip installed into a staging directory."""

    name: str  # PEP 503 normalized
    version: str
    dist_info: Path


def run_pip(args: list[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``sys.executable -m pip <args>``, its output captured, without pip's version check."""
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    command = [sys.executable, "-m", "pip", *args]
    logger.debug("running %s", " ".join(command))
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def pip_output(result: subprocess.CompletedProcess[str], *, lines: int = 25) -> str:
    """The end of a command's output, without the noise of ignored find-links locations."""
    text = f"{result.stdout}\n{result.stderr}"
    kept = [line for line in text.splitlines() if line.strip() and not _PIP_NOISE.match(line)]
    return "\n".join(kept[-lines:])


def install(
    constraints: Path, service: str, wheel: Path, staging: Path, target: LambdaTarget
) -> None:
    """Install ``wheel`` and its dependencies into ``staging`` for ``target`` (module docstring)."""
    platforms = [arg for tag in target.pip_platforms for arg in ("--platform", tag)]
    result = run_pip(
        [
            "install",
            "--target",
            str(staging),
            "--no-compile",
            "--progress-bar",
            "off",
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            target.python_version,
            *platforms,
            "-c",
            str(constraints),
            str(wheel),
        ],
        cwd=staging.parent,
    )
    if result.returncode == 0:
        return
    output = f"{result.stdout}\n{result.stderr}"
    for pattern in _MISSING_WHEEL_PATTERNS:
        match = pattern.search(output)
        if match:
            name = match.group(1)
            raise BuildError(
                f"{service}: dependency {name!r} has no wheel for the Lambda target (CPython "
                f"{target.python_version}, {target.architecture}, manylinux up to glibc "
                f"2.{target.glibc_minor}) at the version allowed by constraints.txt, or does "
                f"not exist; the build installs binary wheels only. Pin a release of {name} "
                f"that publishes such a wheel in constraints.txt, or drop or replace it in "
                f"services/{service}/pyproject.toml. pip said:\n{pip_output(result)}"
            )
    raise BuildError(
        f"{service}: pip could not install the service's dependencies for the Lambda target. "
        f"pip said:\n{pip_output(result)}"
    )


def normalize(name: str) -> str:
    """A distribution name normalized as PEP 503 says."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(staging: Path) -> list[InstalledDistribution]:
    """The distributions installed into ``staging``, by ``.dist-info`` name."""
    found = []
    for dist_info in sorted(staging.glob("*.dist-info")):
        fields: dict[str, str] = {}
        metadata = dist_info / "METADATA"
        if metadata.is_file():
            for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
                if not line.strip():
                    break  # the headers end at the first empty line
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
        if "Name" not in fields or not (dist_info / "RECORD").is_file():
            raise BuildError(f"pip left {dist_info.name} without METADATA Name or RECORD")
        found.append(
            InstalledDistribution(normalize(fields["Name"]), fields.get("Version", ""), dist_info)
        )
    return found


def strip(
    staging: Path, constraints: Path, service: str, service_distribution: str
) -> list[InstalledDistribution]:
    """Strip ``staging`` to what the zip ships (module docstring); the distributions shipped.

    ``service_distribution`` (normalized) is the service's own, which needs no pin.
    """
    distributions = installed_distributions(staging)
    shipped = [dist for dist in distributions if dist.name not in RUNTIME_PROVIDED_DISTRIBUTIONS]
    _check_pinned(
        constraints, service, [dist for dist in shipped if dist.name != service_distribution]
    )
    removed: set[str] = set()
    for dist in distributions:
        if dist.name in RUNTIME_PROVIDED_DISTRIBUTIONS:
            removed |= _remove_distribution(staging, dist)
    removed |= _remove_junk(staging)
    for dist in shipped:
        _rewrite_record(dist, removed)
    _remove_empty_dirs(staging)
    return shipped


def _check_pinned(
    constraints: Path, service: str, shipped: Iterable[InstalledDistribution]
) -> None:
    pins = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        match = _PIN_LINE.match(line.strip())
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    unpinned = sorted(f"{dist.name}=={dist.version}" for dist in shipped if dist.name not in pins)
    if unpinned:
        raise BuildError(
            f"{service}: these dependencies are not pinned with == in constraints.txt, so a "
            f"later build could ship other releases: {', '.join(unpinned)}. Add these lines "
            f"(the versions pip resolved) to constraints.txt."
        )


def record_files(dist: InstalledDistribution) -> set[str]:
    """The staging-relative paths ``dist``'s ``RECORD`` lists inside the staging dir."""
    return {relative for _, relative in _record_rows(dist) if relative is not None}


def _record_rows(dist: InstalledDistribution) -> list[tuple[str, str | None]]:
    """(RECORD line, its path relative to the staging dir, or None if outside it)."""
    rows = []
    text = (dist.dist_info / "RECORD").read_text(encoding="utf-8")
    for line in text.splitlines(keepends=True):
        fields = next(csv.reader([line]), [])
        rows.append((line, record_path_in_target(fields[0]) if fields else None))
    return rows


def record_path_in_target(path: str) -> str | None:
    """Where a ``RECORD`` path of a ``pip --target`` install is, relative to the target dir;
    None when it lies outside it."""
    joined = posixpath.normpath(posixpath.join(_PIP_TARGET_LIB, path))
    if joined.startswith(_PIP_TARGET_LIB + "/"):
        return joined[len(_PIP_TARGET_LIB) + 1 :]
    if joined.startswith(("../", "/")) or joined == "..":
        return None
    return joined


def _remove_distribution(staging: Path, dist: InstalledDistribution) -> set[str]:
    """Delete exactly the files of ``dist`` that its RECORD lists, and its .dist-info."""
    removed = set()
    for _, relative in _record_rows(dist):
        if relative is None:
            continue
        path = staging / relative
        if path.is_file() or path.is_symlink():
            path.unlink()
        removed.add(relative)
    for path in dist.dist_info.rglob("*"):
        removed.add(path.relative_to(staging).as_posix())
    shutil.rmtree(dist.dist_info)
    logger.debug("removed runtime-provided %s %s", dist.name, dist.version)
    return removed


def walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every file under ``root`` as (relative POSIX path, path), in sorted walk order."""
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory, name)
            yield path.relative_to(root).as_posix(), path


def is_junk(relative: str) -> bool:
    """Whether an installed file (path relative to the target dir) stays out of the zip."""
    parts = relative.split("/")
    return (
        parts[0] == "bin"
        or "__pycache__" in parts
        or relative.endswith(_BYTECODE_SUFFIXES)
        or (len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in _PIP_INSTALL_FILES)
    )


def _remove_junk(staging: Path) -> set[str]:
    removed = set()
    for relative, path in list(walk_files(staging)):
        if is_junk(relative):
            path.unlink()
            removed.add(relative)
    return removed


def _rewrite_record(dist: InstalledDistribution, removed: set[str]) -> None:
    rows = _record_rows(dist)
    kept = [line for line, relative in rows if relative is None or relative not in removed]
    if len(kept) != len(rows):
        (dist.dist_info / "RECORD").write_text("".join(kept), encoding="utf-8", newline="")


def _remove_empty_dirs(root: Path) -> None:
    for directory, _, _ in sorted(os.walk(root), key=lambda item: item[0], reverse=True):
        path = Path(directory)
        if path != root and not any(path.iterdir()):
            path.rmdir()
