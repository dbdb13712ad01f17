"""The VPC and its parts: subnets, security groups, internet gateway, route tables, VPC
endpoints and flow logs.

A VPC is the platform's by its CIDR (one of the deployment's), its ``Name`` or its tags (never
the default VPC); a part is the platform's when it belongs to such a VPC or carries the tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tooling.lifecycle.resource_kinds.model import Clients, Finder, GoneError, Item, Kind, Scan

__all__ = [
    "FLOW_LOG",
    "INTERNET_GATEWAY",
    "ROUTE_TABLE",
    "SECURITY_GROUP",
    "SUBNET",
    "VPC",
    "VPC_ENDPOINT",
]


def _vpc_ids(scan: Scan, region: str) -> list[str]:
    def listing() -> list[str]:
        found = []
        for vpc in scan.clients("ec2", region).describe_vpcs()["Vpcs"]:
            tags = vpc.get("Tags", [])
            name = next((t["Value"] for t in tags if t["Key"] == "Name"), None)
            owner = scan.owner
            mine = vpc["CidrBlock"] in scan.cidrs or owner.named(name) or owner.tagged(tags)
            if mine and not vpc.get("IsDefault"):
                found.append(vpc["VpcId"])
        return found

    return scan.once("vpcs", region, listing)


def _part_of_a_vpc(call: str, key: str, ident: str) -> Finder:
    """A finder of the parts EC2's ``call`` lists under ``key`` (by ``ident``) that belong to
    one of the platform's VPCs or carry its tags."""

    def find(scan: Scan, region: str) -> list[str]:
        vpc_ids = set(_vpc_ids(scan, region))
        found = []
        for item in getattr(scan.clients("ec2", region), call)()[key]:
            if str(item.get("State", "")).lower() == "deleted":  # e.g. VPC endpoints, like AWS
                continue
            attached = item.get("VpcId") in vpc_ids or any(
                a.get("VpcId") in vpc_ids for a in item.get("Attachments", [])
            )
            if attached or scan.owner.tagged(item.get("Tags", [])):
                found.append(item[ident])
        return found

    return find


def _unsuccessful(answer: Any) -> None:
    failed = answer.get("Unsuccessful", [])
    if failed:
        error = failed[0].get("Error", {})
        if "NotFound" in str(error.get("Code", "")):
            raise GoneError
        raise RuntimeError(f"{error.get('Code')}: {error.get('Message')}")


def _delete_vpc_endpoint(clients: Clients, region: str, name: str) -> str:
    _unsuccessful(clients("ec2", region).delete_vpc_endpoints(VpcEndpointIds=[name]))
    return "deleted"


def _delete_flow_log(clients: Clients, region: str, name: str) -> str:
    _unsuccessful(clients("ec2", region).delete_flow_logs(FlowLogIds=[name]))
    return "deleted"


def _delete_subnet(clients: Clients, region: str, name: str) -> str:
    ec2 = clients("ec2", region)
    interfaces = ec2.describe_network_interfaces(
        Filters=[
            {"Name": "subnet-id", "Values": [name]},
            {"Name": "status", "Values": ["available"]},
        ]
    ).get("NetworkInterfaces", [])
    for interface in interfaces:  # left by deleted functions and databases
        ec2.delete_network_interface(NetworkInterfaceId=interface["NetworkInterfaceId"])
    ec2.delete_subnet(SubnetId=name)
    return f"deleted ({len(interfaces)} detached interface(s) first)" if interfaces else "deleted"


def _delete_route_table(clients: Clients, region: str, name: str) -> str:
    ec2 = clients("ec2", region)
    table = ec2.describe_route_tables(RouteTableIds=[name])["RouteTables"][0]
    associations = table.get("Associations", [])
    if any(a.get("Main") for a in associations):
        return "the VPC's main route table: deleted with the VPC"
    for association in associations:
        ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    ec2.delete_route_table(RouteTableId=name)
    return "deleted"


def _delete_internet_gateway(clients: Clients, region: str, name: str) -> str:
    ec2 = clients("ec2", region)
    gateway = ec2.describe_internet_gateways(InternetGatewayIds=[name])["InternetGateways"][0]
    for attachment in gateway.get("Attachments", []):
        ec2.detach_internet_gateway(InternetGatewayId=name, VpcId=attachment["VpcId"])
    ec2.delete_internet_gateway(InternetGatewayId=name)
    return "detached and deleted" if gateway.get("Attachments") else "deleted"


def _revoke_group_rules(clients: Clients, items: Sequence[Item]) -> None:
    """Revoke every rule of the groups to delete first: groups referring to each other cannot
    be deleted one by one otherwise."""
    for item in items:
        ec2 = clients("ec2", item.region)
        try:
            group = ec2.describe_security_groups(GroupIds=[item.name])["SecurityGroups"][0]
            if group.get("IpPermissions"):
                ec2.revoke_security_group_ingress(
                    GroupId=item.name, IpPermissions=group["IpPermissions"]
                )
            if group.get("IpPermissionsEgress"):
                ec2.revoke_security_group_egress(
                    GroupId=item.name, IpPermissions=group["IpPermissionsEgress"]
                )
        except Exception:  # noqa: S112 - the deletion that follows reports the error
            continue


def _delete_security_group(clients: Clients, region: str, name: str) -> str:
    ec2 = clients("ec2", region)
    group = ec2.describe_security_groups(GroupIds=[name])["SecurityGroups"][0]
    if group.get("GroupName") == "default":
        return "the VPC's default security group: deleted with the VPC"
    ec2.delete_security_group(GroupId=name)
    return "deleted"


def _delete_vpc(clients: Clients, region: str, name: str) -> str:
    clients("ec2", region).delete_vpc(VpcId=name)
    return "deleted"


VPC_ENDPOINT = Kind(
    "vpc endpoint",
    _part_of_a_vpc("describe_vpc_endpoints", "VpcEndpoints", "VpcEndpointId"),
    _delete_vpc_endpoint,
)
FLOW_LOG = Kind(
    "flow log", _part_of_a_vpc("describe_flow_logs", "FlowLogs", "FlowLogId"), _delete_flow_log
)
SUBNET = Kind("subnet", _part_of_a_vpc("describe_subnets", "Subnets", "SubnetId"), _delete_subnet)
ROUTE_TABLE = Kind(
    "route table",
    _part_of_a_vpc("describe_route_tables", "RouteTables", "RouteTableId"),
    _delete_route_table,
)
INTERNET_GATEWAY = Kind(
    "internet gateway",
    _part_of_a_vpc("describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
    _delete_internet_gateway,
)
SECURITY_GROUP = Kind(
    "security group",
    _part_of_a_vpc("describe_security_groups", "SecurityGroups", "GroupId"),
    _delete_security_group,
    before=_revoke_group_rules,
)
VPC = Kind("vpc", _vpc_ids, _delete_vpc)
