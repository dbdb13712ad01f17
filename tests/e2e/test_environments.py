"""End-to-end: dev and prod deployed side by side to one local emulator.

On the session's deployment of ``--env dev,prod`` (``conftest.deployment``, through the same
functions as ``./tap deploy``), before ``test_platform`` changes anything of dev. The tests read
names only from the flat outputs (``dev_*`` and ``prod_*`` keys) and check, through the AWS APIs
of the emulator: no name collisions (every resource of both exists on its own), the profile
differences of the README's Configuration table, and one state object per stack under
``<platform>/<environment>/`` in the state bucket. ``test_destroy`` then checks that destroying
both leaves nothing of either.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest

from tests.e2e.black_box import call, wait_for
from tests.e2e.conftest import ENVIRONMENTS, ROOT, Deployed, Deployment

pytestmark = pytest.mark.e2e

#: The profile differences (README "Configuration", infra/src/trading_infra/profiles.toml).
EXPECTED: dict[str, dict[str, Any]] = {
    "dev": {
        "lambda_memory": 256,
        "log_retention": 7,
        "billing_mode": "PAY_PER_REQUEST",
        "capacity": (0, 0),  # on-demand: no provisioned throughput
        "versioning": False,
        "expiry_rules": False,
        "backup_retention": 1,
        "stage": "dev",
    },
    "prod": {
        "lambda_memory": 1024,
        "log_retention": 90,
        "billing_mode": "PROVISIONED",
        "capacity": (5, 5),
        "versioning": True,
        "expiry_rules": True,
        "backup_retention": 30,
        "stage": "prod",
    },
}

#: Outputs that name a resource of one environment (each must differ between environments).
NAMED_OUTPUTS = (
    "vpc_id",
    "kms_key_arn",
    "lambda_security_group_id",
    "database_security_group_id",
    "data_bucket_name",
    "access_log_bucket_name",
    "trades_table_name",
    "sessions_table_name",
    "database_endpoint",
    "database_secret_arn",
    "processor_function_name",
    "processor_function_arn",
    "processor_dead_letter_queue_url",
    "api_handler_function_name",
    "api_handler_function_arn",
    "api_handler_dead_letter_queue_url",
    "api_id",
    "api_endpoint_url",
    "api_local_url",
    "alarm_topic_arn",
)
FUNCTIONS = ("processor", "api_handler", "api_authorizer")


def _backend() -> Any:
    from tooling.lifecycle.backend import load_backend_spec

    return load_backend_spec(ROOT / "platform.toml")


@pytest.fixture(scope="module")
def environments(deployment: Deployment) -> Deployment:
    """Both environments of the session's deployment."""
    return deployment


# --------------------------------------------------------------------------- (1) side by side


def test_both_environments_deployed_without_name_collisions(environments: Deployment) -> None:
    from trading_infra.config import load_config

    config = load_config(ROOT / "platform.toml")
    for name in NAMED_OUTPUTS:
        dev, prod = (environments.out(env, name) for env in ENVIRONMENTS)
        assert dev and prod and dev != prod, f"{name}: dev {dev!r}, prod {prod!r}"
    stack_names = {env: {s.name for s in environments.stacks_of(env)} for env in ENVIRONMENTS}
    assert stack_names["dev"] and stack_names["prod"]
    assert not stack_names["dev"] & stack_names["prod"]

    for environment in ENVIRONMENTS:  # every resource of each environment exists on its own
        env = environments.view(environment)
        (vpc,) = env.client("ec2").describe_vpcs(VpcIds=[env.out("vpc_id")])["Vpcs"]
        (region,) = config.environment(environment).regions
        assert vpc["CidrBlock"] == str(region.vpc_cidr)
        assert {t["Key"]: t["Value"] for t in vpc["Tags"]}["Environment"] == environment
        key = env.client("kms").describe_key(KeyId=env.out("kms_key_arn"))["KeyMetadata"]
        assert key["Enabled"]
        for bucket in (env.out("data_bucket_name"), env.out("access_log_bucket_name")):
            env.client("s3").head_bucket(Bucket=bucket)
        for table in (env.out("trades_table_name"), env.out("sessions_table_name")):
            described = env.client("dynamodb").describe_table(TableName=table)["Table"]
            assert described["TableStatus"] == "ACTIVE"
        assert _cluster(env)["DBClusterIdentifier"]
        env.client("secretsmanager").describe_secret(SecretId=env.out("database_secret_arn"))
        for service in FUNCTIONS:
            function = env.client("lambda").get_function(
                FunctionName=env.out(f"{service}_function_name")
            )
            assert function["Configuration"]["FunctionArn"] == env.out(f"{service}_function_arn")
            env.client("sqs").get_queue_attributes(
                QueueUrl=env.out(f"{service}_dead_letter_queue_url"), AttributeNames=["QueueArn"]
            )
        assert env.client("apigatewayv2").get_api(ApiId=env.out("api_id"))["Name"]
        env.client("sns").get_topic_attributes(TopicArn=env.out("alarm_topic_arn"))


def _cluster(env: Deployed) -> dict[str, Any]:
    clusters = env.client("rds").describe_db_clusters()["DBClusters"]
    (cluster,) = [c for c in clusters if c["Endpoint"] == env.out("database_endpoint")]
    return dict(cluster)


def test_each_environment_runs_its_own_functions_on_its_own_data(
    environments: Deployment,
) -> None:
    """GIVEN dev and prod side by side WHEN a file lands in each one's bucket THEN each one's
    processor (from its own zip, with its own configuration) fills its own table only, and
    each one's API answers at its own local URL."""
    header = "trade_id,account_id,symbol,side,quantity,price,currency,executed_at"
    for environment in ENVIRONMENTS:
        env = environments.view(environment)
        body = f"{header}\nENV-{environment},acc-env,D05.SI,BUY,1,1.5,SGD,2024-03-01T09:00:00Z\n"
        env.client("s3").put_object(
            Bucket=env.out("data_bucket_name"), Key=f"incoming/{environment}.csv", Body=body
        )
    for environment in ENVIRONMENTS:
        env = environments.view(environment)
        other = next(name for name in ENVIRONMENTS if name != environment)
        table = env.out("trades_table_name")
        stored = partial(_stored, env.client("dynamodb"), table)
        wait_for(f"ENV-{environment} in {table}", partial(stored, f"ENV-{environment}"))
        assert not stored(f"ENV-{other}")
        answer = call(f"{env.out('api_local_url')}/health", region=env.out("aws_region"))
        assert (answer.status, answer.json()) == (200, {"status": "ok"})


def _stored(dynamodb: Any, table: str, trade_id: str) -> bool:
    key = {"trade_id": {"S": trade_id}}
    return "Item" in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)


# --------------------------------------------------------------------------- (2) profiles


def _log_groups(env: Deployed) -> list[str]:
    """Every log group of the environment, found from its resources: the functions' log groups,
    the API stage's access logs, the VPC's flow logs."""
    names = []
    for service in FUNCTIONS:
        config = env.client("lambda").get_function_configuration(
            FunctionName=env.out(f"{service}_function_name")
        )
        names.append(config["LoggingConfig"]["LogGroup"])
    for stage in env.client("apigatewayv2").get_stages(ApiId=env.out("api_id"))["Items"]:
        names.append(stage["AccessLogSettings"]["DestinationArn"].split(":log-group:")[1])
    flow_logs = env.client("ec2").describe_flow_logs(
        Filters=[{"Name": "resource-id", "Values": [env.out("vpc_id")]}]
    )["FlowLogs"]
    names += [
        flow_log.get("LogGroupName") or flow_log["LogDestination"].split(":log-group:")[1]
        for flow_log in flow_logs
    ]
    return [name.removesuffix(":*") for name in names]


def _capacity(table_or_index: dict[str, Any]) -> tuple[int, int]:
    throughput = table_or_index.get("ProvisionedThroughput", {})
    return throughput.get("ReadCapacityUnits", 0), throughput.get("WriteCapacityUnits", 0)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_profile_differences_are_deployed(environments: Deployment, environment: str) -> None:
    env, want = environments.view(environment), EXPECTED[environment]

    lam = env.client("lambda")
    for service in FUNCTIONS:
        config = lam.get_function_configuration(FunctionName=env.out(f"{service}_function_name"))
        assert config["MemorySize"] == want["lambda_memory"], service

    logs = env.client("logs")
    groups = _log_groups(env)
    assert len(groups) == 5, groups  # three functions, API access logs, flow logs
    for name in groups:
        (group,) = [
            g
            for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
            if g["logGroupName"] == name
        ]
        assert group.get("retentionInDays") == want["log_retention"], name

    dynamodb = env.client("dynamodb")
    for output in ("trades_table_name", "sessions_table_name"):
        table = dynamodb.describe_table(TableName=env.out(output))["Table"]
        billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        assert billing == want["billing_mode"], output
        assert _capacity(table) == want["capacity"], output
        for index in table.get("GlobalSecondaryIndexes", []):
            assert _capacity(index) == want["capacity"], index["IndexName"]

    s3 = env.client("s3")
    bucket = env.out("data_bucket_name")
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    assert (versioning == "Enabled") is want["versioning"], versioning
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    expiring = [r for r in rules if "Expiration" in r or "NoncurrentVersionExpiration" in r]
    assert bool(expiring) is want["expiry_rules"], rules
    assert [r for r in rules if "AbortIncompleteMultipartUpload" in r]  # in every profile

    assert _cluster(env)["BackupRetentionPeriod"] == want["backup_retention"]

    stages = env.client("apigatewayv2").get_stages(ApiId=env.out("api_id"))["Items"]
    assert [stage["StageName"] for stage in stages] == [want["stage"]]
    assert str(env.out("api_endpoint_url")).rstrip("/").endswith(f"/{want['stage']}")


# --------------------------------------------------------------------------- (3) state


def _state_keys(environments: Deployment, environment: str) -> list[str]:
    """The object keys in ``environment``'s own state bucket."""
    spec = _backend()
    s3 = environments.session.client("s3", spec.region)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=spec.bucket_of(environment))
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _state_document(environments: Deployment, environment: str, key: str) -> dict[str, Any]:
    spec = _backend()
    s3 = environments.session.client("s3", spec.region)
    body = s3.get_object(Bucket=spec.bucket_of(environment), Key=key)["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def test_each_environment_has_its_own_state_objects(environments: Deployment) -> None:
    spec = _backend()
    assert len({spec.bucket_of(environment) for environment in ENVIRONMENTS}) == len(ENVIRONMENTS)
    owned = {}
    for environment in ENVIRONMENTS:
        keys = _state_keys(environments, environment)  # its own bucket
        prefix = f"{spec.platform}/{environment}/"
        stacks = environments.stacks_of(environment)
        expected = {stack.state for stack in stacks}
        assert all(bucket == spec.bucket_of(environment) for bucket, _ in expected)
        assert all(key.startswith(prefix) for key in keys), keys  # nothing of another one
        assert all(key.startswith(prefix) for _, key in expected), expected
        assert len(expected) == len(stacks)  # one state object per stack
        state_keys = {key for key in keys if key.startswith(prefix) and key.endswith(".tfstate")}
        assert state_keys == {key for _, key in expected}
        owned[environment] = state_keys
    assert not owned["dev"] & owned["prod"]

    for environment, other in (ENVIRONMENTS, tuple(reversed(ENVIRONMENTS))):
        foreign = [str(environments.out(other, name)) for name in NAMED_OUTPUTS]
        for key in sorted(owned[environment]):
            state = _state_document(environments, environment, key)
            assert state["resources"], key
            text = json.dumps(state)
            assert not [name for name in foreign if name in text], key
