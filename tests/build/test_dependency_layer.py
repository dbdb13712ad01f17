"""The dependency layer (tooling/build/dependency_layer.py): a change to a service's code rebuilds
its zip without pip, byte for byte the zip a build from scratch writes; a change to what pip
resolves runs pip. Fake services with pip offline (tests/build/support.py), and the real
api_handler (tests/build/conftest.py)."""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.build.support import (
    FAKE_SERVICE,
    X86_64,
    RealBuild,
    make_repo,
    use_offline_pip,
    write_service,
    write_wheel,
)
from tooling.build import lambda_zip, pip_install
from tooling.build.dependency_layer import LAYERS_KEPT
from tooling.build.lambda_zip import BuildError, BuildResult, LambdaTarget, build_service
from tooling.build.reproducible_zip import ZipFileEntry
from tooling.build.service_wheel import ServiceWheel, installed_entries

CONSTRAINTS = "fixture-dep==1.0\nsecond-dep==2.0\nintruder==1.0\n"
LAYER_NAME = re.compile(rf"{FAKE_SERVICE}-[0-9a-f]{{32}}-[0-9a-f]{{32}}\.zip")


@dataclass(frozen=True)
class Repo:
    root: Path

    @property
    def service_dir(self) -> Path:
        return self.root / "services" / FAKE_SERVICE

    @property
    def package(self) -> Path:
        return self.service_dir / "src" / FAKE_SERVICE

    @property
    def layers(self) -> Path:
        return self.root / ".build" / "lambda-deps"

    def build(self, *, target: LambdaTarget = X86_64, force: bool = False) -> BuildResult:
        return build_service(self.root, FAKE_SERVICE, target=target, force=force)

    def zip_bytes(self) -> bytes:
        return (self.root / "dist" / f"{FAKE_SERVICE}.zip").read_bytes()

    def layer_files(self) -> list[str]:
        return sorted(path.name for path in self.layers.iterdir())

    def set_dependencies(self, *dependencies: str) -> None:
        pyproject = self.service_dir / "pyproject.toml"
        text = pyproject.read_text(encoding="utf-8")
        listed = ", ".join(f'"{dependency}"' for dependency in dependencies)
        pyproject.write_text(
            re.sub(r"dependencies = \[[^\]]*\]", f"dependencies = [{listed}]", text),
            encoding="utf-8",
        )


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wheels")
    write_wheel(directory, "fixture-dep", "1.0", {"fixture_dep/__init__.py": "VALUE = 1\n"})
    write_wheel(directory, "second-dep", "2.0", {"second_dep/__init__.py": "VALUE = 2\n"})
    write_wheel(directory, "intruder", "1.0", {f"{FAKE_SERVICE}/handler.py": "HIJACKED = 1\n"})
    return directory


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Path:
    """A service depending on fixture-dep, built once (its layer cached in the repository)."""
    root = make_repo(tmp_path_factory.mktemp("built"), constraints=CONSTRAINTS)
    write_service(
        root,
        FAKE_SERVICE,
        dependencies=["fixture-dep"],
        modules={"domain/__init__.py": "", "domain/rules.py": "LIMIT = 1\n"},
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_offline_pip(monkeypatch, wheels)
        build_service(root, FAKE_SERVICE, target=X86_64)
    return root


@pytest.fixture
def repo(built: Path, wheels: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """This test's copy of the built repository (dist/ and .build/ included); pip offline."""
    use_offline_pip(monkeypatch, wheels)
    root = tmp_path / "repo"
    shutil.copytree(built, root, symlinks=True)
    return Repo(root)


@pytest.fixture
def pip_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The arguments of every pip command the build runs from now on."""
    runs: list[list[str]] = []
    run_pip = pip_install.run_pip

    def recording(args: list[str], *, cwd: Path) -> object:
        runs.append(args)
        return run_pip(args, cwd=cwd)

    monkeypatch.setattr(pip_install, "run_pip", recording)
    return runs


def from_scratch(repo: Repo, tmp_path: Path) -> bytes:
    """The zip a build of the current sources writes with no dist/ and no cached layer."""
    result = build_service(
        repo.root,
        FAKE_SERVICE,
        target=X86_64,
        dist_dir=tmp_path / "scratch-dist",
        cache_dir=tmp_path / "scratch-cache",
    )
    assert result.built
    return result.zip_path.read_bytes()


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def names(data: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "inspected.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


# --------------------------------------------------------------------------- no pip


def test_a_change_to_the_code_runs_no_pip_and_writes_the_scratch_builds_bytes(
    repo: Repo, pip_runs: list[list[str]], tmp_path: Path
) -> None:
    before = repo.zip_bytes()
    append(repo.package / "handler.py", "# one more line\n")
    (repo.package / "domain" / "limits.py").write_text("CEILING = 9\n", encoding="utf-8")
    (repo.package / "domain" / "rules.py").unlink()

    result = repo.build()

    assert result.built
    assert pip_runs == []
    rebuilt = repo.zip_bytes()
    assert rebuilt != before
    assert f"{FAKE_SERVICE}/domain/limits.py" in names(rebuilt, tmp_path)
    assert f"{FAKE_SERVICE}/domain/rules.py" not in names(rebuilt, tmp_path)
    assert rebuilt == from_scratch(repo, tmp_path)
    assert [args[0] for args in pip_runs] == ["install"]  # the scratch build's


def test_an_unchanged_service_is_skipped_without_pip(repo: Repo, pip_runs: list[list[str]]) -> None:
    before = repo.zip_bytes()

    result = repo.build()

    assert not result.built
    assert pip_runs == []
    assert repo.zip_bytes() == before


def test_going_back_to_earlier_dependencies_reuses_their_layer(
    repo: Repo, pip_runs: list[list[str]]
) -> None:
    first = repo.zip_bytes()
    repo.set_dependencies("fixture-dep", "second-dep")
    repo.build()
    repo.set_dependencies("fixture-dep")

    again = repo.build()

    assert again.built
    assert len(pip_runs) == 1  # for second-dep only
    assert repo.zip_bytes() == first


# --------------------------------------------------------------------------- pip


def test_a_dependency_change_runs_pip_once(
    repo: Repo, pip_runs: list[list[str]], tmp_path: Path
) -> None:
    repo.set_dependencies("fixture-dep", "second-dep")

    result = repo.build()

    assert result.built
    assert len(pip_runs) == 1
    assert pip_runs[0][0] == "install"
    assert pip_runs[0][-1].endswith("-py3-none-any.whl")
    assert "second_dep/__init__.py" in names(repo.zip_bytes(), tmp_path)
    assert repo.zip_bytes() == from_scratch(repo, tmp_path)


@pytest.mark.parametrize("change", ["constraints.txt", "target", "force"])
def test_pins_target_and_force_run_pip(repo: Repo, pip_runs: list[list[str]], change: str) -> None:
    target = X86_64
    if change == "constraints.txt":
        append(repo.root / "constraints.txt", "# reviewed\n")
    elif change == "target":
        target = LambdaTarget(python_version="3.11")

    result = repo.build(target=target, force=change == "force")

    assert result.built
    assert [args[0] for args in pip_runs] == ["install"]


# --------------------------------------------------------------------------- the cache


def test_the_layer_is_cached_under_build_lambda_deps_without_the_service(repo: Repo) -> None:
    (layer,) = repo.layer_files()

    assert LAYER_NAME.fullmatch(layer)
    with zipfile.ZipFile(repo.layers / layer) as archive:
        assert archive.namelist() == [
            "fixture_dep-1.0.dist-info/INSTALLER",
            "fixture_dep-1.0.dist-info/METADATA",
            "fixture_dep-1.0.dist-info/RECORD",
            "fixture_dep-1.0.dist-info/WHEEL",
            "fixture_dep/__init__.py",
        ]


def test_a_damaged_layer_is_built_again(
    repo: Repo, pip_runs: list[list[str]], tmp_path: Path
) -> None:
    (layer,) = repo.layer_files()
    data = bytearray((repo.layers / layer).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (repo.layers / layer).write_bytes(bytes(data))
    append(repo.package / "handler.py", "# one more line\n")

    repo.build()

    assert [args[0] for args in pip_runs] == ["install"]
    assert repo.layer_files() == [layer]
    assert repo.zip_bytes() == from_scratch(repo, tmp_path)


def test_the_cache_keeps_the_layers_used_last(repo: Repo, pip_runs: list[list[str]]) -> None:
    for number in range(LAYERS_KEPT + 1):
        append(repo.root / "constraints.txt", f"# revision {number}\n")
        repo.build()
    newest = repo.layer_files()
    append(repo.package / "handler.py", "# one more line\n")

    repo.build()

    assert LAYERS_KEPT == 3
    assert len(pip_runs) == 4
    assert len(newest) == 3
    assert repo.layer_files() == newest


# --------------------------------------------------------------------------- refusals


def test_service_files_that_pip_installs_otherwise_stop_the_build(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    def altered(service: str, wheel: ServiceWheel) -> list[ZipFileEntry]:
        return [
            ZipFileEntry(entry.name, entry.data + b"\n", entry.executable)
            if entry.name.endswith("/INSTALLER")
            else entry
            for entry in installed_entries(service, wheel)
        ]

    monkeypatch.setattr(lambda_zip, "installed_entries", altered)

    with pytest.raises(
        BuildError,
        match=r"pip installed the service's own files differently .* "
        r"differing: fake_fakesvc-0\.1\.0\.dist-info/INSTALLER",
    ):
        repo.build(force=True)


def test_a_dependency_shipping_a_service_file_is_refused(repo: Repo) -> None:
    repo.set_dependencies("fixture-dep", "intruder")

    with pytest.raises(
        BuildError, match=rf"the dependency intruder ships files of the service itself: "
        rf"{FAKE_SERVICE}/handler\.py"
    ):  # fmt: skip
        repo.build()


def test_a_service_module_shadowing_a_dependency_is_refused_without_pip(
    repo: Repo, pip_runs: list[list[str]]
) -> None:
    shadow = repo.service_dir / "src" / "fixture_dep"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("VALUE = 0\n", encoding="utf-8")

    with pytest.raises(
        BuildError, match=r"two files named 'fixture_dep/__init__\.py'.*ship the same file"
    ):
        repo.build()
    assert pip_runs == []


# --------------------------------------------------------------------------- .data


def test_a_wheels_scripts_are_dropped_as_pip_installs_them(
    repo: Repo, pip_runs: list[list[str]], tmp_path: Path
) -> None:
    """setuptools puts script-files into the wheel's .data/scripts; pip installs them to bin/,
    which the zip leaves out, with their RECORD rows."""
    (repo.service_dir / "bin").mkdir()
    (repo.service_dir / "bin" / "tool").write_text("#!python\nprint(1)\n", encoding="utf-8")
    append(repo.service_dir / "pyproject.toml", '[tool.setuptools]\nscript-files = ["bin/tool"]\n')
    scratch = from_scratch(repo, tmp_path)  # pip: checks the service's files against pip's
    append(repo.package / "handler.py", "# one more line\n")
    pip_runs.clear()

    repo.build()

    assert pip_runs == []
    shipped = names(repo.zip_bytes(), tmp_path)
    assert not [name for name in shipped if name.startswith("bin/") or ".data/" in name]
    with zipfile.ZipFile(repo.root / "dist" / f"{FAKE_SERVICE}.zip") as archive:
        record = archive.read(f"fake_{FAKE_SERVICE}-0.1.0.dist-info/RECORD").decode()
    assert "tool" not in record
    assert scratch != repo.zip_bytes()
    assert repo.zip_bytes() == from_scratch(repo, tmp_path / "again")


# --------------------------------------------------------------------------- real service


def test_a_one_line_change_to_the_api_handler_runs_no_pip(
    real_build: RealBuild, tmp_path: Path, pip_runs: list[list[str]]
) -> None:
    root = tmp_path / "repo"
    shutil.copytree(real_build.repo_root, root, symlinks=True)
    dist = tmp_path / "dist"
    shutil.copytree(real_build.dist_dir, dist)
    handler = root / "services" / "api_handler" / "src" / "api_handler" / "handler.py"
    append(handler, "# one more line\n")

    changed = build_service(root, "api_handler", target=X86_64, dist_dir=dist)
    scratch = build_service(
        root,
        "api_handler",
        target=X86_64,
        dist_dir=tmp_path / "scratch-dist",
        cache_dir=tmp_path / "scratch-cache",
    )

    assert changed.built
    assert [args[0] for args in pip_runs] == ["install"]  # the scratch build's
    assert changed.sha256 != real_build.results["api_handler"].sha256
    assert changed.zip_path.read_bytes() == scratch.zip_path.read_bytes()
