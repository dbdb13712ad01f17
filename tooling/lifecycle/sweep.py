"""Delete what a destroy left behind (the items the leftover check names).

Why: after an interrupted deploy, resources exist that no state knows of; ``terraform destroy``
cannot remove them and ``./tap destroy`` reports them as leftovers (kinds like ``"s3 bucket"``,
``"<region> vpc"``, ``"<region> lambda function"``, ``"global iam role"``). :func:`sweep`
deletes exactly those items, in an order AWS accepts: what uses a resource goes before it
(functions and APIs before roles; DB instances before clusters before subnet groups; members
before their global cluster; VPC endpoints, flow logs, subnets, route tables, internet gateways
and security groups before the VPC), buckets are emptied of every version and delete marker
first, KMS keys are scheduled for deletion with the shortest window AWS allows, and roles lose
their inline and attached policies first. One item that cannot be deleted never stops the
others: it is reported with its error, and an item already gone is reported as such.

``clients(service, region)`` returns a boto3 client (for the local target, one pointed at the
emulator), so this module needs no session of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["KMS_PENDING_WINDOW_DAYS", "Clients", "LeftoverLike", "sweep", "sweep_order"]

#: The shortest deletion window of a KMS key AWS allows.
KMS_PENDING_WINDOW_DAYS = 7
#: ``clients(service, region)`` -> a boto3 client.
Clients = Callable[[str, str], Any]
#: Kinds the leftover check names without a region (global services, or any region's buckets).
_GLOBAL_KINDS = ("s3 bucket", "route53 health check", "route53 record", "global iam role")


class LeftoverLike(Protocol):
    """What the leftover check reports (:class:`~tooling.lifecycle.leftovers.Leftover` has
    these fields)."""

    @property
    def kind(self) -> str: ...

    @property
    def name(self) -> str: ...


class _GoneError(Exception):
    """The item does not exist (any more)."""


@dataclass(frozen=True)
class _Item:
    kind: str  # without the region: "vpc", "lambda function", "s3 bucket"
    region: str
    name: str
    label: str  # how the leftover check named it: "<kind> <name>"


def _code(exc: BaseException) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


def _is_not_found(exc: BaseException) -> bool:
    code = _code(exc)
    markers = ("NotFound", "NoSuch", "NonExistent", "DoesNotExist")
    return any(marker in code for marker in markers) or code in ("404", "InvalidParameterValue")


# --------------------------------------------------------------------------- compute


def _delete_function(clients: Clients, region: str, name: str) -> str:
    clients("lambda", region).delete_function(FunctionName=name)
    return "deleted"


def _delete_http_api(clients: Clients, region: str, name: str) -> str:
    api = clients("apigatewayv2", region)
    ids = [a["ApiId"] for a in api.get_apis().get("Items", []) if a.get("Name") == name]
    if not ids:
        raise _GoneError
    for api_id in ids:
        api.delete_api(ApiId=api_id)
    return f"deleted ({', '.join(ids)})"


def _delete_api_domain(clients: Clients, region: str, name: str) -> str:
    api = clients("apigatewayv2", region)
    mappings = api.get_api_mappings(DomainName=name).get("Items", [])
    for mapping in mappings:
        api.delete_api_mapping(ApiMappingId=mapping["ApiMappingId"], DomainName=name)
    api.delete_domain_name(DomainName=name)
    return f"deleted (and {len(mappings)} API mapping(s))" if mappings else "deleted"


def _delete_alarm(clients: Clients, region: str, name: str) -> str:
    cloudwatch = clients("cloudwatch", region)
    if not cloudwatch.describe_alarms(AlarmNames=[name]).get("MetricAlarms"):
        raise _GoneError
    cloudwatch.delete_alarms(AlarmNames=[name])
    return "deleted"


# --------------------------------------------------------------------------- databases


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


def _wait_rds(waiter: str, key: str) -> Callable[[Clients, Sequence[_Item]], None]:
    """Wait until the items are deleted: AWS deletes DB instances and clusters asynchronously,
    and what they use (cluster, subnet group, global cluster) refuses deletion until then."""

    def wait(clients: Clients, items: Sequence[_Item]) -> None:
        for item in items:
            try:
                clients("rds", item.region).get_waiter(waiter).wait(
                    **{key: item.name}, WaiterConfig={"Delay": 15, "MaxAttempts": 80}
                )
            except Exception:  # noqa: S112 - the next step reports what is still in the way
                continue

    return wait


# --------------------------------------------------------------------------- data, messaging


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


def _delete_queue(clients: Clients, region: str, name: str) -> str:
    sqs = clients("sqs", region)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    return "deleted"


def _delete_topic(clients: Clients, region: str, name: str) -> str:
    sns = clients("sns", region)
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                sns.delete_topic(TopicArn=topic["TopicArn"])
                return "deleted"
    raise _GoneError


def _delete_log_group(clients: Clients, region: str, name: str) -> str:
    clients("logs", region).delete_log_group(logGroupName=name)
    return "deleted"


def _delete_secret(clients: Clients, region: str, name: str) -> str:
    secrets = clients("secretsmanager", region)
    secrets.describe_secret(SecretId=name)  # deleting a missing secret is not an error
    secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    return "deleted (without recovery window)"


def _delete_certificate(clients: Clients, region: str, name: str) -> str:
    acm = clients("acm", region)
    summaries = acm.list_certificates().get("CertificateSummaryList", [])
    arns = [c["CertificateArn"] for c in summaries if c.get("DomainName") == name]
    if not arns:
        raise _GoneError
    for arn in arns:
        acm.delete_certificate(CertificateArn=arn)
    return "deleted" if len(arns) == 1 else f"deleted ({len(arns)} certificates)"


# --------------------------------------------------------------------------- keys, storage, iam


def _delete_kms_alias(clients: Clients, region: str, name: str) -> str:
    clients("kms", region).delete_alias(AliasName=name)
    return "deleted"


def _delete_kms_key(clients: Clients, region: str, name: str) -> str:
    kms = clients("kms", region)
    if kms.describe_key(KeyId=name)["KeyMetadata"]["KeyState"] == "PendingDeletion":
        return "already scheduled for deletion"
    kms.schedule_key_deletion(KeyId=name, PendingWindowInDays=KMS_PENDING_WINDOW_DAYS)
    return f"scheduled for deletion in {KMS_PENDING_WINDOW_DAYS} days"


def _bucket_region(clients: Clients, region: str, bucket: str) -> str:
    location = clients("s3", region).get_bucket_location(Bucket=bucket).get("LocationConstraint")
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else str(location)


def _delete_bucket(clients: Clients, region: str, name: str) -> str:
    s3 = clients("s3", _bucket_region(clients, region, name))
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        ]
        for start in range(0, len(objects), 1000):
            batch = objects[start : start + 1000]
            answer = s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise RuntimeError(
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
            removed += len(batch)
    s3.delete_bucket(Bucket=name)
    return f"emptied ({removed} object version(s) and delete marker(s)) and deleted"


def _delete_role(clients: Clients, region: str, name: str) -> str:
    iam = clients("iam", region)
    inline = iam.list_role_policies(RoleName=name).get("PolicyNames", [])
    for policy in inline:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    attached = iam.list_attached_role_policies(RoleName=name).get("AttachedPolicies", [])
    for policy in attached:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    profiles = iam.list_instance_profiles_for_role(RoleName=name).get("InstanceProfiles", [])
    for profile in profiles:
        iam.remove_role_from_instance_profile(
            InstanceProfileName=profile["InstanceProfileName"], RoleName=name
        )
    iam.delete_role(RoleName=name)
    return f"deleted ({len(inline)} inline and {len(attached)} attached policy(ies) removed first)"


# --------------------------------------------------------------------------- network


def _unsuccessful(answer: Any) -> None:
    failed = answer.get("Unsuccessful", [])
    if failed:
        error = failed[0].get("Error", {})
        if "NotFound" in str(error.get("Code", "")):
            raise _GoneError
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


def _revoke_group_rules(clients: Clients, items: Sequence[_Item]) -> None:
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


# --------------------------------------------------------------------------- route 53


def _delete_health_check(clients: Clients, region: str, name: str) -> str:
    clients("route53", region).delete_health_check(HealthCheckId=name)
    return "deleted"


def _delete_record(clients: Clients, region: str, name: str) -> str:
    """``name`` is ``<fqdn> <type> [<set identifier>]``; the record is looked for in every zone."""
    fqdn, record_type, *rest = name.split(" ", 2)
    identifier = rest[0] if rest else None
    route53 = clients("route53", region)
    for page in route53.get_paginator("list_hosted_zones").paginate():
        for zone in page.get("HostedZones", []):
            records = route53.list_resource_record_sets(
                HostedZoneId=zone["Id"], StartRecordName=fqdn, StartRecordType=record_type
            )["ResourceRecordSets"]
            for record in records:
                same = record["Name"] == fqdn and record["Type"] == record_type
                if same and record.get("SetIdentifier") == identifier:
                    route53.change_resource_record_sets(
                        HostedZoneId=zone["Id"],
                        ChangeBatch={
                            "Changes": [{"Action": "DELETE", "ResourceRecordSet": record}]
                        },
                    )
                    return f"deleted (zone {zone['Name']})"
    raise _GoneError


# --------------------------------------------------------------------------- the order

Deleter = Callable[[Clients, str, str], str]
Batch = Callable[[Clients, Sequence[_Item]], None]

#: Kind -> how to delete one. The order of this table is the order of the sweep.
_DELETERS: dict[str, Deleter] = {
    "route53 record": _delete_record,
    "route53 health check": _delete_health_check,
    "api domain name": _delete_api_domain,
    "http api": _delete_http_api,
    "alarm": _delete_alarm,
    "lambda function": _delete_function,
    "rds instance": _delete_db_instance,
    "rds cluster": _delete_db_cluster,
    "rds global cluster": _delete_global_cluster,
    "db subnet group": _delete_subnet_group,
    "db cluster parameter group": _delete_cluster_parameter_group,
    "db parameter group": _delete_parameter_group,
    "dynamodb table": _delete_table,
    "sqs queue": _delete_queue,
    "sns topic": _delete_topic,
    "log group": _delete_log_group,
    "secret": _delete_secret,
    "acm certificate": _delete_certificate,
    "vpc endpoint": _delete_vpc_endpoint,
    "flow log": _delete_flow_log,
    "subnet": _delete_subnet,
    "route table": _delete_route_table,
    "internet gateway": _delete_internet_gateway,
    "security group": _delete_security_group,
    "vpc": _delete_vpc,
    "kms alias": _delete_kms_alias,
    "kms key": _delete_kms_key,
    "s3 bucket": _delete_bucket,
    "global iam role": _delete_role,
}
_BEFORE: dict[str, Batch] = {"security group": _revoke_group_rules}
_AFTER: dict[str, Batch] = {
    "rds instance": _wait_rds("db_instance_deleted", "DBInstanceIdentifier"),
    "rds cluster": _wait_rds("db_cluster_deleted", "DBClusterIdentifier"),
}
_RANK = {kind: rank for rank, kind in enumerate(_DELETERS)}


def _item(leftover: LeftoverLike, default_region: str) -> _Item:
    label = f"{leftover.kind} {leftover.name}"
    if leftover.kind in _GLOBAL_KINDS:
        return _Item(leftover.kind, default_region, leftover.name, label)
    region, _, kind = leftover.kind.partition(" ")
    return _Item(kind, region, leftover.name, label)


def sweep_order(leftovers: Iterable[LeftoverLike], region: str = "us-east-1") -> list[str]:
    """``"<kind> <name>"`` of ``leftovers`` in the order :func:`sweep` deletes them."""
    items = [_item(leftover, region) for leftover in leftovers]
    return [i.label for i in sorted(items, key=lambda i: _RANK.get(i.kind, len(_RANK)))]


def _delete_one(clients: Clients, item: _Item) -> str:
    deleter = _DELETERS.get(item.kind)
    if deleter is None:
        return f"{item.label}: NOT deleted: no sweeper for the kind {item.kind!r}"
    try:
        return f"{item.label}: {deleter(clients, item.region, item.name)}"
    except _GoneError:
        return f"{item.label}: already gone"
    except Exception as exc:
        if _is_not_found(exc):
            return f"{item.label}: already gone"
        return f"{item.label}: NOT deleted: {type(exc).__name__}: {exc}"


def sweep(
    clients: Clients, leftovers: Sequence[LeftoverLike], *, region: str = "us-east-1"
) -> list[str]:
    """Delete each of ``leftovers``; one line per item: what was done, or why not.

    ``region`` is where the global services (IAM, Route 53, the bucket location lookup) are
    called. Never raises for one item: its line says ``NOT deleted`` with the error (or
    ``already gone``), and the sweep goes on; run it again once the cause is fixed.
    """
    items = sorted(
        (_item(leftover, region) for leftover in leftovers),
        key=lambda i: _RANK.get(i.kind, len(_RANK)),
    )
    lines: list[str] = []
    for kind in dict.fromkeys(i.kind for i in items):
        group = [i for i in items if i.kind == kind]
        if kind in _BEFORE:
            _BEFORE[kind](clients, group)
        lines += [_delete_one(clients, item) for item in group]
        if kind in _AFTER:
            _AFTER[kind](clients, group)
    return lines
