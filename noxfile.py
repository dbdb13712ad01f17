"""Test sessions (``./tap test`` runs them all, as CI does; ``./tap test --session unit`` one).

Every session runs in the one pinned environment ``./tap`` maintains (.venv): the provider
bindings alone are ~450 MB, and a per-session virtualenv would install them again for nothing.
Measured: a fresh per-session install took ~70 s per session here, reuse takes 0 s.
"""

from __future__ import annotations

import os
import sys

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "unit", "moto", "synth", "security", "e2e"]
nox.options.error_on_missing_interpreters = True

PYTHON = sys.executable
SERVICES = ("services/processor", "services/api_handler")
TYPED_PATHS = ("infra/src", "services/processor/src", "services/api_handler/src", "tooling",
               "tasks.py", "noxfile.py")  # fmt: skip
QUIET_JSII = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": os.environ.get("TAP_NODE_MAJOR", "20"),
    "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
}


def _pytest(session: nox.Session, *args: str) -> None:
    session.run(PYTHON, "-m", "pytest", "-q", *args, *session.posargs, env=QUIET_JSII)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and mypy --strict over all Python code."""
    session.run(PYTHON, "-m", "ruff", "check", ".")
    session.run(PYTHON, "-m", "ruff", "format", "--check", ".")
    session.run(PYTHON, "-m", "mypy", *TYPED_PATHS)


@nox.session(python=False)
def unit(session: nox.Session) -> None:
    """Domain tests of both services (fakes, no AWS) and the infra specification tests."""
    for service in SERVICES:
        _pytest(session, f"{service}/tests", "-m", "not moto")
    _pytest(session, "tests/infra")


@nox.session(python=False)
def moto(session: nox.Session) -> None:
    """Adapter and handler tests against moto, and the local emulator's launcher patches."""
    for service in SERVICES:
        _pytest(session, f"{service}/tests", "-m", "moto")
    _pytest(session, "tests/tooling")


@nox.session(python=False)
def synth(session: nox.Session) -> None:
    """Reproducible Lambda builds, then synth and `terraform validate` of every stack."""
    _pytest(session, "tests/build")
    session.run(PYTHON, "-m", "invoke", "validate", "--env", "all", env=QUIET_JSII)


#: The e2e modules, listed (not the whole of tests/e2e) so that a module is part of CI only once
#: it is ready. Each deploys to its own fresh emulator and destroys what it deployed.
E2E_MODULES = (
    "tests/e2e/test_platform.py",  # dev: ingest, API, controls, re-plan, locking, destroy
    "tests/e2e/test_environments.py",  # dev and prod side by side: names, profiles, state
    "tests/e2e/test_multi_region.py",  # global: three regions, global data, live drift (~15 min)
)


@nox.session(python=False)
def e2e(session: nox.Session) -> None:
    """Deploy to the local emulator, exercise it end to end, destroy it (E2E_MODULES)."""
    _pytest(session, *E2E_MODULES, "-m", "e2e")


SECURITY_CONSTRAINTS = "constraints-security.txt"
SECURITY_REPORTS = ".build/security"


def _install_security_tools(session: nox.Session) -> None:
    # nox reuses this virtualenv; pip runs only when constraints-security.txt changed (~60 s once).
    import hashlib
    from pathlib import Path

    wanted = hashlib.sha256(Path(SECURITY_CONSTRAINTS).read_bytes()).hexdigest()
    marker = Path(session.virtualenv.location) / ".tap-security-inputs"
    if marker.is_file() and marker.read_text(encoding="utf-8") == wanted:
        return
    session.install("--quiet", "-c", SECURITY_CONSTRAINTS, "checkov")
    marker.write_text(wanted, encoding="utf-8")


@nox.session(venv_backend="venv", reuse_venv=True)
def security(session: nox.Session) -> None:
    """checkov (pinned, offline) on every aws stack, secrets scan, accepted-findings tests."""
    _install_security_tools(session)
    session.run(PYTHON, "-m", "invoke", "synth", "--env", "all", "--target", "aws",
                env=QUIET_JSII, external=True)  # fmt: skip
    session.run(PYTHON, "-m", "tooling.security", "--bin", session.bin,
                "--reports", SECURITY_REPORTS, external=True)  # fmt: skip
    session.run(PYTHON, "-m", "pytest", "-q", "tests/security", *session.posargs,
                env={"TAP_SECURITY_REPORTS": SECURITY_REPORTS}, external=True)  # fmt: skip
