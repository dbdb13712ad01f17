"""DynamoDB tables of the services: sessions (with TTL) and trades (with the account index),
and the grants on them.

Provisioned tables (profile ``dynamodb_billing_mode = "PROVISIONED"``) auto scale: every table
and global secondary index has an Application Auto Scaling target per read and write capacity,
from the profile's capacity units (the minimum) to its maximum, with a target-tracking policy
on the profile's utilization
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html).
Application Auto Scaling creates the service-linked role it scales DynamoDB with
(AWSServiceRoleForApplicationAutoScaling_DynamoDBTable) on the first RegisterScalableTarget
(https://docs.aws.amazon.com/autoscaling/application/userguide/services-that-can-integrate-dynamodb.html),
so no role is declared here; the deploying principal needs ``iam:CreateServiceLinkedRole`` for
it once per account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTableReplica,
)
from constructs import Construct

from trading_infra.components.grants import Grantee, PolicyStatement
from trading_infra.components.keys import RegionKey
from trading_infra.config import ProvisionedCapacity
from trading_infra.context import RegionContext

#: The trades table's index for "trades of an account, newest first" (api_handler's listing).
TRADES_BY_ACCOUNT_INDEX = "by-account-executed-at"
#: Epoch seconds after which DynamoDB deletes a session (api_handler writes it).
SESSION_TTL_ATTRIBUTE = "expires_at"
#: Application Auto Scaling's namespace of DynamoDB tables and indexes.
SCALING_NAMESPACE = "dynamodb"


@dataclass(frozen=True)
class _Capacity:
    """One auto scaled capacity: read or write, its scalable dimension and tracked metric."""

    direction: Literal["read", "write"]
    units: str  # ReadCapacityUnits | WriteCapacityUnits
    metric: str  # the predefined metric target tracking follows


_CAPACITIES = (
    _Capacity("read", "ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
    _Capacity("write", "WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
)


@dataclass(frozen=True)
class SessionsReplication:
    """The sessions table as a DynamoDB global table (multi-region deployments on AWS).

    ``owner``: this region creates the table with a replica per other region, each encrypted
    with that region's key. ``replica``: this region's copy exists through the owner; the stack
    only refers to it. Trades are never replicated: they stay in the region they were ingested
    in (data residency).
    """

    role: Literal["owner", "replica"]
    replica_keys: tuple[tuple[str, str], ...] = ()  # (region, KMS key ARN) per replica


@dataclass(frozen=True)
class DataTablesProps:
    """The region's tables: ``key`` (the data key) encrypts them; ``sessions_replication`` makes
    the sessions table a global table (None: a table of this region only)."""

    context: RegionContext
    key: RegionKey
    sessions_replication: SessionsReplication | None = None


class DataTables(Construct):
    """Encrypted tables with point-in-time recovery; billing mode from the environment profile.

    Attributes:
        trades: the trades table; sessions: the sessions table (None where it is a replica);
        sessions_name, sessions_arn: the sessions table of THIS region, in either case;
        trades_name, trades_arn.
    """

    def __init__(self, scope: Construct, id_: str, *, props: DataTablesProps) -> None:
        super().__init__(scope, id_)
        context = props.context
        self._namer = context.namer
        self._key = props.key
        profile = context.environment.profile
        self._provisioned = profile.provisioned_capacity
        provisioned = self._provisioned
        self._capacity: dict[str, Any] = (
            {"read_capacity": provisioned.read_units, "write_capacity": provisioned.write_units}
            if provisioned is not None
            else {}
        )
        self._common: dict[str, Any] = {
            "billing_mode": profile.dynamodb_billing_mode,
            "point_in_time_recovery": {"enabled": True},
            "server_side_encryption": {"enabled": True, "kms_key_arn": props.key.arn},
            "deletion_protection_enabled": profile.protect_data,
            **self._capacity,
        }
        # Name and ARN are built, not referenced: the same in every region whether the table is
        # created here or replicated here, so that regions stay identical (drift --static).
        self.sessions_name = self._namer.name("sessions", kind="dynamodb_table")
        self.sessions_arn = context.arn("dynamodb", f"table/{self.sessions_name}")
        self.sessions: DynamodbTable | None = None
        replication = props.sessions_replication
        if replication is None or replication.role == "owner":
            self.sessions = self._declare_sessions(replication)
        self.trades = self._declare_trades()
        # Read once: each read of an attribute is a jsii round trip, and a grant naming the
        # table twice must name it with the same value.
        self.trades_name = self.trades.name
        self.trades_arn = self.trades.arn

    # --- grants ----------------------------------------------------------------------------

    def grant_trade_ingest(self, grantee: Grantee) -> None:
        """Write trades, and read them back in batches (the processor's idempotent ingest)."""
        self._grant(
            grantee,
            PolicyStatement(
                "IngestTrades", ("dynamodb:BatchGetItem", "dynamodb:PutItem"), (self.trades_arn,)
            ),
            TRADES_TABLE_NAME=self.trades_name,
        )

    def grant_trade_reads(self, grantee: Grantee) -> None:
        """Read one trade by its id."""
        self._grant(
            grantee,
            PolicyStatement("ReadTrades", ("dynamodb:GetItem",), (self.trades_arn,)),
            TRADES_TABLE_NAME=self.trades_name,
        )

    def grant_account_trade_queries(self, grantee: Grantee) -> None:
        """Query the trades of an account, newest first (the account index only)."""
        self._grant(
            grantee,
            PolicyStatement(
                "ListTradesOfAccount",
                ("dynamodb:Query",),
                (f"{self.trades_arn}/index/{TRADES_BY_ACCOUNT_INDEX}",),
            ),
            TRADES_TABLE_NAME=self.trades_name,
            TRADES_BY_ACCOUNT_INDEX=TRADES_BY_ACCOUNT_INDEX,
        )

    def grant_session_management(self, grantee: Grantee) -> None:
        """Create, read and delete sessions."""
        self._grant(
            grantee,
            PolicyStatement(
                "ManageSessions",
                ("dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"),
                (self.sessions_arn,),
            ),
            SESSIONS_TABLE_NAME=self.sessions_name,
        )

    def grant_session_reads(self, grantee: Grantee) -> None:
        """Read one session by its id (the session authorizer)."""
        self._grant(
            grantee,
            PolicyStatement("ReadSessions", ("dynamodb:GetItem",), (self.sessions_arn,)),
            SESSIONS_TABLE_NAME=self.sessions_name,
        )

    def _grant(self, grantee: Grantee, statement: PolicyStatement, **environment: str) -> None:
        """``statement`` to ``grantee``'s code, the variables naming what it is on, and
        DynamoDB's use of the tables' key on its behalf."""
        grantee.add_to_role_policy(statement)
        for name, value in environment.items():
            grantee.add_environment(name, value)
        self._key.grant_encrypt_decrypt(grantee, via="dynamodb")

    # --- resources -------------------------------------------------------------------------

    def _declare_sessions(self, replication: SessionsReplication | None) -> DynamodbTable:
        global_table: dict[str, Any] = {}
        if replication is not None:
            global_table = {
                # Global tables replicate through streams (version 2019.11.21).
                "stream_enabled": True,
                "stream_view_type": "NEW_AND_OLD_IMAGES",
                "replica": [
                    DynamodbTableReplica(
                        region_name=region,
                        kms_key_arn=replica_key_arn,
                        point_in_time_recovery=True,
                        propagate_tags=True,
                    )
                    for region, replica_key_arn in replication.replica_keys
                ],
            }
        sessions = DynamodbTable(
            self,
            "SessionsTable",
            name=self.sessions_name,
            hash_key="session_id",
            attribute=[DynamodbTableAttribute(name="session_id", type="S")],
            ttl={"attribute_name": SESSION_TTL_ATTRIBUTE, "enabled": True},
            **global_table,
            **self._common,
            **_autoscaled(self._provisioned, has_indexes=False),
        )
        if self._provisioned is not None:
            self._autoscale(self._provisioned, "Sessions", "sessions", sessions)
        return sessions

    def _declare_trades(self) -> DynamodbTable:
        trades = DynamodbTable(
            self,
            "TradesTable",
            name=self._namer.name("trades", kind="dynamodb_table"),
            hash_key="trade_id",
            attribute=[
                DynamodbTableAttribute(name=name, type="S")
                for name in ("trade_id", "account_id", "executed_at")
            ],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=TRADES_BY_ACCOUNT_INDEX,
                    hash_key="account_id",
                    range_key="executed_at",
                    projection_type="ALL",
                    **self._capacity,
                )
            ],
            **self._common,
            **_autoscaled(self._provisioned, has_indexes=True),
        )
        if self._provisioned is not None:
            self._autoscale(self._provisioned, "Trades", "trades", trades)
            self._autoscale(
                self._provisioned,
                "TradesByAccount",
                f"trades-{TRADES_BY_ACCOUNT_INDEX}",
                trades,
                index=TRADES_BY_ACCOUNT_INDEX,
            )
        return trades

    def _autoscale(
        self,
        provisioned: ProvisionedCapacity,
        id_: str,
        label: str,
        table: DynamodbTable,
        *,
        index: str | None = None,
    ) -> None:
        """A target and a target-tracking policy per read and write capacity of ``table`` (or
        of its global secondary index ``index``), from the profile's capacity units to its
        maximum. ``resource_id`` refers to the table's name, so the table exists first."""
        resource_id = f"table/{table.name}" + (f"/index/{index}" if index else "")
        kind = "index" if index else "table"
        for capacity in _CAPACITIES:
            direction = capacity.direction
            minimum, maximum = provisioned.units(direction)
            target = AppautoscalingTarget(
                self,
                f"{id_}{direction.capitalize()}Capacity",
                service_namespace=SCALING_NAMESPACE,
                resource_id=resource_id,
                scalable_dimension=f"dynamodb:{kind}:{capacity.units}",
                min_capacity=minimum,
                max_capacity=maximum,
            )
            AppautoscalingPolicy(
                self,
                f"{id_}{direction.capitalize()}Utilization",
                name=self._namer.name(f"{label}-{direction}-utilization"),
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension,
                target_tracking_scaling_policy_configuration=(
                    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                        target_value=provisioned.target_utilization_percent,
                        predefined_metric_specification=(
                            AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                                predefined_metric_type=capacity.metric
                            )
                        ),
                    )
                ),
            )


def _autoscaled(provisioned: ProvisionedCapacity | None, *, has_indexes: bool) -> dict[str, Any]:
    """An auto scaled table's lifecycle: Application Auto Scaling moves its capacity, so the
    plan must not set it back to the minimum (the provider recommends ignore_changes on
    read_capacity/write_capacity of a table with an auto scaling policy,
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/dynamodb_table).
    An index's capacity is nested in ``global_secondary_index``, which the provider can only
    ignore whole: while a table is auto scaled, a change of its index definitions is not
    applied by Terraform (a new index needs the ignore lifted for that apply)."""
    if provisioned is None:
        return {}
    ignored = ["read_capacity", "write_capacity"]
    if has_indexes:
        ignored.append("global_secondary_index")
    return {"lifecycle": {"ignore_changes": ignored}}
