"""Debug sessions of the local Lambda runtime: a function's next execution environment starts
under debugpy, waits for a DAP client before its init phase, serves one invocation without
deadlines, and is then retired; normal workers never see debugpy.

Every worker is a real process and the client is a real DAP client (tests/tooling/emulator/
dap.py) speaking to debugpy as VS Code does. Waits are bounded by the client's timeouts, never
measured.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.tooling.emulator.dap import WAIT_SECONDS, DapClient
from tests.tooling.emulator.runtime.conftest import make_spec
from tooling.emulator.runtime import FunctionSpec, InvocationResult, LambdaRuntime
from tooling.emulator.runtime.code_store import code_directory_name
from tooling.emulator.runtime.debug_addon import (
    debug_addon_is_current,
    debug_addon_site,
    debugpy_version,
    ensure_debug_addon,
)
from tooling.emulator.runtime.debug_sessions import (
    LOOPBACK,
    DebugPortUnavailableError,
    port_is_free,
)
from tooling.emulator.runtime.environment import runtime_environment, supported_runtimes
from tooling.emulator.runtime.worker import BOOTSTRAP_PATH

APP = """\
import os
import sys

STAGE = "init"  # breakpoint: import


def handler(event, context):
    value = event.get("value")  # breakpoint: handler
    return {
        "value": value,
        "pid": os.getpid(),
        "debugger": "debugpy" in sys.modules,
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "file": __file__,
        "last_sys_path": sys.path[-1],
    }
"""

#: Imports debugpy as a function that wants it would: Lambda's runtime has none.
IMPORTER = """\
def handler(event, context):
    import debugpy

    return debugpy.__file__
"""

#: Slower than both Lambda deadlines the test sets: 1 s for init, 1 s for the invocation.
SLOW = """\
import time

time.sleep(1.5)


def handler(event, context):
    time.sleep(1.5)
    return {"remaining_ms": context.get_remaining_time_in_millis()}
"""


def _line(source: str, marker: str) -> int:
    """The 1-based line of ``source`` that holds ``marker``."""
    return next(n for n, text in enumerate(source.splitlines(), 1) if marker in text)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port


def _payload(result: InvocationResult) -> Any:
    return json.loads(result.payload)


@contextmanager
def _invoking(
    runtime: LambdaRuntime, spec: FunctionSpec, event: bytes
) -> Iterator[Future[InvocationResult]]:
    """The invocation running on a thread of its own (it blocks until a debugger attaches).

    A test that fails while the worker waits for the debugger (or is held at a breakpoint)
    shuts the runtime down, which kills the worker and so ends the invocation.
    """
    with ThreadPoolExecutor(1) as pool:
        invocation = pool.submit(runtime.invoke, spec, event)
        try:
            yield invocation
        finally:
            if not invocation.done():
                runtime.shutdown()


@pytest.fixture
def client_factory() -> Iterator[Callable[[int], DapClient]]:
    """Connects DAP clients to loopback ports; all are closed after the test."""
    clients: list[DapClient] = []

    def connect(port: int) -> DapClient:
        client = DapClient.connect(LOOPBACK, port)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def test_the_debugger_add_on_is_pinned_beside_the_runtime_and_never_in_it(
    runtimes_dir: Path,
) -> None:
    site = ensure_debug_addon(runtimes_dir, "python3.12")

    assert site == runtimes_dir / "python3.12-debug" / "site-packages"
    assert site == debug_addon_site(runtimes_dir, "python3.12")
    assert debug_addon_is_current(runtimes_dir, "python3.12")
    assert (site / "debugpy" / "__init__.py").is_file()
    assert debugpy_version("python3.12") == "1.8.22"
    runtime_site = runtime_environment(runtimes_dir, "python3.12").site_packages
    assert sorted(path.name for path in runtime_site.glob("debugpy*")) == []
    assert supported_runtimes() == ["python3.12"]  # the add-on's pins are not a runtime's


def test_a_normal_worker_cannot_import_debugpy(
    lambda_runtime: LambdaRuntime, runtimes_dir: Path
) -> None:
    assert (ensure_debug_addon(runtimes_dir, "python3.12") / "debugpy").is_dir()
    spec = make_spec({"app.py": IMPORTER})

    result = lambda_runtime.invoke(spec, b"{}")

    assert result.function_error == "Unhandled"
    error = _payload(result)
    assert (error["errorType"], error["errorMessage"]) == (
        "ModuleNotFoundError",
        "No module named 'debugpy'",
    )


def test_a_debug_worker_waits_for_a_client_then_serves_one_invocation(
    lambda_runtime: LambdaRuntime,
    runtimes_dir: Path,
    tmp_path: Path,
    client_factory: Callable[[int], DapClient],
) -> None:
    spec = make_spec({"app.py": APP})
    warm_pid = _payload(lambda_runtime.invoke(spec, b"{}"))["pid"]
    port = _free_port()

    target = lambda_runtime.debug_next(spec, port=port)

    code_root = tmp_path / "work" / "code" / code_directory_name(spec.code_sha256)
    assert target.task_root == tmp_path / "work" / "debug" / "fn"
    with _invoking(lambda_runtime, spec, b'{"value": 7}') as invocation:
        client = client_factory(port)
        client.attach()
        result = invocation.result(timeout=WAIT_SECONDS)

    assert result.function_error is None
    answer = _payload(result)
    assert answer["value"] == 7
    assert answer["debugger"] is True
    assert answer["pid"] != warm_pid  # a new environment, not the warm one
    assert answer["task_root"] == str(target.task_root)
    assert answer["file"] == str(target.task_root / "app.py")
    assert answer["last_sys_path"] == str(debug_addon_site(runtimes_dir, "python3.12"))
    assert target.task_root.resolve() == code_root.resolve()
    assert lambda_runtime.worker_count(spec.function_arn) == 0  # warm one retired, debug one too

    after = _payload(lambda_runtime.invoke(spec, b'{"value": 8}'))
    assert (after["value"], after["debugger"], after["task_root"]) == (8, False, str(code_root))
    assert after["pid"] not in {warm_pid, answer["pid"]}


def test_breakpoints_stop_in_the_module_import_and_in_the_handler(
    lambda_runtime: LambdaRuntime, tmp_path: Path, client_factory: Callable[[int], DapClient]
) -> None:
    spec = make_spec({"app.py": APP})
    port = _free_port()
    target = lambda_runtime.debug_next(spec, port=port)
    local_root = tmp_path / "src"
    local_file = str(local_root / "app.py")
    at_import, in_handler = _line(APP, "breakpoint: import"), _line(APP, "breakpoint: handler")

    with _invoking(lambda_runtime, spec, b'{"value": 42}') as invocation:
        client = client_factory(port)
        client.attach(
            path_mappings=[{"localRoot": str(local_root), "remoteRoot": str(target.task_root)}],
            breakpoints={local_file: [at_import, in_handler]},
        )
        stops = []
        for _ in range(2):
            stopped = client.event("stopped")
            thread = stopped["body"]["threadId"]
            frame = client.call("stackTrace", threadId=thread)["body"]["stackFrames"][0]
            stops.append((stopped["body"]["reason"], frame["name"], frame["line"]))
            assert frame["source"]["path"] == local_file  # mapped back to the local sources
            assert not invocation.done()  # held at the breakpoint
            if frame["name"] == "handler":
                value = client.call(
                    "evaluate", expression="event['value']", frameId=frame["id"], context="repl"
                )
                assert value["body"]["result"] == "42"
            # Not waiting for the answer: after the last stop the invocation ends and the
            # worker is retired, which may close the connection before pydevd answers.
            client.request("continue", threadId=thread)
        result = invocation.result(timeout=WAIT_SECONDS)

    assert stops == [
        ("breakpoint", "<module>", at_import),
        ("breakpoint", "handler", in_handler),
    ]
    assert result.function_error is None
    assert _payload(result)["value"] == 42


def test_lambdas_deadlines_do_not_kill_a_debug_worker(
    runtime_factory: Callable[..., LambdaRuntime], client_factory: Callable[[int], DapClient]
) -> None:
    runtime = runtime_factory(init_timeout_seconds=1.0)
    spec = make_spec({"app.py": SLOW}, timeout_seconds=1)
    control = runtime.invoke(spec, b"{}")
    assert _payload(control)["errorType"] == "Sandbox.Timedout"  # the init phase took too long
    port = _free_port()
    runtime.debug_next(spec, port=port)

    with _invoking(runtime, spec, b"{}") as invocation:
        client_factory(port).attach()
        result = invocation.result(timeout=WAIT_SECONDS)

    assert result.function_error is None
    assert _payload(result) == {"remaining_ms": 0}  # the handler's clock still ran out


def test_a_session_nobody_attaches_to_fails_its_invocation_and_frees_the_port(
    lambda_runtime: LambdaRuntime,
) -> None:
    spec = make_spec({"app.py": APP})
    port = _free_port()
    lambda_runtime.debug_next(spec, port=port, attach_timeout_seconds=0.5)

    result = lambda_runtime.invoke(spec, b"{}", request_id="r-1")

    assert result.function_error == "Unhandled"
    assert _payload(result) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: r-1 Error: Runtime exited with error: "
        f"no debugger attached to 127.0.0.1:{port} within 0.5 seconds",
    }
    assert port_is_free(LOOPBACK, port)
    assert _payload(lambda_runtime.invoke(spec, b"{}"))["debugger"] is False


def test_a_port_in_use_is_refused_when_armed_and_when_the_worker_starts(
    lambda_runtime: LambdaRuntime,
) -> None:
    spec = make_spec({"app.py": APP})
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = f"127.0.0.1:{port} is in use by another process: choose another port"
        with pytest.raises(DebugPortUnavailableError, match=re.escape(in_use)):
            lambda_runtime.debug_next(spec, port=port)
        assert _payload(lambda_runtime.invoke(spec, b"{}"))["debugger"] is False

    free = _free_port()
    lambda_runtime.debug_next(spec, port=free)
    with socket.socket() as taken_later:
        taken_later.bind((LOOPBACK, free))
        taken_later.listen()
        result = lambda_runtime.invoke(spec, b"{}", request_id="r-2")

    assert _payload(result) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: r-2 Error: Runtime exited with error: debugger unavailable: "
        f"127.0.0.1:{free} is in use by another process",
    }


def test_one_port_serves_one_function_at_a_time(lambda_runtime: LambdaRuntime) -> None:
    first, second = make_spec({"app.py": APP}, name="first"), make_spec({"app.py": APP})
    port = _free_port()
    lambda_runtime.debug_next(first, port=port)

    armed_elsewhere = f"port {port} is already armed for {first.function_arn}"
    with pytest.raises(DebugPortUnavailableError, match=re.escape(armed_elsewhere)):
        lambda_runtime.debug_next(second, port=port)
    again = lambda_runtime.debug_next(first, port=port, attach_timeout_seconds=9)
    assert again.attach_timeout_seconds == 9  # the function's session replaced


def test_a_cancelled_session_leaves_the_next_invocation_normal(
    lambda_runtime: LambdaRuntime,
) -> None:
    spec = make_spec({"app.py": APP})
    armed = lambda_runtime.debug_next(spec, port=_free_port())

    assert lambda_runtime.cancel_debug(spec.function_arn) == armed
    assert lambda_runtime.cancel_debug(spec.function_arn) is None
    assert _payload(lambda_runtime.invoke(spec, b"{}"))["debugger"] is False


@pytest.mark.parametrize("seconds", [0, -1, 3601])
def test_an_attach_timeout_out_of_range_is_refused(
    lambda_runtime: LambdaRuntime, seconds: float
) -> None:
    spec = make_spec({"app.py": APP})
    with pytest.raises(ValueError, match="attach timeout must be more than 0 and at most 3600"):
        lambda_runtime.debug_next(spec, port=_free_port(), attach_timeout_seconds=seconds)


def test_a_port_outside_tcps_range_is_refused(lambda_runtime: LambdaRuntime) -> None:
    spec = make_spec({"app.py": APP})
    with pytest.raises(DebugPortUnavailableError, match="70000 is not a TCP port"):
        lambda_runtime.debug_next(spec, port=70000)


@pytest.mark.parametrize("held", ["waiting for the client", "stopped at a breakpoint"])
def test_a_debug_worker_ends_when_its_parent_goes(
    runtimes_dir: Path,
    tmp_path: Path,
    client_factory: Callable[[int], DapClient],
    held: str,
) -> None:
    """An emulator that dies (SIGKILL) cannot kill its workers; a normal one ends when its
    channel closes, and so must a debug worker, which the debugger keeps from reading it."""
    task_root = tmp_path / "task"
    task_root.mkdir()
    (task_root / "app.py").write_text(APP)
    site = ensure_debug_addon(runtimes_dir, "python3.12")
    port = _free_port()
    parent, child = socket.socketpair()
    process = subprocess.Popen(
        [
            str(runtime_environment(runtimes_dir, "python3.12").python),
            *["-I", "-u", "-X", "frozen_modules=off", str(BOOTSTRAP_PATH)],
            *[str(child.fileno()), "token", "--debugger", f"{LOOPBACK}:{port}", str(site)],
        ],
        cwd=task_root,
        env={"LAMBDA_TASK_ROOT": str(task_root), "_HANDLER": "app.handler"},
        pass_fds=(child.fileno(),),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    child.close()
    try:
        client = client_factory(port)
        if held == "stopped at a breakpoint":
            local_file = str(task_root / "app.py")
            client.attach(breakpoints={local_file: [_line(APP, "breakpoint: import")]})
            assert client.event("stopped")["body"]["allThreadsStopped"] is True
        parent.close()
        assert process.wait(timeout=WAIT_SECONDS) == 1
    finally:
        parent.close()
        if process.poll() is None:
            process.kill()
            process.wait()
