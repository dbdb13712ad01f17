"""tooling.emulator.runtime.reachability: what a function attached to a VPC reaches, as AWS routes
it (gateway endpoints, interface endpoints with private DNS, NAT gateways, security groups).

Pure data in, verdicts out; the networks are written here as AWS would describe them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tooling.emulator.runtime.reachability import (
    ENFORCEMENT_ENV,
    NOT_IN_A_VPC,
    Endpoint,
    NatGateway,
    Network,
    PrefixList,
    Reachability,
    Route,
    RouteTable,
    Rule,
    SecurityGroup,
    Subnet,
    Verdict,
    Vpc,
    VpcConfig,
    enforced,
    reachability,
)

REGION = "eu-west-1"
VPC_ID = "vpc-1"
PRIVATE = Subnet("subnet-private", VPC_ID, "10.0.1.0/24")
PRIVATE_2 = Subnet("subnet-private-2", VPC_ID, "10.0.2.0/24")
PUBLIC = Subnet("subnet-public", VPC_ID, "10.0.0.0/24")
DYNAMODB_PL = "pl-dynamodb"
S3_PL = "pl-s3"
LOCAL = Route("local", destination_cidr="10.0.0.0/16")
PRIVATE_TABLE = RouteTable("rtb-private", VPC_ID, (LOCAL,), frozenset({PRIVATE.subnet_id}))
OTHER_TABLE = RouteTable("rtb-other", VPC_ID, (LOCAL,), frozenset({PRIVATE_2.subnet_id}))
MAIN_TABLE = RouteTable("rtb-main", VPC_ID, (LOCAL,), main=True)
PUBLIC_TABLE = RouteTable(
    "rtb-public",
    VPC_ID,
    (LOCAL, Route("igw-1", destination_cidr="0.0.0.0/0")),
    frozenset({PUBLIC.subnet_id}),
)
DNS_VPC = Vpc(VPC_ID, dns_support=True, dns_hostnames=True)
LAMBDA_SG = "sg-lambda"
ENDPOINT_SG = "sg-endpoints"
DEFAULT_SG = "sg-default"


def https(**peer: str) -> Rule:
    return Rule("tcp", 443, 443, **peer)


def group(
    group_id: str, *, ingress: tuple[Rule, ...] = (), egress: tuple[Rule, ...] = ()
) -> SecurityGroup:
    return SecurityGroup(group_id, VPC_ID, ingress=ingress, egress=egress)


def gateway(service: str, *, tables: tuple[str, ...], prefix_list_id: str) -> Endpoint:
    return Endpoint(
        f"vpce-{service}",
        VPC_ID,
        f"com.amazonaws.{REGION}.{service}",
        "gateway",
        route_table_ids=tables,
        prefix_list_id=prefix_list_id,
    )


def interface(
    service: str, *, groups: tuple[str, ...] = (ENDPOINT_SG,), private_dns: bool = True
) -> Endpoint:
    return Endpoint(
        f"vpce-{service}",
        VPC_ID,
        f"com.amazonaws.{REGION}.{service}",
        "interface",
        subnet_ids=(PRIVATE.subnet_id, PRIVATE_2.subnet_id),
        security_group_ids=groups,
        private_dns=private_dns,
    )


def network(
    *,
    tables: tuple[RouteTable, ...] = (MAIN_TABLE, PRIVATE_TABLE, OTHER_TABLE, PUBLIC_TABLE),
    endpoints: tuple[Endpoint, ...] = (),
    groups: tuple[SecurityGroup, ...] = (),
    nats: tuple[NatGateway, ...] = (),
    vpc: Vpc = DNS_VPC,
) -> Network:
    """A VPC with a private and a public subnet, AWS's prefix lists of S3 and DynamoDB, the
    VPC's default group (no rules) and ``groups``."""
    return Network(
        region=REGION,
        vpcs={VPC_ID: vpc},
        subnets={s.subnet_id: s for s in (PRIVATE, PRIVATE_2, PUBLIC)},
        route_tables=tables,
        endpoints=endpoints,
        nat_gateways={nat.nat_id: nat for nat in nats},
        security_groups={
            g.group_id: g for g in (SecurityGroup(DEFAULT_SG, VPC_ID, default=True), *groups)
        },
        prefix_lists={
            DYNAMODB_PL: PrefixList(
                DYNAMODB_PL, f"com.amazonaws.{REGION}.dynamodb", ("52.94.0.0/22",), aws_managed=True
            ),
            S3_PL: PrefixList(
                S3_PL, f"com.amazonaws.{REGION}.s3", ("52.216.0.0/15",), aws_managed=True
            ),
        },
    )


IN_PRIVATE = VpcConfig((PRIVATE.subnet_id,), (LAMBDA_SG,))
NO_ROUTE = Verdict(
    False, "subnet subnet-private (route table rtb-private) has no route to the service"
)


# --------------------------------------------------------------------------- no VPC


def test_a_function_without_a_vpc_reaches_every_service() -> None:
    everything = Reachability(in_vpc=False, others=NOT_IN_A_VPC)

    assert reachability(network(), None) == everything
    # Lambda's API detaches a function from its VPC with empty lists.
    assert reachability(network(), VpcConfig((), ())) == everything
    assert everything.verdict("sts") == Verdict(True, "the function is not attached to a VPC")


def test_a_function_in_a_vpc_without_any_path_reaches_nothing() -> None:
    reach = reachability(
        network(groups=(group(LAMBDA_SG, egress=(Rule("-1", cidr="0.0.0.0/0"),)),)), IN_PRIVATE
    )

    assert reach == Reachability(in_vpc=True, others=NO_ROUTE)
    assert not reach.verdict("sts").reachable


# --------------------------------------------------------------------------- gateway endpoints


def test_a_gateway_endpoint_on_the_subnets_table_with_egress_to_its_prefix_list_is_reachable() -> (
    None
):
    reach = reachability(
        network(
            endpoints=(gateway("dynamodb", tables=("rtb-private",), prefix_list_id=DYNAMODB_PL),),
            groups=(group(LAMBDA_SG, egress=(https(prefix_list_id=DYNAMODB_PL),)),),
        ),
        IN_PRIVATE,
    )

    assert reach.verdict("dynamodb") == Verdict(
        True, "through gateway endpoint vpce-dynamodb (route table rtb-private)"
    )
    assert reach.verdict("lambda") == NO_ROUTE
    assert reach.verdict("s3") == NO_ROUTE


def test_a_gateway_endpoint_without_the_egress_rule_is_unreachable() -> None:
    reach = reachability(
        network(
            endpoints=(gateway("dynamodb", tables=("rtb-private",), prefix_list_id=DYNAMODB_PL),),
            groups=(group(LAMBDA_SG, egress=(https(prefix_list_id=S3_PL),)),),
        ),
        IN_PRIVATE,
    )

    assert reach.verdict("dynamodb") == Verdict(
        False,
        "gateway endpoint vpce-dynamodb (route table rtb-private): the function's security "
        "groups (sg-lambda) allow no outbound TCP 443 to prefix list pl-dynamodb",
    )


def test_a_gateway_endpoint_on_another_route_table_is_unreachable() -> None:
    reach = reachability(
        network(
            endpoints=(gateway("dynamodb", tables=("rtb-other",), prefix_list_id=DYNAMODB_PL),),
            groups=(group(LAMBDA_SG, egress=(https(prefix_list_id=DYNAMODB_PL),)),),
        ),
        IN_PRIVATE,
    )

    assert reach.verdict("dynamodb") == NO_ROUTE


def test_a_subnet_without_an_association_uses_the_main_route_table() -> None:
    endpoints = (gateway("dynamodb", tables=("rtb-main",), prefix_list_id=DYNAMODB_PL),)
    groups = (group(LAMBDA_SG, egress=(https(prefix_list_id=DYNAMODB_PL),)),)
    unassociated = (MAIN_TABLE, OTHER_TABLE, PUBLIC_TABLE)

    reach = reachability(
        network(tables=unassociated, endpoints=endpoints, groups=groups), IN_PRIVATE
    )
    associated = reachability(network(endpoints=endpoints, groups=groups), IN_PRIVATE)

    assert reach.verdict("dynamodb").reachable
    assert not associated.verdict("dynamodb").reachable


def test_egress_to_anywhere_also_allows_a_gateway_endpoint_but_a_narrower_cidr_does_not() -> None:
    endpoints = (gateway("s3", tables=("rtb-private",), prefix_list_id=S3_PL),)

    def reach_with(rule: Rule) -> bool:
        groups = (group(LAMBDA_SG, egress=(rule,)),)
        return (
            reachability(network(endpoints=endpoints, groups=groups), IN_PRIVATE)
            .verdict("s3")
            .reachable
        )

    assert reach_with(Rule("-1", cidr="0.0.0.0/0"))
    assert reach_with(https(cidr="0.0.0.0/0"))
    # AWS's S3 addresses are AWS's to know: moto's entries of the list are not them.
    assert not reach_with(https(cidr="52.216.0.0/15"))
    assert not reach_with(Rule("tcp", 80, 80, cidr="0.0.0.0/0"))


def test_every_subnet_of_the_function_needs_the_path() -> None:
    both = VpcConfig((PRIVATE.subnet_id, PRIVATE_2.subnet_id), (LAMBDA_SG,))

    reach = reachability(
        network(
            endpoints=(gateway("dynamodb", tables=("rtb-private",), prefix_list_id=DYNAMODB_PL),),
            groups=(group(LAMBDA_SG, egress=(https(prefix_list_id=DYNAMODB_PL),)),),
        ),
        both,
    )

    assert reach.verdict("dynamodb") == Verdict(
        False, "subnet subnet-private-2 (route table rtb-other) has no route to the service"
    )


# --------------------------------------------------------------------------- interface endpoints


LAMBDA_TO_ENDPOINTS = group(LAMBDA_SG, egress=(https(group_id=ENDPOINT_SG),))
ENDPOINTS_FROM_LAMBDA = group(ENDPOINT_SG, ingress=(https(group_id=LAMBDA_SG),))


def test_an_interface_endpoint_with_private_dns_and_matching_rules_is_reachable() -> None:
    reach = reachability(
        network(
            endpoints=(interface("lambda"),), groups=(LAMBDA_TO_ENDPOINTS, ENDPOINTS_FROM_LAMBDA)
        ),
        IN_PRIVATE,
    )

    assert reach.verdict("lambda") == Verdict(
        True, "through interface endpoint vpce-lambda (private DNS)"
    )
    assert reach.verdict("sqs") == NO_ROUTE


def test_an_interface_endpoint_whose_group_allows_no_ingress_from_the_function_is_unreachable() -> (
    None
):
    reach = reachability(
        network(endpoints=(interface("lambda"),), groups=(LAMBDA_TO_ENDPOINTS, group(ENDPOINT_SG))),
        IN_PRIVATE,
    )

    assert reach.verdict("lambda") == Verdict(
        False,
        "the security groups of interface endpoint vpce-lambda (sg-endpoints) allow no inbound "
        "TCP 443 from the function",
    )


def test_an_interface_endpoint_without_the_functions_egress_is_unreachable() -> None:
    reach = reachability(
        network(endpoints=(interface("lambda"),), groups=(group(LAMBDA_SG), ENDPOINTS_FROM_LAMBDA)),
        IN_PRIVATE,
    )

    assert reach.verdict("lambda") == Verdict(
        False,
        "the function's security groups (sg-lambda) allow no outbound TCP 443 to interface "
        "endpoint vpce-lambda",
    )


def test_an_interface_endpoint_that_is_not_available_is_unreachable() -> None:
    pending = replace(interface("lambda"), state="pendingAcceptance")

    reach = reachability(
        network(endpoints=(pending,), groups=(LAMBDA_TO_ENDPOINTS, ENDPOINTS_FROM_LAMBDA)),
        IN_PRIVATE,
    )

    assert reach.verdict("lambda") == Verdict(
        False, "interface endpoint vpce-lambda is pendingAcceptance"
    )


def test_an_interface_endpoint_without_private_dns_is_not_a_path_for_the_default_host_name() -> (
    None
):
    reach = reachability(
        network(
            endpoints=(interface("lambda", private_dns=False),),
            groups=(LAMBDA_TO_ENDPOINTS, ENDPOINTS_FROM_LAMBDA),
        ),
        IN_PRIVATE,
    )

    assert reach.verdict("lambda") == NO_ROUTE


@pytest.mark.parametrize(
    "vpc",
    [
        Vpc(VPC_ID, dns_support=True, dns_hostnames=False),
        Vpc(VPC_ID, dns_support=False, dns_hostnames=True),
    ],
)
def test_private_dns_needs_both_dns_attributes_of_the_vpc(vpc: Vpc) -> None:
    reach = reachability(
        network(
            endpoints=(interface("lambda"),),
            groups=(LAMBDA_TO_ENDPOINTS, ENDPOINTS_FROM_LAMBDA),
            vpc=vpc,
        ),
        IN_PRIVATE,
    )

    assert reach.verdict("lambda") == NO_ROUTE


def test_an_interface_endpoint_without_groups_has_the_vpcs_default_group() -> None:
    endpoints = (interface("lambda", groups=()),)
    to_default = group(LAMBDA_SG, egress=(https(group_id=DEFAULT_SG),))

    reach = reachability(network(endpoints=endpoints, groups=(to_default,)), IN_PRIVATE)

    # The default group here has no rule: nothing comes in.
    assert reach.verdict("lambda") == Verdict(
        False,
        "the security groups of interface endpoint vpce-lambda (sg-default) allow no inbound "
        "TCP 443 from the function",
    )


def test_cidr_rules_must_cover_every_endpoint_subnet_and_every_function_subnet() -> None:
    endpoints = (interface("secretsmanager"),)

    def reach_with(egress_cidr: str, ingress_cidr: str) -> bool:
        groups = (
            group(LAMBDA_SG, egress=(https(cidr=egress_cidr),)),
            group(ENDPOINT_SG, ingress=(https(cidr=ingress_cidr),)),
        )
        verdict = reachability(network(endpoints=endpoints, groups=groups), IN_PRIVATE)
        return verdict.verdict("secretsmanager").reachable

    assert reach_with("10.0.0.0/16", "10.0.1.0/24")
    # The endpoint has interfaces in subnet-private and subnet-private-2.
    assert not reach_with("10.0.1.0/24", "10.0.1.0/24")
    assert not reach_with("10.0.0.0/16", "10.0.2.0/24")


# --------------------------------------------------------------------------- NAT and the internet


NAT = NatGateway("nat-1", PUBLIC.subnet_id)
PRIVATE_TO_NAT = replace(
    PRIVATE_TABLE, routes=(LOCAL, Route("nat-1", destination_cidr="0.0.0.0/0"))
)
TABLES_WITH_NAT = (MAIN_TABLE, PRIVATE_TO_NAT, OTHER_TABLE, PUBLIC_TABLE)
EGRESS_HTTPS_ANYWHERE = group(LAMBDA_SG, egress=(https(cidr="0.0.0.0/0"),))


def test_a_nat_route_with_egress_to_anywhere_reaches_every_service() -> None:
    reach = reachability(
        network(tables=TABLES_WITH_NAT, groups=(EGRESS_HTTPS_ANYWHERE,), nats=(NAT,)), IN_PRIVATE
    )

    assert reach == Reachability(in_vpc=True, others=Verdict(True, "through NAT gateway nat-1"))
    assert reach.verdict("sts").reachable and reach.verdict("lambda").reachable


def test_a_nat_route_without_egress_to_anywhere_is_unreachable() -> None:
    reach = reachability(
        network(tables=TABLES_WITH_NAT, groups=(LAMBDA_TO_ENDPOINTS,), nats=(NAT,)), IN_PRIVATE
    )

    assert reach.others == Verdict(
        False,
        "subnet subnet-private (route table rtb-private) through NAT gateway nat-1: the "
        "function's security groups (sg-lambda) allow no outbound TCP 443 to the service's "
        "public addresses",
    )


@pytest.mark.parametrize(
    ("nat", "tables", "why"),
    [
        (
            replace(NAT, public=False),
            TABLES_WITH_NAT,
            "NAT gateway nat-1 is private: it does not reach the internet",
        ),
        (
            NAT,
            (MAIN_TABLE, PRIVATE_TO_NAT, OTHER_TABLE, replace(PUBLIC_TABLE, routes=(LOCAL,))),
            "the subnet of NAT gateway nat-1 has no 0.0.0.0/0 route to an internet gateway",
        ),
        (replace(NAT, state="pending"), TABLES_WITH_NAT, "NAT gateway nat-1 is pending"),
    ],
)
def test_a_nat_gateway_leads_to_the_internet_only_when_public_available_and_routed(
    nat: NatGateway, tables: tuple[RouteTable, ...], why: str
) -> None:
    reach = reachability(
        network(tables=tables, groups=(EGRESS_HTTPS_ANYWHERE,), nats=(nat,)), IN_PRIVATE
    )

    assert reach.others == Verdict(False, f"subnet subnet-private (route table rtb-private): {why}")


def test_a_function_in_a_public_subnet_has_no_internet_access() -> None:
    in_public = VpcConfig((PUBLIC.subnet_id,), (LAMBDA_SG,))

    reach = reachability(network(groups=(EGRESS_HTTPS_ANYWHERE,)), in_public)

    assert reach.others == Verdict(
        False,
        "subnet subnet-public (route table rtb-public) routes 0.0.0.0/0 to internet gateway "
        "igw-1, but a Lambda function has no public IP address",
    )


def test_with_a_nat_a_private_dns_endpoint_still_captures_its_service() -> None:
    groups = (
        group(LAMBDA_SG, egress=(https(cidr="0.0.0.0/0"),)),
        group(ENDPOINT_SG),
    )

    reach = reachability(
        network(tables=TABLES_WITH_NAT, endpoints=(interface("logs"),), groups=groups, nats=(NAT,)),
        IN_PRIVATE,
    )

    assert reach.others.reachable
    assert not reach.verdict("logs").reachable
    assert set(reach.services) == {"logs"}


def test_endpoints_of_other_regions_or_vpcs_do_not_count() -> None:
    groups = (group(LAMBDA_SG, egress=(https(prefix_list_id=DYNAMODB_PL),)),)
    elsewhere = (
        replace(
            gateway("dynamodb", tables=("rtb-private",), prefix_list_id=DYNAMODB_PL), vpc_id="vpc-2"
        ),
        replace(
            gateway("dynamodb", tables=("rtb-private",), prefix_list_id=DYNAMODB_PL),
            service_name="com.amazonaws.us-east-1.dynamodb",
        ),
    )

    reach = reachability(network(endpoints=elsewhere, groups=groups), IN_PRIVATE)

    assert reach == Reachability(in_vpc=True, others=NO_ROUTE)


def test_an_unknown_subnet_reaches_nothing() -> None:
    reach = reachability(network(), VpcConfig(("subnet-gone",), (LAMBDA_SG,)))

    assert reach == Reachability(
        in_vpc=True, others=Verdict(False, "subnet subnet-gone does not exist")
    )


# --------------------------------------------------------------------------- the switch


def test_the_rule_is_on_unless_switched_off() -> None:
    assert enforced({})
    assert enforced({ENFORCEMENT_ENV: "on"})
    assert not enforced({ENFORCEMENT_ENV: "off"})
    assert not enforced({ENFORCEMENT_ENV: " OFF "})
    with pytest.raises(ValueError, match="TAP_EMULATOR_VPC_REACHABILITY='no'"):
        enforced({ENFORCEMENT_ENV: "no"})
