"""The databases: RDS (Aurora clusters and their instances, global clusters, PostgreSQL
instances) with their subnet and parameter groups, and DynamoDB tables.

All are the platform's by name, except the Terraform lock table: it outlives every stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tooling.lifecycle.resource_kinds.model import (
    Clients,
    Item,
    Kind,
    Scan,
    named_like_the_platform,
)

__all__ = [
    "DB_CLUSTER",
    "DB_CLUSTER_PARAMETER_GROUP",
    "DB_INSTANCE",
    "DB_PARAMETER_GROUP",
    "DB_SUBNET_GROUP",
    "GLOBAL_CLUSTER",
    "TABLE",
]


def _delete_db_instance(clients: Clients, region: str, name: str) -> str:
    clients("rds", region).delete_db_instance(
        DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
    )
    return "deleted"


def _global_cluster_of(rds: Any, cluster_arn: str) -> str | None:
    for cluster in rds.describe_global_clusters().get("GlobalClusters", []):
        members = cluster.get("GlobalClusterMembers", [])
        if any(m.get("DBClusterArn") == cluster_arn for m in members):
            return str(cluster["GlobalClusterIdentifier"])
    return None


def _delete_db_cluster(clients: Clients, region: str, name: str) -> str:
    rds = clients("rds", region)
    cluster = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
    notes = []
    global_id = _global_cluster_of(rds, cluster["DBClusterArn"])
    if global_id is not None:
        rds.remove_from_global_cluster(
            GlobalClusterIdentifier=global_id, DbClusterIdentifier=cluster["DBClusterArn"]
        )
        notes.append(f"removed from global cluster {global_id}")
    if cluster.get("DeletionProtection"):
        rds.modify_db_cluster(
            DBClusterIdentifier=name, DeletionProtection=False, ApplyImmediately=True
        )
        notes.append("deletion protection off")
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
    return f"deleted ({', '.join(notes)})" if notes else "deleted"


def _delete_global_cluster(clients: Clients, region: str, name: str) -> str:
    rds = clients("rds", region)
    found = rds.describe_global_clusters(GlobalClusterIdentifier=name)["GlobalClusters"][0]
    members = [m["DBClusterArn"] for m in found.get("GlobalClusterMembers", [])]
    for arn in members:  # clusters of other regions, not among the leftovers
        rds.remove_from_global_cluster(GlobalClusterIdentifier=name, DbClusterIdentifier=arn)
    if found.get("DeletionProtection"):
        rds.modify_global_cluster(GlobalClusterIdentifier=name, DeletionProtection=False)
    rds.delete_global_cluster(GlobalClusterIdentifier=name)
    return f"deleted ({len(members)} member(s) removed first)" if members else "deleted"


def _delete_subnet_group(clients: Clients, region: str, name: str) -> str:
    clients("rds", region).delete_db_subnet_group(DBSubnetGroupName=name)
    return "deleted"


def _delete_cluster_parameter_group(clients: Clients, region: str, name: str) -> str:
    clients("rds", region).delete_db_cluster_parameter_group(DBClusterParameterGroupName=name)
    return "deleted"


def _delete_parameter_group(clients: Clients, region: str, name: str) -> str:
    clients("rds", region).delete_db_parameter_group(DBParameterGroupName=name)
    return "deleted"


#: The status of a DB instance or cluster whose deletion AWS accepted and has not finished
#: (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status,
#: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html#Aurora.Status).
_DELETING = "deleting"


def _wait_rds(
    waiter: str, key: str, describe: str, listed: str, status: str
) -> Callable[[Clients, Sequence[Item]], None]:
    """Wait until the items are deleted: AWS deletes DB instances and clusters asynchronously,
    and what they use (cluster, subnet group, global cluster) refuses deletion until then.

    Only for an item whose deletion was accepted (status ``deleting``): one whose delete was
    refused (deletion protection, a cluster with members) stays as it is, and the waiter would
    poll it for its 20 minutes; its line already says NOT deleted."""

    def deleting(clients: Clients, item: Item) -> bool:
        try:
            found = getattr(clients("rds", item.region), describe)(**{key: item.name})[listed]
        except Exception as exc:
            if "NotFound" in getattr(exc, "response", {}).get("Error", {}).get("Code", ""):
                return False
            raise
        return any(entry.get(status) == _DELETING for entry in found)

    def wait(clients: Clients, items: Sequence[Item]) -> None:
        for item in items:
            try:
                if deleting(clients, item):
                    clients("rds", item.region).get_waiter(waiter).wait(
                        **{key: item.name}, WaiterConfig={"Delay": 15, "MaxAttempts": 80}
                    )
            except Exception:  # noqa: S112 - the next step reports what is still in the way
                continue

    return wait


def _rds(call: str, key: str, ident: str) -> Callable[[Clients, str], list[str]]:
    """The ``ident`` of each entry RDS's ``call`` lists under ``key``."""

    def names(clients: Clients, region: str) -> list[str]:
        return [entry[ident] for entry in getattr(clients("rds", region), call)()[key]]

    return names


def _global_clusters(clients: Clients, region: str) -> list[str]:
    listing = clients("rds", region).describe_global_clusters().get("GlobalClusters", [])
    return [cluster["GlobalClusterIdentifier"] for cluster in listing]


def _tables(scan: Scan, region: str) -> list[str]:
    """The platform's tables, except the Terraform lock table."""
    names = scan.clients("dynamodb", region).list_tables()["TableNames"]
    return [t for t in names if t != scan.owner.spec.lock_table and scan.owner.named(t)]


def _delete_table(clients: Clients, region: str, name: str) -> str:
    dynamodb = clients("dynamodb", region)
    table = dynamodb.describe_table(TableName=name)["Table"]
    if table.get("DeletionProtectionEnabled"):
        dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
    dynamodb.delete_table(TableName=name)
    return (
        "deleted (deletion protection off first)"
        if table.get("DeletionProtectionEnabled")
        else "deleted"
    )


DB_INSTANCE = Kind(
    "rds instance",
    named_like_the_platform(_rds("describe_db_instances", "DBInstances", "DBInstanceIdentifier")),
    _delete_db_instance,
    after=_wait_rds(
        "db_instance_deleted",
        "DBInstanceIdentifier",
        "describe_db_instances",
        "DBInstances",
        "DBInstanceStatus",
    ),
)
DB_CLUSTER = Kind(
    "rds cluster",
    named_like_the_platform(_rds("describe_db_clusters", "DBClusters", "DBClusterIdentifier")),
    _delete_db_cluster,
    after=_wait_rds(
        "db_cluster_deleted",
        "DBClusterIdentifier",
        "describe_db_clusters",
        "DBClusters",
        "Status",
    ),
)
GLOBAL_CLUSTER = Kind(
    "rds global cluster", named_like_the_platform(_global_clusters), _delete_global_cluster
)
DB_SUBNET_GROUP = Kind(
    "db subnet group",
    named_like_the_platform(
        _rds("describe_db_subnet_groups", "DBSubnetGroups", "DBSubnetGroupName")
    ),
    _delete_subnet_group,
)
DB_CLUSTER_PARAMETER_GROUP = Kind(
    "db cluster parameter group",
    named_like_the_platform(
        _rds(
            "describe_db_cluster_parameter_groups",
            "DBClusterParameterGroups",
            "DBClusterParameterGroupName",
        )
    ),
    _delete_cluster_parameter_group,
)
DB_PARAMETER_GROUP = Kind(
    "db parameter group",
    named_like_the_platform(
        _rds("describe_db_parameter_groups", "DBParameterGroups", "DBParameterGroupName")
    ),
    _delete_parameter_group,
)
TABLE = Kind("dynamodb table", _tables, _delete_table)
