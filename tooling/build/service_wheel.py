"""A service's own package: its wheel, built from a copy of its sources, and the files a
``pip install --target`` of that wheel leaves in the Lambda zip, computed without running pip.

:func:`build_wheel` copies the service's build inputs to a temporary directory and builds the
wheel there through the PEP 517 backend its ``pyproject.toml`` names, in the current environment
(:class:`build.ProjectBuilder`; what ``pip wheel --no-deps --no-build-isolation`` does), so the
service tree is never written to. :class:`ServiceWheel` carries what the wheel tells pip about
its dependencies (:attr:`ServiceWheel.dependency_fields`), which keys the dependency layer.

:func:`installed_entries` lists, for such a wheel, exactly the files that
:func:`tooling.build.pip_install.install` followed by :func:`tooling.build.pip_install.strip`
leave of the service's own distribution, as pip's wheel installer writes them: every file of
the wheel at its path (executable when the wheel's entry says so), ``<dist-info>/INSTALLER``
(``pip``), and ``<dist-info>/RECORD`` with the wheel's rows (the installed files' paths, hash
and size as the wheel lists them), the ``INSTALLER`` row and an empty-hash row for a file the
wheel does not list, sorted as pip sorts them; the junk of
:func:`~tooling.build.pip_install.is_junk` is left out, files and rows. pip's other generated
files (``REQUESTED``, ``direct_url.json``, console-script wrappers under ``bin/``) are junk.
pip writes ``RECORD`` with ``\\r\\n`` line ends (:mod:`csv`'s default); the strip, which
always rewrites the service's (its ``REQUESTED`` row goes), reads it as text and writes ``\\n``.
Whenever pip runs for the service (a dependency layer is built), the builder compares the
files pip installed with these (:func:`tooling.build.dependency_layer.build_layer`), so a pip
that installs differently stops the build instead of making full and incremental builds
differ. Of a wheel's ``.data`` directory, purelib and platlib files go beside the others,
scripts into ``bin/`` (junk), data files into the zip's root; headers are refused (pip puts
them under ``include/site/python<the build's X.Y>/``: nothing a function imports).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import logging
import posixpath
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Final

from build import BuildBackendException, BuildException, ProjectBuilder
from pyproject_hooks import quiet_subprocess_runner

from tooling.build.errors import BuildError
from tooling.build.pip_install import is_junk, normalize, record_path_in_target
from tooling.build.reproducible_zip import ZipFileEntry

__all__ = ["DEPENDENCY_FIELDS", "ServiceWheel", "build_wheel", "installed_entries", "read_wheel"]

logger = logging.getLogger(__name__)

#: The METADATA and WHEEL fields pip's install of a wheel depends on besides its files: what it
#: resolves (name, Python and dependency requirements) and where the wheel may be installed.
DEPENDENCY_FIELDS: Final = (
    ("METADATA", "Name"),
    ("METADATA", "Requires-Python"),
    ("METADATA", "Requires-Dist"),
    ("WHEEL", "Wheel-Version"),
    ("WHEEL", "Root-Is-Purelib"),
    ("WHEEL", "Tag"),
)
_INSTALLER: Final = b"pip\n"
_OUTPUT_LINES: Final = 25


@dataclass(frozen=True)
class ServiceWheel:
    """A service's built wheel and what its metadata says."""

    path: Path
    #: The distribution's name, PEP 503 normalized.
    distribution: str
    version: str
    #: The wheel's ``<name>-<version>.dist-info`` directory.
    dist_info: str
    #: (file, field, value) for each of :data:`DEPENDENCY_FIELDS`, in the wheel's order.
    dependency_fields: tuple[tuple[str, str, str], ...]


def build_wheel(service: str, files: Sequence[tuple[str, Path]], temp_root: Path) -> ServiceWheel:
    """Copy ``files`` ((relative path, path) of the service's inputs) to ``temp_root`` and build
    the service's wheel there."""
    source = temp_root / "source" / service
    for relative, path in files:
        destination = source / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        shutil.copymode(path, destination)
    builder = ProjectBuilder(
        source, python_executable=sys.executable, runner=quiet_subprocess_runner
    )
    try:
        wheel = Path(builder.build("wheel", temp_root / "wheel"))
    except (BuildBackendException, BuildException) as error:
        raise BuildError(
            f"{service}: building the wheel of services/{service} failed; check its "
            f"pyproject.toml (its build backend must be installed in {sys.prefix}). "
            f"The build said:\n{_build_output(error)}"
        ) from None
    return read_wheel(service, wheel)


def _build_output(error: BuildBackendException | BuildException) -> str:
    cause = error.exception if isinstance(error, BuildBackendException) else None
    if isinstance(cause, subprocess.CalledProcessError) and cause.output:
        output = cause.output
        text = output.decode(errors="replace") if isinstance(output, bytes) else str(output)
        lines = [line for line in text.splitlines() if line.strip()]
        return "\n".join(lines[-_OUTPUT_LINES:])
    return str(error)


def read_wheel(service: str, wheel: Path) -> ServiceWheel:
    """What ``wheel``, the wheel of ``service``, states about itself."""
    with zipfile.ZipFile(wheel) as archive:
        dist_infos = {
            name.split("/")[0]
            for name in archive.namelist()
            if "/" in name and name.split("/")[0].endswith(".dist-info")
        }
        if len(dist_infos) != 1:
            raise BuildError(f"{service}: {wheel.name} has {len(dist_infos)} .dist-info dirs")
        (dist_info,) = dist_infos
        try:
            metadata = _headers(archive.read(f"{dist_info}/METADATA"))
            wheel_file = _headers(archive.read(f"{dist_info}/WHEEL"))
        except KeyError as missing:
            raise BuildError(f"{service}: {wheel.name} lacks {missing}") from None
    name = str(metadata.get("Name", ""))
    version = str(metadata.get("Version", ""))
    if not name or not version:
        raise BuildError(f"{service}: {wheel.name} states no Name or Version in its METADATA")
    messages = {"METADATA": metadata, "WHEEL": wheel_file}
    fields = tuple(
        (file, field, str(value))
        for file, field in DEPENDENCY_FIELDS
        for value in messages[file].get_all(field, [])
    )
    return ServiceWheel(wheel, normalize(name), version, dist_info, fields)


def _headers(data: bytes) -> Message:
    return BytesHeaderParser().parsebytes(data)


def installed_entries(service: str, wheel: ServiceWheel) -> list[ZipFileEntry]:
    """The files the Lambda zip ships of ``wheel``'s distribution (module docstring)."""
    with zipfile.ZipFile(wheel.path) as archive:
        locations = _locations(service, wheel, archive)
        contents = {path: _read(archive, name) for name, (path, _) in locations.items()}
        record = archive.read(f"{wheel.dist_info}/RECORD").decode("utf-8")
    removed = {path for path in contents if is_junk(path)}
    installer = f"{wheel.dist_info}/INSTALLER"
    rows = [
        row
        for row in _record_rows(record, locations, installer)
        if record_path_in_target(row[0]) not in removed
    ]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    contents[installer] = (_INSTALLER, False)
    contents[f"{wheel.dist_info}/RECORD"] = (buffer.getvalue().encode("utf-8"), False)
    entries = [
        ZipFileEntry(path, data, executable)
        for path, (data, executable) in sorted(contents.items())
        if path not in removed
    ]
    if not any(entry.name.split("/")[0] in (service, f"{service}.py") for entry in entries):
        raise BuildError(
            f"{service}: the wheel of services/{service} has no package or module {service!r}; "
            f"a service's import package must be named like its directory (check "
            f"[tool.setuptools.packages.find] in its pyproject.toml)"
        )
    return entries


def _locations(
    service: str, wheel: ServiceWheel, archive: zipfile.ZipFile
) -> dict[str, tuple[str, str]]:
    """The wheel's files: entry name -> (path in the target dir, path in RECORD)."""
    locations: dict[str, tuple[str, str]] = {}
    for name in archive.namelist():
        if name.endswith("/"):
            continue
        location = _location(name)
        if location is None:
            raise BuildError(
                f"{service}: {wheel.path.name} installs {name} where pip --target puts no "
                f"file of a Lambda package (headers or another .data scheme than purelib, "
                f"platlib, scripts and data, or a path outside the target); drop it from "
                f"services/{service}/pyproject.toml"
            )
        locations[name] = location
    return locations


def _location(name: str) -> tuple[str, str] | None:
    """Where ``pip install --target`` puts the wheel entry ``name``: (path in the target dir,
    path in RECORD, which is relative to ``<home>/lib/python``); None when it puts it
    elsewhere. A ``.data`` entry goes by its scheme: purelib and platlib beside the root's
    files, scripts into ``bin/``, data into the target dir itself."""
    top, _, rest = name.partition("/")
    if not top.endswith(".data"):
        path = posixpath.normpath(name)
        location = (path, path)
    else:
        scheme, _, below = rest.partition("/")
        path = posixpath.normpath(below)
        if not below:
            return None
        if scheme in ("purelib", "platlib"):
            location = (path, path)
        elif scheme == "scripts":
            location = (f"bin/{path}", f"../../bin/{path}")
        elif scheme == "data":
            location = (path, f"../../{path}")
        else:
            return None
    if location[0].startswith(("../", "/")) or location[0] in ("..", "."):
        return None
    return location


def _read(archive: zipfile.ZipFile, name: str) -> tuple[bytes, bool]:
    """An entry's bytes, and whether pip installs it executable (a regular file with an
    executable bit in the entry's Unix mode)."""
    info = archive.getinfo(name)  # the last entry of a name, the one pip's install leaves
    mode = info.external_attr >> 16
    return archive.read(info), bool(mode and stat.S_ISREG(mode) and mode & 0o111)


def _record_rows(
    record: str, locations: dict[str, tuple[str, str]], installer: str
) -> list[tuple[str, str, str]]:
    """The RECORD rows pip writes for the installed wheel (before the build strips it): the
    wheel's rows at the installed files' RECORD paths, the INSTALLER row, and a row without
    hash for each installed file the wheel's RECORD does not list; sorted."""
    remaining = {name: record_path for name, (_, record_path) in locations.items()}
    rows = []
    for row in csv.reader(record.splitlines()):
        if not row:
            continue
        path = remaining.pop(row[0], row[0])
        rows.append((path, row[1] if len(row) > 1 else "", row[2] if len(row) > 2 else ""))
    rows.append((installer, _record_hash(_INSTALLER), str(len(_INSTALLER))))
    rows += [(path, "", "") for path in remaining.values()]
    return sorted(rows)


def _record_hash(data: bytes) -> str:
    """A RECORD hash as pip writes it (PEP 376/627): urlsafe base64 sha256, unpadded."""
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode('ascii')}"
