"""tooling.verify's parts: the canary file and what the API must answer for it, the target read
from the flat outputs, the polling, the API's requests, the HTTP transport and the SigV4 signer,
and the credentials of each target."""

from __future__ import annotations

import ast
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from botocore.credentials import Credentials
from processor.domain.parsing import ParsedTrade, detect_file_type, parse_file

from tooling.emulator.record import Emulator
from tooling.lifecycle.session import Session
from tooling.verify import (
    CANARY_FOLDER,
    CheckFailedError,
    VerifyError,
    VerifyTarget,
    new_canary,
    run,
    session_ttl,
)
from tooling.verify.api import ApiClient
from tooling.verify.command import api_client, api_credentials
from tooling.verify.errors import describe_error
from tooling.verify.polling import Backoff, poll
from tooling.verify.store import QUARANTINE_PREFIX
from tooling.verify.transport import (
    ApiUnreachableError,
    HttpAnswer,
    HttpRequest,
    SigV4Signer,
    UrllibTransport,
)

ROOT = Path(__file__).resolve().parents[2]
RUN = "verify-20261205T145700Z-0a1b2c"
STARTED = datetime(2026, 12, 5, 14, 57, 0, 123_456, tzinfo=UTC)


# --------------------------------------------------------------------------- the canary


def test_the_canary_file_is_three_trades_of_its_own_account_under_its_own_key() -> None:
    canary = new_canary(STARTED, lambda: "0a1b2c")
    assert canary.run_id == canary.account_id == RUN
    assert canary.key == f"incoming/verify/{RUN}.csv"
    assert canary.file_text() == (
        "trade_id,account_id,symbol,side,quantity,price,currency,executed_at\n"
        f"{RUN}-1,{RUN},VERIFY,BUY,1,100.25,SGD,2026-12-05T14:57:00Z\n"
        f"{RUN}-2,{RUN},VERIFY,SELL,2,100.5,SGD,2026-12-05T14:57:01Z\n"
        f"{RUN}-3,{RUN},VERIFY,BUY,3,100.75,SGD,2026-12-05T14:57:02Z\n"
    )


def test_the_run_id_is_the_utc_second_and_the_token() -> None:
    singapore = timezone(timedelta(hours=8))
    later = new_canary(datetime(2026, 12, 6, 1, 2, 3, tzinfo=singapore), lambda: "ffffff")
    assert later.run_id == "verify-20261205T170203Z-ffffff"
    assert new_canary().run_id != new_canary().run_id  # the random token tells two runs apart


def test_the_api_answers_the_canary_trades_in_the_processors_canonical_form() -> None:
    canary = new_canary(STARTED, lambda: "0a1b2c")
    assert canary.trades[1].api_body() == {
        "trade_id": f"{RUN}-2",
        "account_id": RUN,
        "symbol": "VERIFY",
        "side": "SELL",
        "quantity": 2,
        "price": "100.5",
        "currency": "SGD",
        "executed_at": "2026-12-05T14:57:01.000000Z",
    }
    assert [item["trade_id"] for item in canary.listing()] == [f"{RUN}-3", f"{RUN}-2", f"{RUN}-1"]


def test_the_processor_accepts_every_canary_line_as_the_api_will_show_it() -> None:
    """The processor's own parser on the canary file: three trades, none rejected, whose stored
    text (price, executed_at) is what the read check expects from the API."""
    canary = new_canary(STARTED, lambda: "0a1b2c")
    file_type = detect_file_type(canary.key)
    assert file_type is not None
    results = list(parse_file(io.BytesIO(canary.file_text().encode()), file_type))
    assert all(isinstance(result, ParsedTrade) for result in results)
    stored = [
        {
            "trade_id": r.trade.trade_id,
            "account_id": r.trade.account_id,
            "symbol": r.trade.symbol,
            "side": r.trade.side.value,
            "quantity": r.trade.quantity,
            "price": r.trade.price_text,
            "currency": r.trade.currency,
            "executed_at": r.trade.executed_at_text,
        }
        for r in results
        if isinstance(r, ParsedTrade)
    ]
    assert stored == [trade.api_body() for trade in canary.trades]


def test_the_canary_prefixes_are_the_platforms() -> None:
    """incoming/ is the notification's filter, quarantine/ where the processor writes rejects
    (read from the infra source: importing it would load cdktf)."""
    source = (ROOT / "infra/src/trading_infra/components/storage.py").read_text(encoding="utf-8")
    assigned = {
        target.id: str(node.value.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert CANARY_FOLDER == f"{assigned['INCOMING_PREFIX']}verify/" == "incoming/verify/"
    assert assigned["QUARANTINE_PREFIX"] == QUARANTINE_PREFIX == "quarantine/"


@pytest.mark.parametrize(("timeout", "ttl"), [(300, 600), (0.5, 301), (100_000, 86_400)])
def test_the_session_outlives_the_ingest_within_the_apis_bounds(timeout: float, ttl: int) -> None:
    assert session_ttl(timeout) == ttl


# --------------------------------------------------------------------------- the target

OUTPUTS = {
    "dev_data_bucket_name": "tap-data-dev",
    "dev_processor_function_name": "tap-processor-dev",
    "dev_processor_dead_letter_queue_url": "http://127.0.0.1:4566/123/dlq",
    "dev_aws_region": "ap-southeast-1",
    "dev_trades_table_name": "tap-trades-dev",
    "dev_api_endpoint_url": "https://abc123.execute-api.ap-southeast-1.amazonaws.com/dev",
    "dev_api_local_url": "http://127.0.0.1:4566/_tap/execute-api/abc123/dev/",
    "dev_emulator_endpoint": "http://127.0.0.1:4566",
}


def test_the_local_target_uses_the_emulators_url_of_the_stage() -> None:
    target = VerifyTarget.from_outputs(OUTPUTS, "dev", "local")
    assert (target.name, target.api_url, target.trades_table, target.region) == (
        "dev",
        "http://127.0.0.1:4566/_tap/execute-api/abc123/dev",
        "tap-trades-dev",
        "ap-southeast-1",
    )
    assert target.deployment.bucket == "tap-data-dev"
    assert target.deployment.dead_letter_queue_url == "http://127.0.0.1:4566/123/dlq"


def test_the_aws_target_uses_the_stages_invoke_url() -> None:
    outputs = {k: v for k, v in OUTPUTS.items() if k != "dev_emulator_endpoint"}
    target = VerifyTarget.from_outputs(outputs, "dev", "aws")
    assert target.api_url == "https://abc123.execute-api.ap-southeast-1.amazonaws.com/dev"


def test_the_aws_target_refuses_the_outputs_of_a_local_deployment() -> None:
    with pytest.raises(VerifyError) as raised:
        VerifyTarget.from_outputs(OUTPUTS, "dev", "aws")
    assert raised.value.code == 2
    assert str(raised.value) == (
        "the outputs of dev are of a local deployment (they have dev_emulator_endpoint): "
        "deploy it to AWS first (`./tap deploy --env dev --target aws`)."
    )


def test_missing_outputs_are_named_with_the_deploy_to_run() -> None:
    outputs = {k: v for k, v in OUTPUTS.items() if k not in ("dev_trades_table_name",)}
    del outputs["dev_api_local_url"]
    with pytest.raises(VerifyError) as raised:
        VerifyTarget.from_outputs(outputs, "dev", "local")
    assert (raised.value.code, str(raised.value)) == (
        2,
        "cfn-outputs/flat-outputs.json has no dev_api_local_url, dev_trades_table_name: "
        "deploy it first (`./tap deploy --env dev`).",
    )
    with pytest.raises(VerifyError) as raised:
        VerifyTarget.from_outputs({}, "staging", "local")
    assert str(raised.value).startswith("cfn-outputs/flat-outputs.json has no staging_data_")


def test_a_region_of_a_multi_region_environment_is_named_by_the_report() -> None:
    outputs = {k.replace("dev_", "global_us_east_2_"): v for k, v in OUTPUTS.items()}
    assert VerifyTarget.from_outputs(outputs, "global_us_east_2", "local").name == (
        "global (us-east-2)"
    )


# --------------------------------------------------------------------------- polling


def test_polling_asks_sooner_first_then_less_often_and_ends_at_the_deadline() -> None:
    now = [0.0]
    asked: list[float] = []

    def probe() -> str | None:
        asked.append(now[0])
        return None

    def sleep(seconds: float) -> None:
        now[0] += seconds

    found = poll(probe, timeout_seconds=6, clock=lambda: now[0], sleep=sleep, backoff=Backoff())
    assert found is None
    assert asked == [0.0, 0.25, 0.75, 1.75, 3.75, 5.75, 6.0]


def test_polling_returns_the_first_answer_and_a_failure_ends_it() -> None:
    answers = iter([None, None, "seen"])
    assert poll(lambda: next(answers), timeout_seconds=60, sleep=lambda s: None) == "seen"

    def refused() -> None:
        raise CheckFailedError("refused")

    with pytest.raises(CheckFailedError):
        poll(refused, timeout_seconds=60, sleep=lambda s: None)


# --------------------------------------------------------------------------- the API's requests


class Recorder:
    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []

    def send(self, request: HttpRequest) -> HttpAnswer:
        self.requests.append(request)
        return HttpAnswer(200, b"{}")


def test_the_api_client_signs_the_session_routes_and_sends_the_bearer_on_user_routes() -> None:
    recorder = Recorder()

    def signer(request: HttpRequest) -> HttpRequest:
        return replace(request, headers={**request.headers, "sig": "yes"})

    api = ApiClient("https://api.example/dev/", recorder, signer)
    api.health()
    api.create_session("acc-1", 600)
    api.trade("T:1/x", "token")
    api.account_trades("acc-1", "token", limit=100)
    api.current_session("token")
    api.delete_session("s/1")
    seen = [
        (r.method, r.url, r.headers.get("sig"), r.headers.get("authorization"))
        for r in recorder.requests
    ]
    assert seen == [
        ("GET", "https://api.example/dev/health", None, None),
        ("POST", "https://api.example/dev/sessions", "yes", None),
        ("GET", "https://api.example/dev/trades/T%3A1%2Fx", None, "Bearer token"),
        ("GET", "https://api.example/dev/accounts/acc-1/trades?limit=100", None, "Bearer token"),
        ("GET", "https://api.example/dev/sessions/current", None, "Bearer token"),
        ("DELETE", "https://api.example/dev/sessions/s%2F1", "yes", None),
    ]
    create = recorder.requests[1]
    assert create.headers["content-type"] == "application/json"
    assert json.loads(create.body or b"") == {"account_id": "acc-1", "ttl_seconds": 600}


def test_the_signer_signs_for_execute_api_in_the_region_with_the_session_token() -> None:
    signer = SigV4Signer(Credentials("AKIDEXAMPLE", "secret", "token"), "ap-southeast-1")
    request = HttpRequest("POST", "https://abc.execute-api.example/dev/sessions", {}, b"{}")
    headers = signer(request).headers
    stamp = headers["X-Amz-Date"]
    assert headers["Authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{stamp[:8]}/ap-southeast-1/execute-api/"
        "aws4_request, SignedHeaders="
    )
    assert headers["X-Amz-Security-Token"] == "token"


# --------------------------------------------------------------------------- the transport


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/ok" else 404
        body = json.dumps({"path": self.path}).encode()
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_an_error_status_is_an_answer_and_no_answer_is_unreachable(server: str) -> None:
    transport = UrllibTransport(timeout_seconds=5)
    assert transport.send(HttpRequest("GET", f"{server}/ok")) == HttpAnswer(200, b'{"path": "/ok"}')
    missing = transport.send(HttpRequest("GET", f"{server}/nope"))
    assert (missing.status, missing.json(), missing.shown()) == (
        404,
        {"path": "/nope"},
        '404 {"path": "/nope"}',
    )
    with pytest.raises(ApiUnreachableError) as raised:  # nothing listens on the discard port
        transport.send(HttpRequest("GET", "http://127.0.0.1:9/x"))
    assert str(raised.value).startswith("GET http://127.0.0.1:9/x: ")
    with pytest.raises(ApiUnreachableError, match="not an http"):
        transport.send(HttpRequest("GET", "file:///etc/passwd"))


def test_a_long_body_is_cut_short_in_a_report() -> None:
    answer = HttpAnswer(500, b"x" * 300)
    assert answer.shown() == "500 " + "x" * 197 + "..."
    assert HttpAnswer(200, b"not json").json() is None


# --------------------------------------------------------------------------- credentials


def _local_session(tmp_path: Path) -> Session:
    emulator = Emulator(endpoint="http://127.0.0.1:4566", port=4566, pid=0, state_dir=tmp_path)
    return Session(root=tmp_path, target="local", emulator=emulator)


def test_the_local_target_signs_with_the_emulators_fake_credentials(tmp_path: Path) -> None:
    found = api_credentials(_local_session(tmp_path), "ap-southeast-1")
    assert (found.access_key, found.secret_key, found.token) == ("testing", "testing", "testing")


def test_the_aws_target_signs_with_boto3s_default_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_aws_configuration(tmp_path, monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    found = api_credentials(Session(root=tmp_path, target="aws"), "ap-southeast-1")
    assert (found.access_key, found.secret_key) == ("AKIDFROMENV", "secret")


def test_no_aws_credentials_stop_the_run_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_aws_configuration(tmp_path, monkeypatch)
    with pytest.raises(VerifyError) as raised:
        api_credentials(Session(root=tmp_path, target="aws"), "ap-southeast-1")
    assert raised.value.code == 2
    assert str(raised.value).startswith("no AWS credentials to sign the API's IAM routes")


def _no_aws_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_the_local_target_refuses_an_api_url_off_loopback(tmp_path: Path) -> None:
    outputs = {**OUTPUTS, "dev_api_local_url": "https://abc123.execute-api.amazonaws.com/dev"}
    target = VerifyTarget.from_outputs(outputs, "dev", "local")
    with pytest.raises(VerifyError) as raised:
        api_client(_local_session(tmp_path), target)
    assert raised.value.code == 2
    assert "is not on loopback" in str(raised.value)


def test_a_timeout_of_zero_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    with pytest.raises(VerifyError) as raised:
        run(_local_session(tmp_path), OUTPUTS, "dev", timeout_seconds=0)
    assert (raised.value.code, str(raised.value)) == (
        2,
        "--timeout 0: a number of seconds above 0.",
    )


def test_an_error_reads_as_its_message_or_with_its_type() -> None:
    assert describe_error(CheckFailedError("no")) == "no"
    assert describe_error(ApiUnreachableError("GET x: refused")) == "GET x: refused"
    assert describe_error(KeyError("items")) == "KeyError: 'items'"
