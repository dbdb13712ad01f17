"""The registry of the resource kinds the platform creates: for each, how the leftover check
finds the platform's resources of it and how the sweep deletes one, in the order AWS accepts.

One registry for both, so a kind the platform gains is found and swept alike, or neither.
:data:`KINDS` is in the order of the sweep: what uses a resource goes before it (records and
the API's domain before the API; functions and APIs before their roles; DB instances before
clusters before global clusters and subnet groups; VPC endpoints, flow logs, subnets, route
tables, internet gateways and security groups before the VPC; aliases before their key).

==============  ===========================================================================
module          kinds
==============  ===========================================================================
model           what a kind is (:class:`Kind`, :class:`Scope`), the owner's naming and tags
                (:class:`Owner`), what a check finds (:class:`Leftover`) and a sweep deletes
account_wide    Route 53 records and health checks, S3 buckets, IAM roles
applications    Lambda functions, HTTP APIs and their domain names, queues, topics, alarms,
                log groups
databases       RDS instances, clusters, global clusters, subnet and parameter groups;
                DynamoDB tables
keys            KMS keys and aliases, secrets, ACM certificates
network         the VPC and its parts
==============  ===========================================================================
"""

from __future__ import annotations

from tooling.lifecycle.resource_kinds import account_wide, applications, databases, keys, network
from tooling.lifecycle.resource_kinds.model import Kind

__all__ = ["KINDS", "kind_named"]

KINDS: tuple[Kind, ...] = (
    account_wide.DNS_RECORD,
    account_wide.HEALTH_CHECK,
    applications.API_DOMAIN_NAME,
    applications.HTTP_API,
    applications.ALARM,
    applications.FUNCTION,
    databases.DB_INSTANCE,
    databases.DB_CLUSTER,
    databases.GLOBAL_CLUSTER,
    databases.DB_SUBNET_GROUP,
    databases.DB_CLUSTER_PARAMETER_GROUP,
    databases.DB_PARAMETER_GROUP,
    databases.TABLE,
    applications.QUEUE,
    applications.TOPIC,
    applications.LOG_GROUP,
    keys.SECRET,
    keys.CERTIFICATE,
    network.VPC_ENDPOINT,
    network.FLOW_LOG,
    network.SUBNET,
    network.ROUTE_TABLE,
    network.INTERNET_GATEWAY,
    network.SECURITY_GROUP,
    network.VPC,
    keys.KMS_ALIAS,
    keys.KMS_KEY,
    account_wide.BUCKET,
    account_wide.ROLE,
)

_BY_NAME = {kind.name: kind for kind in KINDS}


def kind_named(name: str) -> Kind | None:
    """The kind the leftover check names ``name`` (without the region), if any."""
    return _BY_NAME.get(name)
