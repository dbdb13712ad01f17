"""Errors reported as Lambda reports them, and the worker replaced when it died."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from tests.tooling.emulator.runtime.conftest import RecordingSink, events_text, make_spec
from tooling.emulator.runtime import LambdaRuntime

APP = """
import os, signal, sys, time

print("loaded")

def handler(event, context):
    action = event.get("action")
    print("doing", action)
    if action == "raise":
        raise ValueError("no such order: 42")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "os_exit":
        os._exit(3)
    if action == "sys_exit":
        sys.exit(2)
    if action == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if action == "unserializable":
        return {"ids": {1, 2}}
    if action == "bytes":
        return b"raw"
    return {"pid": os.getpid()}
"""


def _document(payload: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(payload)
    return document


def _pid(runtime: LambdaRuntime, spec: Any) -> int:
    result = runtime.invoke(spec, b"{}")
    assert result.function_error is None, result.payload
    pid: int = _document(result.payload)["pid"]
    return pid


def test_a_handler_exception_gives_the_runtimes_document_and_log(
    lambda_runtime: LambdaRuntime, sink: RecordingSink
) -> None:
    spec = make_spec({"app.py": APP})
    pid = _pid(lambda_runtime, spec)

    result = lambda_runtime.invoke(spec, b'{"action": "raise"}', request_id="r-raise")

    document = _document(result.payload)
    assert result.function_error == "Unhandled"
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorMessage"] == "no such order: 42"
    assert document["errorType"] == "ValueError"
    assert document["requestId"] == "r-raise"
    [frame] = document["stackTrace"]
    assert re.fullmatch(
        r'  File ".*/app\.py", line 10, in handler\n'
        r'    raise ValueError\("no such order: 42"\)\n',
        frame,
    )
    log = events_text(sink.batches[-1][1])
    assert log[1] == "doing raise\n"
    assert log[2] == (
        "[ERROR] ValueError: no such order: 42\nTraceback (most recent call last):\n"
        + frame.rstrip("\n")
        + "\n"
    )
    assert log[3] == "END RequestId: r-raise\n"
    assert _pid(lambda_runtime, spec) == pid  # an exception does not cost the environment


def test_an_import_error_is_runtime_import_module_error(lambda_runtime: LambdaRuntime) -> None:
    spec = make_spec({"app.py": "import not_installed_anywhere\n"})

    result = lambda_runtime.invoke(spec, b"{}")

    assert result.function_error == "Unhandled"
    assert _document(result.payload) == {
        "errorMessage": "Unable to import module 'app': No module named 'not_installed_anywhere'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'app'" in result.log_tail
    assert result.init_duration_ms is not None
    assert "\tStatus: error\tError Type: Runtime.ImportModuleError" in result.log_tail
    assert lambda_runtime.worker_count(spec.function_arn) == 0


def test_an_exception_at_import_is_reported_with_its_type(lambda_runtime: LambdaRuntime) -> None:
    spec = make_spec({"app.py": "raise KeyError('SETTING')\n"})

    document = _document(lambda_runtime.invoke(spec, b"{}").payload)

    assert document["errorType"] == "KeyError"
    assert document["errorMessage"] == "'SETTING'"
    assert 'app.py", line 1, in <module>' in document["stackTrace"][-1]
    assert not any("bootstrap.py" in frame for frame in document["stackTrace"])


def test_a_missing_handler_is_runtime_handler_not_found(lambda_runtime: LambdaRuntime) -> None:
    spec = make_spec({"app.py": APP}, handler="app.missing")

    result = lambda_runtime.invoke(spec, b"{}", request_id="r-missing")

    assert result.function_error == "Unhandled"
    assert _document(result.payload) == {
        "errorMessage": "Handler 'missing' missing on module 'app'",
        "errorType": "Runtime.HandlerNotFound",
        "requestId": "r-missing",
        "stackTrace": [],
    }


def test_an_unserializable_result_is_runtime_marshal_error(lambda_runtime: LambdaRuntime) -> None:
    spec = make_spec({"app.py": APP})

    result = lambda_runtime.invoke(spec, b'{"action": "unserializable"}', request_id="r-m")

    assert result.function_error == "Unhandled"
    assert _document(result.payload) == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": "r-m",
        "stackTrace": [],
    }


def test_bytes_are_returned_as_they_are(lambda_runtime: LambdaRuntime) -> None:
    result = lambda_runtime.invoke(make_spec({"app.py": APP}), b'{"action": "bytes"}')

    assert (result.payload, result.function_error) == (b"raw", None)


def test_a_timeout_kills_the_worker_and_the_next_invoke_gets_a_new_one(
    lambda_runtime: LambdaRuntime, sink: RecordingSink
) -> None:
    spec = make_spec({"app.py": APP}, timeout_seconds=1)
    pid = _pid(lambda_runtime, spec)

    result = lambda_runtime.invoke(spec, b'{"action": "sleep", "seconds": 30}', request_id="r-slow")

    assert result.function_error == "Unhandled"
    assert _document(result.payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: r-slow Error: Task timed out after 1.00 seconds",
    }
    # At least the timeout; the function asked for 30 s, so anything well short of that shows
    # the timeout ended it (a generous ceiling: a loaded machine is slow to kill the worker).
    assert 1000 <= result.duration_ms < 10_000
    log = events_text(sink.batches[-1][1])
    assert log[1] == "doing sleep\n"  # output before the timeout is kept
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z r-slow Task timed out after 1\.00 seconds\n",
        log[2],
    )
    assert log[3] == "END RequestId: r-slow\n"
    assert log[4].endswith("\tStatus: timeout\t\n")
    assert not os.path.exists(f"/proc/{pid}")
    assert _pid(lambda_runtime, spec) != pid


@pytest.mark.parametrize(
    ("action", "exit_description"),
    [
        ("os_exit", "exit status 3"),
        ("sys_exit", "exit status 2"),
        ("segfault", "signal: segmentation fault"),
    ],
)
def test_a_worker_that_dies_is_runtime_exit_error_then_replaced(
    lambda_runtime: LambdaRuntime, action: str, exit_description: str
) -> None:
    spec = make_spec({"app.py": APP})
    pid = _pid(lambda_runtime, spec)

    result = lambda_runtime.invoke(spec, json.dumps({"action": action}).encode(), request_id="r")

    assert result.function_error == "Unhandled"
    message = f"RequestId: r Error: Runtime exited with error: {exit_description}"
    assert _document(result.payload) == {"errorType": "Runtime.ExitError", "errorMessage": message}
    assert f"doing {action}\n{message}\nRuntime.ExitError\nEND RequestId: r\n" in result.log_tail
    assert "\tStatus: error\tError Type: Runtime.ExitError\t\n" in result.log_tail
    assert _pid(lambda_runtime, spec) != pid
