"""Alarms of a region, all notifying one encrypted SNS topic, and who that topic notifies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from trading_infra import drift_metric
from trading_infra.config import AlarmSubscription
from trading_infra.context import RegionContext, policy_document

PERIOD_SECONDS = 300
DATABASE_CPU_PERCENT_THRESHOLD = 80
API_5XX_PERCENT_THRESHOLD = 5
#: Every action an SNS topic policy can name: all of them are refused without TLS.
TOPIC_POLICY_ACTIONS = (
    "sns:AddPermission",
    "sns:DeleteTopic",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
    "sns:RemovePermission",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
)


@dataclass(frozen=True)
class MonitoredResources:
    """What the alarms watch (names/ids are Terraform tokens)."""

    database_identifier: str
    database_is_aurora: bool
    function_names: dict[str, str]  # service -> function name
    table_names: dict[str, str]  # table purpose -> table name
    dead_letter_queue_names: dict[str, str]  # service -> queue name
    api_id: str
    api_stage: str


@dataclass(frozen=True)
class AlarmsProps:
    """The alarms of one region: ``key_arn`` (the data key) encrypts the alarm topic."""

    context: RegionContext
    key_arn: str
    watched: MonitoredResources


class Alarms(Construct):
    """Attributes: topic (the alarm topic), alarms (id -> alarm)."""

    def __init__(self, scope: Construct, id_: str, *, props: AlarmsProps) -> None:
        super().__init__(scope, id_)
        context, watched = props.context, props.watched
        self._namer = context.namer
        self.topic = SnsTopic(
            self,
            "AlarmTopic",
            name=self._namer.name("alarms", kind="sns_topic"),
            kms_master_key_id=props.key_arn,
        )
        self._topic_arn = self.topic.arn  # read once: each read is a jsii round trip
        self._topic_policy(context)
        for subscription in context.environment.alarm_subscriptions:
            SnsTopicSubscription(
                self,
                _subscription_id(subscription),
                topic_arn=self._topic_arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
            )
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        self._database_alarm(watched)
        self._function_alarms(watched)
        self._table_alarms(watched)
        self._dead_letter_alarms(watched)
        self._drift_alarm(context)
        self._api_alarm(watched)

    def _database_alarm(self, watched: MonitoredResources) -> None:
        dimension = "DBClusterIdentifier" if watched.database_is_aurora else "DBInstanceIdentifier"
        self._alarm(
            "DatabaseCpu",
            "db-cpu",
            "Database CPU above threshold for 15 minutes",
            namespace="AWS/RDS",
            metric_name="CPUUtilization",
            dimensions={dimension: watched.database_identifier},
            statistic="Average",
            threshold=DATABASE_CPU_PERCENT_THRESHOLD,
            evaluation_periods=3,
        )

    def _function_alarms(self, watched: MonitoredResources) -> None:
        for service, function_name in sorted(watched.function_names.items()):
            label = service.replace("_", "-")
            for metric in ("Errors", "Throttles"):
                self._alarm(
                    f"{metric}{_camel(service)}",
                    f"{label}-{metric.lower()}",
                    f"{service} Lambda {metric.lower()}",
                    namespace="AWS/Lambda",
                    metric_name=metric,
                    dimensions={"FunctionName": function_name},
                    statistic="Sum",
                    threshold=1,
                )

    def _table_alarms(self, watched: MonitoredResources) -> None:
        for purpose, table_name in sorted(watched.table_names.items()):
            for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
                direction = metric.removesuffix("ThrottleEvents").lower()
                self._alarm(
                    f"{_camel(purpose)}{metric}",
                    f"{purpose}-{direction}-throttles",
                    f"{purpose} table throttled {direction} requests",
                    namespace="AWS/DynamoDB",
                    metric_name=metric,
                    dimensions={"TableName": table_name},
                    statistic="Sum",
                    threshold=1,
                )

    def _dead_letter_alarms(self, watched: MonitoredResources) -> None:
        for service, queue_name in sorted(watched.dead_letter_queue_names.items()):
            self._alarm(
                f"DeadLetters{_camel(service)}",
                f"{service.replace('_', '-')}-dlq-depth",
                f"Failed {service} events waiting in the dead-letter queue",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": queue_name},
                statistic="Maximum",
                threshold=1,
            )

    def _api_alarm(self, watched: MonitoredResources) -> None:
        api_dimensions = {"ApiId": watched.api_id, "Stage": watched.api_stage}
        self._alarm(
            "Api5xxRate",
            "api-5xx-rate",
            "Share of API requests answered with 5xx, in percent",
            threshold=API_5XX_PERCENT_THRESHOLD,
            metric_query=[
                CloudwatchMetricAlarmMetricQuery(
                    id="rate",
                    expression="IF(requests > 0, 100 * errors / requests, 0)",
                    label="5xx percent",
                    return_data=True,
                ),
                _metric_query("errors", "AWS/ApiGateway", "5xx", api_dimensions),
                _metric_query("requests", "AWS/ApiGateway", "Count", api_dimensions),
            ],
        )

    def _drift_alarm(self, context: RegionContext) -> None:
        """Alarms when ``./tap drift`` counted resources that differ from the code.

        Missing data is ``missing``: the check runs every period (.github/workflows/drift.yml,
        every 6 hours) or when someone runs ``./tap drift``, so until the first run after a
        deploy there is no data point. Treated as breaching it would page from the first deploy
        on; treated as not breaching it would report OK for a check that never ran. With
        ``missing`` ("if all data points in the alarm evaluation range are missing, the alarm
        transitions to INSUFFICIENT_DATA",
        https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html)
        nobody is paged and the alarm says honestly that nothing is known; a schedule that
        stopped shows the same way (docs/delivery.md, "Drift and its alarm").
        """
        self._alarm(
            "Drift",
            "drift",
            "Resources that differ from the code (./tap drift); no data: no check has reported",
            namespace=drift_metric.NAMESPACE,
            metric_name=drift_metric.METRIC_NAME,
            dimensions={
                drift_metric.DEPLOYMENT_DIMENSION: context.environment.name,
                drift_metric.REGION_DIMENSION: context.region.name,
            },
            statistic="Maximum",
            threshold=1,
            period=drift_metric.CHECK_PERIOD_SECONDS,
            treat_missing_data="missing",
        )

    def _topic_policy(self, context: RegionContext) -> None:
        """Only this account's CloudWatch alarms publish (the confused-deputy guard: source
        account and alarm ARN), and nobody uses the topic without TLS."""
        SnsTopicPolicy(
            self,
            "AlarmTopicPolicy",
            arn=self._topic_arn,
            policy=policy_document(
                {
                    "Sid": "AlarmsOfThisAccountPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self._topic_arn,
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": context.account_id},
                        "ArnLike": {"aws:SourceArn": context.arn("cloudwatch", "alarm:*")},
                    },
                },
                {
                    "Sid": "DenyWithoutTls",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": list(TOPIC_POLICY_ACTIONS),
                    "Resource": self._topic_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
        )

    def _alarm(
        self,
        id_: str,
        name: str,
        description: str,
        *,
        threshold: float,
        evaluation_periods: int = 1,
        treat_missing_data: str = "notBreaching",
        **metric: Any,
    ) -> None:
        if "metric_query" not in metric:
            metric.setdefault("period", PERIOD_SECONDS)
        self.alarms[id_] = CloudwatchMetricAlarm(
            self,
            id_,
            alarm_name=self._namer.name(name, kind="cloudwatch_alarm"),
            alarm_description=description,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            treat_missing_data=treat_missing_data,
            alarm_actions=[self._topic_arn],
            ok_actions=[self._topic_arn],
            **metric,
        )


def _metric_query(
    id_: str, namespace: str, name: str, dimensions: dict[str, str]
) -> CloudwatchMetricAlarmMetricQuery:
    return CloudwatchMetricAlarmMetricQuery(
        id=id_,
        metric=CloudwatchMetricAlarmMetricQueryMetric(
            namespace=namespace,
            metric_name=name,
            dimensions=dimensions,
            period=PERIOD_SECONDS,
            stat="Sum",
        ),
    )


def _subscription_id(subscription: AlarmSubscription) -> str:
    """A construct id (so a Terraform address) per receiver, from the receiver itself: adding or
    removing one never replaces the others (an index would shift, and a replaced email
    subscription has to be confirmed again)."""
    digest = hashlib.sha256(f"{subscription.protocol}:{subscription.endpoint}".encode()).hexdigest()
    return f"AlarmSubscription{subscription.protocol.capitalize()}{digest[:12]}"


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.split("_"))
