"""The runtime's parts on their own: interpreters, runtime environment, task roots, logs."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import threading
from pathlib import Path

import pytest

from tests.tooling.emulator.runtime.conftest import build_zip, make_spec
from tooling.emulator.runtime import RuntimeUnavailableError, ensure_runtime_environment
from tooling.emulator.runtime.code_store import CodeMismatchError, CodeStore, code_directory_name
from tooling.emulator.runtime.environment import (
    environment_is_current,
    pins_file,
    runtime_environment,
)
from tooling.emulator.runtime.interpreters import find_cpython, runtime_python_version
from tooling.emulator.runtime.logs import error_log_message, log_tail, report_line
from tooling.emulator.runtime.variables import worker_environment
from tooling.emulator.runtime.worker import describe_exit


def test_find_cpython_answers_the_real_executable_of_that_version() -> None:
    found = find_cpython("3.12")

    assert found is not None
    probe = subprocess.run(
        [found, "-I", "-S", "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "(3, 12)"


def test_find_cpython_prefers_the_override_and_skips_a_broken_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = find_cpython("3.12")
    monkeypatch.setenv("TAP_PYTHON_3_12", str(real))
    assert find_cpython("3.12") == real

    broken = tmp_path / "python3.12"
    broken.write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n")
    broken.chmod(0o755)
    monkeypatch.setenv("TAP_PYTHON_3_12", str(broken))
    assert find_cpython("3.12") == real  # the broken override is probed, then passed over


def test_runtime_names_map_to_python_versions() -> None:
    assert runtime_python_version("python3.12") == "3.12"
    assert runtime_python_version("nodejs20.x") is None


def test_a_runtime_without_an_interpreter_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(RuntimeUnavailableError, match=r"python3\.12.*install CPython 3\.12"):
        ensure_runtime_environment(tmp_path, "python3.12", interpreters=lambda version: None)


def test_an_unsupported_runtime_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(RuntimeUnavailableError, match=r"nodejs20\.x"):
        ensure_runtime_environment(tmp_path, "nodejs20.x")


def test_the_runtime_environment_is_current_and_left_alone(runtimes_dir: Path) -> None:
    environment = runtime_environment(runtimes_dir, "python3.12")
    marker = environment.directory / ".pins-sha256"
    before = marker.stat().st_mtime_ns

    assert ensure_runtime_environment(runtimes_dir, "python3.12") == environment.directory
    assert environment_is_current(runtimes_dir, "python3.12")
    assert marker.stat().st_mtime_ns == before
    assert (
        marker.read_text().strip()
        == hashlib.sha256(pins_file("python3.12").read_bytes()).hexdigest()
    )
    assert (environment.site_packages / "boto3-1.40.4.dist-info").is_dir()
    assert not list(environment.site_packages.glob("pip*"))


def test_every_pin_is_exact() -> None:
    lines = pins_file("python3.12").read_text().splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]

    assert {pin.split("==")[0] for pin in pins} == {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "python-dateutil",
        "six",
        "urllib3",
    }
    assert all("==" in pin for pin in pins)


def test_code_is_unpacked_once_even_by_concurrent_callers(tmp_path: Path) -> None:
    calls: list[int] = []
    archive = build_zip({"app.py": "x = 1\n", "pkg/mod.py": "y = 2\n"})
    base = make_spec({"app.py": "x = 1\n", "pkg/mod.py": "y = 2\n"})

    def code_zip() -> bytes:
        calls.append(1)
        return archive

    spec = type(base)(**{**base.__dict__, "code_zip": code_zip})
    store = CodeStore(tmp_path / "code")
    roots: list[Path] = []
    threads = [
        threading.Thread(target=lambda: roots.append(store.task_root(spec))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(roots)) == 1
    assert (roots[0] / "pkg" / "mod.py").read_text() == "y = 2\n"
    assert roots[0].name == hashlib.sha256(archive).hexdigest()
    assert [path.name for path in (tmp_path / "code").iterdir()] == [roots[0].name]
    store.task_root(spec)
    assert len(calls) <= 4  # read only by callers that found no task root


def test_code_that_does_not_match_its_sha256_is_refused(tmp_path: Path) -> None:
    spec = make_spec({"app.py": "x = 1\n"})
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()

    with pytest.raises(CodeMismatchError):
        CodeStore(tmp_path).task_root(type(spec)(**{**spec.__dict__, "code_sha256": other}))


def test_a_code_sha256_that_is_not_base64_still_names_a_safe_directory() -> None:
    assert code_directory_name("../../etc") == "_.._etc"


def test_configured_variables_cannot_override_reserved_or_loopback_ones(tmp_path: Path) -> None:
    spec = make_spec(
        {"app.py": ""},
        environment={
            "AWS_ACCESS_KEY_ID": "AKIAREAL",
            "AWS_ENDPOINT_URL": "https://s3.amazonaws.com",
            "LAMBDA_TASK_ROOT": "/elsewhere",
            "PATH": "/custom/bin",
        },
    )

    env = worker_environment(
        spec,
        task_root=tmp_path / "task",
        runtime_dir=tmp_path / "runtime",
        interpreter_bin_dir=tmp_path / "bin",
        endpoint_url="http://127.0.0.1:1",
        log_stream_name="stream",
    )

    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["LAMBDA_TASK_ROOT"] == str(tmp_path / "task")
    assert env["PATH"] == "/custom/bin"  # PATH is not reserved in Lambda


def test_report_line_has_lambdas_fields() -> None:
    line = report_line(
        "id", duration_ms=12.341, memory_mib=256, max_memory_used_mib=71, init_duration_ms=512.2
    )

    assert line == (
        "REPORT RequestId: id\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 71 MB\tInit Duration: 512.20 ms\t\n"
    )


def test_error_log_message_is_one_event_like_awslambdaric() -> None:
    document = {
        "errorMessage": "boom",
        "errorType": "ValueError",
        "requestId": "id",
        "stackTrace": [
            '  File "/var/task/app.py", line 2, in handler\n    raise ValueError("boom")\n'
        ],
    }

    assert error_log_message(document) == (
        "[ERROR] ValueError: boom\nTraceback (most recent call last):\n"
        '  File "/var/task/app.py", line 2, in handler\n    raise ValueError("boom")\n'
    )


def test_log_tail_keeps_the_last_4_kb_of_whole_characters() -> None:
    tail = log_tail(["é" * 3000, "END\n"])

    assert tail.endswith("END\n")
    assert len(tail.encode()) <= 4096


@pytest.mark.parametrize(
    ("code", "description"),
    [(0, "exit status 0"), (1, "exit status 1"), (-9, "signal: killed"), (-6, "signal: aborted")],
)
def test_exits_are_described_as_lambdas_sandbox_does(code: int, description: str) -> None:
    assert describe_exit(code) == description
