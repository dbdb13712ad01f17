"""tooling.emulator.bench.measure: which figures it reports, through which doors, and that the
function's configuration changed for the cold starts is restored (in-memory stand-ins for the
deployment; the milliseconds themselves are not asserted)."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from tooling.emulator import bench

ENVIRONMENT = "dev"
OUTPUTS = {
    "dev_api_handler_function_name": "tap-api-handler-dev",
    "dev_api_id": "api-1",
    "dev_api_stage_name": "dev",
    "dev_trades_table_name": "tap-trades-dev",
    "dev_data_bucket_name": "tap-data-dev",
    "dev_api_local_url": "http://127.0.0.1:4566/api-1/dev/",
}
VARIABLES = {"POWERTOOLS_SERVICE_NAME": "api_handler"}


class FakeLambda:
    """Invoke answers with a REPORT line; after a configuration change, with Init Duration."""

    def __init__(self, fail_on_cold: bool = False) -> None:
        self.variables = dict(VARIABLES)
        self.cold = False
        self.invokes: list[dict[str, Any]] = []
        self.fail_on_cold = fail_on_cold

    def invoke(self, **request: Any) -> dict[str, Any]:
        self.invokes.append(request)
        tail = "REPORT RequestId: r\tDuration: 2.00 ms\t"
        if self.cold:
            if self.fail_on_cold:
                raise RuntimeError("the worker did not start")
            tail += "Init Duration: 150.00 ms\t"
            self.cold = False
        return {
            "Payload": io.BytesIO(b"{}"),
            "LogResult": base64.b64encode(tail.encode()).decode(),
        }

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:  # noqa: N803
        return {"Environment": {"Variables": dict(self.variables)}}

    def update_function_configuration(self, FunctionName: str, Environment: Any) -> None:  # noqa: N803
        self.variables = dict(Environment["Variables"])
        self.cold = True


class FakeStorage:
    """The bucket and the table: what is put into the bucket is readable from the table."""

    def __init__(self) -> None:
        self.trades: set[str] = set()
        self.keys: list[str] = []

    def put_object(self, Bucket: str, Key: str, Body: str) -> None:  # noqa: N803
        assert Bucket == "tap-data-dev"
        self.keys.append(Key)
        self.trades |= {line.split(",")[0] for line in Body.splitlines()[1:]}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        (table, request), *_ = RequestItems.items()
        wanted = [key["trade_id"]["S"] for key in request["Keys"]]
        found = [{"trade_id": {"S": tid}} for tid in wanted if tid in self.trades]
        return {"Responses": {table: found}}


class FakeHttp:
    def __init__(self) -> None:
        self.gets: list[tuple[str, str | None]] = []

    def open_session(self, base: str, account_id: str) -> str:
        assert (base, account_id) == ("http://127.0.0.1:4566/api-1/dev", "acc-bench")
        return "session-1"

    def get(self, url: str, bearer: str | None = None) -> float:
        self.gets.append((url, bearer))
        return 1.0


def _measure(lambda_: FakeLambda, storage: FakeStorage, http: FakeHttp) -> list[Any]:
    services = {"lambda": lambda_, "s3": storage, "dynamodb": storage}
    return bench.measure(
        OUTPUTS,
        ENVIRONMENT,
        client=services.__getitem__,
        http=http,  # type: ignore[arg-type]
        requests=3,
    )


def test_every_figure_is_reported_in_order() -> None:
    lambda_, storage, http = FakeLambda(), FakeStorage(), FakeHttp()
    figures = _measure(lambda_, storage, http)

    assert [(f.label, f.note) for f in figures] == [
        ("warm Invoke round trip minus the handler's Duration (median of 50)", "goal <= 30 ms"),
        ("cold start: first Invoke after a change (median of 3)", ""),
        ("cold start: Init Duration reported", ""),
        ("S3 put of a 100-line file until all 100 trades are readable", "goal < 2000 ms"),
        ("HTTP API GET /health p50 (3 requests)", ""),
        ("HTTP API GET /health p95 (3 requests)", ""),
        ("HTTP API GET /trades/{id} (session authorizer) p50 (3 requests)", ""),
        ("HTTP API GET /trades/{id} (session authorizer) p95 (3 requests)", ""),
    ]
    assert figures[2].milliseconds == 150.0  # the Init Duration the REPORT line gave
    # 1 warm-up, 50 warm, 3 cold invokes of the health event of the API's stage
    assert len(lambda_.invokes) == 54
    event = json.loads(lambda_.invokes[0]["Payload"])
    assert (event["routeKey"], event["rawPath"]) == ("GET /health", "/dev/health")
    assert lambda_.variables == VARIABLES  # the cold starts' change undone
    assert len(storage.trades) == 100 and storage.keys[0].startswith("incoming/bench/")
    trade = http.gets[-1][0].rsplit("/", 1)[-1]
    assert trade in storage.trades and trade.startswith("BENCH-")
    assert http.gets.count(("http://127.0.0.1:4566/api-1/dev/health", None)) == 4
    assert http.gets[-1][1] == "session-1"


def test_the_configuration_is_restored_when_a_cold_start_fails() -> None:
    lambda_ = FakeLambda(fail_on_cold=True)
    with pytest.raises(RuntimeError, match="the worker did not start"):
        _measure(lambda_, FakeStorage(), FakeHttp())
    assert lambda_.variables == VARIABLES
