"""Test sessions (``./tap test`` runs them all, as CI does; ``./tap test --session unit`` one).

Every session runs in the one pinned environment ``./tap`` maintains (.venv): the provider
bindings alone are ~450 MB, and a per-session virtualenv would install them again for nothing.


Two kinds of session have a virtualenv of their own: ``security`` (checkov's pins clash with the
toolchain's) and one per Lambda service (``processor``, ``api_handler``), which holds only that
package and its ``test`` extra, to prove that the service is developed and tested without the
infrastructure toolchain (services/<service>/README.md, "Develop this service"). nox makes and
fills those with uv when it finds it (``.venv`` has it: seconds instead of a minute of pip per
session), else with venv and pip.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nox

# The repository's tooling, however nox was started (`python -m nox` has it on sys.path from
# the working directory; the `nox` script does not).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tooling.build.lambda_zip import service_files
from tooling.e2e_lanes import Lane, run_lanes, summary

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "unit", "moto", "synth", "security", "e2e", "processor",
                        "api_handler"]  # fmt: skip
nox.options.error_on_missing_interpreters = True
#: How `./tap test` (= CI) runs the suite: each chain a nox process, its sessions one after the
#: other, the chains side by side (tooling/test_suite.py). e2e mostly waits on deploys; the other
#: two chains take about as long as each other (measured: the slowest tests of each session are in
#: every CI log). `synth` validates the aws stacks in cdktf.out and `security` scans them after it
#: (its synth finds them up to date and is skipped): they stay in one chain, in this order.
SUITE_CHAINS = (
    ("e2e",),
    ("lint", "unit", "synth", "security"),
    ("moto", "processor", "api_handler"),
)

PYTHON = sys.executable
TYPED_PATHS = ("infra/src", "services/processor/src", "services/api_handler/src", "tooling",
               "tasks.py", "noxfile.py")  # fmt: skip
QUIET_JSII = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": os.environ.get("TAP_NODE_MAJOR", "20"),
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
}


def _pytest(session: nox.Session, *args: str) -> None:
    # The slowest tests in every CI log: where the next minute of CI time is to be found.
    session.run(
        PYTHON, "-m", "pytest", "-q", "--durations=15", *args, *session.posargs, env=QUIET_JSII
    )


#: `npm ci` of the Node tools that tests run (tests/node_tools.py: mermaid's parser for `unit`,
#: the cdktf CLI for `synth`), once per lockfile. Started with `lint`, the first session of their
#: chain, its half a minute of waiting on the network and the disk passes beside mypy instead of
#: inside a test; the tests install whatever is still missing themselves and report npm's errors.
NODE_TOOLS = (PYTHON, "-m", "tests.node_tools")


@contextmanager
def _beside(session: nox.Session, command: tuple[str, ...]) -> Iterator[None]:
    """Run ``command`` while the body runs; log its output once both ended (never fails)."""
    log = Path(session.create_tmp()) / "beside.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    try:
        yield
    finally:
        process.wait()
        for line in log.read_text(encoding="utf-8").splitlines():
            session.log(line)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff, ruff format --check, mypy --strict, no import cycle, no oversized module or
    function, actionlint on the workflows; beside it NODE_TOOLS' npm ci."""
    with _beside(session, NODE_TOOLS):
        session.run(PYTHON, "-m", "ruff", "check", ".")
        session.run(PYTHON, "-m", "ruff", "format", "--check", ".")
        session.run(PYTHON, "-m", "mypy", *TYPED_PATHS)
        session.run(PYTHON, "-m", "tooling.import_cycles")
        session.run(PYTHON, "-m", "tooling.code_size")
        # the workflows (.github/workflows), with the actionlint of requirements-dev.txt
        session.run(str(Path(PYTHON).parent / "actionlint"), external=True)


# The services' own tests run in their sessions (``processor``, ``api_handler``), against the
# installed package in a virtualenv of only it: the stricter of the two places, and once is enough.


@nox.session(python=False)
def unit(session: nox.Session) -> None:
    """The infra specification: assertions on the synthesized JSON, the diagrams, the docs."""
    _pytest(session, "tests/infra")


@nox.session(python=False)
def moto(session: nox.Session) -> None:
    """The tooling against moto: the local emulator (runtime, patches, HTTP API), the lifecycle."""
    _pytest(session, "tests/tooling")


@nox.session(python=False)
def synth(session: nox.Session) -> None:
    """Reproducible Lambda builds, then synth and `terraform validate` of every stack as it is
    deployed to AWS (the aws target: e2e applies the local target's stacks with terraform)."""
    _pytest(session, "tests/build")
    session.run(PYTHON, "-m", "invoke", "validate", "--env", "all", "--target", "aws",
                env=QUIET_JSII)  # fmt: skip


#: The e2e modules by lane, listed (not the whole of tests/e2e) so that a module is part of CI
#: only once it is ready. With TAP_E2E_LANES=1 the lanes run side by side (tooling/e2e_lanes.py),
#: each on an emulator of its own, a lane's modules one after the other; grouped so that the lanes
#: take about as long as each other. Each lane deploys what it tests and destroys it.
E2E_LANES = (
    Lane("global", ("tests/e2e/test_multi_region.py",)),  # three regions, global data, drift
    Lane("crash", ("tests/e2e/test_crash_recovery.py",)),  # killed mid-deploy/destroy, Ctrl-C
    Lane(  # one deployment of dev and prod (tests/e2e/conftest.py), these modules in this order
        "dev",
        (
            "tests/e2e/test_environments.py",  # dev and prod side by side: names, profiles, state
            "tests/e2e/test_platform.py",  # dev: ingest, API, controls, locking, re-plan, new code
            "tests/e2e/test_handler_loop.py",  # dev: ./tap sync, ./tap invoke --sample, --debug
            "tests/e2e/test_destroy.py",  # destroying both leaves nothing of either
        ),
    ),
)
E2E_MODULES = tuple(module for lane in E2E_LANES for module in lane.modules)
#: ``TAP_E2E_LANES=1`` runs the lanes side by side (``./tap test`` sets it, also for ``--session
#: e2e``; ``./tap test --sequential`` does not). Without it every module runs in one pytest, one
#: after the other.
E2E_LANES_ENV = "TAP_E2E_LANES"


@nox.session(python=False)
def e2e(session: nox.Session) -> None:
    """Deploy to the local emulator, exercise it end to end, destroy it (E2E_LANES, in order)."""
    command = (PYTHON, "-m", "pytest", "-q", "-m", "e2e", *session.posargs)
    if os.environ.get(E2E_LANES_ENV, "").strip() != "1":
        session.run(*command, *E2E_MODULES, env=QUIET_JSII)
        return
    results = run_lanes(
        E2E_LANES, command, root=Path.cwd(), env={**os.environ, **QUIET_JSII}, out=sys.stdout
    )
    for line in summary(results):
        session.log(line)
    failed = [result.lane.name for result in results if not result.passed]
    if failed:
        session.error(f"e2e lane(s) failed: {', '.join(failed)} (their lines are prefixed)")


SECURITY_CONSTRAINTS = "constraints-security.txt"
SECURITY_REPORTS = ".build/security"


def _install_security_tools(session: nox.Session) -> None:
    # nox reuses this virtualenv; the install runs only when constraints-security.txt changed.
    import hashlib
    from pathlib import Path

    wanted = hashlib.sha256(Path(SECURITY_CONSTRAINTS).read_bytes()).hexdigest()
    marker = Path(session.virtualenv.location) / ".tap-security-inputs"
    if marker.is_file() and marker.read_text(encoding="utf-8") == wanted:
        return
    session.install("--quiet", "-c", SECURITY_CONSTRAINTS, "checkov")
    marker.write_text(wanted, encoding="utf-8")


@nox.session(venv_backend="uv|venv", reuse_venv=True)
def security(session: nox.Session) -> None:
    """checkov (pinned, offline) on every aws stack, secrets scan, accepted-findings tests."""
    _install_security_tools(session)
    session.run(PYTHON, "-m", "invoke", "synth", "--env", "all", "--target", "aws",
                env=QUIET_JSII, external=True)  # fmt: skip
    session.run(PYTHON, "-m", "tooling.security", "--bin", session.bin,
                "--reports", SECURITY_REPORTS, external=True)  # fmt: skip
    session.run(PYTHON, "-m", "pytest", "-q", "tests/security", *session.posargs,
                env={"TAP_SECURITY_REPORTS": SECURITY_REPORTS}, external=True)  # fmt: skip


# ------------------------------------------------------------------ each service on its own

CONSTRAINTS = "constraints.txt"
#: Set by a service's session; its tests/test_standalone.py then checks the environment.
STANDALONE_VARIABLE = "TAP_STANDALONE_SERVICE"


def _tree_sha256(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _install_service(session: nox.Session, service: str) -> None:
    """Install services/<service> (not editable) with its ``test`` extra, only when needed.

    The package is built from a copy of the files its Lambda zip is built from
    (:func:`tooling.build.lambda_zip.service_files`: no tests, caches or earlier builds) in the
    session's tmp dir, so that setuptools' build/ and egg-info never land in the working tree.
    The extra's dependencies are installed when constraints.txt or the pyproject changed (the
    first run); after a change to the service's source only the package itself is reinstalled;
    otherwise nothing runs.
    """
    top = str(Path("services", service))
    source = Path(session.create_tmp()) / "source" / service
    shutil.rmtree(source, ignore_errors=True)
    for relative, path in service_files(Path(top)):  # exactly what the Lambda build reads
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, source / relative)
    wanted = _tree_sha256(source)  # before pip writes build/ and *.egg-info into the copy
    venv = Path(session.virtualenv.location)
    dependencies = hashlib.sha256(
        Path(CONSTRAINTS).read_bytes() + b"\0" + (source / "pyproject.toml").read_bytes()
    ).hexdigest()
    dependencies_marker = venv / ".tap-service-dependencies"
    source_marker = venv / ".tap-service-source"
    if not dependencies_marker.is_file() or dependencies_marker.read_text() != dependencies:
        source_marker.unlink(missing_ok=True)
        session.install("--quiet", "-c", CONSTRAINTS, "setuptools", "wheel")
        session.install("--quiet", "--no-build-isolation", "-c", CONSTRAINTS, f"{source}[test]")
        dependencies_marker.write_text(dependencies)
    if not source_marker.is_file() or source_marker.read_text() != wanted:
        session.install("--quiet", "--no-build-isolation", "--no-deps", "--force-reinstall",
                        str(source))  # fmt: skip
        source_marker.write_text(wanted)


def _service_checks(session: nox.Session, service: str) -> None:
    folder = f"services/{service}"
    _install_service(session, service)
    session.run("ruff", "check", folder)
    session.run("ruff", "format", "--check", folder)
    session.run("mypy", "--config-file", "pyproject.toml", "--cache-dir",
                str(Path(session.virtualenv.location) / ".mypy_cache"),
                f"{folder}/src", f"{folder}/tests")  # fmt: skip
    # From the service's folder: its pyproject's pytest settings apply, and neither the
    # repository root (tooling/, tasks.py) nor src/ is on sys.path: the installed copy is tested.
    with session.chdir(folder):
        session.run("pytest", "-q", "tests", *session.posargs, env={STANDALONE_VARIABLE: service})


@nox.session(venv_backend="uv|venv", reuse_venv=True)
def processor(session: nox.Session) -> None:
    """The processor alone: ruff, mypy --strict, all its tests, in a venv of only it + [test]."""
    _service_checks(session, "processor")


@nox.session(venv_backend="uv|venv", reuse_venv=True)
def api_handler(session: nox.Session) -> None:
    """The api_handler alone: ruff, mypy --strict, all its tests, in a venv of only it + [test]."""
    _service_checks(session, "api_handler")
