"""Specification of the audit trail and of alarm delivery, in every environment and region:
database audit and slow query logs into declared, encrypted log groups; an alarm topic that
only this account's alarms publish to, over TLS only, notifying the configured receivers; an
API access log that names the caller; and the open health check's own throttle."""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from trading_infra.config import ConfigError, PlatformConfig, load_config, parse_config

from tests.infra.conftest import CONFIG_FILE, Stack, synth_to

ROOT = Path(__file__).resolve().parents[2]

#: Every application stack: (environment, region), the three regions of ``global`` included.
APP_STACKS = [
    (environment.name, region.name)
    for environment in load_config(CONFIG_FILE).environments
    for region in environment.regions
]
STACK_IDS = [f"{environment}-{region}" for environment, region in APP_STACKS]
ENVIRONMENTS = sorted({environment for environment, _ in APP_STACKS})

#: What the profiles (profiles.toml) give each environment.
LOG_RETENTION_DAYS = {"dev": 7, "staging": 30, "prod": 90, "global": 90}
HEALTH_THROTTLE_RPS_AND_BURST = {
    "dev": (5, 10),
    "staging": (10, 20),
    "prod": (50, 100),
    "global": (50, 100),
}
#: Receivers a configuration may list; every environment of the variant below lists both.
SUBSCRIPTIONS = [
    {"protocol": "email", "endpoint": "trading-oncall@example.com"},
    {"protocol": "https", "endpoint": "https://hooks.example.com/tap/alarms"},
]


def app(stacks: dict[str, Stack], environment: str, region: str) -> Stack:
    return stacks[f"tap-{environment}-{region}-app"]


def parameters(resource: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in resource["parameter"]}


def topic_policy(stack: Stack) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(stack.only("aws_sns_topic_policy")["policy"])
    return document


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    (found,) = [s for s in policy["Statement"] if s["Sid"] == sid]
    return dict(found)


def log_key_of(stack: Stack) -> str:
    """The key the platform's other log groups are encrypted with (the API's access log's)."""
    key: str = stack.by_path("aws_cloudwatch_log_group", "AccessLogGroup")["kms_key_id"]
    return key


def access_log_format(stack: Stack) -> dict[str, str]:
    stage = stack.only("aws_apigatewayv2_stage")
    document: dict[str, str] = json.loads(stage["access_log_settings"]["format"])
    return document


def document() -> dict[str, Any]:
    return tomllib.loads((ROOT / "platform.toml").read_text())


def error_of(changed: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(changed)
    return str(raised.value)


def with_subscriptions(subscriptions: list[dict[str, str]]) -> dict[str, Any]:
    changed = copy.deepcopy(document())
    for environment in changed["environments"].values():
        environment["alarm_subscriptions"] = subscriptions
    return changed


@pytest.fixture(scope="module")
def subscribed_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Stack]:
    """platform.toml with an email and an HTTPS receiver in every environment, as for AWS."""
    config = parse_config(with_subscriptions(SUBSCRIPTIONS))
    return synth_to(tmp_path_factory.mktemp("synth-subscribed"), config, "aws")


@pytest.fixture(scope="module")
def postgres_dev(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """dev on the PostgreSQL engine instead of Aurora MySQL, as for AWS."""
    changed = copy.deepcopy(document())
    changed["environments"] = {"dev": changed["environments"]["dev"]}
    changed["environments"]["dev"]["overrides"] = {
        "database": {"engine": "postgres", "engine_version": "16",
                     "instance_class": "db.t4g.micro"}
    }  # fmt: skip
    stacks = synth_to(tmp_path_factory.mktemp("synth-postgres"), parse_config(changed), "aws")
    return stacks["tap-dev-ap-southeast-1-app"]


# --- Database audit and slow query logs ------------------------------------------------------


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_aurora_audits_connections_privilege_and_schema_changes(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    group = app(aws_stacks, environment, region).only("aws_rds_cluster_parameter_group")
    assert parameters(group)["server_audit_logging"] == "1"
    assert parameters(group)["server_audit_events"] == "CONNECT,QUERY_DCL,QUERY_DDL"


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_aurora_logs_statements_slower_than_one_second_to_files(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    group = parameters(app(aws_stacks, environment, region).only("aws_rds_cluster_parameter_group"))
    assert (group["slow_query_log"], group["long_query_time"]) == ("1", "1")
    assert group["log_output"] == "FILE"  # what RDS exports to CloudWatch Logs
    assert group["require_secure_transport"] == "ON"


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_every_exported_aurora_log_has_an_encrypted_log_group_with_the_profiles_retention(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    stack = app(aws_stacks, environment, region)
    cluster = stack.only("aws_rds_cluster")
    groups = {
        g["name"]: g for g in stack.resources("aws_cloudwatch_log_group").values()
        if g["name"].startswith("/aws/rds/")
    }  # fmt: skip
    assert sorted(groups) == [
        f"/aws/rds/cluster/{cluster['cluster_identifier']}/{log_type}"
        for log_type in cluster["enabled_cloudwatch_logs_exports"]
    ]
    assert cluster["enabled_cloudwatch_logs_exports"] == ["audit", "error", "general", "slowquery"]
    for group in groups.values():
        assert group["kms_key_id"] == log_key_of(stack)
        assert group["kms_key_id"].startswith("${data.terraform_remote_state.Network.outputs.")
        assert group["retention_in_days"] == LOG_RETENTION_DAYS[environment]


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_the_cluster_is_created_after_its_log_groups_so_rds_never_creates_them(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    stack = app(aws_stacks, environment, region)
    log_groups = [
        f"aws_cloudwatch_log_group.{name}"
        for name, g in stack.resources("aws_cloudwatch_log_group").items()
        if g["name"].startswith("/aws/rds/")
    ]
    assert len(log_groups) == 4
    assert set(log_groups) <= set(stack.only("aws_rds_cluster")["depends_on"])


def test_postgres_logs_connections_ddl_and_slow_statements(postgres_dev: Stack) -> None:
    group = parameters(postgres_dev.only("aws_db_parameter_group"))
    assert group == {
        "rds.force_ssl": "1",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_statement": "ddl",
        "log_min_duration_statement": "1000",
    }


def test_postgres_instance_logs_go_to_declared_log_groups_created_first(
    postgres_dev: Stack,
) -> None:
    instance = postgres_dev.only("aws_db_instance")
    groups = {
        f"aws_cloudwatch_log_group.{name}": g
        for name, g in postgres_dev.resources("aws_cloudwatch_log_group").items()
        if g["name"].startswith("/aws/rds/")
    }
    assert sorted(g["name"] for g in groups.values()) == [
        f"/aws/rds/instance/{instance['identifier']}/{log_type}"
        for log_type in ("postgresql", "upgrade")
    ]
    assert all(g["kms_key_id"] == log_key_of(postgres_dev) for g in groups.values())
    assert all(g["retention_in_days"] == 7 for g in groups.values())
    assert set(groups) <= set(instance["depends_on"])


# --- Alarm topic: who publishes, over what ---------------------------------------------------


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_only_this_accounts_cloudwatch_alarms_may_publish_to_the_alarm_topic(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    stack = app(aws_stacks, environment, region)
    topic_arn = "${" + stack.address("aws_sns_topic", "AlarmTopic") + ".arn}"
    assert stack.only("aws_sns_topic_policy")["arn"] == topic_arn
    allow = statement(topic_policy(stack), "AlarmsOfThisAccountPublish")
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (allow["Action"], allow["Resource"]) == ("sns:Publish", topic_arn)
    account = "${data.aws_caller_identity.CallerIdentity.account_id}"
    partition = "${data.aws_partition.Partition.partition}"
    assert allow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*"},
    }


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_the_alarm_topic_refuses_every_request_without_tls(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    stack = app(aws_stacks, environment, region)
    deny = statement(topic_policy(stack), "DenyWithoutTls")
    assert (deny["Effect"], deny["Principal"]) == ("Deny", "*")
    assert {"sns:Publish", "sns:Subscribe", "sns:SetTopicAttributes"} <= set(deny["Action"])
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(topic_policy(stack)["Statement"]) == 2  # nothing else is granted


# --- Alarm topic: who is notified ------------------------------------------------------------


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_the_checked_in_configuration_subscribes_nobody(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    assert app(aws_stacks, environment, region).resources("aws_sns_topic_subscription") == {}


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_configured_receivers_subscribe_to_the_alarm_topic(
    subscribed_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    stack = app(subscribed_stacks, environment, region)
    topic_arn = "${" + stack.address("aws_sns_topic", "AlarmTopic") + ".arn}"
    subscriptions = stack.resources("aws_sns_topic_subscription").values()
    assert sorted((s["protocol"], s["endpoint"]) for s in subscriptions) == [
        ("email", "trading-oncall@example.com"),
        ("https", "https://hooks.example.com/tap/alarms"),
    ]
    assert {s["topic_arn"] for s in subscriptions} == {topic_arn}


def test_removing_a_receiver_keeps_the_others_addresses(tmp_path: Path) -> None:
    only_https = parse_config(with_subscriptions(SUBSCRIPTIONS[1:]))
    both = parse_config(with_subscriptions(SUBSCRIPTIONS))
    names = []
    for index, config in enumerate((both, only_https)):
        stack = app(
            synth_to(tmp_path / str(index), _only_dev(config), "aws"), "dev", "ap-southeast-1"
        )
        names.append(
            {n for n, s in stack.resources("aws_sns_topic_subscription").items()
             if s["protocol"] == "https"}
        )  # fmt: skip
    assert names[0] == names[1]


def _only_dev(config: PlatformConfig) -> PlatformConfig:
    return config.model_copy(update={"environments": (config.environment("dev"),)})


@pytest.mark.parametrize(
    ("subscription", "expected"),
    [
        ({"protocol": "http", "endpoint": "http://hooks.example.com/x"}, "'http' is not supported"),
        ({"protocol": "sms", "endpoint": "+6500000000"}, "use 'email'"),
        ({"protocol": "https", "endpoint": "http://hooks.example.com/x"}, "is not an https:// URL"),
        (
            {"protocol": "https", "endpoint": "hooks.example.com"},
            "https://hooks.example.com/alarms",
        ),
        ({"protocol": "email", "endpoint": "oncall-at-example.com"}, "is not an email address"),
    ],
)
def test_a_bad_subscription_is_refused_with_its_value_and_the_fix(
    subscription: dict[str, str], expected: str
) -> None:
    message = error_of(with_subscriptions([subscription]))
    assert "alarm_subscriptions" in message
    assert expected in message
    assert repr(subscription["endpoint"]) in message or repr(subscription["protocol"]) in message


def test_a_receiver_listed_twice_is_refused() -> None:
    message = error_of(with_subscriptions([SUBSCRIPTIONS[0], SUBSCRIPTIONS[0]]))
    assert "'trading-oncall@example.com'" in message and "twice" in message


# --- API access log and health throttle ------------------------------------------------------


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_the_access_log_names_the_caller_and_the_request(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    fields = access_log_format(app(aws_stacks, environment, region))
    assert {
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "callerArn": "$context.identity.userArn",  # the SigV4 signer of the service routes
        "sessionAccountId": "$context.authorizer.account_id",  # the session authorizer's
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "requestId": "$context.requestId",
    }.items() <= fields.items()


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_the_access_log_never_records_the_bearer_token(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    stage = app(aws_stacks, environment, region).only("aws_apigatewayv2_stage")
    log_format = stage["access_log_settings"]["format"]
    assert "session_id" not in log_format
    assert "Authorization" not in log_format and "authorization" not in log_format


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_the_health_check_has_its_own_smaller_throttle(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    stage = app(aws_stacks, environment, region).only("aws_apigatewayv2_stage")
    rate, burst = HEALTH_THROTTLE_RPS_AND_BURST[environment]
    assert stage["route_settings"] == [
        {
            "route_key": "GET /health",
            "throttling_rate_limit": rate,
            "throttling_burst_limit": burst,
            "detailed_metrics_enabled": True,
        }
    ]
    default = stage["default_route_settings"]
    assert rate < default["throttling_rate_limit"] and burst < default["throttling_burst_limit"]


@pytest.mark.parametrize(("environment", "region"), APP_STACKS, ids=STACK_IDS)
def test_the_stage_is_created_after_the_health_route_it_throttles(
    aws_stacks: dict[str, Stack], environment: str, region: str
) -> None:
    stack = app(aws_stacks, environment, region)
    (health,) = [
        f"aws_apigatewayv2_route.{name}"
        for name, route in stack.resources("aws_apigatewayv2_route").items()
        if route["route_key"] == "GET /health"
    ]
    assert health in stack.only("aws_apigatewayv2_stage")["depends_on"]


def test_a_health_throttle_above_the_default_is_refused() -> None:
    changed = document()
    changed["environments"]["dev"]["overrides"] = {"api_health_throttling_rate_limit_rps": 60}
    message = error_of(changed)
    assert "api_health_throttling_rate_limit_rps = 60" in message
    assert "lower them" in message


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_profile_sets_a_health_throttle(
    config: PlatformConfig, environment: str
) -> None:
    profile = config.environment(environment).profile
    assert (
        profile.api_health_throttling_rate_limit_rps,
        profile.api_health_throttling_burst_limit,
    ) == HEALTH_THROTTLE_RPS_AND_BURST[environment]
