"""The relational database: an Aurora MySQL cluster or an RDS PostgreSQL instance.

Either way: private subnets only, storage encrypted with the platform key, TLS required,
IAM authentication, automated backups (point-in-time recovery) with the profile's retention,
and a master password that only RDS and Secrets Manager ever see (``manage_master_user_password``:
no value in code or in Terraform state) with a rotation schedule set here. With the profile's
``protect_data`` (prod, multi-region) the database (and the global cluster) has deletion
protection and a deletion takes a final snapshot; without it (dev, staging, or lifted to
destroy) neither, so the environment can be destroyed.

Automatic minor version upgrades are on, so the database's engine version moves after it is
created, and a plan back to the configured version would be a downgrade RDS refuses. Aurora:
the cluster, its writer and the global cluster ignore later changes of ``engine_version``
(:data:`ENGINE_VERSION_MANAGED_BY_AWS`); a deliberate upgrade is made with RDS (console,
CLI), not by editing the profile. PostgreSQL: the profile gives the major version only, which
the provider compares with the running version's prefix (config validation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cdktf import TerraformStack, Token
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_secretsmanager_secret import DataAwsSecretsmanagerSecret
from cdktf_cdktf_provider_aws.db_instance import DbInstance
from cdktf_cdktf_provider_aws.db_parameter_group import DbParameterGroup, DbParameterGroupParameter
from cdktf_cdktf_provider_aws.db_subnet_group import DbSubnetGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.rds_cluster import RdsCluster
from cdktf_cdktf_provider_aws.rds_cluster_instance import RdsClusterInstance
from cdktf_cdktf_provider_aws.rds_cluster_parameter_group import (
    RdsClusterParameterGroup,
    RdsClusterParameterGroupParameter,
)
from cdktf_cdktf_provider_aws.rds_global_cluster import RdsGlobalCluster
from cdktf_cdktf_provider_aws.secretsmanager_secret_rotation import SecretsmanagerSecretRotation
from constructs import Construct

from trading_infra.components.keys import RegionKey
from trading_infra.config import DatabaseConfig
from trading_infra.context import RegionContext
from trading_infra.naming import check_name

DATABASE_NAME = "trading"
MASTER_USERNAME = "tap_admin"
# UTC, outside the trading day of the primary region's markets.
BACKUP_WINDOW = "17:00-18:00"
MAINTENANCE_WINDOW = "sun:18:30-sun:19:30"

#: Aurora MySQL Advanced Auditing events: every connection and failed login (who, from where),
#: privilege changes (QUERY_DCL: GRANT, REVOKE, CREATE/DROP USER) and schema changes (QUERY_DDL).
#: Not QUERY_DML: it includes every SELECT, so each read of the ledger would be copied, values
#: and all, into the logs (docs/security.md, "Database audit logs").
AURORA_AUDIT_EVENTS = "CONNECT,QUERY_DCL,QUERY_DDL"
#: PostgreSQL's built-in statement logging at the same scope: connections, disconnections and
#: DDL (log_statement classes CREATE/ALTER/DROP and GRANT/REVOKE/CREATE ROLE as ``ddl``).
POSTGRES_LOGGED_STATEMENTS = "ddl"


#: Why the Aurora resources ignore later changes of ``engine_version``: with automatic minor
#: version upgrades on, Aurora upgrades the cluster to a newer minor version in the maintenance
#: window (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Updates.AMVU.html),
#: and even without them RDS applies required upgrades; the next plan would then "change" the
#: version back to the configured, older one, a downgrade RDS refuses. The provider documents
#: ignore_changes on the instances' engine_version when the cluster manages it
#: (https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/rds_cluster_instance#engine_version).
ENGINE_VERSION_MANAGED_BY_AWS = ("engine_version",)

#: The ephemeral resource that reads an existing master-password secret (Terraform >= 1.10):
#: its value reaches RDS through the write-only ``master_password_wo`` and never the state.
_EPHEMERAL_MASTER_LOOKUP = "ephemeral.aws_secretsmanager_secret_version.DatabaseMaster"
#: The input variable that opens that secret (default false). Terraform opens an ephemeral
#: resource in every plan that evaluates it, so a plan of the database would need
#: ``secretsmanager:GetSecretValue`` on the master password: the read-only roles of review plans
#: and drift could not plan the stack, or would have to be allowed to read it. RDS needs the
#: password only to create the cluster (or instance): afterwards ``master_password_wo`` is
#: never sent again (its version is ignored, rotation is the rotation function's), so a plan
#: without it shows no change. ``./tap deploy`` and ``./tap plan --out`` (a plan to be
#: applied) set it to true for a stack that declares it (tooling/lifecycle/stack_variables.py);
#: review plans and drift leave it false and never read the secret.
MASTER_CREDENTIAL_SWITCH = "open_master_password"


@dataclass(frozen=True)
class GlobalDatabase:
    """This region's part in an Aurora global database."""

    role: Literal["primary", "secondary"]
    #: Secondary regions: the global cluster's identifier, read from the primary's state.
    global_cluster_identifier: str | None = None


@dataclass(frozen=True)
class DatabaseProps:
    """The database of one region: ``data_key`` encrypts its storage and Performance Insights,
    ``secrets_key`` an RDS-managed master secret, ``logs_key`` its exported logs; it is placed
    in ``subnet_ids`` behind ``security_group_id``."""

    context: RegionContext
    data_key: RegionKey
    secrets_key: RegionKey
    logs_key: RegionKey
    subnet_ids: list[str]
    security_group_id: str
    global_database: GlobalDatabase | None = None


class Database(Construct):
    """Attributes: endpoint, reader_endpoint, port, master_secret_arn (None on secondaries),
    identifier, is_aurora, global_cluster_identifier (None outside a global database)."""

    def __init__(self, scope: Construct, id_: str, *, props: DatabaseProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self._config = props.context.environment.profile.database
        self._namer = props.context.namer
        self.global_cluster_identifier: str | None = None
        self.master_secret_arn: str | None = None
        self.is_aurora = self._config.is_aurora
        self.port = self._config.port
        self._subnet_group = DbSubnetGroup(
            self,
            "SubnetGroup",
            name=self._namer.name("db-subnets", kind="rds_identifier"),
            description="Private subnets of the platform database",
            subnet_ids=props.subnet_ids,
        )
        global_database = props.global_database
        secondary = global_database is not None and global_database.role == "secondary"
        if self.is_aurora:
            managed_secret_arn = self._declare_aurora(global_database, secondary=secondary)
        else:
            managed_secret_arn = self._declare_postgres()
        if not secondary:  # the secret and its rotation belong to the primary region
            self._declare_secret_rotation(managed_secret_arn)

    def _common_arguments(self) -> dict[str, Any]:
        """The arguments an Aurora cluster and a PostgreSQL instance share."""
        database = self._config
        protect = self._props.context.environment.profile.protect_data
        # A fixed name keeps the plan stable (no timestamp); RDS refuses a final snapshot whose
        # name exists, so an earlier one is renamed or deleted before the next such deletion.
        final_snapshot = self._namer.name(
            "aurora-final" if database.is_aurora else "postgres-final", kind="rds_identifier"
        )
        return {
            "engine": database.engine,
            "engine_version": database.engine_version,
            "db_subnet_group_name": self._subnet_group.name,
            "vpc_security_group_ids": [self._props.security_group_id],
            "storage_encrypted": True,
            "kms_key_id": self._props.data_key.arn,
            "backup_retention_period": database.backup_retention_days,
            "copy_tags_to_snapshot": True,
            "enabled_cloudwatch_logs_exports": list(database.log_exports),
            "iam_database_authentication_enabled": True,
            "deletion_protection": protect,
            "skip_final_snapshot": not protect,
            **({"final_snapshot_identifier": final_snapshot} if protect else {}),
            "apply_immediately": True,
        }

    def _monitoring_arguments(self) -> dict[str, Any]:
        return {
            "monitoring_interval": self._config.enhanced_monitoring_interval_seconds,
            "monitoring_role_arn": self._monitoring_role(self._props.context).arn,
        }

    def _declare_aurora(self, global_database: GlobalDatabase | None, *, secondary: bool) -> str:
        """The Aurora cluster (in a global cluster where configured) and its writer; returns
        the ARN of the RDS-managed master secret."""
        database = self._config
        monitoring = self._monitoring_arguments()
        common = self._common_arguments()
        parameters = RdsClusterParameterGroup(
            self,
            "ClusterParameters",
            name=self._namer.name("aurora-params", kind="rds_identifier"),
            family="aurora-mysql8.0",
            # The description stays as it was: changing it replaces the (named) group.
            description="TLS required for every connection",
            parameter=[
                RdsClusterParameterGroupParameter(name=name, value=value)
                for name, value in aurora_parameters(database).items()
            ],
        )
        cluster_args = self._global_cluster_arguments(global_database)
        if not secondary:
            cluster_args.update(
                database_name=DATABASE_NAME,
                master_username=MASTER_USERNAME,
                **self._credentials(database.master_password_secret, self._props.secrets_key.arn),
            )
        cluster_args.setdefault("lifecycle", _ignore_changes(*self._password_set_once()))
        cluster_identifier = self._namer.name("aurora", kind="rds_identifier")
        cluster = RdsCluster(
            self,
            "Cluster",
            cluster_identifier=cluster_identifier,
            engine_mode="provisioned",
            db_cluster_parameter_group_name=parameters.name,
            **cluster_args,
            preferred_backup_window=BACKUP_WINDOW,
            preferred_maintenance_window=MAINTENANCE_WINDOW,
            serverlessv2_scaling_configuration={
                "min_capacity": database.serverless_min_capacity_acu,
                "max_capacity": database.serverless_max_capacity_acu,
            },
            depends_on=self._log_groups(
                self._props.context, self._props.logs_key.arn, f"cluster/{cluster_identifier}"
            ),
            **common,
        )
        RdsClusterInstance(
            self,
            "Writer",
            identifier=self._namer.name("aurora-writer", kind="rds_identifier"),
            cluster_identifier=cluster.id,
            instance_class=database.instance_class,
            engine=database.engine,
            engine_version=database.engine_version,
            db_subnet_group_name=self._subnet_group.name,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=self._props.data_key.arn,
            apply_immediately=True,
            lifecycle=_ignore_changes(),
            **monitoring,
        )
        self.identifier = cluster.cluster_identifier
        self.endpoint = cluster.endpoint
        self.reader_endpoint = cluster.reader_endpoint
        return cluster.master_user_secret.get(0).secret_arn

    def _global_cluster_arguments(self, global_database: GlobalDatabase | None) -> dict[str, Any]:
        """The cluster's place in a global database: the primary creates the global cluster,
        a secondary joins the one the primary's state names."""
        if global_database is None:
            return {}
        database = self._config
        if global_database.role == "primary":
            global_cluster = RdsGlobalCluster(
                self,
                "GlobalCluster",
                global_cluster_identifier=self._namer.name("aurora-global", kind="rds_identifier"),
                engine=database.engine,
                engine_version=database.engine_version,
                storage_encrypted=True,
                deletion_protection=self._props.context.environment.profile.protect_data,
                lifecycle=_ignore_changes(),
            )
            self.global_cluster_identifier = global_cluster.id
            return {"global_cluster_identifier": global_cluster.id}
        self.global_cluster_identifier = global_database.global_cluster_identifier
        return {
            "global_cluster_identifier": self.global_cluster_identifier,
            # A secondary is created as a replica of the primary: the provider reports the
            # replication source it was given by RDS, not by us.
            "lifecycle": _ignore_changes("replication_source_identifier"),
        }

    def _declare_postgres(self) -> str:
        """The PostgreSQL instance; returns the ARN of the RDS-managed master secret."""
        database = self._config
        monitoring = self._monitoring_arguments()
        common = self._common_arguments()
        parameters = DbParameterGroup(
            self,
            "InstanceParameters",
            name=self._namer.name("postgres-params", kind="rds_identifier"),
            family=f"postgres{database.engine_version.split('.')[0]}",
            # The description stays as it was: changing it replaces the (named) group.
            description="TLS required for every connection",
            parameter=[
                DbParameterGroupParameter(name=name, value=value)
                for name, value in postgres_parameters(database).items()
            ],
        )
        instance_identifier = self._namer.name("postgres", kind="rds_identifier")
        instance = DbInstance(
            self,
            "Instance",
            identifier=instance_identifier,
            instance_class=database.instance_class,
            allocated_storage=database.allocated_storage_gib,
            storage_type="gp3",
            db_name=DATABASE_NAME,
            username=MASTER_USERNAME,
            **self._credentials(database.master_password_secret, self._props.secrets_key.arn),
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            backup_window=BACKUP_WINDOW,
            maintenance_window=MAINTENANCE_WINDOW,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=self._props.data_key.arn,
            depends_on=self._log_groups(
                self._props.context, self._props.logs_key.arn, f"instance/{instance_identifier}"
            ),
            lifecycle=(
                {"ignore_changes": list(self._password_set_once())}
                if self._password_set_once()
                else None
            ),
            **monitoring,
            **common,
        )
        self.identifier = instance.identifier
        self.endpoint = instance.address
        self.reader_endpoint = instance.address
        return instance.master_user_secret.get(0).secret_arn

    def _declare_secret_rotation(self, managed_secret_arn: str) -> None:
        """The master secret's rotation schedule: RDS rotates a secret it manages; an existing
        secret (``master_password_secret``) is rotated by the configured function."""
        database = self._config
        rotation: dict[str, Any] = {}
        if database.master_password_secret is None:
            self.master_secret_arn = managed_secret_arn
        else:
            existing = DataAwsSecretsmanagerSecret(
                self, "MasterSecret", name=database.master_password_secret
            )
            self.master_secret_arn = existing.arn
            rotation["rotation_lambda_arn"] = self._props.context.arn(
                "lambda", f"function:{database.rotation_function_name}"
            )
        # The first rotation on the schedule, not at apply: RotateSecret rotates at once unless
        # RotateImmediately is false, in which case Secrets Manager only runs the rotation
        # function's testSecret step
        # (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html).
        # Rotating at once would change an existing secret's password while the deploy runs
        # (and fail the apply if the function cannot rotate yet); for a password RDS has just
        # generated it gains nothing.
        SecretsmanagerSecretRotation(
            self,
            "MasterSecretRotation",
            secret_id=self.master_secret_arn,
            rotation_rules={"automatically_after_days": database.secret_rotation_days},
            rotate_immediately=False,
            **rotation,
        )

    def _log_groups(
        self, context: RegionContext, key_arn: str, owner: str
    ) -> list[CloudwatchLogGroup]:
        """The log group of each exported log type, named as RDS names it
        (``/aws/rds/<cluster|instance>/<id>/<type>``). Declared here, and depended on by the
        database, so that they exist before RDS first exports: otherwise RDS creates them
        itself, unencrypted and never expiring, and the next apply could not create them."""
        profile = context.environment.profile
        return [
            CloudwatchLogGroup(
                self,
                f"{_camel(log_type)}LogGroup",
                name=check_name(f"/aws/rds/{owner}/{log_type}", "log_group"),
                retention_in_days=profile.log_retention_days,
                kms_key_id=key_arn,
            )
            for log_type in profile.database.log_exports
        ]

    def _credentials(self, existing_secret: str | None, key_arn: str) -> dict[str, Any]:
        """Master password: RDS-managed, or an existing secret's value, write-only."""
        if existing_secret is None:
            return {"manage_master_user_password": True, "master_user_secret_kms_key_id": key_arn}
        stack = TerraformStack.of(self)
        opened = f"var.{MASTER_CREDENTIAL_SWITCH}"
        stack.add_override(
            f"variable.{MASTER_CREDENTIAL_SWITCH}",
            {
                "type": "bool",
                "default": False,
                "nullable": False,
                "description": "Read the master password secret (only to create the database).",
            },
        )
        stack.add_override(
            _EPHEMERAL_MASTER_LOOKUP,
            {"count": "${" + opened + " ? 1 : 0}", "secret_id": existing_secret},
        )
        secret_string = f"{_EPHEMERAL_MASTER_LOOKUP}[0].secret_string"
        # The provider requires the two together (RequiredWith): both null without the secret.
        return {
            "master_password_wo": "${"
            + opened
            + " ? jsondecode("
            + secret_string
            + ").password : null}",
            "master_password_wo_version": Token.as_number("${" + opened + " ? 1 : null}"),
        }

    def _password_set_once(self) -> tuple[str, ...]:
        """What the database ignores after its creation when its password comes from an
        existing secret: the write-only version, null whenever the secret is not opened
        (:data:`MASTER_CREDENTIAL_SWITCH`), so that such a plan shows no change."""
        return ("master_password_wo_version",) if self._config.master_password_secret else ()

    def _monitoring_role(self, context: RegionContext) -> IamRole:
        """The role RDS enhanced monitoring publishes OS metrics with (AWS's managed policy)."""
        role = IamRole(
            self,
            "MonitoringRole",
            name=context.namer.name("rds-monitoring", kind="iam_role", regional=True),
            description="RDS enhanced monitoring of the platform database",
            # RDS sets the monitored instance's ARN as aws:SourceArn when it assumes the role.
            assume_role_policy=context.service_trust_policy(
                "monitoring.rds.amazonaws.com",
                source_arn=context.arn("rds", f"db:{_instance_identifier(context)}"),
            ),
        )
        IamRolePolicyAttachment(
            self,
            "MonitoringPolicy",
            role=role.name,
            policy_arn=(
                f"arn:{context.partition}:iam::aws:policy/service-role/"
                "AmazonRDSEnhancedMonitoringRole"
            ),
        )
        return role


def aurora_parameters(database: DatabaseConfig) -> dict[str, str]:
    """The Aurora MySQL cluster parameters: TLS only, the audit log and the slow query log."""
    return {
        "require_secure_transport": "ON",
        "server_audit_logging": "1",
        "server_audit_events": AURORA_AUDIT_EVENTS,
        "slow_query_log": "1",
        "long_query_time": f"{database.slow_query_threshold_seconds:g}",
        # Slow and general logs go to files, which is what RDS exports to CloudWatch Logs (the
        # TABLE destination would keep them inside the database only).
        "log_output": "FILE",
    }


def postgres_parameters(database: DatabaseConfig) -> dict[str, str]:
    """The PostgreSQL instance parameters: TLS only, connection and DDL logging, slow statements.

    PostgreSQL's own logging settings rather than pgaudit: all of them are dynamic parameters
    RDS applies at once, whereas pgaudit needs ``shared_preload_libraries`` (a reboot) and a
    ``CREATE EXTENSION`` inside the database, a step outside Terraform (docs/security.md).
    """
    return {
        "rds.force_ssl": "1",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_statement": POSTGRES_LOGGED_STATEMENTS,
        "log_min_duration_statement": str(round(database.slow_query_threshold_seconds * 1000)),
    }


def _ignore_changes(*attributes: str) -> dict[str, list[str]]:
    """An Aurora resource's lifecycle: AWS moves its engine version (and ``attributes``)."""
    return {"ignore_changes": [*ENGINE_VERSION_MANAGED_BY_AWS, *attributes]}


def _instance_identifier(context: RegionContext) -> str:
    """The identifier of the database instance (the Aurora writer, or the PostgreSQL instance)."""
    kind = "aurora-writer" if context.environment.profile.database.is_aurora else "postgres"
    return context.namer.name(kind, kind="rds_identifier")


def _camel(text: str) -> str:
    return "".join(part.capitalize() for part in text.split("_"))
