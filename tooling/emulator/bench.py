"""``./tap bench --emulator``: how fast the emulator runs what was deployed (a report, not a test).

Measured against a locally deployed environment, through the same doors a client uses:

* **warm invoke overhead**: round trip of a ``RequestResponse`` Invoke of the api_handler (a
  ``GET /health`` event) minus the handler's own ``Duration`` (its REPORT line, from
  ``LogType=Tail``); goal 30 ms or less;
* **cold start**: the same Invoke right after a configuration change (a new worker: spawn,
  import, first call), with the ``Init Duration`` Lambda reports; the configuration is restored;
* **S3 put to trades visible**: a 100-line file put into the data bucket until all 100 trades
  can be read from the table (the notification, the async queue, the processor); goal < 2 s;
* **HTTP API**: p50/p95 over 200 requests each to ``GET /health`` (unsigned) and
  ``GET /trades/{id}`` (a bearer session, through the session authorizer), at the local URL.
"""

from __future__ import annotations

import base64
import json
import re
import statistics
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["EmulatorFigure", "HttpClient", "measure", "report"]

_DURATION = re.compile(r"\tDuration: ([0-9.]+) ms")
_INIT = re.compile(r"Init Duration: ([0-9.]+) ms")
_HEADER = "trade_id,account_id,symbol,side,quantity,price,currency,executed_at"


@dataclass(frozen=True)
class EmulatorFigure:
    label: str
    milliseconds: float
    note: str = ""


def _health_event(api_id: str, stage: str) -> bytes:
    """A payload 2.0 event of ``GET /health`` as the HTTP API sends it."""
    return json.dumps(
        {
            "version": "2.0",
            "routeKey": "GET /health",
            "rawPath": f"/{stage}/health",
            "rawQueryString": "",
            "headers": {"host": "localhost"},
            "requestContext": {
                "apiId": api_id,
                "stage": stage,
                "routeKey": "GET /health",
                "requestId": str(uuid.uuid4()),
                "http": {"method": "GET", "path": f"/{stage}/health", "sourceIp": "127.0.0.1"},
            },
            "isBase64Encoded": False,
        }
    ).encode()


def _invoke(lambda_: Any, name: str, payload: bytes) -> tuple[float, str]:
    started = time.perf_counter()
    answer = lambda_.invoke(FunctionName=name, Payload=payload, LogType="Tail")
    answer["Payload"].read()
    round_trip_ms = (time.perf_counter() - started) * 1000
    return round_trip_ms, base64.b64decode(answer.get("LogResult", "")).decode()


class HttpClient:
    """The API's two kinds of caller over urllib: SigV4-signed service requests (the emulator's
    credentials, service ``execute-api``) and user requests with a bearer session."""

    def __init__(self, region: str) -> None:
        from botocore.credentials import Credentials

        from tooling.emulator.credentials import FAKE_CREDENTIALS

        self._region = region
        self._credentials = Credentials(
            FAKE_CREDENTIALS.access_key_id, FAKE_CREDENTIALS.secret_access_key
        )

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> bytes:
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - the emulator's loopback URL
            url, data=body, method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            payload: bytes = answer.read()
        return payload

    def _signed(self, method: str, url: str, body: bytes | None) -> dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        headers = {"content-type": "application/json"} if body else {}
        signing = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(self._credentials, "execute-api", self._region).add_auth(signing)
        return dict(signing.headers.items())

    def open_session(self, base: str, account_id: str) -> str:
        """A user session of ``account_id`` (``POST /sessions``, signed): its bearer token."""
        body = json.dumps({"account_id": account_id}).encode()
        url = f"{base}/sessions"
        answer = self._send("POST", url, body, self._signed("POST", url, body))
        return str(json.loads(answer)["session_id"])

    def get(self, url: str, bearer: str | None = None) -> float:
        """One GET: its milliseconds (unsigned, or with ``Authorization: Bearer``)."""
        headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
        started = time.perf_counter()
        self._send("GET", url, None, headers)
        return (time.perf_counter() - started) * 1000


def _percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(
    outputs: Mapping[str, Any],
    environment: str,
    *,
    client: Callable[[str], Any],
    http: HttpClient,
    requests: int = 200,
) -> list[EmulatorFigure]:
    """Every figure, against ``environment``'s deployment described by the flat ``outputs``.

    ``client(service)`` gives a boto3 client of the emulator in the environment's region;
    ``http`` sends the API requests.
    """

    def out(name: str) -> Any:
        return outputs[f"{environment}_{name}"]

    lambda_ = client("lambda")
    function = str(out("api_handler_function_name"))
    event = _health_event(str(out("api_id")), str(out("api_stage_name")))
    figures = [_warm_overhead(lambda_, function, event), *_cold_start(lambda_, function, event)]
    ingest, trade_ids = _put_until_visible(
        client("s3"), client("dynamodb"), out("data_bucket_name"), str(out("trades_table_name"))
    )
    figures.append(ingest)
    base = str(out("api_local_url")).rstrip("/")
    figures += _http_api(http, base, trade_ids[0], requests)
    return figures


def _warm_overhead(lambda_: Any, function: str, event: bytes) -> EmulatorFigure:
    """The median of 50 warm invokes' round trip minus the handler's own ``Duration``."""
    _invoke(lambda_, function, event)  # warm one worker up
    overheads = []
    for _ in range(50):
        round_trip_ms, tail = _invoke(lambda_, function, event)
        found = _DURATION.search(tail)
        overheads.append(round_trip_ms - (float(found.group(1)) if found else 0.0))
    return EmulatorFigure(
        "warm Invoke round trip minus the handler's Duration (median of 50)",
        statistics.median(overheads),
        "goal <= 30 ms",
    )


def _cold_start(lambda_: Any, function: str, event: bytes) -> list[EmulatorFigure]:
    """Three invokes, each right after a configuration change (a new worker each), and the
    ``Init Duration`` they report; the configuration is restored whatever happens."""
    configuration = lambda_.get_function_configuration(FunctionName=function)
    variables = dict(configuration["Environment"]["Variables"])
    cold, init = [], []
    try:
        for attempt in range(3):
            lambda_.update_function_configuration(
                FunctionName=function,
                Environment={"Variables": {**variables, "TAP_BENCH_COLD": str(attempt)}},
            )
            round_trip_ms, tail = _invoke(lambda_, function, event)
            cold.append(round_trip_ms)
            found = _INIT.search(tail)
            if found:
                init.append(float(found.group(1)))
    finally:
        lambda_.update_function_configuration(
            FunctionName=function, Environment={"Variables": variables}
        )
    figures = [
        EmulatorFigure(
            "cold start: first Invoke after a change (median of 3)", statistics.median(cold)
        )
    ]
    if init:
        figures.append(
            EmulatorFigure("cold start: Init Duration reported", statistics.median(init))
        )
    return figures


def _put_until_visible(
    s3: Any, dynamodb: Any, bucket: str, table: str
) -> tuple[EmulatorFigure, list[str]]:
    """A 100-line trade file put into ``bucket``, timed until all 100 trades can be read from
    ``table`` (60 s at most); the figure and the trades' ids."""
    run = uuid.uuid4().hex[:8]
    ids = [f"BENCH-{run}-{i}" for i in range(100)]
    lines = [f"{tid},acc-bench,D05.SI,BUY,1,1.5,SGD,2024-03-01T09:00:00Z" for tid in ids]
    body = "\n".join([_HEADER, *lines]) + "\n"
    started = time.perf_counter()
    s3.put_object(Bucket=bucket, Key=f"incoming/bench/{run}.csv", Body=body)
    seen: set[str] = set()
    deadline = started + 60
    while len(seen) < len(ids) and time.perf_counter() < deadline:
        missing = [tid for tid in ids if tid not in seen]
        for index in range(0, len(missing), 100):
            keys = [{"trade_id": {"S": tid}} for tid in missing[index : index + 100]]
            answer = dynamodb.batch_get_item(RequestItems={table: {"Keys": keys}})
            seen.update(item["trade_id"]["S"] for item in answer["Responses"][table])
        if len(seen) < len(ids):
            time.sleep(0.02)
    visible_ms = (time.perf_counter() - started) * 1000
    figure = EmulatorFigure(
        "S3 put of a 100-line file until all 100 trades are readable",
        visible_ms,
        "goal < 2000 ms" if len(seen) == len(ids) else f"only {len(seen)} of 100 after 60 s",
    )
    return figure, ids


def _http_api(http: HttpClient, base: str, trade_id: str, requests: int) -> list[EmulatorFigure]:
    """p50 and p95 of ``GET /health`` (unsigned) and of ``GET /trades/{id}`` (a bearer
    session, through the session authorizer), ``requests`` each after one warm-up."""
    bearer = http.open_session(base, "acc-bench")
    figures = []
    for label, url, token in (
        ("GET /health", f"{base}/health", None),
        ("GET /trades/{id} (session authorizer)", f"{base}/trades/{trade_id}", bearer),
    ):
        http.get(url, token)  # warm
        samples = [http.get(url, token) for _ in range(requests)]
        figures.append(
            EmulatorFigure(f"HTTP API {label} p50 ({requests} requests)", _percentile(samples, 0.5))
        )
        figures.append(
            EmulatorFigure(
                f"HTTP API {label} p95 ({requests} requests)", _percentile(samples, 0.95)
            )
        )
    return figures


def report(figures: Sequence[EmulatorFigure]) -> str:
    """The figures as a Markdown table."""
    lines = ["| emulator: what | ms | note |", "|---|---|---|"]
    lines += [f"| {f.label} | {f.milliseconds:.1f} | {f.note} |" for f in figures]
    return "\n".join(lines)
