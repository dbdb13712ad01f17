"""tooling.test_suite: `./tap test` runs the noxfile's suite, e2e beside the other sessions."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from tooling.test_suite import Suite, load_suite, run_suite

ROOT = Path(__file__).resolve().parents[2]

# Two sessions that each create their marker and wait (10 s at most) for the other's: they pass
# only when they run at the same time. "late" runs after "early" in the sequential process.
_NOXFILE = """
import pathlib, time
import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["early", "meet_a", "late", "meet_b"]
SESSIONS_BESIDE = ("meet_b", "not_in_the_suite")


def _meet(session, mine, other, fail):
    pathlib.Path(mine).touch()
    deadline = time.monotonic() + 10
    while not pathlib.Path(other).exists():
        if time.monotonic() > deadline:
            session.error("never met")
        time.sleep(0.05)
    session.log(f"met {mine}")
    if fail:
        session.error("failing as asked")


@nox.session(python=False)
def early(session):
    session.log("early ran")


@nox.session(python=False)
def meet_a(session):
    _meet(session, "a", "b", False)


@nox.session(python=False)
def late(session):
    session.log("late ran")


@nox.session(python=False)
def meet_b(session):
    _meet(session, "b", "a", pathlib.Path("b-fails").exists())
"""


def _repository(tmp_path: Path, *, beside_fails: bool) -> Path:
    (tmp_path / "noxfile.py").write_text(_NOXFILE, encoding="utf-8")
    if beside_fails:
        (tmp_path / "b-fails").touch()
    return tmp_path


def test_the_suite_is_the_noxfiles_default_sessions_split_by_sessions_beside() -> None:
    assert load_suite(ROOT / "noxfile.py", python=sys.executable) == Suite(
        sequential=("lint", "unit", "moto", "synth", "security", "processor", "api_handler"),
        beside=("e2e",),
    )


def test_a_session_beside_runs_at_the_same_time_as_the_others(tmp_path: Path) -> None:
    """GIVEN a session beside that can only pass while a sequential one runs WHEN the suite runs
    THEN both pass, every sequential session ran, and the lines beside carry their prefix."""
    root = _repository(tmp_path, beside_fails=False)
    suite = load_suite(root / "noxfile.py", python=sys.executable)
    assert suite == Suite(sequential=("early", "meet_a", "late"), beside=("meet_b",))
    out = io.StringIO()
    assert run_suite(suite, python=sys.executable, root=root, out=out) == 0
    text = out.getvalue()
    assert "early ran" in text and "late ran" in text
    assert "nox > met a" in text and "[meet_b] nox > met b" in text
    assert "test: early, meet_a, late: passed" in text and "test: meet_b: passed" in text


def test_a_failing_session_beside_fails_the_suite(tmp_path: Path) -> None:
    root = _repository(tmp_path, beside_fails=True)
    out = io.StringIO()
    assert run_suite(
        load_suite(root / "noxfile.py", python=sys.executable),
        python=sys.executable,
        root=root,
        out=out,
    )
    assert "test: meet_b: failed (exit 1)" in out.getvalue()  # nox's exit status for a failure
    assert "test: early, meet_a, late: passed" in out.getvalue()
