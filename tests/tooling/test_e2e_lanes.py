"""tooling.e2e_lanes: e2e modules in lanes side by side, each lane on resources of its own."""

from __future__ import annotations

import io
import sys
from pathlib import Path

from tooling.e2e_lanes import LANES_DIR, Lane, LaneResult, lane_environment, run_lanes, summary

# Creates its own marker, then waits (10 s at most) for the other lane's: both lanes can only
# pass if they run at the same time.
_MEET = """
import pathlib, sys, time
mine, other, code = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
mine.touch()
deadline = time.monotonic() + 10
while not other.exists():
    if time.monotonic() > deadline:
        print("the other lane never ran beside this one")
        sys.exit(99)
    time.sleep(0.05)
print("met", mine.name)
print("done", mine.name)
sys.exit(code)
"""


def test_each_lane_has_its_own_emulator_synth_directory_outputs_and_plugin_cache() -> None:
    base = {"PATH": "/bin", "TAP_EMULATOR_PORT": "4566"}
    one = lane_environment(Lane("one", ("a.py",)), base, port=40001)
    two = lane_environment(Lane("two", ("b.py",)), base, port=40002)
    keys = (
        "TAP_EMULATOR_PORT",
        "TAP_EMULATOR_DIR",
        "TAP_CDKTF_OUTDIR",
        "TAP_OUTPUTS_FILE",
        "TAP_TERRAFORM_DIR",
    )
    assert all(one[key] != two[key] for key in keys)
    assert one["TAP_EMULATOR_PORT"] == "40001" and one["PATH"] == "/bin"
    assert one["TAP_OUTPUTS_FILE"] == str(LANES_DIR / "one" / "flat-outputs.json")
    assert one["TAP_TERRAFORM_DIR"] == str(LANES_DIR / "one" / "terraform")
    assert not any(Path(one[key]).is_absolute() for key in keys[1:])  # relative to the repo
    assert base == {"PATH": "/bin", "TAP_EMULATOR_PORT": "4566"}  # the caller's copy unchanged


def test_lanes_run_at_once_and_every_line_names_its_lane(tmp_path: Path) -> None:
    """GIVEN two lanes that can only finish if they run at the same time WHEN they run THEN both
    pass, and each printed line carries its lane's name."""
    lanes = [
        Lane("one", (str(tmp_path / "one"), str(tmp_path / "two"), "0")),
        Lane("two", (str(tmp_path / "two"), str(tmp_path / "one"), "0")),
    ]
    out = io.StringIO()
    results = run_lanes(
        lanes, [sys.executable, "-c", _MEET], root=tmp_path, env={"PATH": "/usr/bin"}, out=out
    )
    assert [(r.lane.name, r.exit_code) for r in results] == [("one", 0), ("two", 0)]
    lines = out.getvalue().splitlines()
    assert sorted(lines) == ["[one] done one", "[one] met one", "[two] done two", "[two] met two"]
    assert lines.index("[one] met one") < lines.index("[one] done one")  # a lane's order kept


def test_a_failing_lane_is_reported_and_the_others_still_finish(tmp_path: Path) -> None:
    lanes = [
        Lane("bad", (str(tmp_path / "a"), str(tmp_path / "b"), "3")),
        Lane("good", (str(tmp_path / "b"), str(tmp_path / "a"), "0")),
    ]
    results = run_lanes(
        lanes, [sys.executable, "-c", _MEET], root=tmp_path, env={}, out=io.StringIO()
    )
    assert [(r.lane.name, r.exit_code, r.passed) for r in results] == [
        ("bad", 3, False),
        ("good", 0, True),
    ]


def test_the_summary_has_a_row_per_lane_with_seconds_cpu_and_result() -> None:
    rows = summary(
        [
            LaneResult(Lane("global", ("tests/e2e/test_multi_region.py",)), 0, 612.4, 455.6),
            LaneResult(Lane("dev", ("tests/e2e/a.py", "tests/e2e/b.py")), 1, 700.0, 1201.0),
        ]
    )
    assert rows == [
        "lane    seconds    CPU s  result  modules",
        "global      612      456  passed  test_multi_region.py",
        "dev         700     1201  failed (exit 1)  a.py, b.py",
    ]


def test_a_lanes_cpu_counts_the_processes_it_waited_for(tmp_path: Path) -> None:
    """GIVEN a lane whose command spends CPU in a child it waits for THEN the lane's CPU
    includes the child's (measured by the kernel, so only a lower bound is pinned)."""
    spin = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c',"
        " 'import time\\nend = time.process_time() + 0.5\\nwhile time.process_time() < end: pass'],"
        " check=True)"
    )
    (result,) = run_lanes(
        [Lane("busy", ())], [sys.executable, "-c", spin], root=tmp_path, env={}, out=io.StringIO()
    )
    assert result.passed and result.cpu_seconds >= 0.5


def test_each_lane_is_timed_to_its_own_end(tmp_path: Path) -> None:
    """GIVEN a slow lane listed before a quick one THEN the quick one's seconds end with it, not
    when the slow one (waited for first) ends."""
    sleep = "import sys, time; time.sleep(float(sys.argv[1]))"
    results = run_lanes(
        [Lane("slow", ("6",)), Lane("quick", ("0",))],
        [sys.executable, "-c", sleep],
        root=tmp_path,
        env={},
        out=io.StringIO(),
    )
    slow, quick = (result.seconds for result in results)
    assert quick < 6.0 <= slow  # timed to the slow one's end, quick would take 6 s or more
