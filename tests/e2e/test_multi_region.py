"""End-to-end: the three-region ``global`` deployment on the local emulator.

One deployment for the module (``global_deployed``), made with the same functions as
``./tap deploy --env global`` on an emulator of its own port (``TAP_E2E_GLOBAL_PORT``, else a
free one), including the account fixtures the deployment expects (hosted zone, master secret,
rotation function: tooling/emulator/fixtures.py). Every name comes from
``cfn-outputs/flat-outputs.json`` (``global_<region>_<output>`` keys). Runs in file order:
what was deployed, live drift (exactly one manual change in us-east-2, nothing else anywhere),
destroy. The fixture always destroys and stops its emulator (by pid), even when a test failed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.black_box import call, wait_for
from tests.e2e.conftest import (
    LOOPBACK,
    OUTPUTS,
    ROOT,
    TIMINGS,
    destroy_protected,
    refuse_running_emulator,
    workspace,
)

pytestmark = pytest.mark.e2e

ENVIRONMENT = "global"
PORT_ENV = "TAP_E2E_GLOBAL_PORT"
#: Outputs every region has (network and application stacks).
REGIONAL_OUTPUTS = (
    "vpc_id",
    "private_subnet_ids",
    "kms_key_arn",
    "data_bucket_name",
    "trades_table_name",
    "sessions_table_name",
    "database_endpoint",
    "processor_function_name",
    "api_handler_function_name",
    "api_id",
    "api_local_url",
    "api_custom_domain",
    "api_health_check_id",
    "alarm_topic_arn",
    "aws_region",
    "emulator_endpoint",
)


@dataclass
class GlobalDeployment:
    outputs: dict[str, Any]
    session: Any
    regions: list[str]  # primary first
    cidrs: dict[str, str]
    destroyed: bool = False
    drift: dict[str, Any] = field(default_factory=dict)

    def out(self, region: str, name: str) -> Any:
        return self.outputs[f"{ENVIRONMENT}_{region.replace('-', '_')}_{name}"]

    def client(self, service: str, region: str) -> Any:
        return self.session.client(service, region)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def global_deployed() -> Iterator[GlobalDeployment]:
    """global deployed exactly as shipped (data protection on); destroyed at the end the way a
    user must, lifting the protection first (:func:`destroy_protected`)."""
    from trading_infra.config import load_config

    from tooling.emulator import process as emulator
    from tooling.lifecycle.commands.context import session_for
    from tooling.lifecycle.commands.deploy import deploy_stacks

    refuse_running_emulator("what is deployed")
    previous_port = os.environ.get("TAP_EMULATOR_PORT")
    os.environ["TAP_EMULATOR_PORT"] = os.environ.get(PORT_ENV) or str(_free_port())
    environment = load_config(ROOT / "platform.toml").environment(ENVIRONMENT)
    state: GlobalDeployment | None = None
    try:
        per_stack: dict[str, float] = {}
        started = time.monotonic()
        deploy_stacks(workspace(), ENVIRONMENT, timings=per_stack)
        TIMINGS["global deploy (total)"] = time.monotonic() - started
        TIMINGS.update({f"global deploy {s}": t for s, t in per_stack.items()})
        outputs = json.loads(OUTPUTS.read_text(encoding="utf-8"))
        session = session_for(workspace(), start=False)
        regions = [r.name for r in environment.regions]
        for region in regions:
            endpoint = outputs[f"{ENVIRONMENT}_{region.replace('-', '_')}_emulator_endpoint"]
            assert urlsplit(endpoint).hostname in LOOPBACK, endpoint
            assert session.emulator is not None and endpoint == session.emulator.endpoint
        state = GlobalDeployment(
            outputs=outputs,
            session=session,
            regions=regions,
            cidrs={r.name: str(r.vpc_cidr) for r in environment.regions},
        )
        yield state
    finally:
        try:
            if state is None or not state.destroyed:
                destroy_protected(ENVIRONMENT, ENVIRONMENT)
        finally:
            emulator.stop(ROOT)
            if previous_port is None:
                os.environ.pop("TAP_EMULATOR_PORT", None)
            else:
                os.environ["TAP_EMULATOR_PORT"] = previous_port


# --------------------------------------------------------------------------- what was deployed


def test_outputs_per_region_and_the_primary_keeps_the_plain_keys(
    global_deployed: GlobalDeployment,
) -> None:
    d = global_deployed
    for region in d.regions:
        missing = [
            n for n in REGIONAL_OUTPUTS if f"global_{region.replace('-', '_')}_{n}" not in d.outputs
        ]
        assert not missing, f"{region}: {missing}"
        assert d.out(region, "aws_region") == region
    primary = d.regions[0]
    for name in REGIONAL_OUTPUTS:
        assert d.outputs[f"global_{name}"] == d.out(primary, name)
    # the global cluster and the master secret are the primary's
    assert d.outputs["global_global_cluster_identifier"]
    assert d.outputs["global_database_secret_arn"].split(":")[3] == primary


def test_three_vpcs_one_per_region_with_their_cidrs(global_deployed: GlobalDeployment) -> None:
    d = global_deployed
    seen = {}
    for region in d.regions:
        (vpc,) = d.client("ec2", region).describe_vpcs(VpcIds=[d.out(region, "vpc_id")])["Vpcs"]
        seen[region] = vpc["CidrBlock"]
    assert seen == d.cidrs
    assert len(set(seen.values())) == 3


def test_each_region_runs_its_own_functions(global_deployed: GlobalDeployment) -> None:
    """A file put into each region's bucket is ingested by that region's processor into that
    region's trades table (trade data stays in its region), and each region's API answers."""
    d = global_deployed
    header = "trade_id,account_id,symbol,side,quantity,price,currency,executed_at"
    for region in d.regions:
        body = f"{header}\nREGION-{region},acc-r,D05.SI,BUY,1,1.5,SGD,2024-03-01T09:00:00Z\n"
        d.client("s3", region).put_object(
            Bucket=d.out(region, "data_bucket_name"), Key=f"incoming/{region}.csv", Body=body
        )
    for region in d.regions:
        table = d.out(region, "trades_table_name")
        ids = partial(_trade_ids, d.client("dynamodb", region), table)
        wait_for(f"REGION-{region} in {table}", partial(_contains, ids, f"REGION-{region}"))
        assert ids() == {f"REGION-{region}"}
        answer = call(f"{d.out(region, 'api_local_url')}/health", region=region)
        assert (answer.status, answer.json()) == (200, {"status": "ok"})


def _trade_ids(dynamodb: Any, table: str) -> set[str]:
    items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    return {item["trade_id"]["S"] for item in items}


def _contains(ids: Callable[[], set[str]], trade_id: str) -> bool:
    return trade_id in ids()


def test_the_global_cluster_has_a_writer_and_two_secondaries(
    global_deployed: GlobalDeployment,
) -> None:
    d = global_deployed
    primary = d.regions[0]
    identifier = d.outputs["global_global_cluster_identifier"]
    (cluster,) = d.client("rds", primary).describe_global_clusters(
        GlobalClusterIdentifier=identifier
    )["GlobalClusters"]
    members = cluster["GlobalClusterMembers"]
    assert len(members) == 3
    by_region = {m["DBClusterArn"].split(":")[3]: m for m in members}
    assert set(by_region) == set(d.regions)
    assert by_region[primary]["IsWriter"] is True
    # The secondaries join in whatever order their parallel applies finish.
    assert {r for r, m in by_region.items() if not m["IsWriter"]} == set(d.regions[1:])
    for region in d.regions:
        (regional,) = [
            c
            for c in d.client("rds", region).describe_db_clusters()["DBClusters"]
            if c["Endpoint"] == d.out(region, "database_endpoint")
        ]
        assert regional["StorageEncrypted"] is True
        assert regional["KmsKeyId"].split(":")[3] == region  # the region's own key


def test_alarms_per_region_including_the_drift_alarm(global_deployed: GlobalDeployment) -> None:
    from trading_infra import drift_metric

    d = global_deployed
    for region in d.regions:
        topic = d.out(region, "alarm_topic_arn")
        alarms = d.client("cloudwatch", region).describe_alarms()["MetricAlarms"]
        ours = [a for a in alarms if topic in a.get("AlarmActions", [])]
        assert len(ours) >= 5, region
        (drift,) = [a for a in ours if a.get("Namespace") == drift_metric.NAMESPACE]
        assert drift["MetricName"] == drift_metric.METRIC_NAME
        assert {x["Name"]: x["Value"] for x in drift["Dimensions"]} == {
            drift_metric.DEPLOYMENT_DIMENSION: ENVIRONMENT,
            drift_metric.REGION_DIMENSION: region,
        }
        assert drift["TreatMissingData"] == "missing"
        assert drift["Period"] == drift_metric.CHECK_PERIOD_SECONDS


def test_latency_records_one_per_region_with_their_health_checks(
    global_deployed: GlobalDeployment,
) -> None:
    d = global_deployed
    domain = d.out(d.regions[0], "api_custom_domain")
    assert {d.out(r, "api_custom_domain") for r in d.regions} == {domain}
    route53 = d.client("route53", d.regions[0])
    zone_name = domain.split(".", 1)[1] + "."
    (zone,) = [
        z
        for z in route53.list_hosted_zones_by_name(DNSName=zone_name)["HostedZones"]
        if z["Name"] == zone_name
    ]
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    latency = [r for r in records if r["Name"] == f"{domain}." and r["Type"] == "A"]
    assert {r["SetIdentifier"] for r in latency} == set(d.regions)
    for record in latency:
        region = record["SetIdentifier"]
        assert record["Region"] == region
        assert record["HealthCheckId"] == d.out(region, "api_health_check_id")
        assert (
            record["AliasTarget"]["DNSName"]
            .rstrip(".")
            .endswith(f"execute-api.{region}.amazonaws.com")
        )


# --------------------------------------------------------------------------- live drift


def _drift(d: GlobalDeployment, label: str) -> dict[str, int]:
    from tooling.lifecycle.commands.drift import drift_stacks

    started = time.monotonic()
    results = drift_stacks(workspace(), ENVIRONMENT)
    TIMINGS[f"global drift run ({label})"] = time.monotonic() - started
    totals: dict[str, int] = {}
    for result in results:
        totals[result.region] = totals.get(result.region, 0) + result.changes
    assert set(totals) == set(d.regions)
    return totals


def _published(d: GlobalDeployment, region: str) -> float:
    """The largest drift value published for ``region`` in the last hour."""
    from trading_infra import drift_metric

    cloudwatch = d.client("cloudwatch", region)
    dimensions = [
        {"Name": drift_metric.DEPLOYMENT_DIMENSION, "Value": ENVIRONMENT},
        {"Name": drift_metric.REGION_DIMENSION, "Value": region},
    ]
    listed = cloudwatch.list_metrics(
        Namespace=drift_metric.NAMESPACE, MetricName=drift_metric.METRIC_NAME
    )["Metrics"]
    wanted = sorted((x["Name"], x["Value"]) for x in dimensions)
    assert any(sorted((x["Name"], x["Value"]) for x in m["Dimensions"]) == wanted for m in listed)
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=drift_metric.NAMESPACE,
        MetricName=drift_metric.METRIC_NAME,
        Dimensions=dimensions,
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=["Maximum", "SampleCount"],
    )["Datapoints"]
    assert points, f"no drift data point in {region}"
    return float(max(p["Maximum"] for p in points))


def test_drift_is_exactly_a_manual_change_in_one_region_and_nothing_else(
    global_deployed: GlobalDeployment,
) -> None:
    """GIVEN global as deployed WHEN one function of us-east-2 is changed outside Terraform THEN
    `./tap drift` finds exactly that one resource to change in us-east-2 and none in any other
    region, and publishes those numbers as the metric the drift alarms watch. One drift run
    proves both properties: every stack of every region converged when it was deployed (no
    other change anywhere, the changed region included), and a manual change is drift of its
    region only."""
    d = global_deployed
    changed = "us-east-2"
    aws_lambda = d.client("lambda", changed)
    name = d.out(changed, "processor_function_name")
    memory = aws_lambda.get_function_configuration(FunctionName=name)["MemorySize"]
    aws_lambda.update_function_configuration(FunctionName=name, MemorySize=memory + 128)
    totals = _drift(d, "after a manual change")
    assert totals == {region: int(region == changed) for region in d.regions}
    assert {region: _published(d, region) for region in d.regions} == {
        region: float(region == changed) for region in d.regions
    }


# --------------------------------------------------------------------------- destroy


def test_destroy_leaves_nothing_in_any_region(global_deployed: GlobalDeployment) -> None:
    """GIVEN global deployed as shipped WHEN its protection is lifted (deployed) and it is
    destroyed THEN nothing is left in any region and no output is kept."""
    started = time.monotonic()
    per_stack: dict[str, float] = {}
    left = destroy_protected(ENVIRONMENT, ENVIRONMENT, timings=per_stack)
    global_deployed.destroyed = True
    TIMINGS["global destroy (total)"] = time.monotonic() - started
    TIMINGS.update({f"global destroy {s}": t for s, t in per_stack.items()})
    assert left == []
    outputs = json.loads(OUTPUTS.read_text(encoding="utf-8")) if OUTPUTS.is_file() else {}
    assert not [k for k in outputs if k.startswith(f"{ENVIRONMENT}_")]
