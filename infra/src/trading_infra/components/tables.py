"""DynamoDB tables of the services: sessions (with TTL) and trades (with the account index)."""

from __future__ import annotations

from typing import Any

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
)
from constructs import Construct

from trading_infra.context import RegionContext

#: The trades table's index for "trades of an account, newest first" (api_handler's listing).
TRADES_BY_ACCOUNT_INDEX = "by-account-executed-at"
#: Epoch seconds after which DynamoDB deletes a session (api_handler writes it).
SESSION_TTL_ATTRIBUTE = "expires_at"


class DataTables(Construct):
    """Encrypted tables with point-in-time recovery; billing mode from the environment profile.

    Attributes:
        sessions, trades: the tables.
    """

    def __init__(self, scope: Construct, id_: str, *, context: RegionContext, key_arn: str) -> None:
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
            "deletion_protection_enabled": False,
            **capacity,
        }
        self.sessions = DynamodbTable(
            self,
            "SessionsTable",
            name=namer.name("sessions", kind="dynamodb_table"),
            hash_key="session_id",
            attribute=[DynamodbTableAttribute(name="session_id", type="S")],
            ttl={"attribute_name": SESSION_TTL_ATTRIBUTE, "enabled": True},
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
