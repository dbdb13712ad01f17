"""tooling.terraform.process: the one spawn path of every terraform run (captured, with stdout
left on ours, streamed) and how such a run is stopped.

The terraform here is a fake (a Python script named by ``TAP_TERRAFORM``): what is under test is
how the process is started, read and signalled, not terraform. Python rather than sh because a
shell cannot trap a signal ignored when it started, while terraform, a Go program, installs its
handlers whatever it inherited; so does the fake.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tooling.terraform import StopSignals, StreamedRun, run_terraform, stream_terraform
from tooling.terraform.process import INHERIT, MERGE, run_process

#: More than a pipe holds (64 KiB on Linux): a writer of this much blocks until it is read.
_MORE_THAN_A_PIPE = 1024 * 1024


def _fake(tmp_path: Path, body: str) -> dict[str, str]:
    """The base environment of a run whose terraform is a Python script running ``body`` (with
    ``os``, ``signal``, ``sys`` and ``time`` imported, ``RECORD`` a file to append words to)."""
    fake = tmp_path / "terraform"
    record = tmp_path / "record"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import os, signal, sys, time\n"
        f"RECORD = {str(record)!r}\n"
        "def note(word):\n"
        "    with open(RECORD, 'a') as f:\n"
        "        f.write(word + '\\n')\n" + body,
        encoding="utf-8",
    )
    fake.chmod(0o755)
    return {"PATH": os.environ["PATH"], "TAP_TERRAFORM": str(fake)}


def _record(tmp_path: Path) -> list[str]:
    return (tmp_path / "record").read_text(encoding="utf-8").split()


def _ends(run: Callable[[], object]) -> BaseException | None:
    """Run ``run`` in a thread and give back what it raised: a guard against a run that never
    ends (a child blocked on a pipe nobody reads), which would otherwise hang the whole suite
    instead of failing this test. The bound is not a measure of speed: it is minutes."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as error:  # handed to the test
            raised.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=300)
    assert not thread.is_alive(), "the run never ended: its output was not read to the end"
    return raised[0] if raised else None


# --------------------------------------------------------------------------- one spawn path

_PRINT_GROUP = "print(os.getpid(), os.getpgrp(), flush=True)\n"


def _captured_group(tmp_path: Path, env: dict[str, str]) -> str:
    result = run_terraform(
        ["plan"], cwd=tmp_path, repo_root=tmp_path / "repo", base_env=env, capture=True
    )
    return str(result.stdout)


def _inherited_group(tmp_path: Path, env: dict[str, str]) -> str:
    # stdout left on ours: the fake writes straight to our file descriptor 1.
    run_terraform(["plan"], cwd=tmp_path, repo_root=tmp_path / "repo", base_env=env)
    return ""


def _streamed_group(tmp_path: Path, env: dict[str, str]) -> str:
    lines: list[str] = []
    stream_terraform(
        ["plan"], cwd=tmp_path, repo_root=tmp_path / "repo", base_env=env, on_line=lines.append
    )
    return "\n".join(lines)


@pytest.mark.parametrize("run", [_captured_group, _inherited_group, _streamed_group])
def test_every_kind_of_run_gets_a_process_group_of_its_own(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    run: Callable[[Path, dict[str, str]], str],
) -> None:
    """GIVEN any kind of run WHEN terraform starts THEN it leads a process group of its own, so
    a Ctrl-C in the terminal reaches our process only (which forwards exactly one SIGINT)."""
    output = run(tmp_path, _fake(tmp_path, _PRINT_GROUP)) or capfd.readouterr().out
    pid, group = output.split()
    assert group == pid
    assert int(group) != os.getpgrp()


def test_a_captured_run_keeps_stdout_and_stderr_whole_and_apart(tmp_path: Path) -> None:
    """GIVEN terraform writing JSON to stdout and a warning to stderr WHEN the run is captured
    THEN stdout is exactly what was written (it parses as written) and stderr is on its own."""
    env = _fake(
        tmp_path,
        "sys.stdout.write('{\"a\": 1}\\n'); sys.stdout.flush()\n"
        "sys.stderr.write('Warning: x\\n'); sys.stderr.flush()\n"
        "sys.stdout.write('{\"b\": 2}')\n"
        "sys.exit(2)\n",
    )
    result = run_terraform(
        ["show", "-json"],
        cwd=tmp_path,
        repo_root=tmp_path / "repo",
        base_env=env,
        capture=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        '{"a": 1}\n{"b": 2}',
        "Warning: x\n",
    )


# --------------------------------------------------------------------------- stopping


def test_a_captured_run_is_stopped_like_a_streamed_one(tmp_path: Path) -> None:
    """GIVEN a captured run with StopSignals WHEN the interrupt is set THEN terraform gets
    exactly one SIGINT, and what it writes while stopping is still captured."""
    ready = tmp_path / "ready"
    os.mkfifo(ready)
    env = _fake(
        tmp_path,
        "def stop(signum, frame):\n"
        "    note('INT'); print('stopped gracefully', file=sys.stderr); sys.exit(1)\n"
        "signal.signal(signal.SIGINT, stop)\n"
        f"open({str(ready)!r}, 'w').close()\n"
        "time.sleep(30)\n"
        "note('slept')\n",
    )
    interrupt = threading.Event()

    def interrupt_when_ready() -> None:
        # Opening a FIFO for reading waits for its writer: the fake, once its handler is set.
        with open(ready, encoding="utf-8"):
            interrupt.set()

    threading.Thread(target=interrupt_when_ready, daemon=True).start()
    result = run_terraform(
        ["apply"],
        cwd=tmp_path,
        repo_root=tmp_path / "repo",
        base_env=env,
        capture=True,
        check=False,
        stops=StopSignals(interrupt=interrupt),
    )
    assert (result.returncode, result.stderr) == (1, "stopped gracefully\n")
    assert _record(tmp_path) == ["INT"]


def test_a_kill_terminates_at_once_without_a_sigint_first(tmp_path: Path) -> None:
    """GIVEN a streamed run WHEN interrupt and kill are both set THEN terraform gets SIGTERM,
    not SIGINT (no graceful stop is waited for), and the run says it was killed."""
    env = _fake(
        tmp_path,
        "signal.signal(signal.SIGINT, lambda s, f: note('INT'))\n"
        "def term(signum, frame):\n"
        "    note('TERM'); sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, term)\n"
        "print('started', flush=True)\n"
        "time.sleep(30)\n",
    )
    stops = StopSignals(interrupt=threading.Event(), kill=threading.Event())

    def on_line(line: str) -> None:
        if line == "started":
            assert stops.interrupt is not None and stops.kill is not None
            stops.kill.set()
            stops.interrupt.set()

    run = stream_terraform(
        ["destroy"],
        cwd=tmp_path,
        repo_root=tmp_path / "repo",
        base_env=env,
        on_line=on_line,
        stops=stops,
    )
    assert (run.returncode, run.interrupted, run.killed) == (143, True, True)
    assert _record(tmp_path) == ["TERM"]


def test_a_failing_line_callback_stops_terraform_once_and_reads_it_to_the_end(
    tmp_path: Path,
) -> None:
    """GIVEN a streamed run WHEN the caller's line callback raises THEN terraform gets one
    SIGINT, everything it writes while stopping (more than a pipe holds) is read, it is waited
    for, and only then does the callback's exception reach the caller."""
    env = _fake(
        tmp_path,
        # The SIGINT is waited for, not handled: a handler writing to stdout could run inside
        # the print of "started" (a reentrant write, refused by Python).
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\n"
        "print('started', flush=True)\n"
        "signal.sigwait({signal.SIGINT})\n"
        "note('INT')\n"
        f"sys.stdout.write('x' * {_MORE_THAN_A_PIPE} + '\\n'); sys.stdout.flush()\n"
        "note('done'); sys.exit(1)\n",
    )

    def on_line(line: str) -> None:
        raise RuntimeError(f"the display failed on {line!r}")

    def run() -> StreamedRun:
        return stream_terraform(
            ["apply"], cwd=tmp_path, repo_root=tmp_path / "repo", base_env=env, on_line=on_line
        )

    raised = _ends(run)
    assert isinstance(raised, RuntimeError)
    assert str(raised) == "the display failed on 'started'"
    assert _record(tmp_path) == ["INT", "done"]


def test_a_failing_stderr_sink_lets_the_process_finish_then_raises(tmp_path: Path) -> None:
    """GIVEN separate stdout and stderr sinks WHEN the stderr sink raises THEN the process is
    not disturbed: its stderr is still read to the end, its stdout still reaches its sink, and
    the sink's exception reaches the caller once the process has ended."""
    env = _fake(
        tmp_path,
        "sys.stderr.write('first\\n'); sys.stderr.flush()\n"
        f"sys.stderr.write('e' * {_MORE_THAN_A_PIPE} + '\\n'); sys.stderr.flush()\n"
        "print('out', flush=True)\n"
        "note('done')\n",
    )
    out: list[str] = []

    def failing(line: str) -> None:
        raise ValueError(f"cannot keep {line!r}")

    raised = _ends(
        lambda: run_process(
            [env["TAP_TERRAFORM"]],
            cwd=tmp_path,
            env=env,
            stdout=out.append,
            stderr=failing,
            tail_lines=1,
        )
    )
    assert isinstance(raised, ValueError)
    assert str(raised) == "cannot keep 'first\\n'"
    assert out == ["out\n"]
    assert _record(tmp_path) == ["done"]


# --------------------------------------------------------------------------- the tail


def test_the_tail_is_of_stderr_or_of_the_merged_output(tmp_path: Path) -> None:
    """GIVEN the same output WHEN stderr is read apart THEN the tail holds stderr's last lines;
    WHEN it is merged THEN the last lines of both, in the order written."""
    env = _fake(
        tmp_path,
        "for word in ('o1', 'e1', 'o2', 'e2', 'o3'):\n"
        "    stream = sys.stderr if word.startswith('e') else sys.stdout\n"
        "    stream.write(word + '\\n'); stream.flush()\n",
    )
    command, lines = [env["TAP_TERRAFORM"]], list[str]()
    apart = run_process(
        command, cwd=tmp_path, env=env, stdout=lines.append, stderr=lines.append, tail_lines=3
    )
    merged = run_process(
        command, cwd=tmp_path, env=env, stdout=lines.append, stderr=MERGE, tail_lines=3
    )
    assert apart.tail == ("e1", "e2")
    assert merged.tail == ("o2", "e2", "o3")


def test_nothing_read_means_no_tail(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    env = _fake(tmp_path, "print('mine', flush=True); print('theirs', file=sys.stderr)\n")
    run = run_process(
        [env["TAP_TERRAFORM"]], cwd=tmp_path, env=env, stdout=INHERIT, stderr=INHERIT, tail_lines=5
    )
    assert (run.returncode, run.tail) == (0, ())
    assert capfd.readouterr() == ("mine\n", "theirs\n")
