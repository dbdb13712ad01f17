"""tooling.lifecycle.import_lookups: what identifies a security group rule, and the lookups of
the IDs only AWS knows (:class:`Boto3Resolver` against a moto server)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.lifecycle import crash_support as crash
from tooling.lifecycle.import_lookups import Boto3Resolver, SecurityGroupRule, rule_matches

REGION = "eu-west-1"


def _described(**fields: Any) -> dict[str, Any]:
    rule = {
        "SecurityGroupRuleId": "sgr-1",
        "GroupId": "sg-1",
        "IsEgress": True,
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "PrefixListId": "pl-1",
    }
    rule.update(fields)
    return {key: value for key, value in rule.items() if value is not None}


HTTPS_TO_PL = SecurityGroupRule("sg-1", True, "tcp", 443, 443, "prefix_list_id", "pl-1")


@pytest.mark.parametrize(
    ("rule", "described", "matches"),
    [
        (HTTPS_TO_PL, _described(), True),
        (HTTPS_TO_PL, _described(IsEgress=False), False),
        (HTTPS_TO_PL, _described(ToPort=444), False),
        (HTTPS_TO_PL, _described(IpProtocol="udp"), False),
        (HTTPS_TO_PL, _described(PrefixListId="pl-2"), False),
        (HTTPS_TO_PL, _described(GroupId="sg-2"), False),
        (  # the right port range, another kind of peer
            HTTPS_TO_PL,
            _described(PrefixListId=None, ReferencedGroupInfo={"GroupId": "pl-1"}),
            False,
        ),
        (  # "all" and "-1" are the same protocol, and AWS answers ports -1 for it
            SecurityGroupRule("sg-1", True, "all", None, None, "cidr_ipv4", "0.0.0.0/0"),
            _described(
                IpProtocol="-1", FromPort=-1, ToPort=-1, PrefixListId=None, CidrIpv4="0.0.0.0/0"
            ),
            True,
        ),
        (  # protocol numbers are the names AWS answers
            SecurityGroupRule("sg-1", False, "6", 5432, 5432, "cidr_ipv6", "2001:DB8::/32"),
            _described(
                IsEgress=False,
                FromPort=5432,
                ToPort=5432,
                PrefixListId=None,
                CidrIpv6="2001:db8::/32",
            ),
            True,
        ),
        (
            SecurityGroupRule(
                "sg-1", False, "tcp", 443, 443, "referenced_security_group_id", "sg-9"
            ),
            _described(
                IsEgress=False,
                PrefixListId=None,
                ReferencedGroupInfo={"GroupId": "sg-9", "UserId": "123456789012"},
            ),
            True,
        ),
    ],
)
def test_rule_matches_compares_what_identifies_a_rule(
    rule: SecurityGroupRule, described: dict[str, Any], matches: bool
) -> None:
    assert rule_matches(rule, described) is matches


def test_a_rule_has_one_of_the_four_peers() -> None:
    with pytest.raises(ValueError, match="peer_kind"):
        SecurityGroupRule("sg-1", True, "tcp", 443, 443, "cidr_block", "10.0.0.0/8")


@pytest.mark.moto
def test_boto3_resolver_looks_ids_up(endpoint: str) -> None:
    reset_moto(endpoint)
    resolver = Boto3Resolver(lambda service: crash.client(endpoint, service, REGION))
    url = crash.client(endpoint, "sqs", REGION).create_queue(QueueName="tap-q")["QueueUrl"]
    arn = crash.client(endpoint, "sns", REGION).create_topic(Name="tap-t")["TopicArn"]
    secret = crash.client(endpoint, "secretsmanager", REGION).create_secret(Name="tap/s")["ARN"]
    assert (resolver.queue_url("tap-q"), resolver.topic_arn("tap-t")) == (url, arn)
    assert resolver.secret_arn("tap/s") == secret
    assert resolver.queue_url("nope") is resolver.topic_arn("nope") is resolver.secret_arn("x")


@pytest.mark.moto
def test_boto3_resolver_finds_security_group_rules(endpoint: str) -> None:
    # GIVEN a group with an egress rule to the S3 prefix list and an ingress rule from another
    # group, in moto
    reset_moto(endpoint)
    ec2 = crash.client(endpoint, "ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="lambda", Description="l", VpcId=vpc)["GroupId"]
    other = ec2.create_security_group(GroupName="endpoints", Description="e", VpcId=vpc)
    prefix_list = next(
        p["PrefixListId"]
        for p in ec2.describe_prefix_lists()["PrefixLists"]
        if p["PrefixListName"] == f"com.amazonaws.{REGION}.s3"
    )
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443}
    to_s3 = ec2.authorize_security_group_egress(
        GroupId=group, IpPermissions=[{**https, "PrefixListIds": [{"PrefixListId": prefix_list}]}]
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    from_other = ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{**https, "UserIdGroupPairs": [{"GroupId": other["GroupId"]}]}],
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    resolver = Boto3Resolver(lambda service: crash.client(endpoint, service, REGION))

    def find(egress: bool, port: int, kind: str, peer: str) -> str | None:
        rule = SecurityGroupRule(group, egress, "tcp", port, port, kind, peer)
        return resolver.security_group_rule_id(rule)

    # THEN each is found by what identifies it
    assert find(True, 443, "prefix_list_id", prefix_list) == to_s3
    assert find(False, 443, "referenced_security_group_id", other["GroupId"]) == from_other
    # AND the group's default egress rule (all protocols: AWS answers ports -1)
    everything = SecurityGroupRule(group, True, "-1", None, None, "cidr_ipv4", "0.0.0.0/0")
    assert str(resolver.security_group_rule_id(everything)).startswith("sgr-")
    # AND a rule that does not exist, or of another direction, port or group, is None
    assert find(True, 80, "prefix_list_id", prefix_list) is None
    assert find(True, 443, "referenced_security_group_id", other["GroupId"]) is None
    assert find(False, 443, "prefix_list_id", prefix_list) is None
    elsewhere = SecurityGroupRule(
        other["GroupId"], True, "tcp", 443, 443, "prefix_list_id", prefix_list
    )
    assert resolver.security_group_rule_id(elsewhere) is None


@pytest.mark.moto
def test_boto3_resolver_finds_a_security_group_by_its_vpc_and_name(endpoint: str) -> None:
    reset_moto(endpoint)
    ec2 = crash.client(endpoint, "ec2", REGION)
    vpc, other = (
        ec2.create_vpc(CidrBlock=c)["Vpc"]["VpcId"] for c in ("10.0.0.0/16", "10.1.0.0/16")
    )
    group = ec2.create_security_group(GroupName="tap-lambda-sg-dev", Description="l", VpcId=vpc)
    ec2.create_security_group(GroupName="tap-lambda-sg-dev", Description="l", VpcId=other)
    resolver = Boto3Resolver(lambda service: crash.client(endpoint, service, REGION))
    assert resolver.security_group_id(vpc, "tap-lambda-sg-dev") == group["GroupId"]
    assert resolver.security_group_id(vpc, "tap-other-sg-dev") is None


def test_boto3_resolver_finds_a_subnet_by_its_vpc_and_exact_cidr_block(endpoint: str) -> None:
    reset_moto(endpoint)
    ec2 = crash.client(endpoint, "ec2", REGION)
    vpc, other = (
        ec2.create_vpc(CidrBlock=c)["Vpc"]["VpcId"] for c in ("10.0.0.0/16", "10.1.0.0/16")
    )
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.32.0/19")["Subnet"]["SubnetId"]
    ec2.create_subnet(VpcId=other, CidrBlock="10.1.32.0/19")
    resolver = Boto3Resolver(lambda service: crash.client(endpoint, service, REGION))
    assert resolver.subnet_id(vpc, "10.0.32.0/19") == subnet
    assert resolver.subnet_id(vpc, "10.0.32.0/20") is None  # inside it, but not that subnet
    assert resolver.subnet_id(other, "10.0.32.0/19") is None
