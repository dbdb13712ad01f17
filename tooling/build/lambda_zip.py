"""Reproducible, incremental zip builds of the Lambda services under ``services/``.

Every directory ``services/<name>/`` that holds a ``pyproject.toml`` is a service whose import
package is ``<name>`` (``services/processor`` ships the package ``processor``). Its Lambda
artifact is ``dist/<name>.zip``: the service package plus its runtime dependencies, resolved
for the Lambda target (CPython 3.12 on Amazon Linux, x86_64 or arm64) and pinned by the
repository's ``constraints.txt``. The zip is made of two parts:

1. the service's own distribution, made fresh by every build without pip
   (:mod:`tooling.build.service_wheel`): the service's source files (see
   ``compute_input_hash`` for which) are copied to a temporary dir and its wheel built there
   through its PEP 517 backend, so the service tree is never written to; its files are what
   ``pip install`` of that wheel installs, without ``__pycache__``/``*.pyc``/``*.pyo``,
   ``bin/`` and pip's ``REQUESTED``/``direct_url.json``. The service's ``tests``/``test``
   directories never reach the wheel (they are not copied);
2. the dependency layer (:mod:`tooling.build.dependency_layer`): everything else pip installs
   for the wheel (``pip install --target --only-binary=:all: --implementation cp
   --python-version 3.12 --platform <manylinux tags> -c constraints.txt <wheel>``, binary
   wheels only, every shipped dependency pinned with ``==``, the distributions the Lambda
   runtime provides (``RUNTIME_PROVIDED_DISTRIBUTIONS``) removed file by file from their
   ``RECORD``, the junk above and console scripts removed: :mod:`tooling.build.pip_install`).
   It is cached under ``<repo>/.build/lambda-deps/`` (``cache_dir``) by a key over what it
   depends on: the wheel's name, Requires-Python, Requires-Dist and tags, ``constraints.txt``,
   the target, pip's version and the builder's source. A build after a change to a service's
   code only reuses it: no pip runs.

The zip is written reproducibly (:mod:`tooling.build.reproducible_zip`): entries sorted by
path, no directory entries, every timestamp 1980-01-01 00:00:00, Unix permissions 0o644, or
0o755 for files installed executable (as their wheel declares), ZIP_DEFLATED at level
``ZIP_COMPRESSLEVEL``; the layer's entries are copied into it compressed as they are. The same
inputs give a byte-identical zip whether the layer came from the cache or from pip (with the
same zlib; CPython's bundled/system zlib rarely changes).

``dist/manifest.json`` records, per service, the zip's name, sha256, size, input hash, target
and ``version``: the service package's version as its wheel's metadata states it (single
source: the ``version`` of ``services/<name>/pyproject.toml``; the zip's
``<dist>.dist-info/METADATA`` carries the same). A build is skipped (``BuildResult.built`` is
False) when the input hash equals the manifest's and the zip on disk still has the recorded
sha256; ``force=True`` always rebuilds, dependency layer included.

Builds into the same dist dir must not run concurrently: the manifest is read, updated and
replaced by each build. Temporary files live in the system temp dir (``tempfile``).

Not covered by the input hash nor the layer's key, as for any build: the package index (a
wheel uploaded later for an already pinned release can change which file pip picks) and pip's
configuration (``pip.conf``, ``PIP_*`` variables), which the build honours. Use ``force=True``
after changing those.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tooling.build.dependency_layer import build_layer, cached_layer, layer_key
from tooling.build.errors import BuildError
from tooling.build.pip_install import PIP_TEMP_PATH, RUNTIME_PROVIDED_DISTRIBUTIONS
from tooling.build.reproducible_zip import (
    ZIP_COMPRESSLEVEL,
    ZIP_TIMESTAMP,
    ZipFileEntry,
    merge_zips,
    write_zip,
)
from tooling.build.service_wheel import build_wheel, installed_entries
from tooling.build.target import LambdaTarget

__all__ = [
    "BUILDER_SOURCE",
    "DEPENDENCY_CACHE_DIR",
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

#: Lambda's limit for a function's unzipped code (zip packages, layers included).
LAMBDA_UNZIPPED_LIMIT_BYTES: Final = 250 * 1024 * 1024
MANIFEST_NAME: Final = "manifest.json"
MANIFEST_FORMAT: Final = 1
#: Where the dependency layers are cached, relative to the repository root (``cache_dir``).
DEPENDENCY_CACHE_DIR: Final = Path(".build", "lambda-deps")
#: This file: its source, with the other modules of the builder (``_BUILDER_MODULES``), is part
#: of every input hash and layer key, so changing the builder rebuilds.
BUILDER_SOURCE: Path = Path(__file__).resolve()
_BUILDER_MODULES: Final = tuple(
    Path(__file__).resolve().with_name(f"{module}.py")
    for module in (
        "dependency_layer",
        "errors",
        "pip_install",
        "reproducible_zip",
        "service_wheel",
        "target",
    )
)
# Excluded from the input hash and from the wheel build. Top level of the service only:
_SKIPPED_TOP_LEVEL_DIRS: Final = frozenset({"tests", "build", "dist"})
# At any depth (besides every directory whose name starts with "." and *.egg-info):
_SKIPPED_DIRS: Final = frozenset({"tests", "test", "__pycache__", "node_modules"})
_SKIPPED_SUFFIXES: Final = (".pyc", ".pyo")


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
    virtualenvs) and ``*.pyc``/``*.pyo``; ``constraints.txt``; the target; the pip, setuptools
    and build versions; and the builder's source.
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
    add("build", _installed_version("build"))
    add("constraints.txt", _constraints_file(repo_root).read_bytes())
    add("builder", _builder_digest())
    for relative, path in service_files(service_dir):
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
    cache_dir: Path | None = None,
) -> BuildResult:
    """Build ``<dist_dir>/<service>.zip`` (default ``<repo_root>/dist``) unless up to date.

    The dependency layer comes from ``cache_dir`` (default ``<repo_root>/.build/lambda-deps``)
    when its key is there, unless ``force``. Raises ``BuildError`` when the service does not
    exist, its wheel cannot be built, a dependency has no wheel for ``target`` or is not pinned
    in ``constraints.txt``, or the result exceeds Lambda's size limit. The manifest is updated
    after a successful build.
    """
    repo_root = repo_root.resolve()
    dist_dir = (dist_dir or repo_root / "dist").resolve()
    cache_dir = (cache_dir or repo_root / DEPENDENCY_CACHE_DIR).resolve()
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
    with tempfile.TemporaryDirectory(prefix=f"lambda-build-{service}-") as temp:
        data, version = _build_zip(
            repo_root, service, target, Path(temp), cache_dir=cache_dir, rebuild_layer=force
        )
    dist_dir.mkdir(parents=True, exist_ok=True)
    _write_atomically(zip_path, data)
    sha256 = hashlib.sha256(data).hexdigest()
    _update_manifest(
        dist_dir,
        service,
        {
            "input_hash": input_hash,
            "sha256": sha256,
            "size_bytes": len(data),
            "target": target.describe(),
            "version": version,
            "zip": zip_path.name,
        },
    )
    logger.info("%s: wrote %s (%d bytes, sha256 %s)", service, zip_path, len(data), sha256)
    return BuildResult(
        service=service,
        zip_path=zip_path,
        sha256=sha256,
        size_bytes=len(data),
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
    cache_dir: Path | None = None,
) -> list[BuildResult]:
    """Build every service (``discover_services``), in name order, one after the other."""
    services = discover_services(repo_root)
    if not services:
        raise BuildError(f"no service found: no services/*/pyproject.toml under {repo_root}")
    return [
        build_service(
            repo_root, service, target=target, force=force, dist_dir=dist_dir, cache_dir=cache_dir
        )
        for service in services
    ]


def _build_zip(
    repo_root: Path,
    service: str,
    target: LambdaTarget,
    temp_root: Path,
    *,
    cache_dir: Path,
    rebuild_layer: bool,
) -> tuple[bytes, str]:
    """The zip's bytes and the service's version (module docstring: the two parts)."""
    # pip reads the very bytes the layer's key covers, even if the file changes meanwhile.
    constraints = temp_root / "constraints.txt"
    constraints.write_bytes(_constraints_file(repo_root).read_bytes())
    wheel = build_wheel(service, service_files(_service_dir(repo_root, service)), temp_root)
    own = installed_entries(service, wheel)
    _check_reproducible(own, temp_root)
    key = layer_key(
        wheel, constraints=constraints.read_bytes(), target=target, builder=_builder_digest()
    )
    layer = cached_layer(
        cache_dir,
        service,
        key,
        build=lambda: build_layer(constraints, service, wheel, own, target, temp_root),
        rebuild=rebuild_layer,
    )
    unzipped = layer.unzipped_size + sum(len(entry.data) for entry in own)
    if unzipped > LAMBDA_UNZIPPED_LIMIT_BYTES:
        raise BuildError(
            f"{service}.zip: {unzipped} bytes unzipped, over Lambda's limit of "
            f"{LAMBDA_UNZIPPED_LIMIT_BYTES}; drop dependencies or move them to a layer"
        )
    try:
        return merge_zips([layer.data, write_zip(own)]), wheel.version
    except ValueError as error:
        raise BuildError(
            f"{service}: {error}: the service and one of its dependencies ship the same file"
        ) from None


def _check_reproducible(entries: list[ZipFileEntry], temp_root: Path) -> None:
    forbidden = str(temp_root).encode()
    for entry in entries:
        if forbidden in entry.data or PIP_TEMP_PATH.search(entry.data):
            raise BuildError(
                f"{entry.name} names a temporary build directory; the zip would not be "
                f"reproducible (a new kind of install-specific file to remove?)"
            )


def _builder_digest() -> bytes:
    digest = hashlib.sha256()
    for path in (BUILDER_SOURCE, *_BUILDER_MODULES):
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.digest()


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


def service_files(service_dir: Path) -> list[tuple[str, Path]]:
    """The service's build inputs as (relative POSIX path, path), sorted by relative path: what
    the zip is built from and its input hash covers, and what a service's nox session installs."""
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


# --- output -------------------------------------------------------------------------------


def _write_atomically(path: Path, data: bytes) -> None:
    # Per process: builds running side by side (the e2e lanes) never write into one file.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
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
