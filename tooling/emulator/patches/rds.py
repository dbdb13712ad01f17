"""Compatibility patches of moto's RDS: DB instances, Aurora clusters and global clusters."""

from __future__ import annotations

import functools
import string
from collections.abc import Callable
from typing import Any

from tooling.emulator.patches.base import (
    CompatPatch,
    PatchedProperty,
    Undo,
    add,
    compat_patch,
    replace,
    undo_all,
)

__all__ = [
    "PATCHES",
    "db_parameter_source",
    "global_cluster_deletion_protection",
    "global_cluster_membership",
    "global_cluster_tags",
    "new_dbi_resource_id",
    "performance_insights",
    "provisioned_scaling_configuration",
    "unique_dbi_resource_id",
]


def new_dbi_resource_id() -> str:
    """A DbiResourceId like AWS's: ``db-`` and 26 upper-case letters and digits.

    Drawn from moto's own random source, so ``POST /moto-api/seed`` makes it reproducible.
    """
    from moto.moto_api._internal import mock_random

    alphabet = string.ascii_uppercase + string.digits
    return "db-" + "".join(mock_random.choice(alphabet) for _ in range(26))


@compat_patch("rds-unique-dbi-resource-id", gap="2")
def unique_dbi_resource_id() -> Undo:
    """docs/emulator.md, gap 2: give every DB instance its own ``DbiResourceId``.

    moto sets ``self.dbi_resource_id = "db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U"`` in
    ``moto.rds.models.DBInstance.__init__`` for every instance (``DBInstanceClustered`` and
    restores from snapshots or points in time go through it too), and a read replica is a
    ``copy.copy`` of its primary. The aws provider reads ``aws_db_instance`` and
    ``aws_rds_cluster_instance`` with the ``dbi-resource-id`` filter, so with a second instance in
    the region the lookup matches two and fails with "couldn't find resource". The patch draws a
    fresh id after ``DBInstance.__init__`` and when ``DBInstance.set_as_replica`` turns a copy into
    a replica; nothing else changes.
    """
    from moto.rds.models import DBInstance

    def make_init(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:  # noqa: N807
            original(self, *args, **kwargs)
            self.dbi_resource_id = new_dbi_resource_id()

        return __init__

    def make_set_as_replica(original: Callable[[DBInstance], None]) -> Callable[[DBInstance], None]:
        @functools.wraps(original)
        def set_as_replica(self: DBInstance) -> None:
            original(self)
            self.dbi_resource_id = new_dbi_resource_id()

        return set_as_replica

    return undo_all(
        [
            replace(DBInstance, "__init__", make_init),
            replace(DBInstance, "set_as_replica", make_set_as_replica),
        ]
    )


def _kwarg(kwargs: dict[str, Any], snake: str, camel: str) -> Any:
    return kwargs[snake] if snake in kwargs else kwargs.get(camel)


@compat_patch("rds-performance-insights", gap="4")
def performance_insights() -> Undo:
    """docs/emulator.md, gap 4: Performance Insights settings are lost.

    moto's RDS ignores ``EnablePerformanceInsights``, ``PerformanceInsightsKMSKeyId`` and
    ``PerformanceInsightsRetentionPeriod`` of CreateDBInstance/ModifyDBInstance and
    DescribeDBInstances never returns them, so ``aws_rds_cluster_instance`` /
    ``aws_db_instance`` with ``performance_insights_enabled = true`` show
    ``false -> true`` on every plan. The patch keeps the three values from both requests on the
    instance (moto's serializer then returns them, like AWS; retention defaults to AWS's 7 days
    when enabled).
    """
    from moto.rds.models import RDSBackend

    def remember(database: Any, kwargs: dict[str, Any]) -> None:
        enabled = _kwarg(kwargs, "enable_performance_insights", "EnablePerformanceInsights")
        if enabled is not None:
            database.performance_insights_enabled = str(enabled).lower() == "true"
        key = _kwarg(kwargs, "performance_insights_kms_key_id", "PerformanceInsightsKMSKeyId")
        if key:
            database.performance_insights_kms_key_id = key
        retention = _kwarg(
            kwargs, "performance_insights_retention_period", "PerformanceInsightsRetentionPeriod"
        )
        if retention:
            database.performance_insights_retention_period = int(retention)
        elif getattr(database, "performance_insights_enabled", False) and not getattr(
            database, "performance_insights_retention_period", None
        ):
            database.performance_insights_retention_period = 7

    def make_create(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
            database = original(self, db_kwargs)
            remember(database, db_kwargs)
            return database

        return create_db_instance

    def make_modify(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def modify_db_instance(
            self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]
        ) -> Any:
            kwargs = dict(db_kwargs)
            database = original(self, db_instance_identifier, db_kwargs)
            remember(database, kwargs)
            return database

        return modify_db_instance

    return undo_all(
        [
            replace(RDSBackend, "create_db_instance", make_create),
            replace(RDSBackend, "modify_db_instance", make_modify),
        ]
    )


@compat_patch("rds-provisioned-scaling-configuration", gap="4")
def provisioned_scaling_configuration() -> Undo:
    """docs/emulator.md, gap 4: an Aurora cluster shows a ``scaling_configuration`` diff.

    moto's ``moto.rds.models.DBCluster.scaling_configuration_info`` always returns a
    dictionary, all of its values ``None`` when the cluster has no Serverless v1 scaling
    configuration, so DescribeDBClusters answers ``<ScalingConfigurationInfo/>`` for a
    provisioned (and Serverless v2) cluster, where AWS answers nothing. The provider reads the
    empty element as a ``scaling_configuration`` block and plans to fill in its defaults
    (``auto_pause``, ``max_capacity = 16``, ...) on every plan. The patch leaves
    ``ScalingConfigurationInfo`` out when the cluster has no scaling configuration (moto gives
    every ``engine_mode = "serverless"`` cluster AWS's default one, so those are unchanged).
    """
    from moto.rds.models import DBCluster

    def make_info(original: property) -> property:
        def scaling_configuration_info(self: DBCluster) -> dict[str, Any] | None:
            if not self.scaling_configuration:
                return None
            info: dict[str, Any] = original.__get__(self, type(self))
            return info

        return PatchedProperty(scaling_configuration_info, doc=original.__doc__)

    return replace(DBCluster, "scaling_configuration_info", make_info)


@compat_patch("rds-global-cluster-tags", gap="4")
def global_cluster_tags() -> Undo:
    """docs/emulator.md, gap 4: a global cluster's tags.

    moto's ``RDSResponse.create_global_cluster`` ignores the request's ``Tags``, and
    ListTagsForResource of a global cluster's ARN (``arn:aws:rds::<account>:global-cluster:<id>``,
    no region) looks in the backend of the region the request went to, while moto keeps every
    global cluster in its ``us-east-1`` backend: ``aws_rds_global_cluster`` reads no tags and
    shows ``~ tags_all`` (the provider's default tags) on every plan. The patch stores the
    ``Tags`` of CreateGlobalCluster on the global cluster and resolves a ``global-cluster`` ARN
    (which moto's ARN check refuses: "Invalid resource name") through the backend that holds
    it, from any region, like AWS (so Add/RemoveTagsFromResource work on it too). Nothing
    else changes.
    """
    from moto.rds.models import RDSBackend, rds_backends
    from moto.rds.responses import RDSResponse

    def make_create(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def create_global_cluster(self: RDSResponse) -> Any:
            result = original(self)
            tags = self.params.get("Tags") or []
            if tags:
                identifier = self.params["GlobalClusterIdentifier"]
                self.global_backend.global_clusters[identifier].add_tags(list(tags))
            return result

        return create_global_cluster

    def make_find(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def _get_resource_for_tagging(self: RDSBackend, arn: str) -> Any:
            parts = arn.split(":")
            if len(parts) == 7 and parts[2] == "rds" and parts[5] == "global-cluster":
                holder = rds_backends[self.account_id]["us-east-1"]
                return holder.global_clusters.get(parts[6])
            return original(self, arn)

        return _get_resource_for_tagging

    return undo_all(
        [
            replace(RDSResponse, "create_global_cluster", make_create),
            replace(RDSBackend, "_get_resource_for_tagging", make_find),
        ]
    )


def _holder_global_cluster(backend: Any, identifier: str | None) -> Any:
    """The global cluster named by ``identifier`` (id or ARN) in the backend moto keeps them in."""
    from moto.rds.models import rds_backends

    if not identifier:
        return None
    holder = rds_backends[backend.account_id]["us-east-1"]
    return holder.global_clusters.get(str(identifier).rsplit(":", 1)[-1])


@compat_patch("rds-global-cluster-membership", gap="4")
def global_cluster_membership() -> Undo:
    """docs/emulator.md, gap 4: a global cluster keeps
    deleted members outside us-east-1, so it can never be deleted.

    moto keeps every global cluster in its ``us-east-1`` backend (CreateGlobalCluster,
    DescribeGlobalClusters), but ``RDSBackend.remove_from_global_cluster`` and the removal in
    ``delete_db_cluster`` look in the backend of the cluster's own region: in any other region
    they find no global cluster and silently do nothing. Deleted clusters of ``ap-southeast-1``
    and ``us-east-2`` stay members, and DeleteGlobalCluster fails with
    InvalidGlobalClusterStateFault until the provider's timeout (destroy hangs). The patch does
    the same removal against the backend that holds the global cluster (identifier or ARN),
    for this cluster object only; everything else is moto's.
    """
    from moto.rds.models import RDSBackend

    def detach(backend: RDSBackend, global_identifier: str | None, cluster: Any) -> Any:
        global_cluster = _holder_global_cluster(backend, global_identifier)
        if global_cluster is not None and cluster in global_cluster.members:
            global_cluster.members.remove(cluster)
        return global_cluster

    def make_remove(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def remove_from_global_cluster(
            self: RDSBackend, global_cluster_identifier: str, db_cluster_identifier: str
        ) -> Any:
            name = str(db_cluster_identifier).rsplit(":", 1)[-1]
            cluster = self.clusters.get(name)
            if cluster is not None:
                found = detach(self, global_cluster_identifier, cluster)
                if found is not None:
                    cluster.global_cluster_identifier = None
                    return found
            return original(self, global_cluster_identifier, db_cluster_identifier)

        return remove_from_global_cluster

    def make_delete(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def delete_db_cluster(
            self: RDSBackend, cluster_identifier: str, snapshot_name: str | None = None
        ) -> Any:
            cluster = self.clusters.get(cluster_identifier)
            deleted = original(self, cluster_identifier, snapshot_name)
            if cluster is not None:
                detach(self, cluster.global_cluster_identifier, cluster)
            return deleted

        return delete_db_cluster

    return undo_all(
        [
            replace(RDSBackend, "remove_from_global_cluster", make_remove),
            replace(RDSBackend, "delete_db_cluster", make_delete),
        ]
    )


@compat_patch("rds-db-parameter-source", gap="4")
def db_parameter_source() -> Undo:
    """docs/emulator.md, gap 4: the parameters of
    a DB parameter group are lost on every read.

    AWS marks a parameter set through ModifyDBParameterGroup with ``Source = user``; moto's
    ``moto.rds.models.DBParameterGroup.update_parameters`` stores only what the request sent, so
    DescribeDBParameters answers parameters without a ``Source``. The provider keeps only
    parameters whose source is ``user`` (or that are in the configuration and have a source),
    so ``aws_db_parameter_group`` reads none and shows every ``parameter`` as an addition on every
    plan (DB cluster parameter groups are read differently and are not affected). The patch
    stores ``Source = user`` with each parameter a request sets, like AWS.
    """
    from moto.rds.models import DBParameterGroup

    def make_update(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def update_parameters(self: DBParameterGroup, new_parameters: Any) -> None:
            original(self, [{**parameter, "Source": "user"} for parameter in new_parameters])

        return update_parameters

    return replace(DBParameterGroup, "update_parameters", make_update)


#: RDS's patches, in the order they are applied.
@compat_patch("rds-modify-global-cluster", gap="11")
def global_cluster_deletion_protection() -> Undo:
    """docs/emulator.md, gap 11: a global
    cluster's deletion protection cannot be changed.

    moto has no ModifyGlobalCluster (``moto.rds.responses.RDSResponse`` has no
    ``modify_global_cluster``: "The modify_global_cluster action has not been implemented", and
    the provider's update of ``aws_rds_global_cluster`` fails). Protected environments create
    the global cluster with ``deletion_protection`` on, and the deploy that lifts it must turn it
    off before a destroy. The patch adds the action for ``DeletionProtection`` only, on the
    global cluster of the backend moto keeps them in (us-east-1), answering like AWS (the
    modified global cluster); an unknown identifier is a GlobalClusterNotFoundFault.
    """
    from moto.rds.exceptions import RDSClientError
    from moto.rds.responses import RDSResponse

    def modify_global_cluster(self: RDSResponse) -> Any:
        from moto.core.responses import ActionResult

        identifier = self.params.get("GlobalClusterIdentifier")
        cluster = _holder_global_cluster(self.backend, identifier)
        if cluster is None:
            raise RDSClientError(
                "GlobalClusterNotFoundFault", f"Global cluster {identifier} not found."
            )
        protection = self.params.get("DeletionProtection")
        if protection is not None:
            cluster.deletion_protection = protection in (True, "true", "True")
        return ActionResult({"GlobalCluster": cluster})

    return add(RDSResponse, "modify_global_cluster", modify_global_cluster)


PATCHES: tuple[CompatPatch, ...] = (
    unique_dbi_resource_id,
    performance_insights,
    provisioned_scaling_configuration,
    global_cluster_tags,
    global_cluster_membership,
    db_parameter_source,
    global_cluster_deletion_protection,
)
