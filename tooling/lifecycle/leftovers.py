"""What of the platform is still there after a destroy: the leftover check.

Terraform's own "Destroy complete!" only speaks for what is in its state; a resource created
outside it, or one whose delete silently failed, would stay and cost money or collide with the
next deploy. So every resource type the platform creates is listed here and matched by the
platform's names and tags.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tooling.lifecycle.backend import BackendSpec
    from tooling.lifecycle.session import Session

__all__ = ["Leftover", "Owner", "leftovers"]


@dataclass(frozen=True)
class Leftover:
    """A resource of the platform still there: its kind (with its region) and its name or id."""

    kind: str
    name: str


@dataclass(frozen=True)
class Owner:
    """Which resources count as the platform's: its name prefix, cost center, environments."""

    spec: BackendSpec
    environments: frozenset[str]

    def named(self, name: str | None) -> bool:
        """``<platform>-...`` names, also as a path part (``/aws/lambda/tap-x-dev``,
        ``/tap/dev/api-access``), of one of the environments (a ``-``/``/`` separated token)."""
        if not name:
            return False
        platform = self.spec.platform
        parts = [part for part in str(name).split("/") if part]
        if not any(part == platform or part.startswith(f"{platform}-") for part in parts):
            return False
        return not self.environments or bool(self.environments & set(re.split(r"[/\-]", str(name))))

    def tagged(
        self, tags: Iterable[Mapping[str, str]], key: str = "Key", value: str = "Value"
    ) -> bool:
        """``CostCenter`` of the platform and ``Environment`` one of the environments."""
        found = {tag[key]: tag[value] for tag in tags}
        if found.get("CostCenter") != self.spec.cost_center:
            return False
        return not self.environments or found.get("Environment") in self.environments


def _ec2(session: Session, region: str, owner: Owner, cidrs: set[str]) -> list[Leftover]:
    """VPCs (by CIDR, Name or tags) and every tagged network resource the platform creates."""
    ec2 = session.client("ec2", region)
    found = []
    for vpc in ec2.describe_vpcs()["Vpcs"]:
        tags = vpc.get("Tags", [])
        name = next((t["Value"] for t in tags if t["Key"] == "Name"), None)
        mine = vpc["CidrBlock"] in cidrs or owner.named(name) or owner.tagged(tags)
        if mine and not vpc.get("IsDefault"):
            found.append(Leftover(f"{region} vpc", vpc["VpcId"]))
    vpc_ids = {f.name for f in found}
    listings: list[tuple[str, str, str, str]] = [
        ("subnet", "describe_subnets", "Subnets", "SubnetId"),
        ("security group", "describe_security_groups", "SecurityGroups", "GroupId"),
        ("internet gateway", "describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
        ("route table", "describe_route_tables", "RouteTables", "RouteTableId"),
        ("vpc endpoint", "describe_vpc_endpoints", "VpcEndpoints", "VpcEndpointId"),
        ("flow log", "describe_flow_logs", "FlowLogs", "FlowLogId"),
    ]
    for kind, call, key, ident in listings:
        for item in getattr(ec2, call)()[key]:
            if str(item.get("State", "")).lower() == "deleted":  # e.g. VPC endpoints, like AWS
                continue
            attached = item.get("VpcId") in vpc_ids or any(
                a.get("VpcId") in vpc_ids for a in item.get("Attachments", [])
            )
            if attached or owner.tagged(item.get("Tags", [])):
                found.append(Leftover(f"{region} {kind}", item[ident]))
    return found


def _kms(session: Session, region: str, owner: Owner) -> list[Leftover]:
    """Keys (by tags) and aliases (by name) of the platform, except the state keys: they
    outlive every stack (bootstrap creates them; the state they encrypt is kept)."""
    kms = session.client("kms", region)
    aliases = kms.list_aliases()["Aliases"]
    state_aliases = owner.spec.kms_aliases
    state_keys = {a.get("TargetKeyId") for a in aliases if a["AliasName"] in state_aliases}
    found = []
    for key in kms.list_keys()["Keys"]:
        if key["KeyId"] in state_keys:
            continue
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") != "CUSTOMER" or meta["KeyState"] == "PendingDeletion":
            continue
        tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
        if owner.tagged(tags, key="TagKey", value="TagValue"):
            found.append(Leftover(f"{region} kms key", key["KeyId"]))
    for alias in aliases:
        if alias["AliasName"] in state_aliases:
            continue
        if owner.named(alias["AliasName"].removeprefix("alias/")):
            found.append(Leftover(f"{region} kms alias", alias["AliasName"]))
    return found


def _secrets(session: Session, region: str, owner: Owner) -> list[Leftover]:
    """Secrets named like the platform's, and secrets a service manages for one of its
    resources (the RDS master user secret names its cluster only in a tag)."""
    found = []
    for secret in session.client("secretsmanager", region).list_secrets()["SecretList"]:
        tags = secret.get("Tags", [])
        owners = [
            t["Value"].rsplit(":", 1)[-1] for t in tags if t["Key"].startswith("aws:rds:primary")
        ]
        if owner.named(secret["Name"]) or owner.tagged(tags) or any(map(owner.named, owners)):
            found.append(Leftover(f"{region} secret", secret["Name"]))
    return found


def _regional(session: Session, region: str, owner: Owner) -> list[Leftover]:
    """Named resources of the platform."""
    spec = owner.spec
    c = functools.partial(session.client, region=region)
    listings: list[tuple[str, Callable[[], Iterable[str]]]] = [
        ("dynamodb table", lambda: [
            t for t in c("dynamodb").list_tables()["TableNames"] if t != spec.lock_table
        ]),
        ("lambda function", lambda: [
            f["FunctionName"] for f in c("lambda").list_functions()["Functions"]
        ]),
        ("rds cluster", lambda: [
            d["DBClusterIdentifier"] for d in c("rds").describe_db_clusters()["DBClusters"]
        ]),
        ("rds instance", lambda: [
            d["DBInstanceIdentifier"] for d in c("rds").describe_db_instances()["DBInstances"]
        ]),
        ("db subnet group", lambda: [
            g["DBSubnetGroupName"] for g in c("rds").describe_db_subnet_groups()["DBSubnetGroups"]
        ]),
        ("db cluster parameter group", lambda: [
            g["DBClusterParameterGroupName"]
            for g in c("rds").describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
        ]),
        ("sqs queue", lambda: [
            u.rsplit("/", 1)[-1] for u in c("sqs").list_queues().get("QueueUrls", [])
        ]),
        ("sns topic", lambda: [
            t["TopicArn"].rsplit(":", 1)[-1] for t in c("sns").list_topics().get("Topics", [])
        ]),
        ("alarm", lambda: [
            a["AlarmName"] for a in c("cloudwatch").describe_alarms().get("MetricAlarms", [])
        ]),
        ("http api", lambda: [a["Name"] for a in c("apigatewayv2").get_apis().get("Items", [])]),
        ("log group", lambda: [
            g["logGroupName"] for g in c("logs").describe_log_groups().get("logGroups", [])
        ]),
    ]  # fmt: skip
    found: list[Leftover] = []
    for kind, listing in listings:
        found += [Leftover(f"{region} {kind}", name) for name in listing() if owner.named(name)]
    return found


def _tag_list(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def _global_data(session: Session, region: str, owner: Owner) -> list[Leftover]:
    """Multi-region parts: Aurora global clusters, API custom domain names, certificates."""
    found: list[Leftover] = []
    rds = session.client("rds", region)
    for cluster in rds.describe_global_clusters().get("GlobalClusters", []):
        if owner.named(cluster["GlobalClusterIdentifier"]):
            name = cluster["GlobalClusterIdentifier"]
            found.append(Leftover(f"{region} rds global cluster", name))
    for domain in session.client("apigatewayv2", region).get_domain_names().get("Items", []):
        if owner.tagged(_tag_list(domain.get("Tags"))):
            found.append(Leftover(f"{region} api domain name", domain["DomainName"]))
    acm = session.client("acm", region)
    for certificate in acm.list_certificates().get("CertificateSummaryList", []):
        arn = certificate["CertificateArn"]
        if owner.tagged(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags", [])):
            found.append(Leftover(f"{region} acm certificate", certificate["DomainName"]))
    return found


def _route53(session: Session, region: str, owner: Owner, dns_names: set[str]) -> list[Leftover]:
    """Health checks of the platform (by tags) and records of ``dns_names`` (and names under
    them, e.g. certificate validation records) in any hosted zone; never SOA/NS."""
    route53 = session.client("route53", region)
    found: list[Leftover] = []
    for check in route53.list_health_checks().get("HealthChecks", []):
        tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])
        if owner.tagged(tags.get("ResourceTagSet", {}).get("Tags", [])):
            found.append(Leftover("route53 health check", check["Id"]))
    wanted = {name.rstrip(".") + "." for name in dns_names}
    if not wanted:
        return found
    for zone in route53.list_hosted_zones().get("HostedZones", []):
        records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
        for record in records:
            name = record["Name"]
            mine = any(name == w or name.endswith(f".{w}") for w in wanted)
            if mine and record["Type"] not in ("SOA", "NS"):
                where = record.get("SetIdentifier", "")
                found.append(Leftover("route53 record", f"{name} {record['Type']} {where}".strip()))
    return found


def leftovers(
    session: Session,
    regions: Iterable[str],
    spec: BackendSpec,
    *,
    cidrs: Iterable[str] = (),
    environments: Iterable[str] = (),
    dns_names: Iterable[str] = (),
) -> list[Leftover]:
    """Everything of the platform's ``environments`` (all when empty) still in ``regions``.

    Empty: nothing left. Checks every resource type the platform creates (the owned parts of a
    resource, e.g. bucket settings, table indexes, routes, rules and policies, go with it):
    VPCs (by CIDR, ``Name`` or tags; never the default VPC) with their subnets, security groups,
    internet gateways, route tables, VPC endpoints and flow logs; KMS keys (not pending
    deletion) and aliases (not the state keys); buckets (not the state buckets); DynamoDB
    tables (not the lock table);
    Lambda functions; RDS clusters, instances, subnet groups and cluster parameter groups;
    secrets (including the RDS-managed master user secret); SQS queues; SNS topics; alarms;
    HTTP APIs; log groups; IAM roles; Aurora global clusters, API custom domain names and ACM
    certificates (by tags), Route 53 health checks (by tags) and the records of ``dns_names``
    (e.g. ``api.<zone>``, and names under it) in every hosted zone. A resource is the
    platform's by its ``<platform>-`` name (an environment's name is one of its ``-``/``/``
    separated tokens) or its ``CostCenter`` and ``Environment`` tags.
    """
    owner = Owner(spec, frozenset(environments))
    found: list[Leftover] = []
    for region in sorted(set(regions)):
        found += _ec2(session, region, owner, set(cidrs))
        buckets = session.client("s3", region).list_buckets().get("Buckets", [])
        found += [
            Leftover("s3 bucket", b["Name"])
            for b in buckets
            if owner.named(b["Name"]) and b["Name"] not in spec.buckets
        ]
        found += _regional(session, region, owner)
        found += _kms(session, region, owner)
        found += _secrets(session, region, owner)
        found += _global_data(session, region, owner)
    found += _route53(session, spec.region, owner, set(dns_names))
    roles = session.client("iam", spec.region).list_roles()["Roles"]
    # The key administrators are the account's, made by bootstrap like the state buckets: they
    # outlive every destroy (the next deploy's key policies name them again).
    key_admins = {role.name for role in spec.key_admin_roles}
    found += [
        Leftover("global iam role", r["RoleName"])
        for r in roles
        if owner.named(r["RoleName"]) and r["RoleName"] not in key_admins
    ]
    return found
