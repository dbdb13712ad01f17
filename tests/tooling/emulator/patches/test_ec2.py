"""tooling.emulator.patches.ec2: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 4:
security group rule descriptions are lost, a referenced security group needs no patch; rule R9:
a subnet is explicitly associated with one route table at most)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from tests.tooling.emulator.conftest import client, named, refusal_of
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


# --------------------------------------------------------------------------- R9: associations

ASSOCIATED_ONCE = "ec2-subnet-associated-once"


@dataclass(frozen=True)
class Network:
    """A VPC with two subnets, its main route table and two more (``public``, ``private``)."""

    ec2: Any
    vpc: str
    subnet: str
    other_subnet: str
    main: str
    public: str
    private: str

    def explicit_subnets(self) -> dict[str, list[str]]:
        """Each route table of the VPC -> the subnets explicitly associated with it."""
        filters = [{"Name": "vpc-id", "Values": [self.vpc]}]
        tables = self.ec2.describe_route_tables(Filters=filters)["RouteTables"]
        return {
            table["RouteTableId"]: sorted(
                a["SubnetId"] for a in table["Associations"] if "SubnetId" in a
            )
            for table in tables
        }


def _network(endpoint: str) -> Network:
    ec2 = _client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet, other_subnet = (
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"]
        for cidr in ("10.9.1.0/24", "10.9.2.0/24")
    )
    (main,) = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"]
    public, private = (
        ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"] for _ in range(2)
    )
    return Network(ec2, vpc, subnet, other_subnet, main["RouteTableId"], public, private)


def test_r9_unpatched_moto_answers_a_second_association_with_the_first(endpoint: str) -> None:
    net = _network(endpoint)
    first = net.ec2.associate_route_table(RouteTableId=net.public, SubnetId=net.subnet)
    second = net.ec2.associate_route_table(RouteTableId=net.private, SubnetId=net.subnet)
    again = net.ec2.associate_route_table(RouteTableId=net.public, SubnetId=net.subnet)
    assert second["AssociationId"] == again["AssociationId"] == first["AssociationId"]
    assert net.explicit_subnets() == {net.main: [], net.public: [net.subnet], net.private: []}


@pytest.mark.parametrize("table", ["private", "public"], ids=["another-table", "the-same-table"])
def test_r9_patch_refuses_a_second_association_of_a_subnet(endpoint: str, table: str) -> None:
    with patched(named(ASSOCIATED_ONCE)):
        net = _network(endpoint)
        net.ec2.associate_route_table(RouteTableId=net.public, SubnetId=net.subnet)
        route_table = getattr(net, table)
        refusal = refusal_of(
            net.ec2.associate_route_table, RouteTableId=route_table, SubnetId=net.subnet
        )
        associated = net.explicit_subnets()
    message = (
        f"the specified association for route table {route_table} conflicts with an existing "
        "association"
    )
    assert refusal == (400, {"Code": "Resource.AlreadyAssociated", "Message": message})
    assert associated == {net.main: [], net.public: [net.subnet], net.private: []}


def test_r9_patch_refuses_a_subnet_explicitly_associated_with_the_main_table(
    endpoint: str,
) -> None:
    with patched(named(ASSOCIATED_ONCE)):
        net = _network(endpoint)
        net.ec2.associate_route_table(RouteTableId=net.main, SubnetId=net.subnet)
        status, error = refusal_of(
            net.ec2.associate_route_table, RouteTableId=net.public, SubnetId=net.subnet
        )
    assert (status, error["Code"]) == (400, "Resource.AlreadyAssociated")


def test_r9_patch_associates_subnets_on_the_main_table_and_moves_them_by_replacing(
    endpoint: str,
) -> None:
    with patched(named(ASSOCIATED_ONCE)):
        net = _network(endpoint)
        # Both subnets are on the main table implicitly: each can be associated explicitly.
        first = net.ec2.associate_route_table(RouteTableId=net.public, SubnetId=net.subnet)
        net.ec2.associate_route_table(RouteTableId=net.public, SubnetId=net.other_subnet)
        shared = net.explicit_subnets()
        # ReplaceRouteTableAssociation moves a subnet to another table.
        moved = net.ec2.replace_route_table_association(
            AssociationId=first["AssociationId"], RouteTableId=net.private
        )
        replaced = net.explicit_subnets()
        # Disassociated, a subnet is back on the main table and can be associated again.
        net.ec2.disassociate_route_table(AssociationId=moved["NewAssociationId"])
        net.ec2.associate_route_table(RouteTableId=net.public, SubnetId=net.subnet)
        associated_again = net.explicit_subnets()
    assert shared == {
        net.main: [],
        net.public: sorted([net.subnet, net.other_subnet]),
        net.private: [],
    }
    assert moved["NewAssociationId"] != first["AssociationId"]
    assert replaced == {net.main: [], net.public: [net.other_subnet], net.private: [net.subnet]}
    assert associated_again == shared


def test_r9_patch_answers_a_missing_route_table_or_subnet_first(endpoint: str) -> None:
    with patched(named(ASSOCIATED_ONCE)):
        net = _network(endpoint)
        net.ec2.associate_route_table(RouteTableId=net.public, SubnetId=net.subnet)
        missing_table = refusal_of(
            net.ec2.associate_route_table, RouteTableId="rtb-0123456789abcdef0", SubnetId=net.subnet
        )
        missing_subnet = refusal_of(
            net.ec2.associate_route_table,
            RouteTableId=net.public,
            SubnetId="subnet-0123456789abcdef0",
        )
    assert missing_table[1]["Code"] == "InvalidRouteTableID.NotFound"
    assert missing_subnet[1]["Code"] == "InvalidSubnetID.NotFound"


# --------------------------------------------------------------------------- reversibility


def test_the_ec2_patches_are_undone() -> None:
    from moto.ec2.models.route_tables import RouteBackend
    from moto.ec2.models.security_groups import SecurityGroupRule

    from tooling.emulator.patches import ec2

    replaced = [
        (SecurityGroupRule, "__init__"),
        (SecurityGroupRule, "description"),
        (RouteBackend, "associate_route_table"),
    ]
    originals = {(owner, name): owner.__dict__[name] for owner, name in replaced}
    with patched(ec2.PATCHES):
        assert all(owner.__dict__[name] is not fn for (owner, name), fn in originals.items())
    assert all(owner.__dict__[name] is fn for (owner, name), fn in originals.items())
