"""Reproducible, incremental zip builds of the Lambda services under ``services/``.

Every directory ``services/<name>/`` that holds a ``pyproject.toml`` is a service whose import
package is ``<name>`` (``services/processor`` ships the package ``processor``). Its Lambda
artifact is ``dist/<name>.zip``: the service package plus its runtime dependencies, resolved
for the Lambda target (CPython 3.12 on Amazon Linux, x86_64 or arm64) and pinned by the
repository's ``constraints.txt``. The steps, all through ``sys.executable -m pip``:

1. copy the service's source files (see ``compute_input_hash`` for which) to a temporary dir
   and build its wheel there (``pip wheel --no-deps --no-build-isolation``), so the service
   tree is never written to;
2. ``pip install --target <staging> --only-binary=:all: --implementation cp --python-version
   3.12 --platform <manylinux tags> -c constraints.txt <wheel>``: binary wheels only, so a
   dependency without a wheel for the target fails the build (``BuildError`` names it);
3. check that every shipped dependency is pinned with ``==`` in ``constraints.txt`` (otherwise
   a rebuild from the same inputs could pick another release);
4. remove the distributions the Lambda runtime already provides
   (``RUNTIME_PROVIDED_DISTRIBUTIONS``) file by file from their ``.dist-info/RECORD``, then
   the junk: ``__pycache__``/``*.pyc``/``*.pyo``, console-script wrappers under ``bin/`` (their
   shebang is the build interpreter's absolute path and Lambda never runs them), and pip's
   ``direct_url.json`` (an absolute temp path) and ``REQUESTED``; the ``RECORD`` files of the
   shipped distributions are rewritten without the removed entries. The service's ``tests``/
   ``test`` directories never reach the wheel (step 1 leaves them out);
5. write the zip reproducibly: entries sorted by path, no directory entries, every timestamp
   1980-01-01 00:00:00, Unix permissions 0o644, or 0o755 for files installed executable (as
   their wheel declares), ZIP_DEFLATED at level ``ZIP_COMPRESSLEVEL``. The same inputs give
   a byte-identical zip (with the same zlib; CPython's bundled/system zlib rarely changes).

``dist/manifest.json`` records, per service, the zip's name, sha256, size, input hash, target
and ``version``: the service package's version as its wheel's metadata states it (single
source: the ``version`` of ``services/<name>/pyproject.toml``; the zip's
``<dist>.dist-info/METADATA`` carries the same). A build is skipped (``BuildResult.built`` is
False) when the input hash equals the manifest's and the zip on disk still has the recorded
sha256; ``force=True`` always rebuilds.

Builds into the same dist dir must not run concurrently: the manifest is read, updated and
replaced by each build. Temporary files live in the system temp dir (``tempfile``).

Not covered by the input hash, as for any build: the package index (a wheel uploaded later for
an already pinned release can change which file pip picks) and pip's configuration
(``pip.conf``, ``PIP_*`` variables), which the build honours. Use ``force=True`` after changing
those.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import json
import logging
import os
import posixpath
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

__all__ = [
    "BUILDER_SOURCE",
    "LAMBDA_UNZIPPED_LIMIT_BYTES",
    "MANIFEST_NAME",
    "RUNTIME_PROVIDED_DISTRIBUTIONS",
    "ZIP_COMPRESSLEVEL",
    "ZIP_TIMESTAMP",
    "BuildError",
    "BuildResult",
    "LambdaTarget",
    "build_all",
    "build_service",
    "compute_input_hash",
    "discover_services",
]

logger = logging.getLogger(__name__)

#: Distributions (PEP 503 normalized names) that the Lambda Python runtime already ships in
#: /var/runtime: boto3 and its dependency closure. They are resolved (a service may declare
#: boto3 because its code imports it) and then removed from the zip.
RUNTIME_PROVIDED_DISTRIBUTIONS: Final[frozenset[str]] = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)

#: Every zip entry's timestamp: the earliest a zip file can record.
ZIP_TIMESTAMP: Final[tuple[int, int, int, int, int, int]] = (1980, 1, 1, 0, 0, 0)
#: zlib level of every entry (ZIP_DEFLATED). Changing it changes every zip's bytes.
ZIP_COMPRESSLEVEL: Final = 9
#: Lambda's limit for a function's unzipped code (zip packages, layers included).
LAMBDA_UNZIPPED_LIMIT_BYTES: Final = 250 * 1024 * 1024
MANIFEST_NAME: Final = "manifest.json"
MANIFEST_FORMAT: Final = 1
#: This file: its source is part of every input hash, so changing the builder rebuilds.
BUILDER_SOURCE: Path = Path(__file__).resolve()

_FILE_MODE: Final = 0o644
_EXECUTABLE_MODE: Final = 0o755
# Excluded from the input hash and from the wheel build. Top level of the service only:
_SKIPPED_TOP_LEVEL_DIRS: Final = frozenset({"tests", "build", "dist"})
# At any depth (besides every directory whose name starts with "." and *.egg-info):
_SKIPPED_DIRS: Final = frozenset({"tests", "test", "__pycache__", "node_modules"})
_SKIPPED_SUFFIXES: Final = (".pyc", ".pyo")
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
# pip's own temporary directories, which must never be named inside the zip.
_PIP_TEMP_PATH: Final = re.compile(rb"/pip-(?:target|install|req-build|wheel|build-env)-\w{8}")


class BuildError(Exception):
    """A Lambda build failed; the message says what to change."""


@dataclass(frozen=True)
class LambdaTarget:
    """The Lambda runtime a zip is built for.

    ``python_version`` is the runtime's ``"3.X"``; ``architecture`` is Lambda's name for it.
    Lambda python3.12 and later run on Amazon Linux 2023 (glibc 2.34), earlier ones on Amazon
    Linux 2 (glibc 2.26); ``pip_platforms`` lists the manylinux tags that run there.
    """

    python_version: str = "3.12"
    architecture: Literal["x86_64", "arm64"] = "x86_64"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"3\.\d{1,2}", self.python_version):
            raise ValueError(f"python_version must look like '3.12', not {self.python_version!r}")
        if self.architecture not in ("x86_64", "arm64"):
            raise ValueError(f"architecture must be 'x86_64' or 'arm64', not {self.architecture!r}")

    @property
    def machine(self) -> str:
        """The machine name in wheel platform tags: ``x86_64`` or ``aarch64``."""
        return "aarch64" if self.architecture == "arm64" else "x86_64"

    @property
    def glibc_minor(self) -> int:
        """The minor version of the runtime's glibc (2.X)."""
        minor = int(self.python_version.split(".")[1])
        return 34 if minor >= 12 else 26

    @property
    def pip_platforms(self) -> tuple[str, ...]:
        """pip ``--platform`` tags, most specific first, as pip orders them on the runtime.

        ``manylinux_2_{glibc}`` down to ``manylinux_2_17`` plus the legacy alias
        ``manylinux2014`` (which pip widens to manylinux2010/manylinux1 on x86_64).
        """
        machine = self.machine
        perennial = tuple(
            f"manylinux_2_{minor}_{machine}" for minor in range(self.glibc_minor, 16, -1)
        )
        return (*perennial, f"manylinux2014_{machine}")

    def describe(self) -> dict[str, Any]:
        """The target as recorded in the manifest (and hashed into the input hash)."""
        return {
            "architecture": self.architecture,
            "implementation": "cp",
            "platforms": list(self.pip_platforms),
            "python_version": self.python_version,
        }


@dataclass(frozen=True)
class BuildResult:
    """What ``build_service`` produced, or found up to date (``built`` False)."""

    service: str
    zip_path: Path
    sha256: str
    size_bytes: int
    built: bool
    input_hash: str
    #: The service package's version (its wheel's metadata); "" for a manifest entry without it.
    version: str = ""


def discover_services(repo_root: Path) -> list[str]:
    """Names of the directories under ``services/`` that contain a ``pyproject.toml``, sorted."""
    services_dir = repo_root / "services"
    if not services_dir.is_dir():
        raise BuildError(f"{services_dir} does not exist: is {repo_root} the repository root?")
    return sorted(
        child.name
        for child in services_dir.iterdir()
        if child.is_dir() and (child / "pyproject.toml").is_file()
    )


def compute_input_hash(repo_root: Path, service: str, *, target: LambdaTarget) -> str:
    """The sha256 over everything a build of ``service`` depends on.

    That is: every file of ``services/<service>/`` (relative path, executable bit and content)
    except its top-level ``tests/``, ``build/`` and ``dist/``, directories named ``tests``,
    ``test``, ``__pycache__``, ``node_modules``, ``*.egg-info`` or starting with ``.`` (caches,
    virtualenvs) and ``*.pyc``/``*.pyo``; ``constraints.txt``; the target; the pip and
    setuptools versions; and this builder's source.
    """
    service_dir = _service_dir(repo_root, service)
    digest = hashlib.sha256()

    def add(label: str, value: str | bytes) -> None:
        data = value.encode() if isinstance(value, str) else value
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("format", str(MANIFEST_FORMAT))
    add("target", json.dumps(target.describe(), sort_keys=True))
    add("pip", _installed_version("pip"))
    add("setuptools", _installed_version("setuptools"))
    add("constraints.txt", _constraints_file(repo_root).read_bytes())
    add("builder", BUILDER_SOURCE.read_bytes())
    for relative, path in _service_files(service_dir):
        executable = "x" if path.stat().st_mode & 0o111 else "-"
        add(f"file {relative} {executable}", hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def build_service(
    repo_root: Path,
    service: str,
    *,
    target: LambdaTarget,
    force: bool = False,
    dist_dir: Path | None = None,
) -> BuildResult:
    """Build ``<dist_dir>/<service>.zip`` (default ``<repo_root>/dist``) unless up to date.

    Raises ``BuildError`` when the service does not exist, its wheel cannot be built, a
    dependency has no wheel for ``target`` or is not pinned in ``constraints.txt``, or the
    result exceeds Lambda's size limit. The manifest is updated after a successful build.
    """
    repo_root = repo_root.resolve()
    dist_dir = (dist_dir or repo_root / "dist").resolve()
    # Hashed before the sources are copied: a file edited during the build leaves a stale hash
    # in the manifest, so the next build runs again rather than skipping.
    input_hash = compute_input_hash(repo_root, service, target=target)
    zip_path = dist_dir / f"{service}.zip"
    if not force:
        up_to_date = _up_to_date(dist_dir, service, zip_path, input_hash)
        if up_to_date is not None:
            logger.info("%s: up to date (%s)", service, zip_path)
            return up_to_date

    logger.info("%s: building %s for %s", service, zip_path.name, target)
    dist_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"lambda-build-{service}-") as temp:
        temp_root = Path(temp)
        staging = temp_root / "staging"
        wheel = _build_wheel(repo_root, service, temp_root)
        _pip_install(repo_root, service, wheel, staging, target)
        version = _prepare_staging(repo_root, service, wheel, staging)
        _write_zip(staging, zip_path, forbidden=str(temp_root).encode())

    sha256 = _sha256_file(zip_path)
    size_bytes = zip_path.stat().st_size
    _update_manifest(
        dist_dir,
        service,
        {
            "input_hash": input_hash,
            "sha256": sha256,
            "size_bytes": size_bytes,
            "target": target.describe(),
            "version": version,
            "zip": zip_path.name,
        },
    )
    logger.info("%s: wrote %s (%d bytes, sha256 %s)", service, zip_path, size_bytes, sha256)
    return BuildResult(
        service=service,
        zip_path=zip_path,
        sha256=sha256,
        size_bytes=size_bytes,
        built=True,
        input_hash=input_hash,
        version=version,
    )


def build_all(
    repo_root: Path,
    *,
    target: LambdaTarget,
    force: bool = False,
    dist_dir: Path | None = None,
) -> list[BuildResult]:
    """Build every service (``discover_services``), in name order, one after the other."""
    services = discover_services(repo_root)
    if not services:
        raise BuildError(f"no service found: no services/*/pyproject.toml under {repo_root}")
    return [
        build_service(repo_root, service, target=target, force=force, dist_dir=dist_dir)
        for service in services
    ]


# --- inputs -----------------------------------------------------------------------------


def _service_dir(repo_root: Path, service: str) -> Path:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", service):
        raise BuildError(f"{service!r} is not a service name (the service's import package name)")
    service_dir = repo_root / "services" / service
    if not (service_dir / "pyproject.toml").is_file():
        known = ", ".join(discover_services(repo_root)) or "none"
        raise BuildError(
            f"no service {service!r}: {service_dir}/pyproject.toml does not exist "
            f"(services: {known})"
        )
    return service_dir


def _constraints_file(repo_root: Path) -> Path:
    constraints = repo_root / "constraints.txt"
    if not constraints.is_file():
        raise BuildError(f"{constraints} does not exist: the build resolves against its pins")
    return constraints


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _service_files(service_dir: Path) -> list[tuple[str, Path]]:
    """The service's build inputs as (relative POSIX path, path), sorted by relative path."""
    found: list[tuple[str, Path]] = []
    for root, dirnames, filenames in os.walk(service_dir):
        at_top = Path(root) == service_dir
        dirnames[:] = [name for name in dirnames if not _skipped_dir(name, at_top=at_top)]
        for name in filenames:
            if name.endswith(_SKIPPED_SUFFIXES):
                continue
            path = Path(root, name)
            if path.is_file():
                found.append((path.relative_to(service_dir).as_posix(), path))
    return sorted(found)


def _skipped_dir(name: str, *, at_top: bool) -> bool:
    return (
        name.startswith(".")
        or name.endswith(".egg-info")
        or name in _SKIPPED_DIRS
        or (at_top and name in _SKIPPED_TOP_LEVEL_DIRS)
    )


def _up_to_date(
    dist_dir: Path, service: str, zip_path: Path, input_hash: str
) -> BuildResult | None:
    entry = _read_manifest(dist_dir).get(service)
    if not isinstance(entry, dict) or entry.get("input_hash") != input_hash:
        return None
    if not zip_path.is_file() or _sha256_file(zip_path) != entry.get("sha256"):
        return None
    return BuildResult(
        service=service,
        zip_path=zip_path,
        sha256=str(entry["sha256"]),
        size_bytes=zip_path.stat().st_size,
        built=False,
        input_hash=input_hash,
        version=str(entry.get("version", "")),
    )


# --- pip ----------------------------------------------------------------------------------


def _run_pip(args: list[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    command = [sys.executable, "-m", "pip", *args]
    logger.debug("running %s", " ".join(command))
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _pip_output(result: subprocess.CompletedProcess[str], *, lines: int = 25) -> str:
    """The end of pip's output, without the noise of ignored find-links locations."""
    text = f"{result.stdout}\n{result.stderr}"
    kept = [line for line in text.splitlines() if line.strip() and not _PIP_NOISE.match(line)]
    return "\n".join(kept[-lines:])


def _build_wheel(repo_root: Path, service: str, temp_root: Path) -> Path:
    """Copy the service's input files to ``temp_root`` and build its wheel there."""
    source = temp_root / "source" / service
    for relative, path in _service_files(_service_dir(repo_root, service)):
        destination = source / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        shutil.copymode(path, destination)
    wheel_dir = temp_root / "wheel"
    result = _run_pip(
        ["wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheel_dir), str(source)],
        cwd=temp_root,
    )
    wheels = sorted(wheel_dir.glob("*.whl")) if result.returncode == 0 else []
    if len(wheels) != 1:
        raise BuildError(
            f"{service}: building the wheel of services/{service} failed; check its "
            f"pyproject.toml (setuptools must be installed in {sys.prefix}). "
            f"pip said:\n{_pip_output(result)}"
        )
    return wheels[0]


def _pip_install(
    repo_root: Path, service: str, wheel: Path, staging: Path, target: LambdaTarget
) -> None:
    platforms = [arg for tag in target.pip_platforms for arg in ("--platform", tag)]
    result = _run_pip(
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
            str(_constraints_file(repo_root)),
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
                f"services/{service}/pyproject.toml. pip said:\n{_pip_output(result)}"
            )
    raise BuildError(
        f"{service}: pip could not install the service's dependencies for the Lambda target. "
        f"pip said:\n{_pip_output(result)}"
    )


# --- staging ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Distribution:
    name: str  # PEP 503 normalized
    version: str
    dist_info: Path


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_distributions(staging: Path) -> list[_Distribution]:
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
            _Distribution(_normalize(fields["Name"]), fields.get("Version", ""), dist_info)
        )
    return found


def _prepare_staging(repo_root: Path, service: str, wheel: Path, staging: Path) -> str:
    """Check the installed tree, strip it to what the Lambda zip ships; the service's version."""
    distributions = _installed_distributions(staging)
    service_distribution = _normalize(wheel.name.split("-")[0])
    shipped = [
        dist
        for dist in distributions
        if dist.name not in RUNTIME_PROVIDED_DISTRIBUTIONS and dist.name != service_distribution
    ]
    _check_pinned(repo_root, service, shipped)
    removed: set[str] = set()
    for dist in distributions:
        if dist.name in RUNTIME_PROVIDED_DISTRIBUTIONS:
            removed |= _remove_distribution(staging, dist)
    removed |= _remove_junk(staging)
    for dist in distributions:
        if dist.name not in RUNTIME_PROVIDED_DISTRIBUTIONS:
            _rewrite_record(staging, dist, removed)
    _remove_empty_dirs(staging)
    if not ((staging / service).is_dir() or (staging / f"{service}.py").is_file()):
        raise BuildError(
            f"{service}: the wheel of services/{service} has no package or module {service!r}; "
            f"a service's import package must be named like its directory (check "
            f"[tool.setuptools.packages.find] in its pyproject.toml)"
        )
    versions = [dist.version for dist in distributions if dist.name == service_distribution]
    if len(versions) != 1 or not versions[0]:
        raise BuildError(f"{service}: pip installed no version of {wheel.name} into the zip")
    return versions[0]


def _check_pinned(repo_root: Path, service: str, shipped: Iterable[_Distribution]) -> None:
    pins = {}
    for line in _constraints_file(repo_root).read_text(encoding="utf-8").splitlines():
        match = _PIN_LINE.match(line.strip())
        if match:
            pins[_normalize(match.group(1))] = match.group(2)
    unpinned = sorted(f"{dist.name}=={dist.version}" for dist in shipped if dist.name not in pins)
    if unpinned:
        raise BuildError(
            f"{service}: these dependencies are not pinned with == in constraints.txt, so a "
            f"later build could ship other releases: {', '.join(unpinned)}. Add these lines "
            f"(the versions pip resolved) to constraints.txt."
        )


def _record_rows(dist: _Distribution) -> list[tuple[str, str | None]]:
    """(RECORD line, its path relative to the staging dir, or None if outside it)."""
    rows = []
    text = (dist.dist_info / "RECORD").read_text(encoding="utf-8")
    for line in text.splitlines(keepends=True):
        fields = next(csv.reader([line]), [])
        rows.append((line, _record_path_in_target(fields[0]) if fields else None))
    return rows


def _record_path_in_target(path: str) -> str | None:
    joined = posixpath.normpath(posixpath.join(_PIP_TARGET_LIB, path))
    if joined.startswith(_PIP_TARGET_LIB + "/"):
        return joined[len(_PIP_TARGET_LIB) + 1 :]
    if joined.startswith(("../", "/")) or joined == "..":
        return None
    return joined


def _remove_distribution(staging: Path, dist: _Distribution) -> set[str]:
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


def _walk_files(root: Path) -> Iterator[tuple[str, Path]]:
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(directory, name)
            yield path.relative_to(root).as_posix(), path


def _is_junk(relative: str) -> bool:
    parts = relative.split("/")
    return (
        parts[0] == "bin"
        or "__pycache__" in parts
        or relative.endswith(_SKIPPED_SUFFIXES)
        or (len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in _PIP_INSTALL_FILES)
    )


def _remove_junk(staging: Path) -> set[str]:
    removed = set()
    for relative, path in list(_walk_files(staging)):
        if _is_junk(relative):
            path.unlink()
            removed.add(relative)
    return removed


def _rewrite_record(staging: Path, dist: _Distribution, removed: set[str]) -> None:
    rows = _record_rows(dist)
    kept = [line for line, relative in rows if relative is None or relative not in removed]
    if len(kept) != len(rows):
        (dist.dist_info / "RECORD").write_text("".join(kept), encoding="utf-8", newline="")


def _remove_empty_dirs(root: Path) -> None:
    for directory, _, _ in sorted(os.walk(root), key=lambda item: item[0], reverse=True):
        path = Path(directory)
        if path != root and not any(path.iterdir()):
            path.rmdir()


# --- output -------------------------------------------------------------------------------


def _write_zip(staging: Path, zip_path: Path, *, forbidden: bytes) -> None:
    """Zip ``staging`` reproducibly into ``zip_path`` (atomically replaced)."""
    # Per process: builds running side by side (the e2e lanes) never write into one file.
    partial = zip_path.with_name(f".{zip_path.name}.{os.getpid()}.partial")
    unzipped = 0
    try:
        with zipfile.ZipFile(partial, "w", allowZip64=True) as archive:
            for relative, path in sorted(_walk_files(staging)):
                data = path.read_bytes()
                if forbidden in data or _PIP_TEMP_PATH.search(data):
                    raise BuildError(
                        f"{relative} names a temporary build directory; the zip would not be "
                        f"reproducible (a new kind of install-specific file to remove?)"
                    )
                unzipped += len(data)
                executable = path.stat().st_mode & 0o111
                info = zipfile.ZipInfo(relative, date_time=ZIP_TIMESTAMP)
                info.create_system = 3  # Unix, so that external_attr holds permissions
                mode = _EXECUTABLE_MODE if executable else _FILE_MODE
                info.external_attr = (stat.S_IFREG | mode) << 16
                archive.writestr(
                    info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=ZIP_COMPRESSLEVEL
                )
        if unzipped > LAMBDA_UNZIPPED_LIMIT_BYTES:
            raise BuildError(
                f"{zip_path.name}: {unzipped} bytes unzipped, over Lambda's limit of "
                f"{LAMBDA_UNZIPPED_LIMIT_BYTES}; drop dependencies or move them to a layer"
            )
        os.replace(partial, zip_path)
    finally:
        partial.unlink(missing_ok=True)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(dist_dir: Path) -> dict[str, Any]:
    """The manifest's per-service entries; empty if it is missing or unreadable."""
    path = dist_dir / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        logger.warning("ignoring unreadable %s: %s", path, error)
        return {}
    services = manifest.get("services") if isinstance(manifest, dict) else None
    return services if isinstance(services, dict) else {}


def _update_manifest(dist_dir: Path, service: str, entry: dict[str, Any]) -> None:
    services = _read_manifest(dist_dir)
    services[service] = entry
    text = json.dumps({"format": MANIFEST_FORMAT, "services": services}, indent=2, sort_keys=True)
    partial = dist_dir / f".{MANIFEST_NAME}.{os.getpid()}.partial"
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, dist_dir / MANIFEST_NAME)
