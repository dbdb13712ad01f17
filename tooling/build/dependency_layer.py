"""A service's dependency layer: the files of its Lambda zip that pip installs besides the
service's own distribution, zipped once and reused while what determines them is unchanged.

What determines them (:func:`layer_key`): the fields of the service's wheel that pip resolves
and installs by (:data:`tooling.build.service_wheel.DEPENDENCY_FIELDS`: name, Requires-Python,
Requires-Dist, the wheel's tags), ``constraints.txt``, the target, pip's version and the
builder's source. The service's modules are not among them: a change to a service's code
reuses the layer and runs no pip.

:func:`build_layer` makes a layer: pip installs the service's wheel with its dependencies
(:func:`tooling.build.pip_install.install`, then ``strip``), exactly the tree the Lambda zip
ships, and the layer is that tree minus the service's own distribution. It checks on the way
that the service's files pip installed are the ones
:func:`tooling.build.service_wheel.installed_entries` computes without pip (so that a build
reusing the layer gives the bytes of a build running pip), and that no dependency ships a file
of the service. The layer is stored as a zip written by
:func:`tooling.build.reproducible_zip.write_zip`, whose entries the Lambda zip copies without
compressing them again.

The cache (:func:`cached_layer`) is a directory, ``<repo>/.build/lambda-deps/`` by default,
holding ``<service>-<key>-<sha256>.zip`` (the first 32 hex digits of each): a layer whose bytes
do not match their sha256 is built again. A new layer is written to a temporary name and
renamed, so builds side by side never read a partial one (two that build the same layer write
the same bytes); the :data:`LAYERS_KEPT` layers of a service used last are kept, older ones
deleted. Like the input hash, the key does not cover the package index or pip's configuration;
``force`` builds the layer again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tooling.build.errors import BuildError
from tooling.build.pip_install import (
    PIP_TEMP_PATH,
    InstalledDistribution,
    install,
    record_files,
    strip,
    walk_files,
)
from tooling.build.reproducible_zip import ZipFileEntry, write_zip
from tooling.build.service_wheel import ServiceWheel
from tooling.build.target import LambdaTarget

__all__ = [
    "LAYERS_KEPT",
    "LAYER_FORMAT",
    "DependencyLayer",
    "build_layer",
    "cached_layer",
    "layer_key",
]

logger = logging.getLogger(__name__)

#: Part of every key: changing how layers are made changes it.
LAYER_FORMAT: Final = 1
#: How many layers of one service the cache keeps (the ones used last).
LAYERS_KEPT: Final = 3
_NAME_DIGITS: Final = 32
_SHOWN_NAMES: Final = 5


@dataclass(frozen=True)
class DependencyLayer:
    """A layer's zip (``data``, stored at ``path``) and the total size of its files unzipped."""

    path: Path
    data: bytes
    unzipped_size: int
    #: True when pip ran to make it, False when it came from the cache.
    built: bool


def layer_key(
    wheel: ServiceWheel, *, constraints: bytes, target: LambdaTarget, builder: bytes
) -> str:
    """The sha256 over what determines a service's layer (module docstring).

    ``builder`` is the digest of the builder's source.
    """
    digest = hashlib.sha256()
    for label, value in (
        ("format", str(LAYER_FORMAT).encode()),
        ("wheel", json.dumps(wheel.dependency_fields).encode()),
        ("constraints.txt", constraints),
        ("target", json.dumps(target.describe(), sort_keys=True).encode()),
        ("pip", _installed_version("pip").encode()),
        ("builder", builder),
    ):
        digest.update(f"{label}\0{len(value)}\0".encode())
        digest.update(value)
    return digest.hexdigest()


def _installed_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cached_layer(
    cache_dir: Path,
    service: str,
    key: str,
    *,
    build: Callable[[], bytes],
    rebuild: bool = False,
) -> DependencyLayer:
    """The layer of ``key`` from ``cache_dir``, or made by ``build`` and stored there when it is
    missing, damaged or ``rebuild`` is set."""
    prefix = f"{service}-{key[:_NAME_DIGITS]}-"
    if not rebuild:
        for path in _layers(cache_dir, service, prefix):
            found = _read_layer(path, prefix)
            if found is not None:
                _touch(path)
                logger.info("%s: dependencies from %s", service, path)
                return found
    data = build()
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{prefix}{hashlib.sha256(data).hexdigest()[:_NAME_DIGITS]}.zip"
    partial = cache_dir / f".{path.name}.{os.getpid()}.partial"
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    _prune(cache_dir, service, prefix, keep=path)
    logger.info("%s: dependencies installed by pip, stored in %s", service, path)
    return DependencyLayer(path, data, _unzipped_size(data), built=True)


def _layers(cache_dir: Path, service: str, prefix: str = "") -> list[Path]:
    """The stored layers of ``service`` (whose names start with ``prefix``), used last first."""
    pattern = re.compile(
        rf"{re.escape(service)}-[0-9a-f]{{{_NAME_DIGITS}}}-[0-9a-f]{{{_NAME_DIGITS}}}\.zip"
    )
    found = []
    for path in cache_dir.glob(f"{prefix or service + '-'}*.zip"):
        if not pattern.fullmatch(path.name):
            continue
        try:
            found.append((path.stat().st_mtime_ns, path.name, path))
        except FileNotFoundError:  # pruned by a build beside this one
            continue
    return [path for _, _, path in sorted(found, reverse=True)]


def _read_layer(path: Path, prefix: str) -> DependencyLayer | None:
    """The stored layer at ``path``, or None when it is gone or its bytes are not the ones its
    name's sha256 states."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:  # pruned by a build beside this one
        return None
    expected = path.name[len(prefix) : -len(".zip")]
    if hashlib.sha256(data).hexdigest()[:_NAME_DIGITS] != expected:
        logger.warning("ignoring damaged dependency layer %s", path)
        return None
    try:
        size = _unzipped_size(data)
    except zipfile.BadZipFile:
        return None
    return DependencyLayer(path, data, size, built=False)


def _unzipped_size(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(info.file_size for info in archive.infolist())


def _touch(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):  # pruned by a build beside this one
        os.utime(path)


def _prune(cache_dir: Path, service: str, prefix: str, *, keep: Path) -> None:
    """Delete the other layers of ``keep``'s key (an older build of it) and all but the
    :data:`LAYERS_KEPT` layers of ``service`` used last."""
    others = [path for path in _layers(cache_dir, service) if path != keep]
    kept = [path for path in others if not path.name.startswith(prefix)][: LAYERS_KEPT - 1]
    for path in others:
        if path not in kept:
            path.unlink(missing_ok=True)


def build_layer(
    constraints: Path,
    service: str,
    wheel: ServiceWheel,
    service_entries: Iterable[ZipFileEntry],
    target: LambdaTarget,
    temp_root: Path,
) -> bytes:
    """Install ``wheel`` with its dependencies by pip into ``temp_root`` and zip the installed
    files that are not the service's (module docstring)."""
    staging = temp_root / "staging"
    install(constraints, service, wheel.path, staging, target)
    shipped = strip(staging, constraints, service, wheel.distribution)
    own = [dist for dist in shipped if dist.name == wheel.distribution]
    if len(own) != 1:
        raise BuildError(f"{service}: pip installed no version of {wheel.path.name} into the zip")
    own_files = record_files(own[0]) | {
        path.relative_to(staging).as_posix() for path in own[0].dist_info.rglob("*")
    }
    staged = dict(walk_files(staging))
    _check_no_overlap(service, [dist for dist in shipped if dist is not own[0]], own_files)
    _check_service_files(service, staged, own_files, service_entries)
    forbidden = str(temp_root).encode()
    layer = []
    for relative, path in staged.items():
        if relative in own_files:
            continue
        data = path.read_bytes()
        if forbidden in data or PIP_TEMP_PATH.search(data):
            raise BuildError(
                f"{relative} names a temporary build directory; the zip would not be "
                f"reproducible (a new kind of install-specific file to remove?)"
            )
        layer.append(ZipFileEntry(relative, data, bool(path.stat().st_mode & 0o111)))
    return write_zip(layer)


def _check_service_files(
    service: str,
    staged: dict[str, Path],
    own_files: set[str],
    service_entries: Iterable[ZipFileEntry],
) -> None:
    """The service's files pip installed are ``service_entries``: names, bytes, modes."""
    by_pip = {relative: path for relative, path in staged.items() if relative in own_files}
    computed = {entry.name: entry for entry in service_entries}
    differing = sorted(set(by_pip) ^ set(computed))
    for name in sorted(set(by_pip) & set(computed)):
        path, entry = by_pip[name], computed[name]
        if path.read_bytes() != entry.data or bool(path.stat().st_mode & 0o111) != entry.executable:
            differing.append(name)
    if differing:
        raise BuildError(
            f"{service}: pip installed the service's own files differently from how the builder "
            f"installs them without pip (tooling/build/service_wheel.py), so builds that reuse "
            f"the dependencies would differ from this one; differing: "
            f"{', '.join(differing[:_SHOWN_NAMES])}"
        )


def _check_no_overlap(
    service: str, dependencies: Iterable[InstalledDistribution], own_files: set[str]
) -> None:
    for dist in dependencies:
        shared = sorted(record_files(dist) & own_files)
        if shared:
            raise BuildError(
                f"{service}: the dependency {dist.name} ships files of the service itself: "
                f"{', '.join(shared[:_SHOWN_NAMES])}; rename the service's module or drop the "
                f"dependency"
            )
