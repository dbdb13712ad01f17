"""DynamoDB tables of the services: sessions (with TTL) and trades (with the account index)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTableReplica,
)
from constructs import Construct

from trading_infra.context import RegionContext

#: The trades table's index for "trades of an account, newest first" (api_handler's listing).
TRADES_BY_ACCOUNT_INDEX = "by-account-executed-at"
#: Epoch seconds after which DynamoDB deletes a session (api_handler writes it).
SESSION_TTL_ATTRIBUTE = "expires_at"


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


class DataTables(Construct):
    """Encrypted tables with point-in-time recovery; billing mode from the environment profile.

    Attributes:
        trades: the trades table; sessions: the sessions table (None where it is a replica);
        sessions_name, sessions_arn: the sessions table of THIS region, in either case.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        context: RegionContext,
        key_arn: str,
        sessions_replication: SessionsReplication | None = None,
    ) -> None:
        super().__init__(scope, id_)
        namer = context.namer
        profile = context.environment.profile
        provisioned = profile.dynamodb_billing_mode == "PROVISIONED"
        capacity: dict[str, Any] = (
            {
                "read_capacity": profile.dynamodb_read_capacity_units,
                "write_capacity": profile.dynamodb_write_capacity_units,
            }
            if provisioned
            else {}
        )
        common: dict[str, Any] = {
            "billing_mode": profile.dynamodb_billing_mode,
            "point_in_time_recovery": {"enabled": True},
            "server_side_encryption": {"enabled": True, "kms_key_arn": key_arn},
            "deletion_protection_enabled": profile.protect_data,
            **capacity,
        }
        # Name and ARN are built, not referenced: the same in every region whether the table is
        # created here or replicated here, so that regions stay identical (drift --static).
        self.sessions_name = namer.name("sessions", kind="dynamodb_table")
        self.sessions_arn = context.arn("dynamodb", f"table/{self.sessions_name}")
        self.sessions: DynamodbTable | None = None
        if sessions_replication is None or sessions_replication.role == "owner":
            replication: dict[str, Any] = {}
            if sessions_replication is not None:
                replication = {
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
                        for region, replica_key_arn in sessions_replication.replica_keys
                    ],
                }
            self.sessions = DynamodbTable(
                self,
                "SessionsTable",
                name=self.sessions_name,
                hash_key="session_id",
                attribute=[DynamodbTableAttribute(name="session_id", type="S")],
                ttl={"attribute_name": SESSION_TTL_ATTRIBUTE, "enabled": True},
                **replication,
                **common,
            )

        self.trades = DynamodbTable(
            self,
            "TradesTable",
            name=namer.name("trades", kind="dynamodb_table"),
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
                    **capacity,
                )
            ],
            **common,
        )
