"""tooling.test_suite: `./tap test` runs the noxfile's suite in chains side by side."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from tooling.test_suite import Suite, load_suite, run_suite

ROOT = Path(__file__).resolve().parents[2]

# Two sessions that each create their marker and wait (10 s at most) for the other's: they pass
# only when they run at the same time. "late" runs after "meet_a" in its chain; "alone" is in no
# chain, so it gets one of its own.
_NOXFILE = """
import pathlib, time
import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["early", "meet_a", "late", "meet_b", "alone"]
SUITE_CHAINS = (("meet_b", "not_in_the_suite"), ("early", "meet_a", "late"), ("early",))


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
def alone(session):
    session.log("alone ran")


@nox.session(python=False)
def meet_b(session):
    _meet(session, "b", "a", pathlib.Path("b-fails").exists())
"""


def _repository(tmp_path: Path, *, beside_fails: bool) -> Path:
    (tmp_path / "noxfile.py").write_text(_NOXFILE, encoding="utf-8")
    if beside_fails:
        (tmp_path / "b-fails").touch()
    return tmp_path


def test_the_suite_is_the_noxfiles_default_sessions_in_its_chains() -> None:
    suite = load_suite(ROOT / "noxfile.py", python=sys.executable)
    assert suite == Suite(
        chains=(
            ("e2e",),
            ("lint", "unit", "synth", "security"),
            ("moto", "processor", "api_handler"),
        )
    )


def test_every_session_is_in_exactly_one_chain(tmp_path: Path) -> None:
    """GIVEN chains naming a session twice and one not in the suite, and a session in no chain
    WHEN the suite is read THEN each session of the suite is in one chain, once."""
    suite = load_suite(
        _repository(tmp_path, beside_fails=False) / "noxfile.py", python=sys.executable
    )
    assert suite.chains == (("meet_b",), ("early", "meet_a", "late"), ("alone",))
    assert sorted(suite.sessions) == sorted(["early", "meet_a", "late", "meet_b", "alone"])


def test_the_chains_run_at_the_same_time(tmp_path: Path) -> None:
    """GIVEN a session that can only pass while one of another chain runs WHEN the suite runs
    THEN every chain passes, every session ran, and each line carries its chain's prefix."""
    root = _repository(tmp_path, beside_fails=False)
    suite = load_suite(root / "noxfile.py", python=sys.executable)
    out = io.StringIO()
    assert run_suite(suite, python=sys.executable, root=root, out=out) == 0
    text = out.getvalue()
    assert "[early,meet_a,late] nox > early ran" in text
    assert "[early,meet_a,late] nox > late ran" in text
    assert "[early,meet_a,late] nox > met a" in text and "[meet_b] nox > met b" in text
    assert "[alone] nox > alone ran" in text
    for chain in ("early, meet_a, late", "meet_b", "alone"):
        assert f"test: {chain}: passed" in text


def test_a_failing_chain_fails_the_suite_and_the_others_finish(tmp_path: Path) -> None:
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
    assert "test: alone: passed" in out.getvalue()
