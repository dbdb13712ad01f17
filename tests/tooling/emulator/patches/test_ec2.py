"""tooling.emulator.patches.ec2: the patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 4:
security group rule descriptions are lost; a referenced security group needs no patch)."""

from __future__ import annotations

from functools import partial

import pytest

from tests.tooling.emulator.conftest import client, named
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"

#: A client of a freshly reset moto server, unless called with ``reset=False``.
_client = partial(client, region=REGION, reset=True)


# --------------------------------------------------------------------------- rule descriptions


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


# ---------------------------------------------------------------- referenced group: no patch


def test_gap4_security_group_reference_already_matches_aws(endpoint: str) -> None:
    """moto reports a same-account reference like AWS: the caller's account as UserId.

    The provider turns it into ``<account>/<sg-id>`` only when it does not know its account
    (``skip_requesting_account_id``); the local target lets it ask STS, which answers the same
    account. So this gap needs no patch (tooling.emulator.process.local_provider_config).
    """
    ec2 = _client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    target, source = (
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("target", "source")
    )
    ec2.authorize_security_group_ingress(
        GroupId=target,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": source}],
            }
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [target]}])
    (ingress,) = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
    assert ingress["ReferencedGroupInfo"]["GroupId"] == source
    assert ingress["ReferencedGroupInfo"]["UserId"] == ACCOUNT
    sts = _client(endpoint, "sts", reset=False)
    assert sts.get_caller_identity()["Account"] == ACCOUNT


# --------------------------------------------------------------------------- reversibility


def test_the_ec2_patches_are_undone() -> None:
    from moto.ec2.models.security_groups import SecurityGroupRule

    from tooling.emulator.patches import ec2

    originals = {name: SecurityGroupRule.__dict__[name] for name in ("__init__", "description")}
    with patched(ec2.PATCHES):
        assert all(SecurityGroupRule.__dict__[name] is not fn for name, fn in originals.items())
    assert all(SecurityGroupRule.__dict__[name] is fn for name, fn in originals.items())
