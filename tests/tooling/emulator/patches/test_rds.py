"""tooling.emulator.patches.rds: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 2: one
DbiResourceId for all; gap 4: Performance Insights, an Aurora cluster's empty
ScalingConfigurationInfo, a global cluster's tags and deleted members, DB parameters without a
Source; gap 11: no ModifyGlobalCluster to lift a global cluster's deletion protection)."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from tests.tooling.conftest import reset_moto
from tests.tooling.emulator.conftest import client, named
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"

#: A client of a freshly reset moto server, unless called with ``reset=False``.
_client = partial(client, region=REGION, reset=True)


# --------------------------------------------------------------------------- gap 2


def _create_db_instances(rds: Any) -> dict[str, str]:
    """Two PostgreSQL instances, an Aurora writer, a read replica: name -> DbiResourceId."""
    common = {"MasterUsername": "app", "MasterUserPassword": "password1234"}
    for name in ("pg-a", "pg-b"):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            **common,
        )
    rds.create_db_cluster(DBClusterIdentifier="aurora", Engine="aurora-mysql", **common)
    rds.create_db_instance(
        DBInstanceIdentifier="aurora-1",
        DBClusterIdentifier="aurora",
        Engine="aurora-mysql",
        DBInstanceClass="db.r6g.large",
    )
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier="pg-a-replica", SourceDBInstanceIdentifier="pg-a"
    )
    instances = rds.describe_db_instances()["DBInstances"]
    return {i["DBInstanceIdentifier"]: i["DbiResourceId"] for i in instances}


def _find_by_resource_id(rds: Any, resource_id: str) -> list[str]:
    """How the aws provider reads aws_db_instance: the dbi-resource-id filter."""
    found = rds.describe_db_instances(
        Filters=[{"Name": "dbi-resource-id", "Values": [resource_id]}]
    )
    return [i["DBInstanceIdentifier"] for i in found["DBInstances"]]


def test_gap2_unpatched_moto_gives_every_db_instance_the_same_resource_id(endpoint: str) -> None:
    rds = _client(endpoint, "rds")
    ids = _create_db_instances(rds)
    assert len(ids) == 4
    assert set(ids.values()) == {"db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U"}
    assert len(_find_by_resource_id(rds, ids["pg-b"])) == 4


def test_gap2_patch_gives_each_db_instance_its_own_resource_id(endpoint: str) -> None:
    rds = _client(endpoint, "rds")
    with patched(named("rds-unique-dbi-resource-id")):
        ids = _create_db_instances(rds)
        assert len(set(ids.values())) == len(ids) == 4
        assert all(re.fullmatch(r"db-[A-Z0-9]{26}", value) for value in ids.values())
        for name, resource_id in ids.items():  # stable, and each finds exactly its instance
            assert _find_by_resource_id(rds, resource_id) == [name]


# --------------------------------------------------------------------------- gap 4 (PI)


def _pi_instance(endpoint: str) -> dict[str, Any]:
    rds = _client(endpoint, "rds")
    rds.create_db_cluster(
        DBClusterIdentifier="c1", Engine="aurora-mysql", MasterUsername="admin",
        ManageMasterUserPassword=True,
    )  # fmt: skip
    rds.create_db_instance(
        DBInstanceIdentifier="i1", DBClusterIdentifier="c1", Engine="aurora-mysql",
        DBInstanceClass="db.serverless", EnablePerformanceInsights=True,
        PerformanceInsightsKMSKeyId="arn:aws:kms:ap-southeast-1:123456789012:key/k",
    )  # fmt: skip
    (instance,) = rds.describe_db_instances(DBInstanceIdentifier="i1")["DBInstances"]
    return dict(instance)


def test_gap4_unpatched_moto_forgets_performance_insights(endpoint: str) -> None:
    assert not _pi_instance(endpoint).get("PerformanceInsightsEnabled")


def test_gap4_patch_keeps_performance_insights(endpoint: str) -> None:
    with patched(named("rds-performance-insights")):
        instance = _pi_instance(endpoint)
    assert instance["PerformanceInsightsEnabled"] is True
    assert instance["PerformanceInsightsKMSKeyId"].endswith("key/k")
    assert instance["PerformanceInsightsRetentionPeriod"] == 7


# --------------------------------------------------------------------------- gap 4 (Aurora scaling)


def _clusters(endpoint: str) -> dict[str, dict[str, Any]]:
    rds = _client(endpoint, "rds")
    common = {"Engine": "aurora-mysql", "MasterUsername": "admin", "MasterUserPassword": "x" * 12}
    rds.create_db_cluster(
        DBClusterIdentifier="v2", EngineMode="provisioned",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 2}, **common,
    )  # fmt: skip
    rds.create_db_cluster(DBClusterIdentifier="v1", EngineMode="serverless", **common)
    return {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}


def test_gap4_unpatched_moto_returns_scaling_info_for_a_provisioned_cluster(endpoint: str) -> None:
    assert _clusters(endpoint)["v2"]["ScalingConfigurationInfo"] == {}


def test_gap4_patch_leaves_scaling_info_out_for_a_provisioned_cluster(endpoint: str) -> None:
    with patched(named("rds-provisioned-scaling-configuration")):
        clusters = _clusters(endpoint)
    assert "ScalingConfigurationInfo" not in clusters["v2"]
    assert clusters["v2"]["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0.5,
        "MaxCapacity": 2.0,
    }
    # a Serverless v1 cluster still has AWS's default scaling configuration
    assert clusters["v1"]["ScalingConfigurationInfo"]["MaxCapacity"] == 16


# --------------------------------------------------------------------------- gap 4 (global cluster)


def _global_cluster_tags(endpoint: str) -> dict[str, Any]:
    """Tags of a global cluster created with tags, as ListTagsForResource answers per region."""
    rds = client(endpoint, "rds", region="us-east-2", reset=True)
    arn = rds.create_global_cluster(
        GlobalClusterIdentifier="tap-aurora-global-global",
        Engine="aurora-mysql",
        Tags=[{"Key": "Environment", "Value": "global"}],
    )["GlobalCluster"]["GlobalClusterArn"]
    answers = {}
    for region in ("ap-southeast-1", "us-east-1"):
        regional = client(endpoint, "rds", region=region, reset=False)
        answers[region] = regional.list_tags_for_resource(ResourceName=arn)["TagList"]
    return answers


def test_gap4_unpatched_moto_cannot_list_a_global_clusters_tags(endpoint: str) -> None:
    with pytest.raises(ClientError, match="Invalid resource name"):
        _global_cluster_tags(endpoint)


def test_gap4_patch_keeps_a_global_clusters_tags(endpoint: str) -> None:
    with patched(named("rds-global-cluster-tags")):
        answers = _global_cluster_tags(endpoint)
    tags = [{"Key": "Environment", "Value": "global"}]
    assert answers == {"ap-southeast-1": tags, "us-east-1": tags}


def _members_after_deleting_the_secondary(endpoint: str) -> tuple[list[str], Any]:
    """A global cluster (kept by moto in us-east-1) with a writer in ap-southeast-1 and a
    secondary in us-east-2; the secondary is deleted. Returns the members left and a client."""
    reset_moto(endpoint)

    def rds(region: str) -> Any:
        return client(endpoint, "rds", region=region, reset=False)

    rds("ap-southeast-1").create_global_cluster(GlobalClusterIdentifier="g", Engine="aurora-mysql")
    rds("ap-southeast-1").create_db_cluster(
        DBClusterIdentifier="c",
        Engine="aurora-mysql",
        GlobalClusterIdentifier="g",
        MasterUsername="admin",
        MasterUserPassword="password1",
    )
    rds("us-east-2").create_db_cluster(
        DBClusterIdentifier="c", Engine="aurora-mysql", GlobalClusterIdentifier="g"
    )
    rds("us-east-2").delete_db_cluster(DBClusterIdentifier="c", SkipFinalSnapshot=True)
    (cluster,) = rds("ap-southeast-1").describe_global_clusters()["GlobalClusters"]
    return [m["DBClusterArn"].split(":")[3] for m in cluster["GlobalClusterMembers"]], rds


def test_gap4_unpatched_moto_keeps_deleted_members_outside_us_east_1(endpoint: str) -> None:
    members, rds = _members_after_deleting_the_secondary(endpoint)
    assert members == ["ap-southeast-1", "us-east-2"]  # us-east-2's cluster is gone
    rds("ap-southeast-1").delete_db_cluster(DBClusterIdentifier="c", SkipFinalSnapshot=True)
    with pytest.raises(ClientError, match="InvalidGlobalClusterStateFault"):
        rds("ap-southeast-1").delete_global_cluster(GlobalClusterIdentifier="g")


def test_gap4_patch_removes_deleted_members_so_the_global_cluster_can_go(endpoint: str) -> None:
    with patched(named("rds-global-cluster-membership")):
        members, rds = _members_after_deleting_the_secondary(endpoint)
        assert members == ["ap-southeast-1"]
        primary = rds("ap-southeast-1")
        primary.remove_from_global_cluster(
            GlobalClusterIdentifier="g",
            DbClusterIdentifier="arn:aws:rds:ap-southeast-1:123456789012:cluster:c",
        )
        assert primary.describe_global_clusters()["GlobalClusters"][0]["GlobalClusterMembers"] == []
        primary.delete_db_cluster(DBClusterIdentifier="c", SkipFinalSnapshot=True)
        primary.delete_global_cluster(GlobalClusterIdentifier="g")
        assert primary.describe_global_clusters()["GlobalClusters"] == []


# --------------------------------------------------------------------------- gap 11


def _protected_global_cluster(endpoint: str) -> Any:
    """A global cluster created with deletion protection (as a protected environment's is)."""
    rds = client(endpoint, "rds", region="ap-southeast-1", reset=True)
    rds.create_global_cluster(
        GlobalClusterIdentifier="g", Engine="aurora-mysql", DeletionProtection=True
    )
    return rds


def test_gap11_unpatched_moto_cannot_lift_a_global_clusters_deletion_protection(
    endpoint: str,
) -> None:
    from moto.core.utils import method_names_from_class
    from moto.rds.responses import RDSResponse

    assert "modify_global_cluster" not in method_names_from_class(RDSResponse)
    rds = _protected_global_cluster(endpoint)
    # moto raises NotImplementedError inside the server: an HTML error page, not an AWS error
    with pytest.raises(ResponseParserError, match="500 Internal Server Error"):
        rds.modify_global_cluster(GlobalClusterIdentifier="g", DeletionProtection=False)


def test_gap11_patch_lifts_and_sets_a_global_clusters_deletion_protection(endpoint: str) -> None:
    with patched(named("rds-modify-global-cluster")):
        rds = _protected_global_cluster(endpoint)
        answer = rds.modify_global_cluster(GlobalClusterIdentifier="g", DeletionProtection=False)
        assert answer["GlobalCluster"]["DeletionProtection"] is False
        (cluster,) = rds.describe_global_clusters()["GlobalClusters"]
        assert cluster["DeletionProtection"] is False
        rds.modify_global_cluster(GlobalClusterIdentifier="g", DeletionProtection=True)
        assert rds.describe_global_clusters()["GlobalClusters"][0]["DeletionProtection"] is True
        with pytest.raises(ClientError, match="GlobalClusterNotFoundFault"):
            rds.modify_global_cluster(GlobalClusterIdentifier="other", DeletionProtection=False)


def test_gap11_patch_is_undone_without_a_trace() -> None:
    from moto.rds.responses import RDSResponse

    with patched(named("rds-modify-global-cluster")):
        assert "modify_global_cluster" in RDSResponse.__dict__
    assert "modify_global_cluster" not in RDSResponse.__dict__


# --------------------------------------------------------------------------- reversibility


def test_the_rds_patches_are_undone() -> None:
    from moto.rds.models import DBCluster, DBInstance, DBParameterGroup, RDSBackend
    from moto.rds.responses import RDSResponse

    from tooling.emulator.patches import rds

    attributes = [
        (DBInstance, "__init__"),
        (DBInstance, "set_as_replica"),
        (RDSBackend, "create_db_instance"),
        (RDSBackend, "modify_db_instance"),
        (DBCluster, "scaling_configuration_info"),
        (RDSResponse, "create_global_cluster"),
        (RDSBackend, "_get_resource_for_tagging"),
        (RDSBackend, "remove_from_global_cluster"),
        (RDSBackend, "delete_db_cluster"),
        (DBParameterGroup, "update_parameters"),
    ]
    originals = {(owner, name): owner.__dict__[name] for owner, name in attributes}
    with patched(rds.PATCHES):
        assert all(owner.__dict__[name] is not fn for (owner, name), fn in originals.items())
    assert all(owner.__dict__[name] is fn for (owner, name), fn in originals.items())


# --------------------------------------------------------------------------- gap 4: parameters


def _db_parameters(rds: Any) -> list[dict[str, Any]]:
    """A PostgreSQL parameter group with two parameters set, as the provider reads it back."""
    rds.create_db_parameter_group(
        DBParameterGroupName="pg-params", DBParameterGroupFamily="postgres16", Description="x"
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName="pg-params",
        Parameters=[
            {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"},
            {"ParameterName": "log_statement", "ParameterValue": "ddl", "ApplyMethod": "immediate"},
        ],
    )
    parameters: list[dict[str, Any]] = rds.describe_db_parameters(DBParameterGroupName="pg-params")[
        "Parameters"
    ]
    return parameters


def test_gap4_unpatched_moto_answers_db_parameters_without_a_source(endpoint: str) -> None:
    parameters = _db_parameters(_client(endpoint, "rds"))
    assert {p["ParameterName"] for p in parameters} == {"rds.force_ssl", "log_statement"}
    assert all("Source" not in p for p in parameters)


def test_gap4_patch_marks_set_db_parameters_as_user_parameters(endpoint: str) -> None:
    with patched(named("rds-db-parameter-source")):
        parameters = _db_parameters(_client(endpoint, "rds"))
    assert {(p["ParameterName"], p["ParameterValue"], p["Source"]) for p in parameters} == {
        ("rds.force_ssl", "1", "user"),
        ("log_statement", "ddl", "user"),
    }
