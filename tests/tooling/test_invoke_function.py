"""tooling.invoke_function: what `./tap invoke FUNCTION` does against an account (moto's server),
its functions run by the emulator's local Lambda runtime (real Python, real log lines)."""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from invoke.context import Context
from invoke.exceptions import Exit
from processor.events import parse_s3_event

from tests.tooling.conftest import reset_moto
from tests.tooling.emulator import conftest as emulator
from tests.tooling.emulator.conftest import client, create_python_function, named
from tooling import invoke_function as invoker
from tooling.emulator import debugging
from tooling.emulator.debugging import DebugSession
from tooling.emulator.invocations import LambdaService
from tooling.emulator.patches import patched
from tooling.invoke_function import FUNCTIONS, InvokeError, Target
from tooling.lifecycle.session import Session

pytestmark = pytest.mark.moto

# The emulator's Lambda service running functions in local workers (tests/tooling/emulator).
runtimes_dir = emulator.runtimes_dir
lambda_service = emulator.lambda_service

REGION = "ap-southeast-1"
FUNCTION = "tap-processor-dev"
BUCKET = "tap-data-dev-ap-southeast-1-123456789012"
Clients = Callable[[str], Any]

ECHO = (
    "def handler(event, context):\n"
    "    print('handling', context.aws_request_id)\n"
    "    return event\n"
)
FAILING = "def handler(event, context):\n    raise ValueError('bad trade file')\n"
#: Prints more than LogResult's 4 KB, so the tail has lost the START line.
CHATTY = (
    "def handler(event, context):\n"
    "    for n in range(100):\n"
    "        print(f'line {n:03d} ' + 'x' * 60)\n"
    "    return {'lines': 100}\n"
)
OUTPUTS = {
    "dev_processor_function_name": FUNCTION,
    "dev_processor_function_arn": f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}",
    "dev_api_handler_function_name": "tap-api-handler-dev",
    "dev_api_handler_function_arn": (
        f"arn:aws:lambda:{REGION}:210987654321:function:tap-api-handler-dev"
    ),
    "dev_api_authorizer_function_name": "tap-api-authorizer-dev",
    "dev_data_bucket_name": BUCKET,
    "dev_api_id": "x7k2m9p4q1",
    "dev_api_stage_name": "dev",
    "dev_aws_region": REGION,
}


@pytest.fixture
def aws(endpoint: str) -> Clients:
    """boto3 clients of a freshly reset in-process moto server."""
    reset_moto(endpoint)
    return partial(client, endpoint, region=REGION, reset=False)


@pytest.fixture
def deploy(aws: Clients, lambda_service: LambdaService) -> Iterator[Callable[[str], Target]]:
    """Create the processor's function with the given code; Invoke runs it in a local worker."""
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    def create(source: str) -> Target:
        create_python_function(aws("lambda"), FUNCTION, role, source)
        return invoker.resolve(OUTPUTS, "dev", "processor")

    with patched(named("lambda-invoke-local-runtime")):
        yield create


def run(aws: Clients, target: Target, payload: bytes, **options: Any) -> tuple[Any, str]:
    out = io.StringIO()
    options.setdefault("poll_seconds", 0.05)
    try:
        outcome = invoker.run(aws("lambda"), aws("logs"), target, payload, out=out, **options)
    except InvokeError as error:
        return error, out.getvalue()
    return outcome, out.getvalue()


def log_lines(printed: str) -> list[str]:
    """What was printed under the ``log (...):`` heading."""
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("log ("))
    return lines[start + 1 :]


# --------------------------------------------------------------------------- invocations


def test_a_sync_invoke_prints_the_status_the_payload_and_the_whole_log(
    aws: Clients, deploy: Callable[[str], Target]
) -> None:
    outcome, printed = run(aws, deploy(ECHO), b'{"n": 1}')

    rid = outcome.request_id
    assert (outcome.status_code, outcome.function_error, json.loads(outcome.payload)) == (
        200,
        None,
        {"n": 1},
    )
    assert printed.splitlines()[:5] == [
        f"{FUNCTION}: 200, request id {rid}",
        "payload:",
        "{",
        '  "n": 1',
        "}",
    ]
    assert printed.splitlines()[5] == "log (LogResult, the last 4 KB):"
    log = log_lines(printed)
    starts = [i for i, line in enumerate(log) if line.startswith(f"START RequestId: {rid} ")]
    assert starts and log[starts[0] + 1] == f"handling {rid}"
    assert log[-2:-1] == [f"END RequestId: {rid}"]
    assert log[-1].startswith(f"REPORT RequestId: {rid}\tDuration: ")


def test_a_function_error_prints_the_error_document_and_exits_1(
    aws: Clients, deploy: Callable[[str], Target]
) -> None:
    error, printed = run(aws, deploy(FAILING), b"{}")

    assert (type(error), error.code, str(error)) == (
        InvokeError,
        1,
        f"{FUNCTION} returned a function error (Unhandled).",
    )
    head, _, rest = printed.partition("\n")
    assert head.startswith(f"{FUNCTION}: 200, request id ")
    assert head.endswith(", function error: Unhandled")
    document = json.loads(rest.split("log (", 1)[0].removeprefix("payload:\n"))
    assert (document["errorType"], document["errorMessage"]) == ("ValueError", "bad trade file")
    assert any(line.startswith("[ERROR] ValueError: bad trade file") for line in log_lines(printed))


def test_a_log_longer_than_the_tail_is_read_whole_from_the_log_group(
    aws: Clients, deploy: Callable[[str], Target]
) -> None:
    outcome, printed = run(aws, deploy(CHATTY), b"{}")

    rid = outcome.request_id
    assert outcome.log.source.startswith(f"/aws/lambda/{FUNCTION}, stream ")
    log = log_lines(printed)
    assert log[0].startswith(f"START RequestId: {rid} ")
    assert [line for line in log if line.startswith("line ")] == [
        f"line {n:03d} " + "x" * 60 for n in range(100)
    ]
    assert log[-1].startswith(f"REPORT RequestId: {rid}\t")


def test_an_async_invoke_prints_the_202_and_follows_the_log_to_its_report(
    aws: Clients, deploy: Callable[[str], Target]
) -> None:
    outcome, printed = run(aws, deploy(ECHO), b'{"n": 2}', asynchronous=True, timeout_seconds=60)

    rid = outcome.request_id
    lines = printed.splitlines()
    assert lines[0].startswith(f"{FUNCTION}: 202 (queued: InvocationType Event), request id ")
    assert lines[1] == f"waiting for its REPORT in /aws/lambda/{FUNCTION} (timeout 60 s)"
    log = log_lines(printed)
    assert log[0].startswith(f"START RequestId: {rid} ")
    assert log[1] == f"handling {rid}"
    assert log[-1].startswith(f"REPORT RequestId: {rid}\t")
    assert (outcome.status_code, outcome.payload) == (202, b"")


def test_a_sample_event_reaches_the_function_unchanged(
    aws: Clients, deploy: Callable[[str], Target]
) -> None:
    target = deploy(ECHO)
    event, _ = invoker.sample_event(target, "s3-put", OUTPUTS, "dev", key="incoming/a b.csv")

    outcome, _ = run(aws, target, json.dumps(event).encode())

    assert json.loads(outcome.payload) == event
    (ref,) = parse_s3_event(json.loads(outcome.payload)).objects
    assert (ref.bucket, ref.key) == (BUCKET, "incoming/a b.csv")


def test_an_event_file_reaches_the_function_byte_for_byte(
    aws: Clients, deploy: Callable[[str], Target], tmp_path: Path
) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(b'{"Records": [], "note": "caf\\u00e9"}')

    outcome, _ = run(aws, deploy(ECHO), invoker.event_from_file(path))

    assert json.loads(outcome.payload) == {"Records": [], "note": "café"}


def test_a_missing_function_names_what_function_may_be(aws: Clients) -> None:
    target = Target("nowhere", REGION, None)

    error, printed = run(aws, target, b"{}")

    assert (error.code, printed) == (1, "")
    assert "ResourceNotFoundException" in str(error)
    assert str(error).endswith(
        "(FUNCTION is processor, api_handler, api_authorizer or a function's full name)"
    )


class _QueuedButNeverRun:
    """A Lambda client whose asynchronous invocation is accepted and never runs."""

    def invoke(self, **request: Any) -> dict[str, Any]:
        assert request["InvocationType"] == "Event"
        return {"StatusCode": 202, "ResponseMetadata": {"RequestId": "queued-1"}}


#: CloudWatch Logs refuses events older than 14 days: the log is written around "now".
CALL_MS = int(time.time() * 1000) - 60_000


def _log(aws: Clients, stream: str, at_ms: int, *messages: str) -> None:
    logs = aws("logs")
    group = f"/aws/lambda/{FUNCTION}"
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": at_ms, "message": message} for message in messages],
    )


def _queued(aws: Clients, **options: Any) -> tuple[Any, str]:
    """Invoke asynchronously at CALL_MS through a client that answers 202 ``queued-1``."""
    ticks = iter(range(100))
    out = io.StringIO()
    try:
        outcome = invoker.run(
            _QueuedButNeverRun(),
            aws("logs"),
            Target(FUNCTION, REGION, FUNCTIONS["processor"]),
            b"{}",
            out=out,
            asynchronous=True,
            clock=lambda: float(next(ticks)),
            sleep=lambda seconds: None,
            now_ms=lambda: CALL_MS,
            **options,
        )
    except InvokeError as error:
        return error, out.getvalue()
    return outcome, out.getvalue()


def _invocation(request_id: str) -> list[str]:
    return [
        f"START RequestId: {request_id} Version: $LATEST\n",
        "hi\n",
        f"END RequestId: {request_id}\n",
        f"REPORT RequestId: {request_id}\tDuration: 1.00 ms\t\n",
    ]


def test_an_async_invoke_without_a_report_in_time_exits_1(aws: Clients) -> None:
    error, printed = _queued(aws, timeout_seconds=3)

    assert error.code == 1
    assert str(error).startswith(
        f"no REPORT of request queued-1 in /aws/lambda/{FUNCTION} after 3 s"
    )
    assert printed.splitlines()[0] == (
        f"{FUNCTION}: 202 (queued: InvocationType Event), request id queued-1"
    )


def test_an_async_answer_whose_id_no_log_line_carries_follows_the_only_invocation_since(
    aws: Clients,
) -> None:
    _log(aws, "earlier", CALL_MS - 1_000, *_invocation("r-6"))
    _log(aws, "s1", CALL_MS + 10, *_invocation("r-7"))

    outcome, printed = _queued(aws, timeout_seconds=3)

    assert outcome.request_id == "r-7"
    assert printed.splitlines()[2:] == [
        "note: no log line carries request id queued-1; this is the only invocation started "
        "since the call: r-7",
        f"log (/aws/lambda/{FUNCTION}, stream s1):",
        "START RequestId: r-7 Version: $LATEST",
        "hi",
        "END RequestId: r-7",
        "REPORT RequestId: r-7\tDuration: 1.00 ms\t",
    ]


def test_an_async_answer_is_not_matched_to_one_of_several_other_invocations(
    aws: Clients,
) -> None:
    _log(aws, "s1", CALL_MS + 10, *_invocation("r-7"))
    _log(aws, "s2", CALL_MS + 20, *_invocation("r-8"))

    error, _ = _queued(aws, timeout_seconds=3)

    assert (type(error), error.code) == (InvokeError, 1)


def test_an_async_answer_carried_by_the_log_is_followed_among_others(aws: Clients) -> None:
    _log(aws, "s1", CALL_MS + 10, *_invocation("r-7"))
    _log(aws, "s2", CALL_MS + 20, *_invocation("queued-1"))

    outcome, printed = _queued(aws, timeout_seconds=3)

    assert (outcome.request_id, outcome.log.source) == (
        "queued-1",
        f"/aws/lambda/{FUNCTION}, stream s2",
    )
    assert "note:" not in printed


def test_the_debug_hook_runs_before_the_invocation_and_its_lines_are_printed(
    aws: Clients, deploy: Callable[[str], Target]
) -> None:
    asked: list[tuple[str, str]] = []

    def hook(function_name: str, region: str) -> list[str]:
        asked.append((function_name, region))
        return ["debugger: attach to 127.0.0.1:5678"]

    target = deploy(ECHO)
    outcome, printed = run(aws, target, b"{}", debug=hook)

    assert asked == [(FUNCTION, target.region)]
    assert printed.splitlines()[0] == "debugger: attach to 127.0.0.1:5678"
    assert outcome.status_code == 200


def test_a_timeout_of_zero_is_a_usage_error(aws: Clients) -> None:
    with pytest.raises(InvokeError) as raised:
        invoker.run(
            aws("lambda"), aws("logs"), Target(FUNCTION, REGION, None), b"{}",
            out=io.StringIO(), timeout_seconds=0,
        )  # fmt: skip
    assert (raised.value.code, str(raised.value)) == (
        2,
        "--timeout 0: a number of seconds above 0.",
    )


# --------------------------------------------------------------------------- the log's lines


@pytest.mark.parametrize(
    ("message", "opens", "reports"),
    [
        ("START RequestId: r-1 Version: $LATEST\n", "r-1", None),
        ("REPORT RequestId: r-1\tDuration: 1.00 ms\t\n", None, "r-1"),
        ("END RequestId: r-1\n", None, None),
        ('{"type": "platform.start", "record": {"requestId": "r-1"}}', "r-1", None),
        ('{"type": "platform.report", "record": {"requestId": "r-1"}}', None, "r-1"),
        ('{"type": "platform.start", "record": {"requestId": ""}}', None, None),
        ('{"type": "platform.start"}', None, None),
        ('["START RequestId: r-1"]', None, None),
        ("{not json", None, None),
        ("handling r-1", None, None),
    ],
)
def test_start_and_report_are_read_in_both_log_formats(
    message: str, opens: str | None, reports: str | None
) -> None:
    assert (invoker.start_id(message), invoker.report_id(message)) == (opens, reports)


# --------------------------------------------------------------------------- the function


def test_a_short_name_is_the_deployments_function() -> None:
    targets = [invoker.resolve(OUTPUTS, "dev", name) for name in FUNCTIONS]

    assert [(t.function_name, t.region, t.kind and t.kind.service) for t in targets] == [
        ("tap-processor-dev", REGION, "processor"),
        ("tap-api-handler-dev", REGION, "api_handler"),
        ("tap-api-authorizer-dev", REGION, "api_authorizer"),
    ]


def test_a_full_name_of_the_deployment_keeps_its_samples() -> None:
    target = invoker.resolve(OUTPUTS, "dev", "tap-api-authorizer-dev")

    assert target.kind is FUNCTIONS["api_authorizer"]


def test_any_other_full_name_is_invoked_as_given_without_samples() -> None:
    target = invoker.resolve(OUTPUTS, "dev", "someone-elses-function")

    assert (target.function_name, target.kind) == ("someone-elses-function", None)
    with pytest.raises(InvokeError, match="it has no samples") as raised:
        invoker.sample_lines(target)
    assert raised.value.code == 2


def test_an_undeployed_function_says_what_to_run() -> None:
    with pytest.raises(InvokeError, match=r"has no staging_processor_function_name: deploy it"):
        invoker.resolve(OUTPUTS, "staging", "processor")


# --------------------------------------------------------------------------- the samples


def test_the_samples_are_listed_per_function() -> None:
    processor = invoker.sample_lines(invoker.resolve(OUTPUTS, "dev", "processor"))
    handler = invoker.sample_lines(invoker.resolve(OUTPUTS, "dev", "api_handler"))
    authorizer = invoker.sample_lines(invoker.resolve(OUTPUTS, "dev", "api_authorizer"))

    assert processor[0] == "samples of tap-processor-dev (processor.handler.lambda_handler):"
    assert [line.split()[0] for line in processor[1:]] == ["s3-put"]
    assert [line.split()[0] for line in handler[1:]] == [
        "health",
        "create-session",
        "get-current-session",
        "get-session",
        "delete-session",
        "get-trade",
        "list-account-trades",
    ]
    assert handler[6].split(None, 1) == [
        "get-trade",
        "GET /trades/{trade_id}: One trade of the caller's account (user route: the session "
        "authorizer's claims in requestContext.authorizer.lambda)",
    ]
    assert [line.split()[0] for line in authorizer[1:]] == ["authorizer"]


def test_the_api_samples_are_filled_from_the_deployment() -> None:
    target = invoker.resolve(OUTPUTS, "dev", "api_handler")

    event, notes = invoker.sample_event(target, "get-trade", OUTPUTS, "dev")

    context = event["requestContext"]
    assert notes == []
    assert (context["accountId"], context["apiId"], context["stage"], event["rawPath"]) == (
        "210987654321",
        "x7k2m9p4q1",
        "dev",
        "/dev/trades/T-000001",
    )
    assert context["domainName"] == f"x7k2m9p4q1.execute-api.{REGION}.amazonaws.com"


def test_the_authorizer_sample_names_the_deployed_route() -> None:
    target = invoker.resolve(OUTPUTS, "dev", "api_authorizer")

    event, _ = invoker.sample_event(target, "authorizer", OUTPUTS, "dev")

    assert event["routeArn"] == (
        f"arn:aws:execute-api:{REGION}:123456789012:x7k2m9p4q1/dev/GET/trades/T-000001"
    )


def test_a_sample_of_another_function_is_a_usage_error() -> None:
    target = invoker.resolve(OUTPUTS, "dev", "api_authorizer")

    with pytest.raises(InvokeError) as raised:
        invoker.sample_event(target, "get-trade", OUTPUTS, "dev")

    assert (raised.value.code, str(raised.value)) == (
        2,
        "tap-api-authorizer-dev has no sample 'get-trade'; its samples: authorizer "
        "(--sample list describes them).",
    )


def test_key_goes_with_the_s3_sample_only() -> None:
    target = invoker.resolve(OUTPUTS, "dev", "api_handler")

    with pytest.raises(InvokeError, match="--key names the object of the processor's s3-put"):
        invoker.sample_event(target, "health", OUTPUTS, "dev", key="incoming/x.csv")


def test_the_s3_sample_names_an_existing_object_with_its_size_etag_and_version(
    aws: Clients,
) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    body = b"trade_id,account_id\nT-1,ACC-1\n"
    version = s3.put_object(Bucket=BUCKET, Key="incoming/t 1.csv", Body=body)["VersionId"]
    target = invoker.resolve(OUTPUTS, "dev", "processor")

    event, notes = invoker.sample_event(
        target, "s3-put", OUTPUTS, "dev", key="incoming/t 1.csv", s3=s3
    )

    s3_object = event["Records"][0]["s3"]["object"]
    assert (s3_object["key"], s3_object["size"], s3_object["eTag"], s3_object["versionId"]) == (
        "incoming/t+1.csv",
        len(body),
        hashlib.md5(body).hexdigest(),  # noqa: S324 (S3's ETag of a single-part upload)
        version,
    )
    assert notes == [
        f"note: the event names s3://{BUCKET}/incoming/t 1.csv; the processor reads the object "
        "itself"
    ]


def test_the_s3_sample_of_a_missing_object_says_to_upload_one(aws: Clients) -> None:
    aws("s3").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    target = invoker.resolve(OUTPUTS, "dev", "processor")

    event, notes = invoker.sample_event(
        target, "s3-put", OUTPUTS, "dev", key="incoming/trades.csv", s3=aws("s3")
    )

    assert event["Records"][0]["s3"]["bucket"]["name"] == BUCKET
    assert notes == [
        f"note: s3://{BUCKET}/incoming/trades.csv does not exist: the event only names it, and "
        "the processor reads it (put one there first: ./tap upload FILE --key "
        "incoming/trades.csv)"
    ]


def test_the_s3_sample_without_a_key_names_the_sample_trade_file_put_in_place(
    aws: Clients,
) -> None:
    from processor.samples import SAMPLE_TRADE_FILE

    s3 = aws("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    target = invoker.resolve(OUTPUTS, "dev", "processor")

    event, notes = invoker.sample_event(target, "s3-put", OUTPUTS, "dev", s3=s3)
    again, notes_again = invoker.sample_event(target, "s3-put", OUTPUTS, "dev", s3=s3)

    stored = s3.get_object(Bucket=BUCKET, Key="incoming/samples/trades.csv")["Body"].read()
    assert stored == SAMPLE_TRADE_FILE
    s3_object = event["Records"][0]["s3"]["object"]
    assert (s3_object["key"], s3_object["size"]) == (
        "incoming/samples/trades.csv",
        len(SAMPLE_TRADE_FILE),
    )
    assert notes == [
        f"note: put the processor's sample trade file (4 lines) at s3://{BUCKET}/incoming/"
        "samples/trades.csv (the bucket's notification processes it too: the second run counts "
        "duplicates)",
        f"note: the event names s3://{BUCKET}/incoming/samples/trades.csv; the processor reads "
        "the object itself",
    ]
    assert notes_again == notes[1:]  # put once, named every time
    assert again["Records"][0]["s3"]["object"]["eTag"] == s3_object["eTag"]


# --------------------------------------------------------------------------- the event file


def test_an_event_file_must_be_json(tmp_path: Path) -> None:
    path = tmp_path / "event.txt"
    path.write_text("not json", encoding="utf-8")

    with pytest.raises(InvokeError, match=r"event.txt is not JSON .*Lambda takes JSON only") as r:
        invoker.event_from_file(path)
    assert r.value.code == 2


def test_a_missing_event_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(InvokeError, match="No such file or directory") as raised:
        invoker.event_from_file(tmp_path / "missing.json")
    assert raised.value.code == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "give --event FILE or --sample NAME (--key goes with --sample)."),
        ({"event": Path("e.json"), "key": "incoming/a.csv"}, "give --event FILE or --sample"),
        ({"event": Path("e.json"), "sample": "s3-put"}, "not both."),
    ],
)
def test_the_payload_is_an_event_file_or_a_sample(options: dict[str, Any], message: str) -> None:
    target = invoker.resolve(OUTPUTS, "dev", "processor")

    with pytest.raises(InvokeError) as raised:
        invoker.payload_for(target, OUTPUTS, "dev", **options)

    assert raised.value.code == 2
    assert message in str(raised.value)


def test_a_sample_payload_is_the_samples_json() -> None:
    target = invoker.resolve(OUTPUTS, "dev", "api_handler")

    payload, notes = invoker.payload_for(target, OUTPUTS, "dev", sample="health")

    event = json.loads(payload)
    assert (event["routeKey"], event["requestContext"]["stage"], notes) == (
        "GET /health",
        "dev",
        [],
    )


# --------------------------------------------------------------------------- --debug


#: Where the emulator of this clone links a debugged function's code (whatever the clone's path).
DEBUG_ROOT = Path(__file__).resolve().parents[2] / ".emulator" / "lambda" / "debug" / FUNCTION

SESSION = DebugSession(
    function=f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION}",
    function_name=FUNCTION,
    host="127.0.0.1",
    port=5679,
    remote_root=str(DEBUG_ROOT),
    attach_timeout_seconds=300.0,
    debugpy_version="1.8.0",
)


def test_debug_arms_a_session_and_prints_where_to_attach_and_a_launch_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, str, int, str]] = []

    def request_debug(endpoint: str, function_name: str, *, port: int, region: str) -> DebugSession:
        asked.append((endpoint, function_name, port, region))
        return SESSION

    # The hook imports the emulator's debugging client when it is made.
    monkeypatch.setattr(debugging, "request_debug", request_debug)
    hook = invoker.debug_hook("http://127.0.0.1:4566", FUNCTIONS["processor"], port=5679)

    lines = hook(FUNCTION, "ap-southeast-1")

    assert asked == [("http://127.0.0.1:4566", FUNCTION, 5679, "ap-southeast-1")]
    assert lines[:2] == [SESSION.instructions(), "VS Code launch configuration:"]
    assert json.loads(lines[2])["pathMappings"] == [
        {
            "localRoot": "${workspaceFolder}/services/processor/src",
            "remoteRoot": str(DEBUG_ROOT),
        }
    ]


def test_the_authorizers_sources_are_the_api_handler_package() -> None:
    assert FUNCTIONS["api_authorizer"].package == "api_handler"


def test_debug_without_an_emulator_answering_exits_1() -> None:
    hook = invoker.debug_hook("http://127.0.0.1:9", FUNCTIONS["processor"])

    with pytest.raises(InvokeError) as raised:
        hook(FUNCTION, "ap-southeast-1")

    assert raised.value.code == 1
    assert str(raised.value).startswith(
        "--debug: no debug session (the emulator at http://127.0.0.1:9 did not answer: "
    )


# --------------------------------------------------------------------------- the client and task


def test_the_lambda_client_waits_as_long_as_a_function_runs_and_never_retries(
    bare_account: Session,
) -> None:
    lambda_ = invoker.lambda_client(bare_account, REGION)

    config = lambda_.meta.config
    assert (config.read_timeout, config.retries["total_max_attempts"]) == (960, 1)
    assert lambda_.meta.region_name == REGION


def test_a_debugged_invocation_waits_a_day(bare_account: Session) -> None:
    lambda_ = invoker.lambda_client(bare_account, REGION, debugging=True)

    config = lambda_.meta.config
    assert (config.read_timeout, config.retries["total_max_attempts"]) == (86_400, 1)


def test_the_task_waits_as_long_as_the_module_by_default() -> None:
    import tasks

    default = inspect.signature(tasks.invoke_function.body).parameters["timeout"].default
    assert default == invoker.DEFAULT_TIMEOUT_SECONDS == 120


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"event": "e.json", "sample": "s3-put"},
            "invoke: give --event FILE or --sample NAME, not both.",
        ),
        (
            {"sample": "s3-put", "debug": True, "target": "aws"},
            "invoke: --debug needs the local target (the emulator runs the function).",
        ),
    ],
)
def test_the_task_refuses_bad_arguments_with_exit_2(options: dict[str, Any], message: str) -> None:
    import tasks

    with pytest.raises(Exit) as raised:
        tasks.invoke_function.body(Context(), "processor", **options)
    assert (raised.value.code, raised.value.message) == (2, message)
