"""Session fixtures: the real services built once, the runtime's libraries, CPython 3.12."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.build.support import REPO_ROOT, X86_64, RealBuild
from tooling.build.lambda_zip import build_all
from tooling.emulator.runtime.interpreters import find_cpython


@pytest.fixture(scope="session")
def real_build(tmp_path_factory: pytest.TempPathFactory) -> RealBuild:
    """Build the real services once per session.

    The services are being edited while tests run, so they are built from a snapshot
    (services/ and constraints.txt copied to a temporary repository root): the tests compare
    builds of the same inputs, and the real tree is never written to.
    """
    snapshot = tmp_path_factory.mktemp("repo")
    shutil.copy2(REPO_ROOT / "constraints.txt", snapshot / "constraints.txt")
    shutil.copytree(
        REPO_ROOT / "services",
        snapshot / "services",
        ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", "*.egg-info", ".*_cache", "build", "dist"
        ),
    )
    dist_dir = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    results = build_all(snapshot, target=X86_64, dist_dir=dist_dir)
    seconds = time.monotonic() - started
    return RealBuild(snapshot, dist_dir, {result.service: result for result in results}, seconds)


@pytest.fixture(scope="session")
def python312() -> Path:
    """The CPython 3.12 interpreter (Lambda's python3.12 runtime) of this machine."""
    interpreter = find_cpython("3.12")
    if interpreter is None:
        pytest.fail(
            "CPython 3.12 is needed to import the cp312 Lambda zips (python3.12 on PATH, a "
            "pyenv 3.12 install, or TAP_PYTHON_3_12); install it rather than skipping"
        )
    return interpreter


@pytest.fixture(scope="session")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory, real_build: RealBuild) -> Path:
    """What the Lambda runtime provides: boto3 and its dependencies, pinned by constraints."""
    target = tmp_path_factory.mktemp("runtime")
    platforms = [arg for tag in X86_64.pip_platforms for arg in ("--platform", tag)]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--target",
            str(target),
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            X86_64.python_version,
            *platforms,
            "-c",
            str(real_build.repo_root / "constraints.txt"),
            "boto3",
        ],
        check=True,
        capture_output=True,
    )
    return target
