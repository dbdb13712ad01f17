"""Shared pieces of the Lambda build tests: constants and fake repositories and wheels.

Fake builds run pip without any index (``PIP_NO_INDEX``) and with find-links pointing at a
directory of wheels made here, so they need no network and never touch the real tree.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tooling.build.lambda_zip import BuildResult, LambdaTarget

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_SERVICES = ("api_handler", "processor")
X86_64 = LambdaTarget(python_version="3.12", architecture="x86_64")
FAKE_SERVICE = "fakesvc"


@dataclass(frozen=True)
class RealBuild:
    """Both real services built from a snapshot of the repository into ``dist_dir``."""

    repo_root: Path
    dist_dir: Path
    results: dict[str, BuildResult]
    seconds: float


def write_service(
    repo_root: Path,
    name: str,
    *,
    dependencies: Sequence[str] = (),
    modules: Mapping[str, str] | None = None,
) -> Path:
    """Create ``services/<name>`` (pyproject.toml, src/<name>/...) and return its directory."""
    service_dir = repo_root / "services" / name
    package_dir = service_dir / "src" / name
    package_dir.mkdir(parents=True)
    deps = ", ".join(f'"{dependency}"' for dependency in dependencies)
    (service_dir / "pyproject.toml").write_text(
        f"""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "fake-{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = [{deps}]

[tool.setuptools.packages.find]
where = ["src"]
""",
        encoding="utf-8",
    )
    files = {
        "__init__.py": '"""A fake service."""\n',
        "handler.py": "def lambda_handler(event, context):\n    return {'ok': True}\n",
        **(modules or {}),
    }
    for relative, text in files.items():
        path = package_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return service_dir


def make_repo(root: Path, *, constraints: str = "") -> Path:
    """A repository root with ``constraints.txt`` and an empty ``services/``."""
    (root / "services").mkdir(parents=True)
    (root / "constraints.txt").write_text(constraints, encoding="utf-8")
    return root


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def write_wheel(
    directory: Path,
    name: str,
    version: str,
    files: Mapping[str, str],
    *,
    tag: str = "py3-none-any",
    entry_points: str = "",
) -> Path:
    """Write a minimal valid wheel of ``name`` holding ``files`` into ``directory``."""
    project = name.replace("-", "_")
    dist_info = f"{project}-{version}.dist-info"
    contents = {relative: text.encode() for relative, text in files.items()}
    contents[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n"
    ).encode()
    contents[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: fakes\nRoot-Is-Purelib: true\nTag: {tag}\n"
    ).encode()
    if entry_points:
        contents[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    record = "".join(
        f"{relative},{_record_hash(data)},{len(data)}\n" for relative, data in contents.items()
    )
    contents[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{project}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for relative, data in contents.items():
            archive.writestr(relative, data)
    return wheel


def use_offline_pip(monkeypatch: pytest.MonkeyPatch, find_links: Path) -> None:
    """Make pip (in the build's subprocesses) use only the wheels in ``find_links``."""
    find_links.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(find_links))
