"""End-to-end: the dev stack deployed to the local emulator, exercised through its real code.

Runs in file order on one deployment (``deployed`` fixture): ingest, API, controls, re-plan,
state locking, and finally destroy.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import ENVIRONMENT, LOOPBACK, ROOT, Deployed

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


def _s3_event(bucket: str, key: str) -> dict[str, Any]:
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "ap-southeast-1",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(key)}},
            }
        ]
    }


@pytest.fixture(scope="module")
def ingest(deployed: Deployed) -> Any:
    """Run the real processor handler in-process, configured from the outputs + emulator."""
    from api_handler.events import lambda_context
    from processor import handler

    env = {
        "TRADES_TABLE_NAME": deployed.out("trades_table_name"),
        "QUARANTINE_PREFIX": "quarantine/",
        "LOG_LEVEL": "WARNING",
        **deployed.aws_env(),
    }
    assert urlsplit(env["AWS_ENDPOINT_URL"]).hostname in LOOPBACK
    os.environ.update(env)
    handler.get_service.cache_clear()
    s3 = deployed.client("s3")
    bucket = deployed.out("data_bucket_name")

    def run(key: str, body: str) -> dict[str, Any]:
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
        result = handler.lambda_handler(
            _s3_event(bucket, key), lambda_context(function_name="processor-e2e")
        )
        (summary,) = result["files"]
        return dict(summary)

    return run


# --------------------------------------------------------------------------- (1) ingest


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
    second = ingest("incoming/e2e/batch2.jsonl", jsonl_body)
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
    assert sorted(entry["line"] for entry in quarantine("incoming/e2e/batch2.jsonl")) == [2, 4]
    assert any("conflict" in entry["reason"] for entry in quarantine("incoming/e2e/batch2.jsonl"))


# --------------------------------------------------------------------------- (2) API


@pytest.fixture(scope="module")
def api(deployed: Deployed) -> Iterator[str]:
    from tooling.serve import make_server

    server = make_server(ROOT, ENVIRONMENT, deployed.session.emulator, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    assert host in LOOPBACK
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def _call(
    base: str, method: str, path: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, dict[str, str], Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    assert base.startswith("http://127.0.0.1:")
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    if data is not None:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, headers, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, payload = error.code, dict(error.headers), error.read()
    headers = {k.lower(): v for k, v in headers.items()}
    return status, headers, json.loads(payload) if payload else None


def test_every_route_through_the_local_api(deployed: Deployed, ingest: Any, api: str) -> None:
    ingest(
        "incoming/e2e/api.csv",
        "\n".join([HEADER, *(_csv_line(f"API-{i}", "acc-api", minute=10 + i) for i in range(3))])
        + "\n",
    )
    assert _call(api, "GET", "/health")[::2] == (200, {"status": "ok"})

    status, headers, session = _call(
        api, "POST", "/sessions", {"account_id": "acc-api", "ttl_seconds": 900}
    )
    assert status == 201 and session["account_id"] == "acc-api"
    assert headers["cache-control"] == "no-store"
    sid = session["session_id"]
    assert _call(api, "GET", f"/sessions/{sid}")[::2] == (200, session)
    assert _call(api, "DELETE", f"/sessions/{sid}")[0] == 204
    assert _call(api, "GET", f"/sessions/{sid}")[2]["error"]["code"] == "session_not_found"
    assert _call(api, "DELETE", f"/sessions/{sid}")[0] == 404

    status, _, trade = _call(api, "GET", "/trades/API-1")
    assert status == 200 and trade["account_id"] == "acc-api" and trade["quantity"] == 100
    assert isinstance(trade["price"], str)
    assert _call(api, "GET", "/trades/NOPE-404")[2]["error"]["code"] == "trade_not_found"

    status, _, page = _call(api, "GET", "/accounts/acc-api/trades?limit=2")
    assert status == 200 and [t["trade_id"] for t in page["items"]] == ["API-2", "API-1"]
    status, _, rest = _call(
        api, "GET", f"/accounts/acc-api/trades?limit=2&next_token={page['next_token']}"
    )
    assert status == 200 and [t["trade_id"] for t in rest["items"]] == ["API-0"]

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
        ("GET", "/trades/bad%20id", None, None, 400, "invalid_path_parameter"),
        ("GET", "/accounts/acc-api/trades?limit=0", None, None, 400, "invalid_query_parameter"),
        ("GET", "/accounts/acc-api/trades?next_token=abc", None, None, 400, "invalid_next_token"),
    ]
    for method, path, body, raw, want_status, want_code in bad:
        status, headers, payload = _call(api, method, path, body, raw)
        assert (status, payload["error"]["code"]) == (want_status, want_code), (method, path)
        if want_status == 405:
            assert "GET" in headers["allow"]


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


# --------------------------------------------------------------------------- (4) re-plan


def _plan_every_stack(deployed: Deployed, label: str) -> dict[str, tuple[int, str]]:
    from tooling.deploy import plan_stack

    results = {}
    for stack in deployed.stacks:
        started = time.monotonic()
        results[stack.name] = plan_stack(deployed.session, stack.directory)
        deployed.notes[f"{label} {stack.name}"] = time.monotonic() - started
    return results


def test_replan_after_apply_shows_no_changes(deployed: Deployed) -> None:
    from tooling.deploy import PLAN_NO_CHANGES

    results = _plan_every_stack(deployed, "re-plan")
    for name, (code, output) in results.items():
        assert code == PLAN_NO_CHANGES, f"{name}:\n{output[-4000:]}"


# --------------------------------------------------------------------------- (5) locking


def _lock_items(deployed: Deployed) -> list[dict[str, Any]]:
    from tooling.deploy import load_backend_spec

    spec = load_backend_spec(ROOT / "platform.toml")
    dynamodb = deployed.session.client("dynamodb", spec.region)
    items = dynamodb.scan(TableName=spec.lock_table, ConsistentRead=True)["Items"]
    return [item for item in items if "Info" in item]


def _state_object(deployed: Deployed, stack: Any) -> bytes:
    from tooling.deploy import load_backend_spec

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
    from tooling.deploy import PLAN_NO_CHANGES

    for name, (code, output) in _plan_every_stack(deployed, "plan after lock").items():
        assert code == PLAN_NO_CHANGES, f"{name}:\n{output[-4000:]}"  # the state is intact


# --------------------------------------------------------------------------- (6) destroy


def test_destroy_leaves_nothing(deployed: Deployed) -> None:
    from invoke.context import Context

    import tasks

    started = time.monotonic()
    per_stack: dict[str, float] = {}
    left = tasks.destroy_stacks(Context(), env=ENVIRONMENT, target="local", timings=per_stack)
    deployed.destroyed = True
    deployed.notes["destroy (total)"] = time.monotonic() - started
    deployed.notes.update({f"destroy {name}": seconds for name, seconds in per_stack.items()})
    assert left == []
    assert not _lock_items(deployed)
    outputs = json.loads((ROOT / "cfn-outputs" / "flat-outputs.json").read_text())
    assert not [key for key in outputs if key.startswith(f"{ENVIRONMENT}_")]
