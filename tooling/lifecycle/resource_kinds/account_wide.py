"""The kinds that belong to no region: Route 53 records and health checks, S3 buckets (one
namespace for all regions) and IAM roles.

Route 53 and IAM are global services, called through the home region. Records are the
platform's by their DNS name (one of the deployment's, or a name under it: certificate
validation records), never SOA or NS; health checks by their tags; buckets and roles by name,
except what bootstrap made for every deployment: the state buckets and the key administrators.
"""

from __future__ import annotations

from tooling.lifecycle.resource_kinds.model import Clients, GoneError, Kind, Scan, Scope

__all__ = ["BUCKET", "DNS_RECORD", "HEALTH_CHECK", "ROLE"]


def _records(scan: Scan, region: str) -> list[str]:
    """``<fqdn> <type> [<set identifier>]`` of the records of the deployment's DNS names (and
    names under them) in every hosted zone."""
    wanted = {name.rstrip(".") + "." for name in scan.dns_names}
    if not wanted:
        return []
    route53 = scan.clients("route53", region)
    found = []
    for zone in route53.list_hosted_zones().get("HostedZones", []):
        records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
        for record in records:
            name = record["Name"]
            mine = any(name == w or name.endswith(f".{w}") for w in wanted)
            if mine and record["Type"] not in ("SOA", "NS"):
                where = record.get("SetIdentifier", "")
                found.append(f"{name} {record['Type']} {where}".strip())
    return found


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
    raise GoneError


def _health_checks(scan: Scan, region: str) -> list[str]:
    route53 = scan.clients("route53", region)
    found = []
    for check in route53.list_health_checks().get("HealthChecks", []):
        tags = route53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=check["Id"])
        if scan.owner.tagged(tags.get("ResourceTagSet", {}).get("Tags", [])):
            found.append(check["Id"])
    return found


def _delete_health_check(clients: Clients, region: str, name: str) -> str:
    clients("route53", region).delete_health_check(HealthCheckId=name)
    return "deleted"


def _buckets(scan: Scan, region: str) -> list[str]:
    """The platform's buckets, except the state buckets."""
    buckets = scan.clients("s3", region).list_buckets().get("Buckets", [])
    state = scan.owner.spec.buckets
    return [b["Name"] for b in buckets if scan.owner.named(b["Name"]) and b["Name"] not in state]


def _bucket_region(clients: Clients, region: str, bucket: str) -> str:
    location = clients("s3", region).get_bucket_location(Bucket=bucket).get("LocationConstraint")
    if not location:
        return "us-east-1"
    return "eu-west-1" if location == "EU" else str(location)


def _delete_bucket(clients: Clients, region: str, name: str) -> str:
    """Every object version and delete marker first: S3 deletes only a bucket without any
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html)."""
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


def _roles(scan: Scan, region: str) -> list[str]:
    """The platform's roles, except the key administrators: the account's, made by bootstrap
    like the state buckets, they outlive every destroy (the next deploy's key policies name
    them again)."""
    roles = scan.clients("iam", region).list_roles()["Roles"]
    key_admins = {role.name for role in scan.owner.spec.key_admin_roles}
    return [
        r["RoleName"]
        for r in roles
        if scan.owner.named(r["RoleName"]) and r["RoleName"] not in key_admins
    ]


def _delete_role(clients: Clients, region: str, name: str) -> str:
    """Its inline and attached policies and its instance profiles first: IAM refuses to delete
    a role that still has any (https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html)."""
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


DNS_RECORD = Kind("route53 record", _records, _delete_record, Scope.GLOBAL)
HEALTH_CHECK = Kind("route53 health check", _health_checks, _delete_health_check, Scope.GLOBAL)
BUCKET = Kind("s3 bucket", _buckets, _delete_bucket, Scope.GLOBAL_LISTED_PER_REGION)
ROLE = Kind("global iam role", _roles, _delete_role, Scope.GLOBAL)
