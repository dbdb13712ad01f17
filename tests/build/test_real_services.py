"""The real services' zips, built once per session (see conftest.real_build)."""

from __future__ import annotations

import csv
import json
import posixpath
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.build.support import REAL_SERVICES, REPO_ROOT, X86_64, RealBuild
from tooling.build.lambda_zip import (
    MANIFEST_NAME,
    ZIP_TIMESTAMP,
    LambdaTarget,
    build_service,
)

RUNTIME_PROVIDED_TOP_LEVEL = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "six",
    "urllib3",
)
RUNTIME_PROVIDED_DIST_INFO = re.compile(
    r"(boto3|botocore|s3transfer|jmespath|python_dateutil|six|urllib3)-[^/]+\.dist-info/"
)

each_service = pytest.mark.parametrize("service", REAL_SERVICES)


def entries(real_build: RealBuild, service: str) -> list[zipfile.ZipInfo]:
    with zipfile.ZipFile(real_build.results[service].zip_path) as archive:
        return archive.infolist()


def names(real_build: RealBuild, service: str) -> list[str]:
    return [info.filename for info in entries(real_build, service)]


def read(real_build: RealBuild, service: str, name: str) -> bytes:
    with zipfile.ZipFile(real_build.results[service].zip_path) as archive:
        return archive.read(name)


@each_service
def test_zip_contains_the_handler_module(real_build: RealBuild, service: str) -> None:
    assert f"{service}/__init__.py" in names(real_build, service)
    assert f"{service}/handler.py" in names(real_build, service)


@each_service
def test_zip_contains_the_non_runtime_dependencies(real_build: RealBuild, service: str) -> None:
    shipped = names(real_build, service)

    assert "aws_lambda_powertools/__init__.py" in shipped
    assert "pydantic/__init__.py" in shipped
    assert "pydantic_core/__init__.py" in shipped
    assert "pydantic_core/_pydantic_core.cpython-312-x86_64-linux-gnu.so" in shipped
    (wheel_file,) = [name for name in shipped if re.fullmatch(r"pydantic_core-[^/]+/WHEEL", name)]
    tags = re.findall(r"^Tag: (\S+)$", read(real_build, service, wheel_file).decode(), re.M)
    assert tags
    assert all(re.fullmatch(r"cp312-cp312-manylinux\w*_x86_64", tag) for tag in tags), tags


@each_service
def test_zip_leaves_out_what_the_runtime_provides(real_build: RealBuild, service: str) -> None:
    shipped = names(real_build, service)

    top_level = {name.split("/")[0].removesuffix(".py") for name in shipped}
    assert top_level.isdisjoint(RUNTIME_PROVIDED_TOP_LEVEL), top_level
    assert not [name for name in shipped if RUNTIME_PROVIDED_DIST_INFO.match(name)]


@each_service
def test_zip_has_no_bytecode_tests_or_scripts(real_build: RealBuild, service: str) -> None:
    shipped = names(real_build, service)

    assert not [
        name for name in shipped if "__pycache__" in name or name.endswith((".pyc", ".pyo"))
    ]
    assert not [name for name in shipped if name.split("/")[0] in ("tests", "test", "bin")]
    service_tests = [
        name
        for name in shipped
        if name.startswith(f"{service}/") and {"tests", "test"} & set(name.split("/"))
    ]
    assert not service_tests


@each_service
def test_zip_entries_are_sorted_with_fixed_metadata(real_build: RealBuild, service: str) -> None:
    infos = entries(real_build, service)

    assert [info.filename for info in infos] == sorted(info.filename for info in infos)
    assert not [info.filename for info in infos if info.is_dir()]
    assert {info.date_time for info in infos} == {ZIP_TIMESTAMP}
    assert {info.compress_type for info in infos} == {zipfile.ZIP_DEFLATED}
    assert {info.create_system for info in infos} == {3}
    assert {info.external_attr >> 16 for info in infos} <= {0o100644, 0o100755}


@each_service
def test_zip_names_no_path_of_the_build_machine(real_build: RealBuild, service: str) -> None:
    machine_paths = {
        str(REPO_ROOT),
        str(real_build.repo_root),
        str(real_build.dist_dir),
        sys.prefix,
        f"{tempfile.gettempdir()}/lambda-build-",
        "/pip-target-",
        "/pip-install-",
    }
    leaks = []
    with zipfile.ZipFile(real_build.results[service].zip_path) as archive:
        for info in archive.infolist():
            assert not info.filename.startswith("/")
            assert ".." not in info.filename.split("/")
            data = archive.read(info)
            leaks += [(info.filename, path) for path in machine_paths if path.encode() in data]
    assert not leaks


@each_service
def test_shipped_records_list_only_shipped_files(real_build: RealBuild, service: str) -> None:
    shipped = set(names(real_build, service))
    records = [name for name in shipped if name.endswith(".dist-info/RECORD")]

    assert records
    for record in records:
        rows = csv.reader(read(real_build, service, record).decode().splitlines())
        listed = {posixpath.normpath(row[0]) for row in rows if row}
        assert listed <= shipped, (record, listed - shipped)
    assert not [name for name in shipped if name.endswith(("/direct_url.json", "/REQUESTED"))]


@each_service
def test_manifest_records_each_zip(real_build: RealBuild, service: str) -> None:
    text = (real_build.dist_dir / MANIFEST_NAME).read_text(encoding="utf-8")
    manifest = json.loads(text)
    result = real_build.results[service]

    assert text == json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    assert manifest["services"][service] == {
        "input_hash": result.input_hash,
        "sha256": result.sha256,
        "size_bytes": result.zip_path.stat().st_size,
        "target": X86_64.describe(),
        "version": pyproject_version(service),
        "zip": f"{service}.zip",
    }


def pyproject_version(service: str) -> str:
    text = (REPO_ROOT / "services" / service / "pyproject.toml").read_text(encoding="utf-8")
    return str(tomllib.loads(text)["project"]["version"])


@each_service
def test_manifest_version_is_the_pyproject_version_the_zip_ships(
    real_build: RealBuild, service: str
) -> None:
    result = real_build.results[service]
    (metadata,) = [n for n in names(real_build, service) if n.endswith(".dist-info/METADATA")
                   and n.startswith("trading_")]  # fmt: skip
    headers = read(real_build, service, metadata).decode("utf-8").split("\n\n")[0].splitlines()

    assert result.version == pyproject_version(service)
    assert f"Version: {result.version}" in headers
    again = build_service(
        real_build.repo_root, service, target=X86_64, dist_dir=real_build.dist_dir
    )
    assert (again.built, again.version) == (False, result.version)


@each_service
def test_second_build_without_changes_does_no_work(real_build: RealBuild, service: str) -> None:
    first = real_build.results[service]
    modified = first.zip_path.stat().st_mtime_ns

    again = build_service(
        real_build.repo_root, service, target=X86_64, dist_dir=real_build.dist_dir
    )

    assert first.built
    assert not again.built
    assert (again.sha256, again.input_hash) == (first.sha256, first.input_hash)
    assert again.zip_path.stat().st_mtime_ns == modified


@each_service
def test_handler_imports_from_the_unpacked_zip_alone(
    real_build: RealBuild, service: str, python312: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(real_build.results[service].zip_path) as archive:
        archive.extractall(unpacked)
    # -I ignores PYTHONPATH, so the Lambda path (/var/task, then the runtime's) is set here.
    script = (
        "import importlib, sys\n"
        "sys.path[:0] = sys.argv[1:3]\n"
        "module = importlib.import_module(sys.argv[3])\n"
        "assert callable(module.lambda_handler), 'lambda_handler is not callable'\n"
        "import pydantic_core\n"
        "print(module.__file__)\n"
        "print(pydantic_core.__file__)\n"
    )

    completed = subprocess.run(
        [
            str(python312),
            "-I",
            "-S",
            "-c",
            script,
            str(unpacked),
            str(runtime_dir),
            f"{service}.handler",
        ],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    handler_file, core_file = completed.stdout.split()
    assert Path(handler_file) == unpacked / service / "handler.py"
    assert Path(core_file).is_relative_to(unpacked)


@pytest.mark.parametrize("service", ["processor"])
def test_force_rebuilds_a_byte_identical_zip(real_build: RealBuild, service: str) -> None:
    first = real_build.results[service]

    rebuilt = build_service(
        real_build.repo_root, service, target=X86_64, force=True, dist_dir=real_build.dist_dir
    )

    assert rebuilt.built
    assert (rebuilt.sha256, rebuilt.size_bytes) == (first.sha256, first.size_bytes)


@pytest.mark.parametrize("service", ["processor"])
def test_arm64_build_ships_aarch64_binaries(
    real_build: RealBuild, service: str, tmp_path: Path
) -> None:
    arm64 = LambdaTarget(python_version="3.12", architecture="arm64")

    result = build_service(real_build.repo_root, service, target=arm64, dist_dir=tmp_path)

    with zipfile.ZipFile(result.zip_path) as archive:
        shipped = archive.namelist()
    assert "pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so" in shipped
    assert not [name for name in shipped if "x86_64" in name]
    assert result.input_hash != real_build.results[service].input_hash


def test_build_all_builds_each_service_in_name_order(real_build: RealBuild) -> None:
    assert list(real_build.results) == sorted(REAL_SERVICES)
    assert all(result.built for result in real_build.results.values())
    assert all(
        result.zip_path == real_build.dist_dir / f"{name}.zip"
        for name, result in real_build.results.items()
    )
