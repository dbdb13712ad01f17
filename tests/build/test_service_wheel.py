"""tooling/build/service_wheel.py: the service's own files in the zip, computed without pip, are
the files pip installs from its wheel (after the build strips them); a wheel that does not
build stops the build with the backend's words. pip offline (tests/build/support.py)."""

from __future__ import annotations

import base64
import hashlib
import re
import stat
import zipfile
from pathlib import Path

import pytest

from tests.build.support import FAKE_SERVICE, X86_64, make_repo, use_offline_pip, write_service
from tooling.build.lambda_zip import BuildError, build_service
from tooling.build.pip_install import install, strip, walk_files
from tooling.build.service_wheel import installed_entries, read_wheel

DIST_INFO = f"fake_{FAKE_SERVICE}-0.1.0.dist-info"
DATA = f"fake_{FAKE_SERVICE}-0.1.0.data"
EXECUTABLE = (stat.S_IFREG | 0o755) << 16
PLAIN = (stat.S_IFREG | 0o644) << 16


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def write_odd_wheel(directory: Path) -> Path:
    """A wheel of the fake service with what a wheel may hold besides modules: an executable
    file, a file its RECORD does not list, bytecode, and .data files of three schemes."""
    listed = {
        f"{FAKE_SERVICE}/__init__.py": (b'"""A fake service."""\n', PLAIN),
        f"{FAKE_SERVICE}/run.sh": (b"#!/bin/sh\necho run\n", EXECUTABLE),
        f"{FAKE_SERVICE}/__pycache__/__init__.cpython-312.pyc": (b"\x00bytecode", PLAIN),
        f"{DATA}/purelib/{FAKE_SERVICE}_extra.py": (b"EXTRA = 1\n", PLAIN),
        f"{DATA}/data/share/{FAKE_SERVICE}/notes.txt": (b"notes\n", PLAIN),
        f"{DATA}/scripts/tool": (b"#!python\nprint('tool')\n", EXECUTABLE),
        f"{DIST_INFO}/METADATA": (
            f"Metadata-Version: 2.1\nName: fake-{FAKE_SERVICE}\nVersion: 0.1.0\n\n".encode(),
            PLAIN,
        ),
        f"{DIST_INFO}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            PLAIN,
        ),
    }
    record = "".join(
        f"{name},{record_hash(data)},{len(data)}\n" for name, (data, _) in listed.items()
    )
    files = {
        **listed,
        f"{FAKE_SERVICE}/unlisted.py": (b"UNLISTED = 1\n", PLAIN),
        f"{DIST_INFO}/RECORD": ((record + f"{DIST_INFO}/RECORD,,\n").encode(), PLAIN),
    }
    directory.mkdir(parents=True)
    wheel = directory / f"fake_{FAKE_SERVICE}-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode
            archive.writestr(info, data)
    return wheel


def test_the_service_files_are_the_ones_pip_installs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = write_odd_wheel(tmp_path / "wheels")
    use_offline_pip(monkeypatch, tmp_path / "wheels")
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("", encoding="utf-8")
    install(constraints, FAKE_SERVICE, wheel, tmp_path / "staging", X86_64)
    strip(tmp_path / "staging", constraints, FAKE_SERVICE, f"fake-{FAKE_SERVICE}")
    by_pip = {
        relative: (path.read_bytes(), bool(path.stat().st_mode & 0o111))
        for relative, path in walk_files(tmp_path / "staging")
    }

    computed = {
        entry.name: (entry.data, entry.executable)
        for entry in installed_entries(FAKE_SERVICE, read_wheel(FAKE_SERVICE, wheel))
    }

    assert computed == by_pip
    assert sorted(computed) == [
        f"{DIST_INFO}/INSTALLER",
        f"{DIST_INFO}/METADATA",
        f"{DIST_INFO}/RECORD",
        f"{DIST_INFO}/WHEEL",
        f"{FAKE_SERVICE}/__init__.py",
        f"{FAKE_SERVICE}/run.sh",
        f"{FAKE_SERVICE}/unlisted.py",
        f"{FAKE_SERVICE}_extra.py",
        f"share/{FAKE_SERVICE}/notes.txt",
    ]
    assert [name for name, (_, executable) in computed.items() if executable] == [
        f"{FAKE_SERVICE}/run.sh"
    ]
    record = computed[f"{DIST_INFO}/RECORD"][0].decode().splitlines()
    notes, installer = record_hash(b"notes\n"), record_hash(b"pip\n")
    assert record[0] == f"../../share/{FAKE_SERVICE}/notes.txt,{notes},6"
    assert f"{FAKE_SERVICE}/unlisted.py,," in record
    assert f"{DIST_INFO}/INSTALLER,{installer},4" in record
    assert not [row for row in record if "tool" in row or "__pycache__" in row]


def test_a_wheel_that_does_not_build_stops_the_build_with_the_backends_words(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo")
    pyproject = write_service(repo, FAKE_SERVICE) / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text.replace('version = "0.1.0"', 'version = "one"'), encoding="utf-8")

    with pytest.raises(
        BuildError,
        match=r"(?s)building the wheel of services/fakesvc failed.*"
        r"`project\.version` must be pep440",
    ):
        build_service(repo, FAKE_SERVICE, target=X86_64)
    assert not (repo / "dist").exists()


@pytest.mark.parametrize(
    "name",
    [f"{DATA}/headers/{FAKE_SERVICE}.h", f"{DATA}/unknown/x.txt", "../outside.py"],
)
def test_a_file_pip_puts_outside_a_lambda_package_is_refused(tmp_path: Path, name: str) -> None:
    wheel = write_odd_wheel(tmp_path / "wheels")
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr(name, b"x")

    with pytest.raises(BuildError, match=rf"installs {re.escape(name)} where pip --target puts"):
        installed_entries(FAKE_SERVICE, read_wheel(FAKE_SERVICE, wheel))
