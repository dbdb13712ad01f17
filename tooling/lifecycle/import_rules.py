"""How each resource type's ``terraform import`` ID is made: ONE table, ``{type: rule}``.

Why one table: the import ID of a type is a fact of the aws provider (its documentation's
"Import" section per resource,
https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs), so each type has one rule
and nothing about a type lives anywhere else. A rule takes the resource's attribute values as
Terraform planned them (:mod:`.import_ids` reads them from a saved plan: references to the state
and to data sources already resolved, an unknown value left out) and the :class:`.Resolver`
for the IDs only AWS knows, and returns the ID; None when a value it needs is not known (it
depends on a resource not adopted yet: the next adoption round retries) or AWS has no such
resource.

The types are those of the synthesized stacks whose create can collide with something that
already exists under the same name or key (an interrupted apply created it, or a create was
retried after its response was lost), plus types created idempotently whose adoption is
harmless (a bucket's sub-resources, an inline policy, an alarm).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tooling.lifecycle.import_lookups import PEER_KINDS, Resolver, SecurityGroupRule

__all__ = ["IMPORT_RULES", "Attributes", "ImportRule"]

#: A resource's planned attribute values (an unknown one is absent, an unset one is None).
Attributes = Mapping[str, Any]
#: Makes the import ID of one resource from its attributes (None: not known).
ImportRule = Callable[[Attributes, Resolver], str | None]


def _text(values: Attributes, name: str) -> str | None:
    """``values[name]`` as a non-empty string (a number as its digits); None otherwise."""
    value = values.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


def _attribute(name: str) -> ImportRule:
    """The ID is the attribute ``name`` (a bucket's ``bucket``, a role's ``name``)."""

    def rule(values: Attributes, resolve: Resolver) -> str | None:
        return _text(values, name)

    return rule


def _joined(separator: str, *names: str) -> ImportRule:
    """The ID is the attributes ``names`` joined by ``separator``, all of them needed."""

    def rule(values: Attributes, resolve: Resolver) -> str | None:
        parts = [_text(values, name) for name in names]
        known = [part for part in parts if part is not None]
        return separator.join(known) if len(known) == len(parts) else None

    return rule


def _one_of(values: Attributes, names: tuple[str, ...]) -> tuple[str, str] | None:
    """(name, value) of the one attribute of ``names`` that is set; None when none or several
    are, or any of them is unknown (absent)."""
    if any(name not in values for name in names):
        return None
    present = [(name, _text(values, name)) for name in names if values[name] is not None]
    if len(present) != 1 or present[0][1] is None:
        return None
    return present[0][0], str(present[0][1])


def _bucket_part(values: Attributes, resolve: Resolver) -> str | None:
    """A bucket's sub-resource: the bucket's name, ``BUCKET,EXPECTED_BUCKET_OWNER`` when the
    owner is given, e.g.
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/s3_bucket_versioning#import
    """
    bucket = _text(values, "bucket")
    if bucket is None or values.get("expected_bucket_owner") is None:
        return bucket
    owner = _text(values, "expected_bucket_owner")
    return f"{bucket},{owner}" if owner else None


def _queue(values: Attributes, resolve: Resolver) -> str | None:
    """A queue is imported by its URL, which AWS makes:
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/sqs_queue#import
    """
    name = _text(values, "name")
    return resolve.queue_url(name) if name else None


def _topic(values: Attributes, resolve: Resolver) -> str | None:
    """A topic is imported by its ARN:
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/sns_topic#import
    """
    name = _text(values, "name")
    return resolve.topic_arn(name) if name else None


def _secret(values: Attributes, resolve: Resolver) -> str | None:
    """A secret is imported by its ARN, whose random suffix AWS makes:
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/secretsmanager_secret#import
    """
    name = _text(values, "name")
    return resolve.secret_arn(name) if name else None


def _record(values: Attributes, resolve: Resolver) -> str | None:
    """``ZONEID_NAME_TYPE``, ``_SETIDENTIFIER`` appended for a record with a routing policy
    (the name without its final dot):
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/route53_record#import
    """
    zone, name, kind = (_text(values, a) for a in ("zone_id", "name", "type"))
    if not (zone and name and kind) or "set_identifier" not in values:
        return None
    identifier = _text(values, "set_identifier") or ""
    return "_".join(part for part in (zone, name.rstrip("."), kind, identifier) if part)


def _lambda_permission(values: Attributes, resolve: Resolver) -> str | None:
    """``FUNCTION/STATEMENT_ID``, ``FUNCTION:QUALIFIER/STATEMENT_ID`` for a permission of a
    version or alias:
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/lambda_permission#import
    """
    function, statement = _text(values, "function_name"), _text(values, "statement_id")
    if not (function and statement) or "qualifier" not in values:
        return None
    qualifier = _text(values, "qualifier")
    return f"{function}:{qualifier}/{statement}" if qualifier else f"{function}/{statement}"


_ROUTE_DESTINATIONS = (
    "destination_cidr_block",
    "destination_ipv6_cidr_block",
    "destination_prefix_list_id",
)


def _route(values: Attributes, resolve: Resolver) -> str | None:
    """``ROUTETABLEID_DESTINATION``: the route table and the route's one destination (a CIDR
    block or a prefix list):
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/route#import
    """
    table, destination = _text(values, "route_table_id"), _one_of(values, _ROUTE_DESTINATIONS)
    return f"{table}_{destination[1]}" if table and destination else None


def _route_table_association(values: Attributes, resolve: Resolver) -> str | None:
    """``SUBNETID/ROUTETABLEID``, or ``GATEWAYID/ROUTETABLEID`` for a gateway's association:
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/route_table_association#import
    """
    table = _text(values, "route_table_id")
    associated = _one_of(values, ("subnet_id", "gateway_id"))
    return f"{associated[1]}/{table}" if table and associated else None


def _security_group(values: Attributes, resolve: Resolver) -> str | None:
    """A group is imported by its ``sg-`` ID, found in AWS by its VPC and name:
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/security_group#import
    """
    vpc, name = _text(values, "vpc_id"), _text(values, "name")
    return resolve.security_group_id(vpc, name) if vpc and name else None


def _subnet(values: Attributes, resolve: Resolver) -> str | None:
    """A subnet is imported by its ``subnet-`` ID, found in AWS by its VPC and CIDR block (no
    two subnets of a VPC overlap):
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/subnet#import
    """
    vpc, block = _text(values, "vpc_id"), _text(values, "cidr_block")
    return resolve.subnet_id(vpc, block) if vpc and block else None


def _ports(values: Attributes) -> tuple[int | None, int | None] | None:
    """A rule's (from, to) ports, each None when unset (a rule of all protocols); None when
    either is unknown or not a number."""
    ports: list[int | None] = []
    for name in ("from_port", "to_port"):
        value = values.get(name, False)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return None
        ports.append(value)
    return ports[0], ports[1]


def _security_group_rule(egress: bool) -> ImportRule:
    """A ``aws_vpc_security_group_{egress,ingress}_rule`` is imported by its ``sgr-`` ID, found
    in AWS by its group, direction, protocol, ports and one peer:
    https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/vpc_security_group_egress_rule#import
    """

    def rule(values: Attributes, resolve: Resolver) -> str | None:
        group, protocol = _text(values, "security_group_id"), _text(values, "ip_protocol")
        peer, ports = _one_of(values, PEER_KINDS), _ports(values)
        if not (group and protocol and peer and ports):
            return None
        found = SecurityGroupRule(group, egress, protocol, *ports, peer[0], peer[1])
        return resolve.security_group_rule_id(found)

    return rule


#: The S3 bucket sub-resources of the stacks, each imported by its bucket.
_BUCKET_PARTS = (
    "versioning",
    "server_side_encryption_configuration",
    "public_access_block",
    "policy",
    "logging",
    "lifecycle_configuration",
    "notification",
    "ownership_controls",
)

#: The import ID rule of each supported resource type.
IMPORT_RULES: Mapping[str, ImportRule] = {
    "aws_s3_bucket": _attribute("bucket"),
    **{f"aws_s3_bucket_{part}": _bucket_part for part in _BUCKET_PARTS},
    "aws_dynamodb_table": _attribute("name"),
    "aws_iam_role": _attribute("name"),
    # ROLE:POLICY, https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/iam_role_policy#import
    "aws_iam_role_policy": _joined(":", "role", "name"),
    # ROLE/POLICY_ARN,
    # https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/iam_role_policy_attachment#import
    "aws_iam_role_policy_attachment": _joined("/", "role", "policy_arn"),
    "aws_cloudwatch_log_group": _attribute("name"),
    "aws_cloudwatch_metric_alarm": _attribute("alarm_name"),
    "aws_lambda_function": _attribute("function_name"),
    "aws_lambda_permission": _lambda_permission,
    "aws_kms_alias": _attribute("name"),
    "aws_rds_cluster": _attribute("cluster_identifier"),
    "aws_rds_cluster_instance": _attribute("identifier"),
    "aws_db_instance": _attribute("identifier"),
    "aws_db_subnet_group": _attribute("name"),
    "aws_rds_cluster_parameter_group": _attribute("name"),
    "aws_db_parameter_group": _attribute("name"),
    "aws_rds_global_cluster": _attribute("global_cluster_identifier"),
    "aws_apigatewayv2_domain_name": _attribute("domain_name"),
    # API_ID/STAGE_NAME, https://registry.terraform.io/providers/hashicorp/aws/5.100.0/docs/resources/apigatewayv2_stage#import
    "aws_apigatewayv2_stage": _joined("/", "api_id", "name"),
    "aws_secretsmanager_secret": _secret,
    "aws_sqs_queue": _queue,
    "aws_sns_topic": _topic,
    "aws_route53_record": _record,
    "aws_route": _route,
    "aws_route_table_association": _route_table_association,
    "aws_security_group": _security_group,
    "aws_subnet": _subnet,
    "aws_vpc_security_group_egress_rule": _security_group_rule(egress=True),
    "aws_vpc_security_group_ingress_rule": _security_group_rule(egress=False),
}
