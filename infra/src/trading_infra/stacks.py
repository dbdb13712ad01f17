"""The regional platform stack: one environment in one region, composed of the components."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdktf import Aspects, S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from cdktf_cdktf_provider_aws.provider import (
    AwsProvider,
    AwsProviderAssumeRole,
    AwsProviderDefaultTags,
)
from cdktf_cdktf_provider_aws.s3_bucket_notification import (
    S3BucketNotification,
    S3BucketNotificationLambdaFunction,
)
from constructs import Construct

from trading_infra.components.api import HttpApi
from trading_infra.components.database import Database
from trading_infra.components.functions import LambdaArtifact, ServiceFunction
from trading_infra.components.keys import PlatformKey
from trading_infra.components.monitoring import Alarms, MonitoredResources
from trading_infra.components.network import Network
from trading_infra.components.storage import INCOMING_PREFIX, QUARANTINE_PREFIX, DataStorage
from trading_infra.components.tables import TRADES_BY_ACCOUNT_INDEX, DataTables
from trading_infra.config import Environment, PlatformConfig, RegionConfig
from trading_infra.context import RegionContext
from trading_infra.tagging import RequiredTagsAspect
from trading_infra.target import DeployTarget

SERVICES: tuple[str, ...] = ("processor", "api_handler")
HANDLERS: Mapping[str, str] = {
    "processor": "processor.handler.lambda_handler",
    "api_handler": "api_handler.handler.lambda_handler",
}


def stack_name(config: PlatformConfig, environment: Environment, region: RegionConfig) -> str:
    """``{platform}-{environment}-{region}``: also the stack's directory in cdktf.out."""
    return f"{config.platform.name}-{environment.name}-{region.name}"


def state_key(config: PlatformConfig, environment: Environment, stack: str) -> str:
    """State object key: one prefix per environment, so environments never share state."""
    return f"{config.platform.name}/{environment.name}/{stack}.tfstate"


class RegionalPlatformStack(TerraformStack):
    """Everything one region of one environment needs (see README "What gets deployed")."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PlatformConfig,
        environment: Environment,
        region: RegionConfig,
        target: DeployTarget,
        artifacts: Mapping[str, LambdaArtifact],
    ) -> None:
        super().__init__(scope, id_)
        tags = {
            "Environment": environment.name,
            "Region": region.name,
            "CostCenter": config.platform.cost_center,
            "ManagedBy": config.platform.managed_by,
        }
        provider_args: dict[str, Any] = {
            "region": region.name,
            "default_tags": [AwsProviderDefaultTags(tags=tags)],
            **target.provider_settings(),
        }
        if not target.is_local and environment.aws_role_arn:
            provider_args["assume_role"] = [
                AwsProviderAssumeRole(role_arn=environment.aws_role_arn)
            ]
        if not target.is_local and environment.aws_profile:
            provider_args["profile"] = environment.aws_profile
        AwsProvider(self, "aws", **provider_args)
        self._backend(config, environment, id_, target)

        identity = DataAwsCallerIdentity(self, "CallerIdentity")
        partition = DataAwsPartition(self, "Partition")
        context = RegionContext(
            platform=config.platform,
            environment=environment,
            region=region,
            account_id=identity.account_id,
            partition=partition.partition,
        )
        self._compose(context, artifacts)
        Aspects.of(self).add(RequiredTagsAspect())

    def _backend(
        self, config: PlatformConfig, environment: Environment, stack: str, target: DeployTarget
    ) -> None:
        backend_args: dict[str, Any] = {
            "bucket": config.state.bucket,
            "key": state_key(config, environment, stack),
            "region": config.state.region,
            "encrypt": True,
            "dynamodb_table": config.state.lock_table,
            **target.backend_settings(),
        }
        if not target.is_local and environment.aws_role_arn:
            backend_args["assume_role"] = {"role_arn": environment.aws_role_arn}
        S3Backend(self, **backend_args)
        # Terraform 1.11's native S3 lock file, beside the DynamoDB lock (the migration path:
        # drop dynamodb_table once every user runs >= 1.11). Not yet a field of cdktf 0.21.
        self.add_override("terraform.backend.s3.use_lockfile", True)

    def _compose(self, context: RegionContext, artifacts: Mapping[str, LambdaArtifact]) -> None:
        database_config = context.environment.profile.database
        key = PlatformKey(self, "Key", context=context)
        network = Network(
            self,
            "Network",
            context=context,
            key_arn=key.key_arn,
            database_port=database_config.port,
        )
        private_subnet_ids = [subnet.id for subnet in network.private_subnets]
        storage = DataStorage(self, "Storage", context=context, key_arn=key.key_arn)
        tables = DataTables(self, "Tables", context=context, key_arn=key.key_arn)
        database = Database(
            self,
            "Database",
            context=context,
            key_arn=key.key_arn,
            subnet_ids=private_subnet_ids,
            security_group_id=network.database_security_group.id,
        )
        function_args: dict[str, Any] = {
            "context": context,
            "key_arn": key.key_arn,
            "subnet_ids": private_subnet_ids,
            "security_group_ids": [network.lambda_security_group.id],
        }
        log_level = {"LOG_LEVEL": "INFO"}
        bucket_arn = storage.bucket.arn
        processor = ServiceFunction(
            self,
            "Processor",
            service="processor",
            artifact=artifacts["processor"],
            handler=HANDLERS["processor"],
            environment={
                "TRADES_TABLE_NAME": tables.trades.name,
                "QUARANTINE_PREFIX": QUARANTINE_PREFIX,
                "POWERTOOLS_SERVICE_NAME": "processor",
                **log_level,
            },
            statements=[
                {
                    # GetObjectVersion: the processor reads the exact version named in the
                    # event, so an overwrite before processing cannot hide the first upload.
                    "Sid": "ReadIncomingTradeFiles",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                    "Resource": f"{bucket_arn}/{INCOMING_PREFIX}*",
                },
                {
                    "Sid": "WriteQuarantine",
                    "Effect": "Allow",
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/{QUARANTINE_PREFIX}*",
                },
                {
                    "Sid": "IngestTrades",
                    "Effect": "Allow",
                    "Action": ["dynamodb:BatchGetItem", "dynamodb:PutItem"],
                    "Resource": tables.trades.arn,
                },
            ],
            **function_args,
        )
        api_handler = ServiceFunction(
            self,
            "ApiHandler",
            service="api_handler",
            artifact=artifacts["api_handler"],
            handler=HANDLERS["api_handler"],
            environment={
                "SESSIONS_TABLE_NAME": tables.sessions.name,
                "TRADES_TABLE_NAME": tables.trades.name,
                "TRADES_BY_ACCOUNT_INDEX": TRADES_BY_ACCOUNT_INDEX,
                "POWERTOOLS_SERVICE_NAME": "api_handler",
                **log_level,
            },
            statements=[
                {
                    "Sid": "ManageSessions",
                    "Effect": "Allow",
                    "Action": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
                    "Resource": tables.sessions.arn,
                },
                {
                    "Sid": "ReadTrades",
                    "Effect": "Allow",
                    "Action": "dynamodb:GetItem",
                    "Resource": tables.trades.arn,
                },
                {
                    "Sid": "ListTradesOfAccount",
                    "Effect": "Allow",
                    "Action": "dynamodb:Query",
                    "Resource": f"{tables.trades.arn}/index/{TRADES_BY_ACCOUNT_INDEX}",
                },
            ],
            **function_args,
        )
        invoke_from_bucket = LambdaPermission(
            self,
            "ProcessorInvokeFromBucket",
            statement_id="AllowDataBucketNotifications",
            action="lambda:InvokeFunction",
            function_name=processor.function.function_name,
            principal="s3.amazonaws.com",
            source_arn=bucket_arn,
            source_account=context.account_id,
        )
        S3BucketNotification(
            self,
            "DataBucketNotifications",
            bucket=storage.bucket.id,
            lambda_function=[
                S3BucketNotificationLambdaFunction(
                    lambda_function_arn=processor.function.arn,
                    events=["s3:ObjectCreated:*"],
                    filter_prefix=INCOMING_PREFIX,
                )
            ],
            depends_on=[invoke_from_bucket],
        )
        api = HttpApi(
            self, "Api", context=context, handler=api_handler.function, key_arn=key.key_arn
        )
        functions = {"processor": processor, "api_handler": api_handler}
        alarms = Alarms(
            self,
            "Monitoring",
            context=context,
            key_arn=key.key_arn,
            watched=MonitoredResources(
                database_identifier=database.identifier,
                database_is_aurora=database.is_aurora,
                function_names={s: f.function.function_name for s, f in functions.items()},
                table_names={"sessions": tables.sessions.name, "trades": tables.trades.name},
                dead_letter_queue_names={s: f.dead_letter_queue.name for s, f in functions.items()},
                api_id=api.api.id,
                api_stage=api.stage.name,
            ),
        )
        outputs: dict[str, Any] = {
            "vpc_id": network.vpc.id,
            "public_subnet_ids": [subnet.id for subnet in network.public_subnets],
            "private_subnet_ids": private_subnet_ids,
            "kms_key_arn": key.key_arn,
            "data_bucket_name": storage.bucket.bucket,
            "access_log_bucket_name": storage.log_bucket.bucket,
            "sessions_table_name": tables.sessions.name,
            "trades_table_name": tables.trades.name,
            "trades_by_account_index_name": TRADES_BY_ACCOUNT_INDEX,
            "api_endpoint_url": api.endpoint_url,
            "api_id": api.api.id,
            "database_endpoint": database.endpoint,
            "database_reader_endpoint": database.reader_endpoint,
            "database_port": database.port,
            "database_secret_arn": database.master_secret_arn,
            "alarm_topic_arn": alarms.topic.arn,
        }
        for service, function in functions.items():
            outputs[f"{service}_function_name"] = function.function.function_name
            outputs[f"{service}_function_arn"] = function.function.arn
            outputs[f"{service}_dead_letter_queue_url"] = function.dead_letter_queue.url
        for name, value in outputs.items():
            TerraformOutput(self, name, value=value)
