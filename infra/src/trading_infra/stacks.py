"""The stacks of one environment in one region, composed of the components.

Two stacks per environment and region, each with its own state object:

* ``<platform>-<env>-<region>-network``: the KMS keys and the network (VPC, subnets, routing,
  endpoints, security groups, flow logs). Changes rarely; the foundation of the rest.
* ``<platform>-<env>-<region>-app``: storage, tables, database, functions, API and alarms. It
  reads the network's outputs through a ``terraform_remote_state`` data source on the same S3
  backend, so it can be planned, applied and destroyed on its own (after the network).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdktf import (
    Aspects,
    DataTerraformRemoteStateS3,
    S3Backend,
    TerraformOutput,
    TerraformStack,
)
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
from trading_infra.components.database import Database, GlobalDatabase
from trading_infra.components.domain import ApiCustomDomain
from trading_infra.components.functions import LambdaArtifact, ServiceFunction
from trading_infra.components.keys import PlatformKeys
from trading_infra.components.monitoring import Alarms, MonitoredResources
from trading_infra.components.network import Network
from trading_infra.components.remote_state_checks import (
    AccountLookups,
    NetworkStateCheck,
    NetworkStateCheckProps,
    ReplicaKeyCheck,
    ReplicaKeyCheckProps,
)
from trading_infra.components.storage import INCOMING_PREFIX, QUARANTINE_PREFIX, DataStorage
from trading_infra.components.tables import (
    TRADES_BY_ACCOUNT_INDEX,
    DataTables,
    SessionsReplication,
)
from trading_infra.config import Environment, PlatformConfig, RegionConfig
from trading_infra.context import RegionContext
from trading_infra.tagging import RequiredTagsAspect
from trading_infra.target import DeployTarget

SERVICES: tuple[str, ...] = ("processor", "api_handler")
HANDLERS: Mapping[str, str] = {
    "processor": "processor.handler.lambda_handler",
    "api_handler": "api_handler.handler.lambda_handler",
    # The user routes' Lambda authorizer: a second entry point of the api_handler zip.
    "api_authorizer": "api_handler.authorizer.lambda_handler",
}


#: The Terraform versions the synthesized JSON works with.
TERRAFORM_REQUIRED_VERSION = ">= 1.11.0"

NETWORK_STACK_SUFFIX = "network"
APPLICATION_STACK_SUFFIX = "app"
#: Outputs of the network stack that the application stack reads through remote state.
NETWORK_OUTPUTS = (
    "vpc_id",
    "public_subnet_ids",
    "private_subnet_ids",
    "lambda_security_group_id",
    "database_security_group_id",
    "kms_key_arn",  # the data key; renaming an output breaks deployed readers of its state
    "logs_kms_key_arn",
    "secrets_kms_key_arn",
)


def stack_name(
    config: PlatformConfig, environment: Environment, region: RegionConfig, part: str
) -> str:
    """``{platform}-{environment}-{region}-{part}``: also the stack's directory in cdktf.out."""
    return f"{config.platform.name}-{environment.name}-{region.name}-{part}"


def state_key(config: PlatformConfig, environment: Environment, stack: str) -> str:
    """State object key in the environment's own bucket, under its own prefix."""
    return f"{config.state_of(environment).key_prefix}{stack}.tfstate"


@dataclass(frozen=True)
class StackPlacement:
    """Where a stack goes: which platform, environment and region, deployed to which target."""

    config: PlatformConfig
    environment: Environment
    region: RegionConfig
    target: DeployTarget


class _RegionalStack(TerraformStack):
    """Provider, state backend, account/partition lookups and the tag check of a stack."""

    def __init__(self, scope: Construct, id_: str, *, placement: StackPlacement) -> None:
        super().__init__(scope, id_)
        config, environment = placement.config, placement.environment
        region, target = placement.region, placement.target
        self.config = config
        self.environment = environment
        self.target = target
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
        if not target.is_local and environment.account_id:
            # Credentials of any other account fail the plan instead of deploying there.
            provider_args["allowed_account_ids"] = [environment.account_id]
        AwsProvider(self, "aws", **provider_args)
        S3Backend(self, **self.state_settings(id_))
        # Terraform 1.11's native S3 lock file, beside the DynamoDB lock (the migration path:
        # drop dynamodb_table once every user runs >= 1.11). Not yet a field of cdktf 0.21.
        self.add_override("terraform.backend.s3.use_lockfile", True)
        # The JSON needs Terraform 1.11: ephemeral resources (1.10), write-only arguments (1.11)
        # and the backend's use_lockfile. An older Terraform then refuses the configuration by
        # its version instead of failing on the first construct it does not know.
        self.add_override("terraform.required_version", TERRAFORM_REQUIRED_VERSION)

        identity = DataAwsCallerIdentity(self, "CallerIdentity")
        partition = DataAwsPartition(self, "Partition")
        self.region = region
        # HCL addresses of the lookups, for the conditions on values read from other states.
        self._lookups = AccountLookups(
            account=f"data.aws_caller_identity.{identity.friendly_unique_id}.account_id",
            partition=f"data.aws_partition.{partition.friendly_unique_id}.partition",
        )
        self.context = RegionContext(
            platform=config.platform,
            environment=environment,
            region=region,
            account_id=identity.account_id,
            partition=partition.partition,
        )
        Aspects.of(self).add(RequiredTagsAspect(default_tags=tags))

    def state_settings(self, stack: str, *, writing: bool = True) -> dict[str, Any]:
        """Where ``stack``'s state lives: its backend, or (reading) another stack's state."""
        location = self.config.state_of(self.environment)
        settings: dict[str, Any] = {
            "bucket": location.bucket,
            "key": state_key(self.config, self.environment, stack),
            "region": location.region,
            **self.target.backend_settings(),
        }
        if writing:
            # SSE-KMS with the environment's own key: without kms_key_id, encrypt=true writes
            # with SSE-S3 (AES256), overriding the bucket's default key.
            settings.update(
                encrypt=True, kms_key_id=location.kms_key, dynamodb_table=location.lock_table
            )
        if not self.target.is_local and self.environment.aws_role_arn:
            settings["assume_role"] = {"role_arn": self.environment.aws_role_arn}
        if not self.target.is_local and self.environment.aws_profile:
            settings["profile"] = self.environment.aws_profile
        return settings

    def outputs(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            TerraformOutput(self, name, value=value)


class NetworkStack(_RegionalStack):
    """The KMS keys and the network of one environment in one region."""

    def __init__(self, scope: Construct, id_: str, *, placement: StackPlacement) -> None:
        super().__init__(scope, id_, placement=placement)
        keys = PlatformKeys(self, "Key", context=self.context)
        network = Network(
            self,
            "Network",
            context=self.context,
            logs_key_arn=keys.logs_key_arn,
            database_port=placement.environment.profile.database.port,
        )
        extra: dict[str, Any] = {}
        if network.rotation_security_group is not None:
            extra["rotation_security_group_id"] = network.rotation_security_group.id
        self.outputs(
            {
                "vpc_id": network.vpc.id,
                "public_subnet_ids": [subnet.id for subnet in network.public_subnets],
                "private_subnet_ids": [subnet.id for subnet in network.private_subnets],
                "lambda_security_group_id": network.lambda_security_group.id,
                "database_security_group_id": network.database_security_group.id,
                "kms_key_arn": keys.key_arn,
                "logs_kms_key_arn": keys.logs_key_arn,
                "secrets_kms_key_arn": keys.secrets_key_arn,
                **extra,
            }
        )


@dataclass(frozen=True)
class _RegionKeys:
    """The region's key ARNs by purpose, read from the network stack (components/keys.py)."""

    data: str
    logs: str
    secrets: str


@dataclass(frozen=True)
class GlobalPeers:
    """The other stacks of a multi-region deployment that this region's application reads.

    The primary region reads every secondary network (each replica's KMS key); a secondary
    region reads the primary application (the global cluster's identifier).
    """

    primary_application: ApplicationStack | None = None
    secondary_networks: tuple[NetworkStack, ...] = ()

    @property
    def is_primary(self) -> bool:
        return self.primary_application is None


class ApplicationStack(_RegionalStack):
    """Everything but the network: storage, tables, database, functions, API, alarms."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        placement: StackPlacement,
        network: NetworkStack,
        artifacts: Mapping[str, LambdaArtifact],
        peers: GlobalPeers | None = None,
    ) -> None:
        super().__init__(scope, id_, placement=placement)
        remote = self._read(network, "Network")
        NetworkStateCheck(
            self,
            "NetworkCheck",
            props=NetworkStateCheckProps(remote=remote, region=self.region, lookups=self._lookups),
        )
        self._compose(
            self.context,
            artifacts,
            keys=_RegionKeys(
                data=remote.get_string("kms_key_arn"),
                logs=remote.get_string("logs_kms_key_arn"),
                secrets=remote.get_string("secrets_kms_key_arn"),
            ),
            private_subnet_ids=remote.get_list("private_subnet_ids"),
            lambda_security_group_id=remote.get_string("lambda_security_group_id"),
            database_security_group_id=remote.get_string("database_security_group_id"),
            sessions_replication=self._sessions_replication(peers),
            global_database=self._global_database(peers),
        )

    def _read(self, stack: TerraformStack, id_: str) -> DataTerraformRemoteStateS3:
        """Another stack's outputs through its S3 state; that stack is deployed first."""
        self.add_dependency(stack)
        return DataTerraformRemoteStateS3(
            self, id_, **self.state_settings(stack.node.id, writing=False)
        )

    def _sessions_replication(self, peers: GlobalPeers | None) -> SessionsReplication | None:
        if peers is None:
            return None
        if self.target.is_local:
            # Local profile: the emulator never creates global-table replicas (docs/emulator.md,
            # gap 1), so each region gets its own sessions table there. The aws target always
            # replicates (tests/infra/test_multi_region.py proves both).
            return None
        if not peers.is_primary:
            return SessionsReplication(role="replica")
        replica_keys = []
        for network in peers.secondary_networks:
            region = network.context.region.name
            remote = self._read(network, f"Network{_camel(region)}")
            key_arn = remote.get_string("kms_key_arn")
            replica_keys.append((region, key_arn))
            # The replica's key comes from another region's state: same account, that region.
            ReplicaKeyCheck(
                self,
                f"ReplicaKeyCheck{_camel(region)}",
                props=ReplicaKeyCheckProps(remote=remote, region=region, lookups=self._lookups),
            )
        return SessionsReplication(role="owner", replica_keys=tuple(replica_keys))

    def _global_database(self, peers: GlobalPeers | None) -> GlobalDatabase | None:
        if peers is None:
            return None
        if peers.primary_application is None:
            return GlobalDatabase(role="primary")
        primary = self._read(peers.primary_application, "PrimaryApplication")
        return GlobalDatabase(
            role="secondary",
            global_cluster_identifier=primary.get_string("global_cluster_identifier"),
        )

    def _compose(
        self,
        context: RegionContext,
        artifacts: Mapping[str, LambdaArtifact],
        *,
        keys: _RegionKeys,
        private_subnet_ids: list[str],
        lambda_security_group_id: str,
        database_security_group_id: str,
        sessions_replication: SessionsReplication | None,
        global_database: GlobalDatabase | None,
    ) -> None:
        key_arn = keys.data
        storage = DataStorage(self, "Storage", context=context, key_arn=key_arn)
        tables = DataTables(
            self,
            "Tables",
            context=context,
            key_arn=key_arn,
            sessions_replication=sessions_replication,
        )
        database = Database(
            self,
            "Database",
            context=context,
            key_arn=key_arn,
            secrets_key_arn=keys.secrets,
            logs_key_arn=keys.logs,
            subnet_ids=private_subnet_ids,
            security_group_id=database_security_group_id,
            global_database=global_database,
        )
        function_args: dict[str, Any] = {
            "context": context,
            "key_arn": key_arn,
            "logs_key_arn": keys.logs,
            "subnet_ids": private_subnet_ids,
            "security_group_ids": [lambda_security_group_id],
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
                {
                    # A file too large for one invocation is continued by an asynchronous
                    # invocation of the function itself. The ARN is built from the function's
                    # name: referencing the function resource (which depends on this policy)
                    # would make a Terraform cycle.
                    "Sid": "ContinueOwnFiles",
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": context.arn(
                        "lambda",
                        "function:" + context.namer.name("processor", kind="lambda_function"),
                    ),
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
                "SESSIONS_TABLE_NAME": tables.sessions_name,
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
                    "Resource": tables.sessions_arn,
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
        api_authorizer = ServiceFunction(
            self,
            "ApiAuthorizer",
            service="api_authorizer",
            artifact=artifacts["api_handler"],  # same zip, its own entry point and role
            handler=HANDLERS["api_authorizer"],
            environment={
                "SESSIONS_TABLE_NAME": tables.sessions_name,
                "POWERTOOLS_SERVICE_NAME": "api_authorizer",
                **log_level,
            },
            statements=[
                {
                    "Sid": "ReadSessions",
                    "Effect": "Allow",
                    "Action": "dynamodb:GetItem",
                    "Resource": tables.sessions_arn,
                },
            ],
            **function_args,
        )
        api = HttpApi(
            self,
            "Api",
            context=context,
            handler=api_handler.function,
            authorizer=api_authorizer.function,
            key_arn=keys.logs,  # the API's access-log group
        )
        functions = {
            "processor": processor,
            "api_handler": api_handler,
            "api_authorizer": api_authorizer,
        }
        alarms = Alarms(
            self,
            "Monitoring",
            context=context,
            key_arn=key_arn,
            watched=MonitoredResources(
                database_identifier=database.identifier,
                database_is_aurora=database.is_aurora,
                function_names={s: f.function.function_name for s, f in functions.items()},
                table_names={"sessions": tables.sessions_name, "trades": tables.trades.name},
                dead_letter_queue_names={s: f.dead_letter_queue.name for s, f in functions.items()},
                api_id=api.api.id,
                api_stage=api.stage.name,
            ),
        )
        outputs: dict[str, Any] = {
            "data_bucket_name": storage.bucket.bucket,
            "access_log_bucket_name": storage.log_bucket.bucket,
            "sessions_table_name": tables.sessions_name,
            "trades_table_name": tables.trades.name,
            "trades_by_account_index_name": TRADES_BY_ACCOUNT_INDEX,
            "api_endpoint_url": api.endpoint_url,
            "api_id": api.api.id,
            "api_stage_name": api.stage.name,
            "database_endpoint": database.endpoint,
            "database_reader_endpoint": database.reader_endpoint,
            "database_port": database.port,
            "alarm_topic_arn": alarms.topic.arn,
        }
        if database.master_secret_arn is not None:
            outputs["database_secret_arn"] = database.master_secret_arn
        if database.global_cluster_identifier is not None:
            outputs["global_cluster_identifier"] = database.global_cluster_identifier
        if context.environment.dns is not None:
            domain = ApiCustomDomain(
                self,
                "CustomDomain",
                context=context,
                dns=context.environment.dns,
                api=api.api,
                stage=api.stage,
            )
            outputs["api_custom_domain"] = domain.domain_name.domain_name
            outputs["api_health_check_id"] = domain.health_check.id
        for service, function in functions.items():
            outputs[f"{service}_function_name"] = function.function.function_name
            outputs[f"{service}_function_arn"] = function.function.arn
            outputs[f"{service}_dead_letter_queue_url"] = function.dead_letter_queue.url
        self.outputs(outputs)


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("_", "-").split("-"))
