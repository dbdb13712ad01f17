"""tooling.moto_launcher patches for the gaps the local deploy of the three-region ``global``
deployment found: each test shows unpatched moto has the gap and that the patch closes it
(gap 3: a custom domain name's target for the Route 53 alias; gap 5: RotateSecret with the
account's rotation Lambda invokes it, which needs Docker)."""

from __future__ import annotations

import io
import json
import zipfile
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.tooling.moto_clients import client, create_regional_domain_name, named, reset_moto
from tooling.moto_launcher import APIGATEWAY_REGIONAL_HOSTED_ZONES, patched

pytestmark = pytest.mark.moto

REGION = "us-east-2"
ACCOUNT = "123456789012"

#: A client in REGION; ``reset=True`` resets the moto server first.
_client = partial(client, region=REGION, reset=False)


# --------------------------------------------------------------------------- gap 3 (target)


def _domain_configuration(endpoint: str) -> list[dict[str, Any]]:
    apigw = _client(endpoint, "apigatewayv2", reset=True)
    create_regional_domain_name(apigw, "api.trading.example.com", region=REGION, account=ACCOUNT)
    first = apigw.get_domain_name(DomainName="api.trading.example.com")
    second = apigw.get_domain_names()["Items"][0]
    return [first["DomainNameConfigurations"][0], second["DomainNameConfigurations"][0]]


def test_gap3_unpatched_moto_gives_no_alias_target(endpoint: str) -> None:
    configuration, _ = _domain_configuration(endpoint)
    assert "ApiGatewayDomainName" not in configuration
    assert "HostedZoneId" not in configuration


def test_gap3_patch_gives_a_stable_regional_alias_target(endpoint: str) -> None:
    with patched(named("apigatewayv2-domain-name-target")):
        got, listed = _domain_configuration(endpoint)
    assert got["ApiGatewayDomainName"] == listed["ApiGatewayDomainName"]
    assert got["ApiGatewayDomainName"].startswith("d-")
    assert got["ApiGatewayDomainName"].endswith(f".execute-api.{REGION}.amazonaws.com")
    assert got["HostedZoneId"] == APIGATEWAY_REGIONAL_HOSTED_ZONES[REGION] == "ZOJJZC49E0EPZ"
    assert got["CertificateArn"].endswith("certificate/example")


# --------------------------------------------------------------------------- gap 5 (rotation)


def _secret_with_rotation_function(endpoint: str) -> tuple[Any, str]:
    iam = _client(endpoint, "iam", reset=True)
    role = iam.create_role(
        RoleName="rotation",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("rotation.py", "def lambda_handler(event, context):\n    pass\n")
    function = _client(endpoint, "lambda").create_function(
        FunctionName="rotation",
        Runtime="python3.12",
        Role=role,
        Handler="rotation.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    secrets = _client(endpoint, "secretsmanager")
    secrets.create_secret(Name="tap/global/aurora-master", SecretString='{"password": "p"}')
    return secrets, function


def test_gap5_unpatched_moto_invokes_the_function_and_loses_the_secret_value(
    endpoint: str,
) -> None:
    """Invoking needs Docker: each step fails (logged only), yet moto then makes the new,
    empty version current, so the master password can no longer be read (the next plan's
    ephemeral read of ``master_password_wo`` fails)."""
    secrets, function = _secret_with_rotation_function(endpoint)
    secrets.rotate_secret(
        SecretId="tap/global/aurora-master",
        RotationLambdaARN=function,
        RotationRules={"AutomaticallyAfterDays": 30},
    )
    with pytest.raises(ClientError, match="can't find the specified secret value"):
        secrets.get_secret_value(SecretId="tap/global/aurora-master")


def test_gap5_patch_records_the_schedule_without_invoking(endpoint: str) -> None:
    with patched(named("secretsmanager-rotation-without-invocation")):
        secrets, function = _secret_with_rotation_function(endpoint)
        secrets.rotate_secret(
            SecretId="tap/global/aurora-master",
            RotationLambdaARN=function,
            RotationRules={"AutomaticallyAfterDays": 30},
        )
        described = secrets.describe_secret(SecretId="tap/global/aurora-master")
        assert described["RotationEnabled"] is True
        assert described["RotationLambdaARN"] == function
        assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
        value = secrets.get_secret_value(SecretId="tap/global/aurora-master")
        assert json.loads(value["SecretString"]) == {"password": "p"}  # versions untouched
        assert list(described["VersionIdsToStages"].values()) == [["AWSCURRENT"]]
        # Still like moto (and AWS): an unknown function is refused.
        with pytest.raises(ClientError, match="Resource not found"):
            secrets.rotate_secret(
                SecretId="tap/global/aurora-master",
                RotationLambdaARN=f"{function}-missing",
                RotationRules={"AutomaticallyAfterDays": 30},
            )
        secrets.cancel_rotate_secret(SecretId="tap/global/aurora-master")
        assert not secrets.describe_secret(SecretId="tap/global/aurora-master").get(
            "RotationEnabled"
        )


# --------------------------------------------------------------------------- gap 4 (global cluster)


def _global_cluster_tags(endpoint: str) -> dict[str, Any]:
    """Tags of a global cluster created with tags, as ListTagsForResource answers per region."""
    rds = _client(endpoint, "rds", reset=True)
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


def test_the_global_patches_are_undone() -> None:
    from moto.apigatewayv2.models import DomainName
    from moto.secretsmanager.models import SecretsManagerBackend

    originals = (DomainName.__dict__["__init__"], SecretsManagerBackend.__dict__["rotate_secret"])
    names = ["apigatewayv2-domain-name-target", "secretsmanager-rotation-without-invocation"]
    with patched(named(*names)):
        assert DomainName.__dict__["__init__"] is not originals[0]
        assert SecretsManagerBackend.__dict__["rotate_secret"] is not originals[1]
    assert DomainName.__dict__["__init__"] is originals[0]
    assert SecretsManagerBackend.__dict__["rotate_secret"] is originals[1]
