"""tooling.moto_launcher patches for the gaps the local re-plan and destroy found: each test shows
unpatched moto has the gap and that the patch closes it (gap 4: security group rule descriptions,
an Aurora cluster's empty ScalingConfigurationInfo; gap 8: cancelling the managed rotation of an
RDS master user secret)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.tooling.moto_clients import client, named
from tooling.moto_launcher import patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"

#: A client of a freshly reset moto server, unless called with ``reset=False``.
_client = partial(client, region=REGION, reset=True)


# --------------------------------------------------------------------------- SG rule descriptions


def _rule_descriptions(endpoint: str) -> dict[str, str | None]:
    """Rules as the aws provider creates them: kind -> Description DescribeSecurityGroupRules
    returns."""
    ec2 = _client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    app = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    db = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    prefix_list = ec2.create_managed_prefix_list(
        PrefixListName="pl", MaxEntries=1, AddressFamily="IPv4"
    )["PrefixList"]["PrefixListId"]
    tcp = {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306}
    created = {
        "group": ec2.authorize_security_group_ingress(
            GroupId=db,
            IpPermissions=[
                {**tcp, "UserIdGroupPairs": [{"GroupId": app, "Description": "from app"}]}
            ],
        ),
        "prefix-list": ec2.authorize_security_group_egress(
            GroupId=app,
            IpPermissions=[
                {**tcp, "PrefixListIds": [{"PrefixListId": prefix_list, "Description": "to pl"}]}
            ],
        ),
        "cidr": ec2.authorize_security_group_egress(
            GroupId=db,
            IpPermissions=[{**tcp, "IpRanges": [{"CidrIp": "10.9.0.0/24", "Description": "net"}]}],
        ),
    }
    found = {}
    for kind, answer in created.items():
        (rule,) = answer["SecurityGroupRules"]
        (described,) = ec2.describe_security_group_rules(
            SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]]
        )["SecurityGroupRules"]
        found[kind] = described.get("Description")
    return found


def test_gap4_unpatched_moto_drops_group_and_prefix_list_rule_descriptions(endpoint: str) -> None:
    assert _rule_descriptions(endpoint) == {"group": None, "prefix-list": None, "cidr": "net"}


def test_gap4_patch_returns_every_rule_description(endpoint: str) -> None:
    with patched(named("ec2-security-group-rule-descriptions")):
        found = _rule_descriptions(endpoint)
    assert found == {"group": "from app", "prefix-list": "to pl", "cidr": "net"}


def test_gap4_patched_description_update_still_wins(endpoint: str) -> None:
    with patched(named("ec2-security-group-rule-descriptions")):
        ec2 = _client(endpoint, "ec2")
        vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        app = ec2.create_security_group(GroupName="a", Description="a", VpcId=vpc)["GroupId"]
        db = ec2.create_security_group(GroupName="d", Description="d", VpcId=vpc)["GroupId"]
        (rule,) = ec2.authorize_security_group_ingress(
            GroupId=db,
            IpPermissions=[
                {
                    "IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
                    "UserIdGroupPairs": [{"GroupId": app, "Description": "old"}],
                }
            ],
        )["SecurityGroupRules"]  # fmt: skip
        rule_id = rule["SecurityGroupRuleId"]
        ec2.modify_security_group_rules(
            GroupId=db,
            SecurityGroupRules=[
                {
                    "SecurityGroupRuleId": rule_id,
                    "SecurityGroupRule": {
                        "IpProtocol": "tcp", "FromPort": 1, "ToPort": 1,
                        "ReferencedGroupId": app, "Description": "new",
                    },
                }
            ],
        )  # fmt: skip
        (described,) = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule_id])[
            "SecurityGroupRules"
        ]
    assert described["Description"] == "new"


# --------------------------------------------------------------------------- Aurora scaling info


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


# --------------------------------------------------------------------------- managed rotation


def _managed_secret_rotation(endpoint: str) -> tuple[Any, str]:
    """An RDS-managed master secret with managed rotation on (no Lambda), as the platform has."""
    rds = _client(endpoint, "rds")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="c", Engine="aurora-mysql", MasterUsername="admin",
        ManageMasterUserPassword=True,
    )["DBCluster"]  # fmt: skip
    arn = cluster["MasterUserSecret"]["SecretArn"]
    secrets = _client(endpoint, "secretsmanager", reset=False)
    secrets.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30})
    assert secrets.describe_secret(SecretId=arn)["RotationEnabled"] is True
    return secrets, arn


def test_gap8_unpatched_moto_refuses_to_cancel_managed_rotation(endpoint: str) -> None:
    secrets, arn = _managed_secret_rotation(endpoint)
    with pytest.raises(ClientError, match="Lambda function ARN"):
        secrets.cancel_rotate_secret(SecretId=arn)


def test_gap8_patch_cancels_managed_rotation(endpoint: str) -> None:
    with patched(named("secretsmanager-managed-rotation")):
        secrets, arn = _managed_secret_rotation(endpoint)
        answer = secrets.cancel_rotate_secret(SecretId=arn)
        assert answer["ARN"] == arn
        assert secrets.describe_secret(SecretId=arn)["RotationEnabled"] is False
        # a secret no service owns still needs a rotation Lambda, as on AWS
        plain = secrets.create_secret(Name="plain", SecretString="x")["ARN"]
        with pytest.raises(ClientError, match="Lambda function ARN"):
            secrets.cancel_rotate_secret(SecretId=plain)


# --------------------------------------------------------------------------- AWS managed policies

MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


def _attach_monitoring_policy(endpoint: str) -> list[str]:
    iam = _client(endpoint, "iam")  # the reset creates the IAM backend again
    iam.create_role(RoleName="monitoring", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="monitoring", PolicyArn=MONITORING_POLICY)
    attached = iam.list_attached_role_policies(RoleName="monitoring")["AttachedPolicies"]
    return [policy["PolicyArn"] for policy in attached]


def test_gap9_unpatched_moto_has_no_aws_managed_policies(endpoint: str) -> None:
    with pytest.raises(ClientError, match="NoSuchEntity"):
        _attach_monitoring_policy(endpoint)


def test_gap9_patch_loads_aws_managed_policies(endpoint: str) -> None:
    with patched(named("iam-aws-managed-policies")):
        assert _attach_monitoring_policy(endpoint) == [MONITORING_POLICY]
    with pytest.raises(ClientError, match="NoSuchEntity"):  # undone
        _attach_monitoring_policy(endpoint)


# --------------------------------------------------------------------------- reversibility


def test_the_new_patches_are_undone() -> None:
    from moto.core.config import default_user_config
    from moto.ec2.models.security_groups import SecurityGroupRule
    from moto.rds.models import DBCluster
    from moto.secretsmanager.models import SecretsManagerBackend

    attributes = [
        (SecurityGroupRule, "__init__"),
        (SecurityGroupRule, "description"),
        (DBCluster, "scaling_configuration_info"),
        (SecretsManagerBackend, "cancel_rotate_secret"),
    ]
    originals = {(owner, name): owner.__dict__[name] for owner, name in attributes}
    names = (
        "ec2-security-group-rule-descriptions",
        "rds-provisioned-scaling-configuration",
        "secretsmanager-managed-rotation",
        "iam-aws-managed-policies",
    )
    before = dict(default_user_config.get("iam", {}))
    with patched(named(*names)):
        assert all(owner.__dict__[name] is not fn for (owner, name), fn in originals.items())
        assert default_user_config["iam"]["load_aws_managed_policies"] is True
    assert all(owner.__dict__[name] is fn for (owner, name), fn in originals.items())
    assert default_user_config.get("iam", {}) == before
