"""The stacks of one environment in one region, composed of the components.

Two stacks per environment and region, each with its own state object:

* ``<platform>-<env>-<region>-network``: the KMS keys and the network (VPC, subnets, routing,
  endpoints, security groups, flow logs). Changes rarely; the foundation of the rest.
* ``<platform>-<env>-<region>-app``: storage, tables, database, functions, API and alarms. It
  reads the network's outputs through a ``terraform_remote_state`` data source on the same S3
  backend, so it can be planned, applied and destroyed on its own (after the network).

What every stack has besides (provider, state backend, lookups): trading_infra.regional_stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cdktf import DataTerraformRemoteStateS3, TerraformStack
from constructs import Construct

from trading_infra.components.api import HttpApi, HttpApiProps
from trading_infra.components.api_routes import ApiRoute
from trading_infra.components.database import Database, DatabaseProps, GlobalDatabase
from trading_infra.components.domain import ApiCustomDomain, ApiCustomDomainProps
from trading_infra.components.functions import (
    FunctionPlacement,
    LambdaArtifact,
    ServiceFunction,
    ServiceFunctionProps,
)
from trading_infra.components.keys import PlatformKeys, PlatformKeysProps, RegionKey, RegionKeys
from trading_infra.components.monitoring import Alarms, AlarmsProps, MonitoredResources
from trading_infra.components.network import Network, NetworkProps
from trading_infra.components.remote_state_checks import (
    NetworkStateCheck,
    NetworkStateCheckProps,
    ReplicaKeyCheck,
    ReplicaKeyCheckProps,
)
from trading_infra.components.storage import DataStorage, DataStorageProps
from trading_infra.components.tables import (
    TRADES_BY_ACCOUNT_INDEX,
    DataTables,
    DataTablesProps,
    SessionsReplication,
)
from trading_infra.config import Environment, PlatformConfig, RegionConfig
from trading_infra.network_outputs import NetworkOutputs
from trading_infra.regional_stack import RegionalStack, StackPlacement

SERVICES: tuple[str, ...] = ("processor", "api_handler")
HANDLERS: Mapping[str, str] = {
    "processor": "processor.handler.lambda_handler",
    "api_handler": "api_handler.handler.lambda_handler",
    # The user routes' Lambda authorizer: a second entry point of the api_handler zip.
    "api_authorizer": "api_handler.authorizer.lambda_handler",
}
#: The application's functions: construct id, service (the name of its function, role and
#: queue) and the zip it runs. The authorizer runs the api_handler zip with its own entry point
#: and role.
FUNCTIONS: tuple[tuple[str, str, str], ...] = (
    ("Processor", "processor", "processor"),
    ("ApiHandler", "api_handler", "api_handler"),
    ("ApiAuthorizer", "api_authorizer", "api_handler"),
)


NETWORK_STACK_SUFFIX = "network"
APPLICATION_STACK_SUFFIX = "app"


def stack_name(
    config: PlatformConfig, environment: Environment, region: RegionConfig, part: str
) -> str:
    """``{platform}-{environment}-{region}-{part}``: also the stack's directory in cdktf.out."""
    return f"{config.platform.name}-{environment.name}-{region.name}-{part}"


class NetworkStack(RegionalStack):
    """The KMS keys and the network of one environment in one region."""

    def __init__(self, scope: Construct, id_: str, *, placement: StackPlacement) -> None:
        super().__init__(scope, id_, placement=placement)
        keys = PlatformKeys(self, "Key", props=PlatformKeysProps(context=self.context))
        network = Network(
            self,
            "Network",
            props=NetworkProps(
                context=self.context,
                logs_key_arn=keys.logs_key_arn,
                database_port=placement.environment.profile.database.port,
            ),
        )
        rotation = network.rotation_security_group
        NetworkOutputs(
            vpc_id=network.vpc.id,
            public_subnet_ids=[subnet.id for subnet in network.public_subnets],
            private_subnet_ids=[subnet.id for subnet in network.private_subnets],
            lambda_security_group_id=network.lambda_security_group.id,
            database_security_group_id=network.database_security_group.id,
            kms_key_arn=keys.key_arn,
            logs_kms_key_arn=keys.logs_key_arn,
            secrets_kms_key_arn=keys.secrets_key_arn,
            rotation_security_group_id=rotation.id if rotation is not None else None,
        ).publish(self)


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


class ApplicationStack(RegionalStack):
    """Everything but the network: storage, tables, database, functions, API, alarms."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        placement: StackPlacement,
        network: NetworkStack,
        artifacts: Mapping[str, LambdaArtifact],
        api_routes: tuple[ApiRoute, ...],
        peers: GlobalPeers | None = None,
    ) -> None:
        super().__init__(scope, id_, placement=placement)
        remote = self._read(network, "Network")
        outputs = NetworkOutputs.read(remote)
        NetworkStateCheck(
            self,
            "NetworkCheck",
            props=NetworkStateCheckProps(
                remote=remote, outputs=outputs, region=self.region, lookups=self._lookups
            ),
        )
        self._compose(outputs, artifacts, api_routes, peers)

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
            replica_keys.append((region, NetworkOutputs.read(remote).kms_key_arn))
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
        network: NetworkOutputs,
        artifacts: Mapping[str, LambdaArtifact],
        api_routes: tuple[ApiRoute, ...],
        peers: GlobalPeers | None,
    ) -> None:
        """The application's components, wired together."""
        context = self.context
        keys = RegionKeys(
            data=RegionKey(network.kms_key_arn),
            logs=RegionKey(network.logs_kms_key_arn),
            secrets=RegionKey(network.secrets_kms_key_arn),
        )
        storage = DataStorage(
            self, "Storage", props=DataStorageProps(context=context, key=keys.data)
        )
        tables = DataTables(
            self,
            "Tables",
            props=DataTablesProps(
                context=context,
                key=keys.data,
                sessions_replication=self._sessions_replication(peers),
            ),
        )
        database = Database(
            self,
            "Database",
            props=DatabaseProps(
                context=context,
                data_key=keys.data,
                secrets_key=keys.secrets,
                logs_key=keys.logs,
                subnet_ids=network.private_subnet_ids,
                security_group_id=network.database_security_group_id,
                global_database=self._global_database(peers),
            ),
        )
        placement = FunctionPlacement(
            subnet_ids=network.private_subnet_ids,
            security_group_ids=[network.lambda_security_group_id],
        )
        functions = self._functions(artifacts, keys, placement)
        _grant_access(storage, tables, functions)
        storage.notify_uploads(functions["processor"].function)
        api = HttpApi(
            self,
            "Api",
            props=HttpApiProps(
                context=context,
                handler=functions["api_handler"].function,
                authorizer=functions["api_authorizer"].function,
                routes=api_routes,
                logs_key=keys.logs,  # the API's access-log group
            ),
        )
        alarms = self._alarms(keys.data, functions, tables, database, api)
        domain = None
        if context.environment.dns is not None:
            domain = ApiCustomDomain(
                self,
                "CustomDomain",
                props=ApiCustomDomainProps(
                    context=context, dns=context.environment.dns, api=api.api, stage=api.stage
                ),
            )
        self.outputs(_outputs(storage, tables, database, api, alarms, functions, domain))

    def _functions(
        self,
        artifacts: Mapping[str, LambdaArtifact],
        keys: RegionKeys,
        placement: FunctionPlacement,
    ) -> dict[str, ServiceFunction]:
        """Every function of :data:`FUNCTIONS`, by service, with nothing granted yet."""
        return {
            service: ServiceFunction(
                self,
                construct_id,
                props=ServiceFunctionProps(
                    context=self.context,
                    service=service,
                    artifact=artifacts[artifact],
                    handler=HANDLERS[service],
                    data_key=keys.data,
                    logs_key=keys.logs,
                    placement=placement,
                ),
            )
            for construct_id, service, artifact in FUNCTIONS
        }

    def _alarms(
        self,
        key: RegionKey,
        functions: Mapping[str, ServiceFunction],
        tables: DataTables,
        database: Database,
        api: HttpApi,
    ) -> Alarms:
        watched = MonitoredResources(
            database_identifier=database.identifier,
            database_is_aurora=database.is_aurora,
            function_names={s: f.function.function_name for s, f in functions.items()},
            table_names={"sessions": tables.sessions_name, "trades": tables.trades_name},
            dead_letter_queue_names={s: f.dead_letter_queue.name for s, f in functions.items()},
            api_id=api.api.id,
            api_stage=api.stage.name,
        )
        return Alarms(
            self,
            "Monitoring",
            props=AlarmsProps(context=self.context, key_arn=key.arn, watched=watched),
        )


def _grant_access(
    storage: DataStorage, tables: DataTables, functions: Mapping[str, ServiceFunction]
) -> None:
    """Who may use what: each function's code gets the calls it makes, in the order its role's
    policy lists them, and is told where the resources are."""
    processor = functions["processor"]
    storage.grant_read_incoming(processor)
    storage.grant_write_quarantine(processor)
    tables.grant_trade_ingest(processor)
    # A file too large for one invocation is continued by an asynchronous invocation of the
    # function itself.
    processor.grant_invoke(processor, sid="ContinueOwnFiles")
    api_handler = functions["api_handler"]
    tables.grant_session_management(api_handler)
    tables.grant_trade_reads(api_handler)
    tables.grant_account_trade_queries(api_handler)
    tables.grant_session_reads(functions["api_authorizer"])


def _outputs(
    storage: DataStorage,
    tables: DataTables,
    database: Database,
    api: HttpApi,
    alarms: Alarms,
    functions: Mapping[str, ServiceFunction],
    domain: ApiCustomDomain | None,
) -> dict[str, Any]:
    """The application stack's outputs (what the tooling and the secondary regions read)."""
    outputs: dict[str, Any] = {
        "data_bucket_name": storage.bucket.bucket,
        "access_log_bucket_name": storage.log_bucket.bucket,
        "sessions_table_name": tables.sessions_name,
        "trades_table_name": tables.trades_name,
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
    if domain is not None:
        outputs["api_custom_domain"] = domain.domain_name.domain_name
        outputs["api_health_check_id"] = domain.health_check.id
    for service, function in functions.items():
        outputs[f"{service}_function_name"] = function.function.function_name
        outputs[f"{service}_function_arn"] = function.function.arn
        outputs[f"{service}_dead_letter_queue_url"] = function.dead_letter_queue.url
    return outputs


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.replace("_", "-").split("-"))
