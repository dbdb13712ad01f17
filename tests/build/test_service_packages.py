"""Each service package builds on its own with standard tooling (``python -m build``).

Built from a copy of ``services/<service>`` (without tests and caches, as the Lambda builder
and ``nox -s <service>`` take it), so setuptools' build/ and egg-info never reach the working
tree; ``--no-isolation`` builds with the setuptools of this virtualenv, offline.
"""

from __future__ import annotations

import email.parser
import importlib.util
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.build.support import REAL_SERVICES, REPO_ROOT


@dataclass(frozen=True)
class Built:
    service: str  # the import package, like its directory
    pyproject: dict[str, object]
    wheel: Path
    sdist: Path

    @property
    def name(self) -> str:
        return str(self.project["name"])

    @property
    def version(self) -> str:
        return str(self.project["version"])

    @property
    def project(self) -> dict[str, object]:
        project = self.pyproject["project"]
        assert isinstance(project, dict)
        return project


def pyproject_of(service: str) -> dict[str, object]:
    return tomllib.loads((REPO_ROOT / "services" / service / "pyproject.toml").read_text("utf-8"))


@pytest.fixture(scope="module", params=REAL_SERVICES)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    if importlib.util.find_spec("build") is None:
        pytest.fail("the `build` package is missing from .venv (requirements-dev.txt): ./tap")
    service = str(request.param)
    source = tmp_path_factory.mktemp("source") / service
    shutil.copytree(
        REPO_ROOT / "services" / service,
        source,
        ignore=shutil.ignore_patterns(
            "tests", "build", "dist", "__pycache__", "*.pyc", "*.egg-info", ".*"
        ),
    )
    outdir = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--sdist", "--no-isolation",
         "--outdir", str(outdir), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = sorted(outdir.glob("*.whl"))
    sdists = sorted(outdir.glob("*.tar.gz"))
    assert (len(wheels), len(sdists)) == (1, 1), sorted(p.name for p in outdir.iterdir())
    return Built(service, pyproject_of(service), wheels[0], sdists[0])


def wheel_metadata(built: Built) -> email.message.Message:
    with zipfile.ZipFile(built.wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def requirements(lines: list[str]) -> dict[str, str]:
    parsed = (Requirement(line) for line in lines)
    return {r.name + (f"[{','.join(sorted(r.extras))}]" if r.extras else ""): str(r.specifier)
            for r in parsed}  # fmt: skip


def test_the_wheel_carries_the_pyproject_name_and_version(built: Built) -> None:
    metadata = wheel_metadata(built)
    assert (metadata["Name"], metadata["Version"]) == (built.name, built.version)
    assert built.wheel.name.startswith(f"{built.name.replace('-', '_')}-{built.version}-")
    assert metadata["Requires-Python"] == built.project["requires-python"]


def test_the_wheel_is_typed_and_holds_the_package_only(built: Built) -> None:
    package = built.service
    with zipfile.ZipFile(built.wheel) as archive:
        names = archive.namelist()
    assert f"{package}/py.typed" in names
    assert f"{package}/handler.py" in names
    assert {name.split("/")[0] for name in names} == {
        package,
        f"{built.name.replace('-', '_')}-{built.version}.dist-info",
    }


def test_the_wheel_declares_the_runtime_dependencies_and_the_test_extra(built: Built) -> None:
    metadata = wheel_metadata(built)
    requires = metadata.get_all("Requires-Dist") or []
    declared = built.project["dependencies"]
    extras = built.project["optional-dependencies"]
    assert isinstance(declared, list) and isinstance(extras, dict)
    runtime = [line for line in requires if "extra ==" not in line]
    test = [line.split(";")[0] for line in requires if 'extra == "test"' in line]
    assert requirements(runtime) == requirements(declared)
    assert metadata.get_all("Provides-Extra") == ["test"]
    assert requirements(test) == requirements(extras["test"])


def test_the_sdist_has_the_metadata_the_sources_and_py_typed(built: Built) -> None:
    root = f"{built.name.replace('-', '_')}-{built.version}"
    with tarfile.open(built.sdist) as archive:
        names = archive.getnames()
        pkg_info = archive.extractfile(f"{root}/PKG-INFO")
        assert pkg_info is not None
        metadata = email.parser.Parser().parsestr(pkg_info.read().decode("utf-8"))
    assert (metadata["Name"], metadata["Version"]) == (built.name, built.version)
    assert f"{root}/pyproject.toml" in names
    assert f"{root}/src/{built.service}/py.typed" in names
