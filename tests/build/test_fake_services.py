"""Builds of small fake services in temporary repositories, with pip offline."""

from __future__ import annotations

import csv
import json
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.build.support import (
    FAKE_SERVICE,
    X86_64,
    make_repo,
    use_offline_pip,
    write_service,
    write_wheel,
)
from tooling.build import lambda_zip
from tooling.build.lambda_zip import (
    MANIFEST_NAME,
    BuildError,
    LambdaTarget,
    build_all,
    build_service,
    compute_input_hash,
)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with one dependency-free fake service; pip offline."""
    use_offline_pip(monkeypatch, tmp_path / "wheels")
    root = make_repo(tmp_path / "repo")
    write_service(root, FAKE_SERVICE)
    return root


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_changing_a_source_file_changes_the_input_hash_and_rebuilds(repo: Path) -> None:
    first = build_service(repo, FAKE_SERVICE, target=X86_64)
    module = repo / "services" / FAKE_SERVICE / "src" / FAKE_SERVICE / "handler.py"
    module.write_text(module.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")

    second = build_service(repo, FAKE_SERVICE, target=X86_64)

    assert second.built
    assert second.input_hash != first.input_hash
    assert second.sha256 != first.sha256


def test_a_change_to_one_service_rebuilds_only_its_zip(repo: Path) -> None:
    write_service(repo, "another")
    first = {result.service: result for result in build_all(repo, target=X86_64)}
    untouched = (repo / "dist" / "another.zip").stat().st_mtime_ns
    module = repo / "services" / FAKE_SERVICE / "src" / FAKE_SERVICE / "handler.py"
    module.write_text(module.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")

    second = {result.service: result for result in build_all(repo, target=X86_64)}

    assert (second[FAKE_SERVICE].built, second["another"].built) == (True, False)
    assert second["another"].sha256 == first["another"].sha256
    assert (repo / "dist" / "another.zip").stat().st_mtime_ns == untouched
    manifest = json.loads((repo / "dist" / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["services"]["another"]["sha256"] == first["another"].sha256
    assert {entry["version"] for entry in manifest["services"].values()} == {"0.1.0"}


def test_files_outside_the_build_inputs_leave_the_input_hash_alone(repo: Path) -> None:
    before = compute_input_hash(repo, FAKE_SERVICE, target=X86_64)
    service_dir = repo / "services" / FAKE_SERVICE
    package_dir = service_dir / "src" / FAKE_SERVICE
    for relative in (
        "tests/test_handler.py",
        "build/lib/fakesvc/handler.py",
        ".pytest_cache/v/cache/lastfailed",
        f"src/fake_{FAKE_SERVICE}.egg-info/PKG-INFO",
        f"src/{FAKE_SERVICE}/__pycache__/handler.cpython-312.pyc",
        f"src/{FAKE_SERVICE}/tests/test_inner.py",
    ):
        (service_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (service_dir / relative).write_text("x", encoding="utf-8")
    (package_dir / "stray.pyc").write_bytes(b"x")

    assert compute_input_hash(repo, FAKE_SERVICE, target=X86_64) == before


def test_constraints_target_and_builder_source_are_build_inputs(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = compute_input_hash(repo, FAKE_SERVICE, target=X86_64)
    arm64 = compute_input_hash(repo, FAKE_SERVICE, target=LambdaTarget(architecture="arm64"))
    py311 = compute_input_hash(repo, FAKE_SERVICE, target=LambdaTarget(python_version="3.11"))
    builder = tmp_path / "lambda_zip.py"
    builder.write_bytes(lambda_zip.BUILDER_SOURCE.read_bytes() + b"# changed\n")
    monkeypatch.setattr(lambda_zip, "BUILDER_SOURCE", builder)
    changed_builder = compute_input_hash(repo, FAKE_SERVICE, target=X86_64)
    monkeypatch.undo()
    (repo / "constraints.txt").write_text("six==1.17.0\n", encoding="utf-8")
    changed_constraints = compute_input_hash(repo, FAKE_SERVICE, target=X86_64)

    assert len({base, arm64, py311, changed_builder, changed_constraints}) == 5


def test_force_rebuilds_an_up_to_date_zip_byte_identically(repo: Path) -> None:
    first = build_service(repo, FAKE_SERVICE, target=X86_64)
    skipped = build_service(repo, FAKE_SERVICE, target=X86_64)

    forced = build_service(repo, FAKE_SERVICE, target=X86_64, force=True)

    assert (first.built, skipped.built, forced.built) == (True, False, True)
    assert first.sha256 == skipped.sha256 == forced.sha256


def test_a_deleted_or_altered_zip_is_rebuilt(repo: Path) -> None:
    first = build_service(repo, FAKE_SERVICE, target=X86_64)
    first.zip_path.unlink()
    after_delete = build_service(repo, FAKE_SERVICE, target=X86_64)
    with first.zip_path.open("ab") as stream:
        stream.write(b"tampered")
    after_tamper = build_service(repo, FAKE_SERVICE, target=X86_64)

    assert after_delete.built
    assert after_tamper.built
    assert after_tamper.sha256 == first.sha256


def test_dependency_with_only_an_sdist_fails_naming_it(repo: Path, tmp_path: Path) -> None:
    service_dir = write_service(repo, "sdistdep", dependencies=["sdist-only-fixture"])
    sdist = tmp_path / "wheels" / "sdist_only_fixture-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        archive.add(service_dir / "pyproject.toml", arcname="sdist_only_fixture-1.0/pyproject.toml")
    write_wheel(tmp_path / "wheels", "sdist-only-fixture", "1.0", {}, tag="py3-none-win_amd64")

    with pytest.raises(BuildError, match=r"dependency 'sdist-only-fixture' has no wheel"):
        build_service(repo, "sdistdep", target=X86_64)
    assert not (repo / "dist" / "sdistdep.zip").exists()


def test_nonexistent_dependency_fails_naming_it(repo: Path) -> None:
    write_service(repo, "ghostdep", dependencies=["definitely-not-a-real-package-xyz"])

    with pytest.raises(BuildError, match=r"'definitely-not-a-real-package-xyz'"):
        build_service(repo, "ghostdep", target=X86_64)


def test_dependency_not_pinned_in_constraints_fails_naming_it(repo: Path, tmp_path: Path) -> None:
    write_wheel(tmp_path / "wheels", "loose-dep", "2.0", {"loose_dep/__init__.py": ""})
    write_service(repo, "loosesvc", dependencies=["loose-dep"])

    with pytest.raises(BuildError, match=r"not pinned .*loose-dep==2\.0"):
        build_service(repo, "loosesvc", target=X86_64)


def test_unknown_service_fails_listing_the_known_ones(repo: Path) -> None:
    with pytest.raises(BuildError, match=rf"no service 'nosuch'.*{FAKE_SERVICE}"):
        build_service(repo, "nosuch", target=X86_64)


def test_service_without_its_import_package_fails(repo: Path) -> None:
    service_dir = write_service(repo, "misnamed")
    (service_dir / "src" / "misnamed").rename(service_dir / "src" / "othername")

    with pytest.raises(BuildError, match=r"no package or module 'misnamed'"):
        build_service(repo, "misnamed", target=X86_64)


def test_build_all_builds_services_with_a_pyproject_into_dist(repo: Path) -> None:
    write_service(repo, "another")
    (repo / "services" / "notaservice").mkdir()

    results = build_all(repo, target=X86_64)

    assert [result.service for result in results] == ["another", FAKE_SERVICE]
    manifest = json.loads((repo / "dist" / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert sorted(manifest["services"]) == ["another", FAKE_SERVICE]
    assert sorted(path.name for path in (repo / "dist").iterdir()) == sorted(
        [MANIFEST_NAME, "another.zip", f"{FAKE_SERVICE}.zip"]
    )


# --- a fake service with (fake) dependencies, built once for this module ---------------------


@pytest.fixture(scope="module")
def with_deps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The zip of a service depending on a fake ``six`` and a pinned ``fixture-dep``.

    The fake six ships a module named unlike six (so only its RECORD tells it is six's);
    fixture-dep has a console script and the service a ``tests`` package.
    """
    root = tmp_path_factory.mktemp("deps")
    wheels = root / "wheels"
    write_wheel(wheels, "six", "1.17.0", {"six.py": "", "not_named_six/__init__.py": ""})
    write_wheel(
        wheels,
        "fixture-dep",
        "1.0",
        {"fixture_dep/__init__.py": "def main():\n    return 0\n"},
        entry_points="[console_scripts]\nfixture-dep = fixture_dep:main\n",
    )
    repo = make_repo(root / "repo", constraints="six==1.17.0\nfixture-dep==1.0\n")
    write_service(
        repo,
        FAKE_SERVICE,
        dependencies=["six", "fixture-dep"],
        modules={"tests/__init__.py": "", "tests/test_it.py": "def test(): pass\n"},
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_offline_pip(monkeypatch, wheels)
        yield build_service(repo, FAKE_SERVICE, target=X86_64).zip_path


def test_runtime_provided_distribution_is_removed_by_its_record(with_deps: Path) -> None:
    shipped = zip_names(with_deps)

    assert "fixture_dep/__init__.py" in shipped
    assert not [name for name in shipped if name.startswith(("six", "not_named_six/"))]


def test_console_scripts_and_pip_install_files_are_dropped(with_deps: Path) -> None:
    shipped = zip_names(with_deps)
    with zipfile.ZipFile(with_deps) as archive:
        record = archive.read("fixture_dep-1.0.dist-info/RECORD").decode()
    listed = [row[0] for row in csv.reader(record.splitlines()) if row]

    assert not [name for name in shipped if name.startswith("bin/")]
    assert not [name for name in shipped if name.endswith(("/REQUESTED", "/direct_url.json"))]
    assert "fixture_dep/__init__.py" in listed
    assert not [path for path in listed if "bin/" in path]


def test_the_service_tests_package_is_not_shipped(with_deps: Path) -> None:
    shipped = zip_names(with_deps)

    assert f"{FAKE_SERVICE}/handler.py" in shipped
    assert not [name for name in shipped if name.startswith(f"{FAKE_SERVICE}/tests")]
