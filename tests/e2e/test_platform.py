"""End-to-end: the dev stack deployed to the local emulator, exercised as a client would.

Black-box: the tests use AWS APIs and HTTP against what was deployed, never the handlers' code.
The emulator runs the deployed functions from their zips on their real triggers (the bucket
notification, the HTTP API, the async retry and dead-letter wiring). Runs in file order on the
dev environment of the session's deployment (``deployed``, a view of ``conftest.deployment``):
ingest, API, controls, re-plan, state locking, a handler change redeployed; ``test_destroy``
destroys it afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.black_box import LOOPBACK, Response, call, file_summary, log_messages, wait_for
from tests.e2e.conftest import ENVIRONMENT, ROOT, Deployed, workspace

if TYPE_CHECKING:
    from tooling.lifecycle.workspace import Workspace

pytestmark = pytest.mark.e2e

HEADER = "trade_id,account_id,symbol,side,quantity,price,currency,executed_at"


def _csv_line(
    trade_id: str, account: str = "acc-e2e", price: str = "35.125", minute: int = 30
) -> str:
    return f"{trade_id},{account},D05.SI,BUY,100,{price},SGD,2024-03-01T09:{minute:02d}:00Z"


def _jsonl_line(
    trade_id: str, account: str = "acc-e2e", price: str = "35.125", minute: int = 30
) -> str:
    return json.dumps(
        {
            "trade_id": trade_id,
            "account_id": account,
            "symbol": "D05.SI",
            "side": "BUY",
            "quantity": 100,
            "price": price,
            "currency": "SGD",
            "executed_at": f"2024-03-01T09:{minute:02d}:00Z",
        }
    )


@pytest.fixture(scope="module")
def ingest(deployed: Deployed) -> Any:
    """Upload a trade file to the deployed bucket and wait for the deployed processor's summary.

    Nothing here runs the processor: the bucket notification invokes the function from its zip
    in the emulator, and the summary is read from the function's CloudWatch Logs.
    """
    s3 = deployed.client("s3")
    logs = deployed.client("logs")
    bucket = deployed.out("data_bucket_name")
    group = f"/aws/lambda/{deployed.out('processor_function_name')}"

    def summaries(key: str) -> list[dict[str, Any]]:
        records = [
            json.loads(m) for m in log_messages(logs, group, contains="trade file processed")
        ]
        return [record for record in records if record.get("key") == key]

    def run(key: str, body: str) -> dict[str, Any]:
        seen = len(summaries(key))
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode())

        def summary() -> dict[str, Any] | None:
            found = summaries(key)
            return found[-1] if len(found) > seen else None

        return wait_for(f"the processor's summary of s3://{bucket}/{key}", summary)

    return run


# --------------------------------------------------------------------------- (1) ingest


def test_an_upload_is_ingested_by_the_deployed_processor_within_seconds(
    deployed: Deployed,
) -> None:
    """GIVEN the deployed bucket WHEN a trade file is put into incoming/ THEN its trades are in
    the deployed table within 10 s, with no other command (the notification runs the zip)."""
    s3 = deployed.client("s3")
    dynamodb = deployed.client("dynamodb")
    table = deployed.out("trades_table_name")
    body = "\n".join([HEADER, *(_csv_line(f"FAST-{i}", minute=i) for i in range(5))]) + "\n"
    started = time.monotonic()
    s3.put_object(Bucket=deployed.out("data_bucket_name"), Key="incoming/e2e/fast.csv", Body=body)

    def stored() -> int:
        keys = [{"trade_id": {"S": f"FAST-{i}"}} for i in range(5)]
        answer = dynamodb.batch_get_item(RequestItems={table: {"Keys": keys}})
        return len(answer["Responses"][table]) == 5

    wait_for("5 trades in the trades table", stored, timeout_seconds=10)
    deployed.notes["s3 put -> 5 trades visible"] = time.monotonic() - started


def test_ingest_csv_and_jsonl_accounts_for_every_line(deployed: Deployed, ingest: Any) -> None:
    s3 = deployed.client("s3")
    dynamodb = deployed.client("dynamodb")
    bucket = deployed.out("data_bucket_name")
    table = deployed.out("trades_table_name")

    csv_body = (
        "\n".join(
            [
                HEADER,
                _csv_line("E2E-1", minute=1),
                _csv_line("E2E-2", minute=2),
                "",
                _csv_line("E2E-3", minute=3).replace("BUY", "HOLD"),  # bad side
                "E2E-4,acc-e2e,D05.SI,BUY,100",  # too few fields
                _csv_line("E2E-5", minute=5),
            ]
        )
        + "\n"
    )
    first = ingest("incoming/e2e/batch1.csv", csv_body)
    assert (first["status"], first["accepted"], first["rejected"], first["blank_lines"]) == (
        "processed",
        3,
        2,
        1,
    )
    assert first["duplicates"] == first["conflicts"] == 0

    jsonl_body = (
        "\n".join(
            [
                _jsonl_line("E2E-1", minute=1),  # same record as the CSV: a duplicate
                _jsonl_line("E2E-2", price="99.5", minute=2),  # same id, other content: conflict
                _jsonl_line("E2E-6", minute=6),
                "{not json",
            ]
        )
        + "\n"
    )
    second = ingest("incoming/e2e/batch 2.jsonl", jsonl_body)  # a space: URL-encoded in events
    assert (second["accepted"], second["duplicates"], second["conflicts"], second["rejected"]) == (
        1,
        1,
        1,
        1,
    )

    again = ingest("incoming/e2e/batch1-again.csv", csv_body)  # the same file uploaded twice
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 3, 2)

    # every data line is accounted for, exactly once
    for summary, lines in ((first, 5), (second, 4), (again, 5)):
        assert (
            summary["accepted"] + summary["duplicates"] + summary["conflicts"] + summary["rejected"]
            == lines
        )

    stored = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    ids = sorted(
        item["trade_id"]["S"] for item in stored if item["trade_id"]["S"].startswith("E2E-")
    )
    assert ids == ["E2E-1", "E2E-2", "E2E-5", "E2E-6"]  # no double count
    e2 = next(item for item in stored if item["trade_id"]["S"] == "E2E-2")
    assert e2["price"]["N"] in ("35.125", "35.1250") or e2["price"].get("S", "").startswith(
        "35.125"
    )

    def quarantine(key: str) -> list[dict[str, Any]]:
        qkey = f"quarantine/{key}.jsonl"
        body = s3.get_object(Bucket=bucket, Key=qkey)["Body"].read().decode()
        return [json.loads(line) for line in body.splitlines() if line]

    assert first["quarantine_key"] == "quarantine/incoming/e2e/batch1.csv.jsonl"
    assert sorted(entry["line"] for entry in quarantine("incoming/e2e/batch1.csv")) == [5, 6]
    assert sorted(entry["line"] for entry in quarantine("incoming/e2e/batch 2.jsonl")) == [2, 4]
    assert any("conflict" in entry["reason"] for entry in quarantine("incoming/e2e/batch 2.jsonl"))


def test_uploads_outside_incoming_do_not_invoke_the_processor(deployed: Deployed) -> None:
    """The notification's prefix filter is the deployed one: a file elsewhere is not read."""
    s3 = deployed.client("s3")
    logs = deployed.client("logs")
    group = f"/aws/lambda/{deployed.out('processor_function_name')}"
    s3.put_object(Bucket=deployed.out("data_bucket_name"), Key="elsewhere/x.csv", Body=HEADER)
    time.sleep(3)  # an asynchronous invocation would have started and logged by now
    assert not log_messages(logs, group, contains="elsewhere/x.csv")


def test_logs_show_each_invocation_with_start_end_and_report(deployed: Deployed) -> None:
    logs = deployed.client("logs")
    group = f"/aws/lambda/{deployed.out('processor_function_name')}"
    starts = log_messages(logs, group, contains="START RequestId: ")
    reports = log_messages(logs, group, contains="REPORT RequestId: ")
    assert starts and len(reports) == len(starts)
    assert all("Billed Duration: " in r and "Memory Size: " in r for r in reports)
    assert any("Init Duration: " in r for r in reports)  # the first invocation was a cold start


def test_a_failing_event_reaches_the_dead_letter_queue_after_the_retries(
    deployed: Deployed,
) -> None:
    """GIVEN the processor pointed at a table that does not exist (through the Lambda API)
    WHEN a file is uploaded THEN the deployed async config retries it, and the event then
    reaches the dead-letter queue; restored, the function ingests again."""
    lambda_ = deployed.client("lambda")
    sqs = deployed.client("sqs")
    logs = deployed.client("logs")
    name = deployed.out("processor_function_name")
    queue_url = deployed.out("processor_dead_letter_queue_url")
    configured = lambda_.get_function_configuration(FunctionName=name)
    variables = dict(configured["Environment"]["Variables"])
    retries = lambda_.get_function_event_invoke_config(FunctionName=name)["MaximumRetryAttempts"]
    key = "incoming/e2e/dead-letter.csv"
    try:
        lambda_.update_function_configuration(
            FunctionName=name,
            Environment={"Variables": {**variables, "TRADES_TABLE_NAME": "no-such-table"}},
        )
        deployed.client("s3").put_object(
            Bucket=deployed.out("data_bucket_name"),
            Key=key,
            Body=f"{HEADER}\n{_csv_line('DLQ-1')}\n",
        )
        received: list[dict[str, Any]] = []

        def dead_lettered() -> list[dict[str, Any]]:
            answer = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            for message in answer.get("Messages", []):
                received.append(message)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return [m for m in received if key.replace("/", "%2F") in m["Body"] or key in m["Body"]]

        wait_for("the failed event in the dead-letter queue", dead_lettered, timeout_seconds=60)
        time.sleep(1)  # the on-failure record follows the dead-letter message
        dead_lettered()
    finally:
        lambda_.update_function_configuration(
            FunctionName=name, Environment={"Variables": variables}
        )
    bodies = [json.loads(m["Body"]) for m in received]
    records = [b for b in bodies if "requestContext" in b]
    events = [b for b in bodies if "Records" in b]
    # the dead-letter queue gets the event itself, with Lambda's error attributes
    (event,) = events
    assert event["Records"][0]["s3"]["object"]["key"] == "incoming/e2e/dead-letter.csv"
    (message,) = [m for m in received if "Records" in json.loads(m["Body"])]
    # the on-failure destination (the same queue here) gets Lambda's invocation record
    (record,) = records
    attributes = message["MessageAttributes"]
    assert attributes["RequestID"]["StringValue"] == record["requestContext"]["requestId"]
    assert attributes["ErrorMessage"]["StringValue"]  # the function's error message
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == retries + 1
    assert record["responseContext"]["functionError"] == "Unhandled"
    failures = log_messages(
        logs,
        f"/aws/lambda/{name}",
        contains=f"START RequestId: {record['requestContext']['requestId']}",
    )
    assert len(failures) == retries + 1
    # restored: the next upload of the same file is ingested
    again = deployed.client("s3")
    again.put_object(
        Bucket=deployed.out("data_bucket_name"), Key=key, Body=f"{HEADER}\n{_csv_line('DLQ-1')}\n"
    )
    wait_for(
        "the file ingested once the function is restored",
        lambda: file_summary(logs, f"/aws/lambda/{name}", key),
    )


def test_the_emulator_under_the_deployment_refuses_what_aws_refuses(deployed: Deployed) -> None:
    """The deployment these tests exercise runs on the strict emulator: key and bucket policy
    principals must exist, functions call AWS with their own role's credentials under IAM, and
    a VPC function reaches only what its network reaches (docs/emulator.md, R1, R5-R7)."""
    status = call(f"{deployed.endpoint}/_tap/emulator", region=deployed.region).json()
    names = {patch["name"] for patch in status["patches"]}
    assert {
        "kms-key-policy-principals-exist",
        "s3-bucket-policy-principals-exist",
        "iam-execution-role-policies",
    } <= names
    assert status["vpc_reachability"] is True


#: A trading day: enough lines for a multipart upload and several invocations of the processor.
DAY_LINES = 100_000
#: Every 100th line of the day is not JSON: the processor rejects it into the quarantine.
DAY_REJECTED = DAY_LINES // 100


def _day_line(number: int) -> str:
    if number % 100 == 99:
        return f'{{"trade_id": "DAY-{number:06d}", "account_id": '  # cut short: not JSON
    return _jsonl_line(f"DAY-{number:06d}", "acc-day", f"{100 + number % 900}.25", number % 60)


def test_a_trading_day_uploaded_multipart_accounts_for_every_line_exactly_once(
    deployed: Deployed, tmp_path: Path
) -> None:
    """GIVEN a 100,000-line JSON Lines file (~17 MB) WHEN a user uploads it with the documented
    command, `./tap upload FILE --wait` (a multipart upload, as `aws s3 cp` makes), THEN the
    deployed processor ingests it over several invocations, each continuing the last from its
    checkpoint, and every line is accounted for exactly once: the table holds each valid trade,
    the quarantine each rejected line, and the totals say so.

    The processor's own timeout (30 s, as shipped) ends each part: the handover is a call of the
    Lambda API from inside the VPC, under the processor's own role, which the emulator allows
    only because the network has a Lambda interface endpoint that admits it and the role allows
    it, as on AWS (docs/emulator.md, R6 and R7).

    No double write: each accepted line is one conditional Put that created its item, so the
    accepted total equals the items stored for the file, and a line read twice (a part retried
    from its checkpoint) would show as a duplicate: the totals must show none.
    """
    path = tmp_path / "trades-day.jsonl"
    path.write_text("".join(_day_line(n) + "\n" for n in range(DAY_LINES)))
    key = "incoming/e2e/trades-day.jsonl"
    started = time.monotonic()
    upload = subprocess.run(
        [str(ROOT / "tap"), "upload", str(path), "--env", ENVIRONMENT, "--key", key, "--wait"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    deployed.notes["100,000-line file: ./tap upload --wait"] = time.monotonic() - started
    output = upload.stdout + upload.stderr
    assert upload.returncode == 0, output
    assert "multipart   yes: 3 parts of up to 8 MiB" in output, output

    logs = deployed.client("logs")
    group = f"/aws/lambda/{deployed.out('processor_function_name')}"
    parts = [
        record
        for message in log_messages(logs, group, contains=key)
        if message.startswith("{")
        and (record := json.loads(message)).get("key") == key
        and record.get("status") in ("continued", "processed")
    ]
    seen = [(p["part"], p["status"], p["accepted"], p["duplicates"], p["rejected"]) for p in parts]
    assert [part["part"] for part in parts] == list(range(1, len(parts) + 1)), seen
    assert [part["status"] for part in parts[:-1]] == ["continued"] * (len(parts) - 1), seen
    assert len(parts) >= 2, f"one invocation took the whole file: {seen}"
    final = parts[-1]
    assert final["status"] == "processed"
    totals = {name: final[name] for name in ("accepted", "duplicates", "conflicts", "rejected")}
    assert totals == {
        "accepted": DAY_LINES - DAY_REJECTED,
        "duplicates": 0,
        "conflicts": 0,
        "rejected": DAY_REJECTED,
    }
    assert not log_messages(logs, group, contains="Task timed out")

    stored = 0
    for page in (
        deployed.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=deployed.out("trades_table_name"),
            FilterExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": "acc-day"}},
            Select="COUNT",
        )
    ):
        stored += page["Count"]
    assert stored == totals["accepted"]

    s3 = deployed.client("s3")
    bucket = deployed.out("data_bucket_name")
    quarantined = [
        json.loads(line)
        for quarantine_key in final["quarantine_keys"]
        for line in s3.get_object(Bucket=bucket, Key=quarantine_key)["Body"]
        .read()
        .decode()
        .splitlines()
    ]
    assert sorted(entry["line"] for entry in quarantined) == list(range(100, DAY_LINES + 1, 100))


# --------------------------------------------------------------------------- (2) API


@pytest.fixture(scope="module")
def api(deployed: Deployed) -> str:
    """The deployed stage's local URL (from the outputs; served by the emulator)."""
    url = str(deployed.out("api_local_url")).rstrip("/")
    assert urlsplit(url).hostname in LOOPBACK
    return url


@pytest.fixture(scope="module")
def signed(deployed: Deployed, api: str) -> Any:
    """HTTP to the deployed API, SigV4-signed with the emulator's credentials (IAM routes)."""
    from botocore.credentials import Credentials

    from tooling.emulator.process import FAKE_CREDENTIALS

    credentials = Credentials(
        FAKE_CREDENTIALS.access_key_id,
        FAKE_CREDENTIALS.secret_access_key,
        FAKE_CREDENTIALS.session_token,
    )

    def request(method: str, path: str, body: Any = None, raw: bytes | None = None) -> Response:
        return call(
            api + path, method, body=body, raw=raw, region=deployed.region, credentials=credentials
        )

    return request


def test_health_answers_unsigned(api: str, deployed: Deployed) -> None:
    answer = call(api + "/health", region=deployed.region)
    assert (answer.status, answer.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(("method", "path"), [("POST", "/sessions"), ("DELETE", "/sessions/x")])
def test_service_routes_refuse_unsigned_requests(
    api: str, deployed: Deployed, method: str, path: str
) -> None:
    answer = call(api + path, method, body={} if method == "POST" else None, region=deployed.region)
    assert (answer.status, answer.json()) == (403, {"message": "Forbidden"})


@pytest.mark.parametrize("path", ["/trades/E2E-1", "/accounts/acc-e2e/trades", "/sessions/current"])
def test_user_routes_without_a_token_answer_401(api: str, deployed: Deployed, path: str) -> None:
    answer = call(api + path, region=deployed.region)
    assert (answer.status, answer.json()) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize("token", ["not-a-session", "A" * 43])
def test_user_routes_with_a_bad_token_answer_403(api: str, deployed: Deployed, token: str) -> None:
    answer = call(
        api + "/accounts/acc-e2e/trades",
        region=deployed.region,
        headers={"authorization": f"Bearer {token}"},
    )
    assert (answer.status, answer.json()) == (403, {"message": "Forbidden"})


def _bearer(session_id: str) -> dict[str, str]:
    return {"authorization": f"Bearer {session_id}"}


def test_a_session_reads_its_own_account_only(
    api: str, deployed: Deployed, ingest: Any, signed: Any
) -> None:
    """GIVEN trades of two accounts and a session of one WHEN the session reads THEN its own
    listing and trades answer, another account's listing is 403 forbidden and another
    account's trade is 404 (its existence never confirmed)."""
    body = [HEADER, _csv_line("MINE-1", "acc-mine"), _csv_line("THEIRS-1", "acc-theirs", minute=31)]
    ingest("incoming/e2e/tenants.csv", "\n".join(body) + "\n")
    session = signed("POST", "/sessions", {"account_id": "acc-mine", "ttl_seconds": 900}).json()
    user = _bearer(session["session_id"])
    region = deployed.region

    own = call(api + "/accounts/acc-mine/trades", region=region, headers=user)
    assert own.status == 200 and [t["trade_id"] for t in own.json()["items"]] == ["MINE-1"]
    assert call(api + "/trades/MINE-1", region=region, headers=user).status == 200
    current = call(api + "/sessions/current", region=region, headers=user)
    assert current.status == 200 and current.json()["account_id"] == "acc-mine"

    other = call(api + "/accounts/acc-theirs/trades", region=region, headers=user)
    assert (other.status, other.json()["error"]["code"]) == (403, "forbidden")
    hidden = call(api + "/trades/THEIRS-1", region=region, headers=user)
    missing = call(api + "/trades/NOPE-404", region=region, headers=user)
    assert (hidden.status, hidden.json()["error"]["code"]) == (404, "trade_not_found")
    assert hidden.json() == missing.json()


def test_an_expired_or_revoked_session_is_refused(
    api: str, deployed: Deployed, signed: Any
) -> None:
    """dev's authorizer cache TTL is 0: expiry and revocation take effect at once."""
    region = deployed.region
    expired = signed("POST", "/sessions", {"account_id": "acc-e2e", "ttl_seconds": 60}).json()
    deployed.client("dynamodb").update_item(  # the clock moved on: the session ended
        TableName=deployed.out("sessions_table_name"),
        # the table's key is the SHA-256 of the session id, never the id (api_handler README)
        Key={"session_id": {"S": hashlib.sha256(expired["session_id"].encode()).hexdigest()}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    answer = call(
        api + "/accounts/acc-e2e/trades", region=region, headers=_bearer(expired["session_id"])
    )
    assert (answer.status, answer.json()) == (403, {"message": "Forbidden"})

    revoked = signed("POST", "/sessions", {"account_id": "acc-e2e", "ttl_seconds": 900}).json()
    user = _bearer(revoked["session_id"])
    assert call(api + "/accounts/acc-e2e/trades", region=region, headers=user).status == 200
    assert signed("DELETE", f"/sessions/{revoked['session_id']}").status == 204
    answer = call(api + "/accounts/acc-e2e/trades", region=region, headers=user)
    assert (answer.status, answer.json()) == (403, {"message": "Forbidden"})


def test_every_route_through_the_deployed_api(
    api: str, deployed: Deployed, ingest: Any, signed: Any
) -> None:
    ingest(
        "incoming/e2e/api.csv",
        "\n".join([HEADER, *(_csv_line(f"API-{i}", "acc-api", minute=10 + i) for i in range(3))])
        + "\n",
    )
    region = deployed.region
    assert (signed("GET", "/health").status, signed("GET", "/health").json()) == (
        200,
        {"status": "ok"},
    )

    created = signed("POST", "/sessions", {"account_id": "acc-api", "ttl_seconds": 900})
    session = created.json()
    assert created.status == 201 and session["account_id"] == "acc-api"
    assert created.headers["cache-control"] == "no-store"
    sid = session["session_id"]
    user = _bearer(sid)
    assert (signed("GET", f"/sessions/{sid}").status, signed("GET", f"/sessions/{sid}").json()) == (
        200,
        session,
    )

    found = call(api + "/trades/API-1", region=region, headers=user)
    trade = found.json()
    assert found.status == 200 and trade["account_id"] == "acc-api" and trade["quantity"] == 100
    assert isinstance(trade["price"], str)
    first = call(api + "/accounts/acc-api/trades?limit=2", region=region, headers=user)
    page = first.json()
    assert first.status == 200 and [t["trade_id"] for t in page["items"]] == ["API-2", "API-1"]
    rest = call(
        api + f"/accounts/acc-api/trades?limit=2&next_token={page['next_token']}",
        region=region,
        headers=user,
    )
    assert rest.status == 200 and [t["trade_id"] for t in rest.json()["items"]] == ["API-0"]

    bad: list[tuple[str, str, Any, bytes | None, int, str]] = [
        ("GET", "/nowhere", None, None, 404, "route_not_found"),
        ("PUT", "/health", None, None, 405, "method_not_allowed"),
        ("GET", "/health?x=1", None, None, 400, "invalid_query_parameter"),
        ("POST", "/sessions", None, b"{not json", 400, "invalid_body"),
        (
            "POST",
            "/sessions",
            {"account_id": "acc api", "ttl_seconds": 5},
            None,
            400,
            "validation_error",
        ),
        (
            "POST",
            "/sessions",
            None,
            b'{"account_id": "' + b"a" * 17000 + b'"}',
            413,
            "payload_too_large",
        ),
        ("GET", "/sessions/short", None, None, 400, "invalid_path_parameter"),
    ]
    for method, path, body, raw, want_status, want_code in bad:
        answer = signed(method, path, body, raw)
        assert (answer.status, answer.json()["error"]["code"]) == (want_status, want_code), (
            method,
            path,
        )
        if want_status == 405:
            assert "GET" in answer.headers["allow"]
    user_bad = [
        ("/trades/bad%20id", 400, "invalid_path_parameter"),
        ("/accounts/acc-api/trades?limit=0", 400, "invalid_query_parameter"),
        ("/accounts/acc-api/trades?next_token=abc", 400, "invalid_next_token"),
    ]
    for path, want_status, want_code in user_bad:
        answer = call(api + path, region=region, headers=user)
        assert (answer.status, answer.json()["error"]["code"]) == (want_status, want_code), path

    assert signed("DELETE", f"/sessions/{sid}").status == 204
    assert signed("GET", f"/sessions/{sid}").json()["error"]["code"] == "session_not_found"
    assert signed("DELETE", f"/sessions/{sid}").status == 404


def test_the_deployed_api_honours_its_openapi_contract(
    api: str, deployed: Deployed, tmp_path: Any
) -> None:
    """schemathesis (pinned) generates requests from docs/api/openapi.json against the deployed
    API; its hooks sign service routes and open a session for user routes. Zero failures: no
    5xx, every response valid against the schema, documented status codes only."""
    import os
    import sys

    env = {
        **os.environ,
        **deployed.aws_env(),
        "PYTHONPATH": str(ROOT / "docs" / "api"),
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "TAP_API_URL": api,
        "TAP_API_REGION": deployed.region,
    }
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(ROOT / "docs" / "api" / "openapi.json"),
        f"--url={api}",
        "--checks=not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_headers_conformance,response_schema_conformance",
        "--phases=examples,coverage,fuzzing",
        "--mode=all",
        "--max-examples=25",
        "--generation-deterministic",
        "--continue-on-failure",
        "--suppress-health-check=all",
    ]
    started = time.monotonic()
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    deployed.notes["schemathesis against the deployed API"] = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


# --------------------------------------------------------------------------- (2b) smoke test

#: A line of `./tap verify`'s report: status, check, seconds, what it saw.
VERIFY_LINE = re.compile(r"  (PASS|FAIL|SKIP)  (\w+) +(\d+\.\d s|-) +(.*)")


def test_verify_passes_on_the_deployment_and_leaves_nothing_of_its_canary(
    deployed: Deployed,
) -> None:
    """GIVEN the deployed dev environment WHEN `./tap verify --env dev` runs, as a pipeline runs
    it after each deploy THEN it exits 0 with every check passed in order, and nothing of its
    canary is left: no version or delete marker of its file, none of its trades, no session of
    its account."""
    started = time.monotonic()
    verify = subprocess.run(
        [str(ROOT / "tap"), "verify", "--env", ENVIRONMENT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    deployed.notes["./tap verify --env dev"] = time.monotonic() - started
    output = verify.stdout + verify.stderr
    assert verify.returncode == 0, output
    header, *checks, summary = verify.stdout.splitlines()
    found = re.fullmatch(
        r"verify dev on local: canary (verify-\d{8}T\d{6}Z-[0-9a-f]{6}), "
        r"file incoming/verify/\1\.csv",
        header,
    )
    assert found, output
    run_id = found.group(1)
    parsed = [VERIFY_LINE.fullmatch(line) for line in checks]
    assert all(parsed), output
    assert [(m.group(1), m.group(2)) for m in parsed if m] == [
        ("PASS", "health"),
        ("PASS", "session"),
        ("PASS", "ingest"),
        ("PASS", "read"),
        ("PASS", "cleanup"),
    ], output
    details = [m.group(4) for m in parsed if m]
    assert details[0] == 'GET /health answered 200 {"status":"ok"}'
    assert details[1].startswith(f"POST /sessions (SigV4-signed) opened a session of {run_id}")
    assert f": 3 of 3 canary trades in GET /accounts/{run_id}/trades after " in details[2]
    assert details[3].startswith("3 trades read back equal to the file")
    assert details[4] == (
        f"1 object version(s) deleted: incoming/verify/{run_id}.csv; 3 of 3 canary trades "
        "deleted; session revoked (DELETE /sessions/{id}: 204)"
    )
    assert re.fullmatch(r"verify dev: passed, 5 checks in \d+\.\d s", summary), output

    s3 = deployed.client("s3")
    for prefix in (f"incoming/verify/{run_id}", f"quarantine/incoming/verify/{run_id}"):
        listing = s3.list_object_versions(Bucket=deployed.out("data_bucket_name"), Prefix=prefix)
        assert not listing.get("Versions") and not listing.get("DeleteMarkers"), prefix
    table = deployed.out("trades_table_name")
    keys = [{"trade_id": {"S": f"{run_id}-{n}"}} for n in (1, 2, 3)]
    stored = deployed.client("dynamodb").batch_get_item(
        RequestItems={table: {"Keys": keys, "ConsistentRead": True}}
    )
    assert stored["Responses"][table] == []
    sessions = deployed.client("dynamodb").scan(
        TableName=deployed.out("sessions_table_name"),
        ConsistentRead=True,
        FilterExpression="account_id = :account",
        ExpressionAttributeValues={":account": {"S": run_id}},
    )
    assert sessions["Items"] == []


# --------------------------------------------------------------------------- (3) controls


def _tags(pairs: list[dict[str, str]], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {pair[key]: pair[value] for pair in pairs}


REQUIRED_TAGS = {
    "Environment": ENVIRONMENT,
    "Region": "ap-southeast-1",
    "CostCenter": "CC-4102-TRADING",
    "ManagedBy": "cdktf",
}


def test_deployed_controls(deployed: Deployed) -> None:
    s3 = deployed.client("s3")
    key_arn = deployed.out("kms_key_arn")
    bucket = deployed.out("data_bucket_name")

    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key_arn
    assert rule["BucketKeyEnabled"] is True
    for name in (bucket, deployed.out("access_log_bucket_name")):
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert all(block.values()) and len(block) == 4
        policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        assert any(
            st["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(st)
            for st in policy["Statement"]
        )
        assert s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        assert _tags(s3.get_bucket_tagging(Bucket=name)["TagSet"]).items() >= REQUIRED_TAGS.items()
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") in (
        "Suspended",
        None,
    )  # dev profile
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"] == deployed.out(
        "access_log_bucket_name"
    )

    dynamodb = deployed.client("dynamodb")
    for output in ("trades_table_name", "sessions_table_name"):
        table = dynamodb.describe_table(TableName=deployed.out(output))["Table"]
        assert table["SSEDescription"]["Status"] == "ENABLED"
        assert table["SSEDescription"]["KMSMasterKeyArn"] == key_arn
        backups = dynamodb.describe_continuous_backups(TableName=table["TableName"])
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
        assert (
            _tags(dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]).items()
            >= REQUIRED_TAGS.items()
        )

    rds = deployed.client("rds")
    (cluster,) = [
        c
        for c in rds.describe_db_clusters()["DBClusters"]
        if c["Endpoint"] == deployed.out("database_endpoint")
    ]
    assert cluster["StorageEncrypted"] is True and cluster["KmsKeyId"] == key_arn
    assert cluster["BackupRetentionPeriod"] == 1  # dev profile
    assert cluster["MasterUserSecret"]["SecretArn"] == deployed.out("database_secret_arn")
    assert cluster["IAMDatabaseAuthenticationEnabled"] is True
    assert _tags(cluster["TagList"]).items() >= REQUIRED_TAGS.items()

    lam = deployed.client("lambda")
    subnets = set(deployed.out("private_subnet_ids"))
    for service in ("processor", "api_handler"):
        config = lam.get_function_configuration(
            FunctionName=deployed.out(f"{service}_function_name")
        )
        assert config["MemorySize"] == 256 and config["Runtime"] == "python3.12"
        assert 0 < config["Timeout"] <= 900
        assert set(config["VpcConfig"]["SubnetIds"]) == subnets
        assert config["TracingConfig"]["Mode"] == "Active"
        assert config["KMSKeyArn"] == key_arn
        assert config["DeadLetterConfig"]["TargetArn"].endswith(
            deployed.out(f"{service}_dead_letter_queue_url").rsplit("/", 1)[-1]
        )
        tags = lam.list_tags(Resource=deployed.out(f"{service}_function_arn"))["Tags"]
        assert tags.items() >= REQUIRED_TAGS.items()

    cloudwatch = deployed.client("cloudwatch")
    topic = deployed.out("alarm_topic_arn")
    alarms = [a for a in cloudwatch.describe_alarms()["MetricAlarms"] if topic in a["AlarmActions"]]
    metrics = {a.get("MetricName") for a in alarms} | {
        query.get("MetricStat", {}).get("Metric", {}).get("MetricName")
        for a in alarms
        for query in a.get("Metrics", [])
    }
    assert {
        "CPUUtilization",
        "Errors",
        "Throttles",
        "ApproximateNumberOfMessagesVisible",
    } <= metrics
    assert len(alarms) >= 8

    ec2 = deployed.client("ec2")
    (vpc,) = ec2.describe_vpcs(VpcIds=[deployed.out("vpc_id")])["Vpcs"]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert _tags(vpc["Tags"]).items() >= REQUIRED_TAGS.items()
    routes = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": sorted(subnets)}]
    )
    for table in routes["RouteTables"]:  # private subnets: no route to the internet
        assert not [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]


# --------------------------------------------------------------------------- (4) locking


def _lock_items(deployed: Deployed) -> list[dict[str, Any]]:
    from tooling.lifecycle.backend import load_backend_spec

    spec = load_backend_spec(ROOT / "platform.toml")
    dynamodb = deployed.session.client("dynamodb", spec.region)
    items = dynamodb.scan(TableName=spec.lock_table, ConsistentRead=True)["Items"]
    return [item for item in items if "Info" in item]


def _state_object(deployed: Deployed, stack: Any) -> bytes:
    from tooling.lifecycle.backend import load_backend_spec

    bucket, key = stack.state
    s3 = deployed.session.client("s3", load_backend_spec(ROOT / "platform.toml").region)
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def test_a_second_apply_is_refused_while_the_state_is_locked(deployed: Deployed) -> None:
    stack = deployed.stacks[-1]  # the stack that reads the others (the application)
    before = _state_object(deployed, stack)
    command, env = deployed.session.terraform_command_env(["console", "-no-color"])
    holder = subprocess.Popen(
        command,
        cwd=stack.directory,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _lock_items(deployed):
            assert holder.poll() is None, "terraform console exited before taking the lock"
            assert time.monotonic() < deadline, "terraform console never took the state lock"
            time.sleep(0.5)
        (lock,) = _lock_items(deployed)
        assert json.loads(lock["Info"]["S"])["Path"].endswith(stack.state[1])
        second = deployed.session.terraform(
            ["apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=2s"],
            stack.directory,
            check=False,
        )
        assert second.returncode != 0
        assert "Error acquiring the state lock" in second.stdout + second.stderr
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        try:
            holder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
    assert not _lock_items(deployed), "the lock was not released"
    assert _state_object(deployed, stack) == before, "the refused apply changed the state"
    # That the resources are intact too is shown by the re-plan that follows (no changes).


# --------------------------------------------------------------------------- (5) re-plan


def _plan_every_stack(deployed: Deployed, label: str) -> dict[str, tuple[int, str]]:
    from tooling.lifecycle.runs import plan_stack

    results = {}
    for stack in deployed.stacks:
        started = time.monotonic()
        results[stack.name] = plan_stack(deployed.session, stack.directory)
        deployed.notes[f"{label} {stack.name}"] = time.monotonic() - started
    return results


def test_replan_after_apply_shows_no_changes(deployed: Deployed) -> None:
    """GIVEN the deployment, after the refused apply of the locking test WHEN every stack is
    planned again THEN none has changes: the apply converged and the refused one touched
    nothing."""
    from tooling.lifecycle.runs import PLAN_NO_CHANGES

    results = _plan_every_stack(deployed, "re-plan")
    for name, (code, output) in results.items():
        assert code == PLAN_NO_CHANGES, f"{name}:\n{output[-4000:]}"


# --------------------------------------------------------------------------- (6) new code

#: The api_handler module whose health body the test changes (in a copy of the sources).
HEALTH_MODULE = Path("services") / "api_handler" / "src" / "api_handler" / "app.py"


def _changed_sources(tmp_path: Path, health: str, changed: str) -> Workspace:
    """The run's workspace, building from a copy of ``services/`` and ``constraints.txt`` with
    ``health`` replaced by ``changed`` in the api_handler, into a dist of its own (seeded with
    the current zips, so only the changed service is built again): the working tree, and so
    what e2e lanes running beside this one build and deploy, stays as it is."""
    sources = tmp_path / "sources"
    shutil.copytree(
        ROOT / "services",
        sources / "services",
        ignore=shutil.ignore_patterns(".*", "__pycache__", "*.egg-info", "*.pyc", "build", "dist"),
    )
    shutil.copy2(ROOT / "constraints.txt", sources / "constraints.txt")
    module = sources / HEALTH_MODULE
    original = module.read_text(encoding="utf-8")
    assert original.count(health) == 1, "the health body moved: update this test"
    module.write_text(original.replace(health, changed), encoding="utf-8")
    ws = workspace()
    shutil.copytree(ws.dist, tmp_path / "dist")
    return replace(ws, build_root=sources, dist_dir=tmp_path / "dist")


def test_a_changed_handler_answers_after_deploy(
    deployed: Deployed, api: str, tmp_path: Path
) -> None:
    """GIVEN a change to the api_handler's source WHEN `./tap deploy` runs THEN the next request
    is answered by the new code (the zip is rebuilt, the function updated, the worker replaced)."""
    from tooling.lifecycle.commands.deploy import deploy_stacks

    health = 'HealthBody(status="ok").model_dump()'
    changed = _changed_sources(tmp_path, health, f'{{**{health}, "build": "e2e-changed"}}')
    started = time.monotonic()
    deploy_stacks(changed, ENVIRONMENT)
    deployed.notes["redeploy after a handler change"] = time.monotonic() - started
    answer = call(api + "/health", region=deployed.region)
    assert answer.json() == {"status": "ok", "build": "e2e-changed"}
