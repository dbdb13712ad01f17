"""The architecture graph of one deployment, read from its synthesized stacks' JSON.

Nothing here knows the constructs by name: nodes come from the resource types of
``cdk.tf.json`` (a VPC, its subnets grouped by tier, endpoints, the database, each Lambda
function, the HTTP API and its routes grouped by authorization, tables, buckets, the KMS key,
the alarms as one node per stack, the SNS topic, the custom domain and its records) and edges
from what the JSON references: the bucket notification, the routes' integration and authorizer,
the IAM policy statements of each function's role (``${aws_dynamodb_table.X.arn}``-style
expressions, literal ARNs with partition/account placeholders, and outputs of other stacks read
through ``terraform_remote_state``), and the remote state reads between stacks.

The result is plain data (:class:`Graph`); :mod:`tooling.diagram.mermaid` renders it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Edge", "Graph", "Group", "Node", "StackDocument", "extract"]

StackDocument = Mapping[str, Any]

NETWORK_SUFFIX = "-network"
APPLICATION_SUFFIX = "-app"

#: Node kinds a function's policy statement may point at (log groups, the KMS key and the
#: function itself are left out: every function has them, drawing them only adds noise).
ACCESS_KINDS = frozenset({"table", "bucket", "secret", "queue", "database", "topic"})

_EXPRESSION = re.compile(r"\$\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_REFERENCE = re.compile(
    r"(?:(data|ephemeral)\.)?(aws_[a-z0-9_]+|terraform_remote_state)\.([A-Za-z0-9_-]+)"
    r"(?:\.outputs\.([A-Za-z0-9_]+))?"
)
_ARN_NAMES = (
    ("table", re.compile(r":dynamodb:([a-z0-9-]*):[^:]*:table/([^/]+)")),
    ("bucket", re.compile(r":s3:::([^/]+)")),
    ("function", re.compile(r":lambda:([a-z0-9-]*):[^:]*:function:([^:/]+)")),
    ("queue", re.compile(r":sqs:([a-z0-9-]*):[^:]*:([^:/]+)$")),
    ("secret", re.compile(r":secretsmanager:([a-z0-9-]*):[^:]*:secret:([^*]+?)(?:-\?{6})?\*?$")),
)


@dataclass(frozen=True, order=True)
class Group:
    """A subgraph: a region, a stack, or a box inside a stack (VPC, functions, endpoints)."""

    id: str
    label: str
    parent: str | None = None


@dataclass(frozen=True, order=True)
class Node:
    id: str
    label: str
    kind: str
    group: str


@dataclass(frozen=True, order=True)
class Edge:
    """``source`` reads, writes, triggers or refers to ``target``; style: solid or dotted."""

    source: str
    target: str
    label: str
    style: str = "solid"


@dataclass
class Graph:
    title: str
    groups: dict[str, Group] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    edge_labels: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)

    def add_group(self, group: Group) -> str:
        self.groups.setdefault(group.id, group)
        return group.id

    def add_node(self, node: Node) -> str:
        self.nodes.setdefault(node.id, node)
        return node.id

    def connect(self, source: str, target: str, label: str, style: str = "solid") -> None:
        if source == target:
            return
        labels = self.edge_labels.setdefault((source, target, style), [])
        if label and label not in labels:
            labels.append(label)

    @property
    def edges(self) -> list[Edge]:
        return sorted(
            Edge(source, target, ", ".join(sorted(labels)), style)
            for (source, target, style), labels in self.edge_labels.items()
        )


def slug(text: str) -> str:
    """A Mermaid-safe identifier part."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def _strip(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "//"}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key != "//":
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@dataclass(frozen=True)
class _Stack:
    name: str
    document: StackDocument
    region: str
    kind: str  # "network" | "app"

    def resources(self, resource_type: str) -> list[tuple[str, dict[str, Any]]]:
        found = self.document.get("resource", {}).get(resource_type, {})
        return sorted((name, dict(body)) for name, body in found.items())

    def path(self, body: Mapping[str, Any], fallback: str) -> str:
        """The construct path below the stack (``Tables/TradesTable``)."""
        path = str(body.get("//", {}).get("metadata", {}).get("path", fallback))
        return path.removeprefix(self.name + "/")

    def node_id(self, body: Mapping[str, Any], fallback: str) -> str:
        return f"{slug(self.name)}__{slug(self.path(body, fallback))}"


class _Extractor:
    def __init__(self, environment: str, regions: Sequence[str], stacks: Mapping[str, Any]):
        self.graph = Graph(title=f"{environment}: {len(regions)} region(s), {len(stacks)} stacks")
        self.stacks: dict[str, _Stack] = {}
        for name, document in sorted(stacks.items()):
            providers = document.get("provider", {}).get("aws", [{}])
            region = str(providers[0].get("region", regions[0]))
            kind = "network" if name.endswith(NETWORK_SUFFIX) else "app"
            self.stacks[name] = _Stack(name, document, region, kind)
        self.regions = [r for r in regions if any(s.region == r for s in self.stacks.values())]
        self.primary = self.regions[0] if self.regions else ""
        #: (stack, "aws_type.name" or "data.aws_type.name") -> the node drawing it
        self.owner: dict[tuple[str, str], str] = {}
        #: (kind, region, name) -> node, for literal ARNs in policies
        self.named: dict[tuple[str, str, str], str] = {}
        self.function_of_role: dict[tuple[str, str], str] = {}

    # -- resolution -------------------------------------------------------------------------

    def resolve(self, stack: _Stack, value: Any, depth: int = 0) -> set[str]:
        """The nodes ``value`` (a string, list or mapping of Terraform values) refers to."""
        found: set[str] = set()
        if depth > 4:
            return found
        for text in _strings(value):
            for expression in _EXPRESSION.findall(text):
                for match in _REFERENCE.finditer(expression):
                    found |= self._reference(stack, match, depth)
            if "${" in text or text.startswith("arn:"):
                found |= self._literal_arn(stack, _EXPRESSION.sub("", text))
        return found

    def _reference(self, stack: _Stack, match: re.Match[str], depth: int) -> set[str]:
        prefix, resource_type, name, output = match.groups()
        if resource_type == "terraform_remote_state":
            source = self._remote_stack(stack, name)
            if source is None or output is None:
                return set()
            value = source.document.get("output", {}).get(output, {}).get("value")
            return self.resolve(source, value, depth + 1)
        address = f"{prefix + '.' if prefix else ''}{resource_type}.{name}"
        if (stack.name, address) in self.owner:
            return {self.owner[(stack.name, address)]}
        if prefix == "ephemeral":  # e.g. a secret version read at apply time, by secret name
            body = _strip(stack.document.get("ephemeral", {}).get(resource_type, {}).get(name, {}))
            found = self.resolve(stack, body, depth + 1)
            named = self.named.get(("secret", stack.region, str(body.get("secret_id"))))
            return found | ({named} if named else set())
        return set()

    def _literal_arn(self, stack: _Stack, arn: str) -> set[str]:
        for kind, pattern in _ARN_NAMES:
            match = pattern.search(arn)
            if match is None:
                continue
            region, name = (stack.region, match.group(1)) if kind == "bucket" else match.groups()
            node = self.named.get((kind, region or stack.region, name))
            return {node} if node else set()
        return set()

    def _remote_stack(self, stack: _Stack, name: str) -> _Stack | None:
        remote = stack.document.get("data", {}).get("terraform_remote_state", {}).get(name, {})
        key = str(remote.get("config", {}).get("key", ""))
        return self.stacks.get(key.rsplit("/", 1)[-1].removesuffix(".tfstate"))

    # -- nodes ------------------------------------------------------------------------------

    def node(
        self, stack: _Stack, kind: str, label: str, group: str, owned: Iterable[tuple[str, str]]
    ) -> str:
        """Add a node drawing the resources ``owned`` ((type, name) pairs) of ``stack``."""
        owned = list(owned)
        resource_type, name = owned[0]
        body = stack.document.get("resource", {}).get(resource_type, {}).get(name, {})
        if resource_type.startswith("data."):
            body = stack.document["data"][resource_type[5:]][name]
        node_id = self.graph.add_node(Node(stack.node_id(body, name), label, kind, group))
        for owned_type, owned_name in owned:
            self.owner[(stack.name, f"{owned_type}.{owned_name}")] = node_id
        return node_id

    def extract(self) -> Graph:
        for index, region in enumerate(self.regions):
            role = "primary" if index == 0 else "secondary"
            label = f"{region} ({role})" if len(self.regions) > 1 else region
            self.graph.add_group(Group(f"region_{slug(region)}", label))
        for stack in self.stacks.values():
            self.graph.add_group(
                Group(slug(stack.name), f"{stack.kind} stack {stack.name}", self._region(stack))
            )
        for stack in self.stacks.values():
            if stack.kind == "network":
                self._network(stack)
        for stack in self.stacks.values():
            if stack.kind == "app":
                self._application_nodes(stack)
        for stack in self.stacks.values():
            if stack.kind == "app":
                self._application_edges(stack)
        self._remote_state_edges()
        return self.graph

    def _region(self, stack: _Stack) -> str:
        return f"region_{slug(stack.region)}"

    def _network(self, stack: _Stack) -> None:
        top = slug(stack.name)
        for name, body in stack.resources("aws_kms_key"):
            aliases = [
                a["name"]
                for _, a in stack.resources("aws_kms_alias")
                if f"aws_kms_key.{name}." in str(a.get("target_key_id", ""))
            ]
            rotation = "<br/>yearly rotation" if body.get("enable_key_rotation") else ""
            label = f"KMS key {' '.join(aliases)}{rotation}".replace("  ", " ")
            self.node(stack, "kms", label, top, [("aws_kms_key", name)])
        subnets = stack.resources("aws_subnet")
        for vpc_name, vpc in stack.resources("aws_vpc"):
            vpc_group = self.graph.add_group(
                Group(stack.node_id(vpc, vpc_name), f"VPC {vpc.get('cidr_block', '')}", top)
            )
            self.owner[(stack.name, f"aws_vpc.{vpc_name}")] = vpc_group
            tiers: dict[str, list[str]] = {}
            for name, body in subnets:
                if f"aws_vpc.{vpc_name}." not in str(body.get("vpc_id", "")):
                    continue
                tier = str(body.get("tags", {}).get("Tier", "subnet"))
                tiers.setdefault(tier, []).append(name)
            tier_nodes: dict[str, str] = {}
            for tier, names in sorted(tiers.items()):
                zones = {str(body.get("availability_zone")) for n, body in subnets if n in names}
                node_id = f"{vpc_group}__{slug(tier)}_subnets"
                self.graph.add_node(
                    Node(
                        node_id,
                        f"{tier} subnets x{len(names)}<br/>{len(zones)} AZs",
                        "subnets",
                        vpc_group,
                    )
                )
                for name in names:
                    self.owner[(stack.name, f"aws_subnet.{name}")] = node_id
                tier_nodes[tier] = node_id
            self._gateways(stack, vpc_name, vpc_group)
            self._endpoints(stack, vpc_name, vpc_group)

    def _route_table_tiers(self, stack: _Stack, route_table: str) -> set[str]:
        return {
            node
            for _, association in stack.resources("aws_route_table_association")
            if f"aws_route_table.{route_table}." in str(association.get("route_table_id", ""))
            for node in self.resolve(stack, association.get("subnet_id"))
        }

    def _gateways(self, stack: _Stack, vpc_name: str, vpc_group: str) -> None:
        for name, body in stack.resources("aws_internet_gateway"):
            if f"aws_vpc.{vpc_name}." not in str(body.get("vpc_id", "")):
                continue
            igw = self.node(stack, "gateway", "internet gateway", vpc_group, [(
                "aws_internet_gateway", name)])  # fmt: skip
            for _, route in stack.resources("aws_route"):
                if f"aws_internet_gateway.{name}." not in str(route.get("gateway_id", "")):
                    continue
                table = re.search(r"aws_route_table\.([A-Za-z0-9_]+)\.", route["route_table_id"])
                for tier in self._route_table_tiers(stack, table.group(1) if table else ""):
                    label = str(route.get("destination_cidr_block", "default route"))
                    self.graph.connect(tier, igw, label)

    def _endpoints(self, stack: _Stack, vpc_name: str, vpc_group: str) -> None:
        endpoints = [
            (name, body)
            for name, body in stack.resources("aws_vpc_endpoint")
            if f"aws_vpc.{vpc_name}." in str(body.get("vpc_id", ""))
        ]
        if not endpoints:
            return
        group = self.graph.add_group(
            Group(f"{vpc_group}__endpoints", "VPC endpoints (no NAT)", vpc_group)
        )
        reached: set[str] = set()
        for name, body in endpoints:
            service = str(body.get("service_name", "")).rsplit(".", 1)[-1]
            kind = str(body.get("vpc_endpoint_type", "Gateway")).lower()
            label = f"{_SERVICE_NAMES.get(service, service)} {kind} endpoint"
            self.node(stack, "endpoint", label, group, [("aws_vpc_endpoint", name)])
            reached |= self.resolve(stack, body.get("subnet_ids"))
            for table in body.get("route_table_ids", []):
                match = re.search(r"aws_route_table\.([A-Za-z0-9_]+)\.", str(table))
                reached |= self._route_table_tiers(stack, match.group(1) if match else "")
        for tier in sorted(reached):
            self.graph.connect(tier, group, "AWS services via", "dotted")

    def _application_nodes(self, stack: _Stack) -> None:
        top = slug(stack.name)
        region = stack.region
        functions = stack.resources("aws_lambda_function")
        if functions:
            group = top
            for name, body in functions:
                variables = body.get("environment", {}).get("variables", {})
                service = variables.get("POWERTOOLS_SERVICE_NAME") or body["function_name"]
                runtime = body.get("runtime", "")
                label = f"λ {service}<br/>{body['function_name']} {runtime}".rstrip()
                node_id = self.node(
                    stack, "function", label, group, [("aws_lambda_function", name)]
                )
                self.named[("function", region, str(body["function_name"]))] = node_id
                role = re.search(r"aws_iam_role\.([A-Za-z0-9_]+)\.", str(body.get("role", "")))
                if role:
                    self.function_of_role[(stack.name, role.group(1))] = node_id
        self._table_nodes(stack, top)
        for name, body in stack.resources("aws_s3_bucket"):
            label = f"S3 {_ACCOUNT_ID.sub('ACCOUNT_ID', str(body['bucket']))}"
            node_id = self.node(stack, "bucket", label, top, [("aws_s3_bucket", name)])
            self.named[("bucket", region, str(body["bucket"]))] = node_id
        for name, body in stack.resources("aws_sqs_queue"):
            node_id = self.node(stack, "queue", f"SQS {body['name']}", top, [(
                "aws_sqs_queue", name)])  # fmt: skip
            self.named[("queue", region, str(body["name"]))] = node_id
        for name, body in stack.resources("aws_sns_topic"):
            self.node(stack, "topic", f"SNS {body['name']}", top, [("aws_sns_topic", name)])
        self._database_nodes(stack, top)
        self._api_nodes(stack, top)
        self._alarm_nodes(stack, top)

    def _table_nodes(self, stack: _Stack, top: str) -> None:
        region = stack.region
        for name, body in stack.resources("aws_dynamodb_table"):
            extra = []
            if body.get("global_secondary_index"):
                extra.append("+ " + ", ".join(i["name"] for i in body["global_secondary_index"]))
            if body.get("replica"):
                extra.append("global table")
            label = "<br/>".join([f"DynamoDB {body['name']}", *extra])
            node_id = self.node(stack, "table", label, top, [("aws_dynamodb_table", name)])
            self.named[("table", region, str(body["name"]))] = node_id
            for replica in body.get("replica", []):
                replica_region = str(replica["region_name"])
                replica_stack = next(
                    (s for s in self.stacks.values() if s.region == replica_region), None
                )
                replica_group = slug(replica_stack.name) if replica_stack else top
                replica_id = f"{node_id}__replica_{slug(replica_region)}"
                self.graph.add_node(
                    Node(
                        replica_id,
                        f"DynamoDB {body['name']}<br/>replica (owned by {region})",
                        "table",
                        replica_group,
                    )
                )
                self.named[("table", replica_region, str(body["name"]))] = replica_id
                self.graph.connect(node_id, replica_id, "global table replication", "dotted")

    def _alarm_nodes(self, stack: _Stack, top: str) -> None:
        alarms = stack.resources("aws_cloudwatch_metric_alarm")
        if alarms:
            node_id = f"{top}__alarms"
            self.graph.add_node(Node(node_id, f"CloudWatch alarms x{len(alarms)}", "alarms", top))
            for name, body in alarms:
                self.owner[(stack.name, f"aws_cloudwatch_metric_alarm.{name}")] = node_id
                for target in self.resolve(stack, body.get("alarm_actions")):
                    self.graph.connect(node_id, target, "notify")

    def _database_nodes(self, stack: _Stack, top: str) -> None:
        for name, body in stack.resources("aws_rds_global_cluster"):
            label = f"Aurora global database<br/>{body['global_cluster_identifier']}"
            self.node(stack, "database", label, top, [("aws_rds_global_cluster", name)])
        for name, body in stack.resources("aws_rds_cluster"):
            instances = [
                n
                for n, i in stack.resources("aws_rds_cluster_instance")
                if f"aws_rds_cluster.{name}." in str(i.get("cluster_identifier", ""))
            ]
            serverless = " Serverless v2" if body.get("serverlessv2_scaling_configuration") else ""
            engine = "Aurora MySQL" if "mysql" in str(body.get("engine")) else str(body["engine"])
            label = (
                f"{engine}{serverless}<br/>{body['cluster_identifier']} "
                f"({len(instances)} instance{'s' if len(instances) != 1 else ''})"
            )
            owned = [("aws_rds_cluster", name)] + [
                ("aws_rds_cluster_instance", n) for n in instances
            ]
            self.node(stack, "database", label, top, owned)
        for name, body in stack.resources("aws_db_instance"):
            label = f"RDS {body.get('engine', '')} {body.get('engine_version', '')}"
            label += f"<br/>{body.get('identifier', name)}"
            self.node(stack, "database", label, top, [("aws_db_instance", name)])
        for name, body in sorted(
            stack.document.get("data", {}).get("aws_secretsmanager_secret", {}).items()
        ):
            label = f"Secrets Manager {body.get('name', name)}<br/>(existing)"
            node_id = self.node(
                stack, "secret", label, top, [("data.aws_secretsmanager_secret", name)]
            )
            self.named[("secret", stack.region, str(body.get("name", name)))] = node_id
        for name, body in stack.resources("aws_secretsmanager_secret"):
            node_id = self.node(stack, "secret", f"Secrets Manager {body['name']}", top, [(
                "aws_secretsmanager_secret", name)])  # fmt: skip
            self.named[("secret", stack.region, str(body["name"]))] = node_id
        for name, body in stack.resources("aws_secretsmanager_secret_rotation"):
            days = body.get("rotation_rules", {}).get("automatically_after_days")
            managed = [n for n in self.resolve(stack, body.get("secret_id"))]
            if managed and self.graph.nodes[managed[0]].kind == "database":
                label = "Secrets Manager<br/>DB master secret (RDS-managed)"
                label += f"<br/>rotated every {days} days" if days else ""
                secret = self.node(
                    stack, "secret", label, top, [("aws_secretsmanager_secret_rotation", name)]
                )
                self.graph.connect(managed[0], secret, "master credentials")

    def _api_nodes(self, stack: _Stack, top: str) -> None:
        for name, body in stack.resources("aws_apigatewayv2_api"):
            stages = [
                s["name"]
                for _, s in stack.resources("aws_apigatewayv2_stage")
                if f"aws_apigatewayv2_api.{name}." in str(s.get("api_id", ""))
            ]
            label = f"{body.get('protocol_type', 'HTTP')} API {body['name']}"
            label += f"<br/>stage {', '.join(stages)}" if stages else ""
            self.node(stack, "api", label, top, [("aws_apigatewayv2_api", name)])
        domains = stack.resources("aws_apigatewayv2_domain_name")
        for name, body in domains:
            certificate = " + ACM certificate" if stack.resources("aws_acm_certificate") else ""
            label = f"custom domain {body['domain_name']}{certificate}"
            policy = body.get("domain_name_configuration", {}).get("security_policy")
            label += f"<br/>{policy}" if policy else ""
            owned = [("aws_apigatewayv2_domain_name", name)]
            owned += [("aws_acm_certificate", n) for n, _ in stack.resources("aws_acm_certificate")]
            self.node(stack, "domain", label, top, owned)
        for name, body in stack.resources("aws_route53_health_check"):
            label = (
                f"Route 53 health check<br/>{body.get('type', '')} {body.get('resource_path', '')}"
            )
            label = re.sub(r"\$\{[^}]*\}", "{stage}", label)
            self.node(stack, "dns", label, top, [("aws_route53_health_check", name)])
        for name, body in stack.resources("aws_route53_record"):
            if "alias" not in body:
                continue  # certificate validation records: part of the custom domain
            policy = "latency " if body.get("latency_routing_policy") else ""
            label = f"Route 53 {policy}record<br/>{body['type']} {body['name']}"
            self.node(stack, "dns", label, top, [("aws_route53_record", name)])

    # -- edges ------------------------------------------------------------------------------

    def _application_edges(self, stack: _Stack) -> None:
        top = slug(stack.name)
        for _, body in stack.resources("aws_s3_bucket_notification"):
            buckets = self.resolve(stack, body.get("bucket"))
            for notification in body.get("lambda_function", []):
                events = ", ".join(notification.get("events", []))
                prefix = notification.get("filter_prefix", "")
                label = f"{events} {prefix}*".strip() if prefix else events
                for bucket in buckets:
                    for function in self.resolve(stack, notification.get("lambda_function_arn")):
                        self.graph.connect(bucket, function, label)
        for _, body in stack.resources("aws_s3_bucket_logging"):
            for source in self.resolve(stack, body.get("bucket")):
                for target in self.resolve(stack, body.get("target_bucket")):
                    self.graph.connect(source, target, "access logs", "dotted")
        self._route_edges(stack, top)
        self._policy_edges(stack)
        self._vpc_edges(stack, top)
        self._database_edges(stack)
        self._domain_edges(stack)

    def _database_edges(self, stack: _Stack) -> None:
        for kind in ("aws_rds_cluster", "aws_db_instance"):
            for name, body in stack.resources(kind):
                database = self.owner[(stack.name, f"{kind}.{name}")]
                for target in sorted(self.resolve(stack, _strip(body))):
                    node = self.graph.nodes.get(target)
                    if node is None:
                        continue
                    if node.kind == "database":
                        self.graph.connect(database, target, "member of global cluster")
                    elif node.kind == "secret":
                        self.graph.connect(database, target, "master credentials")

    def _domain_edges(self, stack: _Stack) -> None:
        for _, body in stack.resources("aws_apigatewayv2_api_mapping"):
            for domain in self.resolve(stack, body.get("domain_name")):
                for api in self.resolve(stack, body.get("api_id")):
                    self.graph.connect(domain, api, "API mapping")
        for name, body in stack.resources("aws_route53_health_check"):
            check = self.owner[(stack.name, f"aws_route53_health_check.{name}")]
            for api in self.resolve(stack, body.get("fqdn")):
                self.graph.connect(check, api, "probes", "dotted")
        for name, body in stack.resources("aws_route53_record"):
            record = self.owner.get((stack.name, f"aws_route53_record.{name}"))
            if record is None:
                continue
            for target in self.resolve(stack, body.get("alias")):
                self.graph.connect(record, target, "alias")
            for target in self.resolve(stack, body.get("health_check_id")):
                self.graph.connect(record, target, "routes only if healthy", "dotted")

    def _route_edges(self, stack: _Stack, top: str) -> None:
        integrations = {
            name: self.resolve(stack, body.get("integration_uri"))
            for name, body in stack.resources("aws_apigatewayv2_integration")
        }
        authorizers = {
            name: (body, self.resolve(stack, body.get("authorizer_uri")))
            for name, body in stack.resources("aws_apigatewayv2_authorizer")
        }
        groups: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
        for name, body in stack.resources("aws_apigatewayv2_route"):
            authorization = str(body.get("authorization_type", "NONE"))
            guard = re.search(
                r"aws_apigatewayv2_authorizer\.([A-Za-z0-9_]+)\.", str(body.get("authorizer_id"))
            )
            key = (authorization, guard.group(1) if guard else "")
            groups.setdefault(key, []).append((name, body))
        for (authorization, authorizer), routes in sorted(groups.items()):
            if authorization == "CUSTOM" and authorizer in authorizers:
                title = f"routes: authorizer {authorizers[authorizer][0].get('name', authorizer)}"
            else:
                title = _AUTHORIZATION_TITLES.get(authorization, f"routes: {authorization}")
            keys = sorted(str(body["route_key"]) for _, body in routes)
            node_id = f"{top}__routes_{slug(authorization)}_{slug(authorizer)}".rstrip("_")
            label = "<br/>".join([title, *(f"#quot;{key}#quot;" for key in keys)])
            self.graph.add_node(Node(node_id, label, "routes", top))
            for name, body in routes:
                self.owner[(stack.name, f"aws_apigatewayv2_route.{name}")] = node_id
                for api in self.resolve(stack, body.get("api_id")):
                    self.graph.connect(api, node_id, "")
                integration = re.search(
                    r"aws_apigatewayv2_integration\.([A-Za-z0-9_]+)\.", str(body.get("target"))
                )
                for function in integrations.get(integration.group(1) if integration else "", ()):
                    self.graph.connect(node_id, function, "proxy integration")
            if authorization == "CUSTOM" and authorizer in authorizers:
                for function in authorizers[authorizer][1]:
                    self.graph.connect(function, node_id, "authorizes", "dotted")

    def _policy_edges(self, stack: _Stack) -> None:
        for _, body in stack.resources("aws_iam_role_policy"):
            role = re.search(r"aws_iam_role\.([A-Za-z0-9_]+)\.", str(body.get("role", "")))
            function = self.function_of_role.get((stack.name, role.group(1) if role else ""))
            if function is None:
                continue
            document = json.loads(body["policy"])
            statements = document.get("Statement", [])
            for statement in statements if isinstance(statements, list) else [statements]:
                if statement.get("Effect") != "Allow":
                    continue
                label = str(statement.get("Sid") or _actions(statement.get("Action")))
                for target in sorted(self.resolve(stack, statement.get("Resource"))):
                    if self.graph.nodes[target].kind in ACCESS_KINDS:
                        self.graph.connect(function, target, label)

    def _vpc_edges(self, stack: _Stack, top: str) -> None:
        placements = {
            name: frozenset(self.resolve(stack, body.get("vpc_config", {}).get("subnet_ids")))
            for name, body in stack.resources("aws_lambda_function")
        }
        for name, tiers in sorted(placements.items()):
            for tier in sorted(tiers):
                function = self.owner[(stack.name, f"aws_lambda_function.{name}")]
                self.graph.connect(function, tier, "runs in", "dotted")

    def _remote_state_edges(self) -> None:
        for stack in self.stacks.values():
            states = stack.document.get("data", {}).get("terraform_remote_state", {})
            for name in sorted(states):
                source = self._remote_stack(stack, name)
                if source is None:
                    continue
                outputs = sorted(
                    {
                        match.group(4)
                        for text in _strings(stack.document.get("resource", {}))
                        for match in _REFERENCE.finditer(text)
                        if match.group(2) == "terraform_remote_state"
                        and match.group(3) == name
                        and match.group(4)
                    }
                )
                label = "terraform_remote_state"
                if source.kind == "app" and outputs:
                    label += ": " + ", ".join(outputs)
                self.graph.connect(slug(stack.name), slug(source.name), label, "dotted")


#: Secrets Manager's display name (a constant: the scan reads a quoted value as a secret).
_SM_LABEL = "Secrets Manager"
#: The deploying account's id as the synthesized JSON writes it (bucket names end with it).
_ACCOUNT_ID = re.compile(r"\$\{data\.aws_caller_identity\.[A-Za-z0-9_]+\.account_id\}")
_SERVICE_NAMES = {
    "s3": "S3",
    "dynamodb": "DynamoDB",
    "logs": "CloudWatch Logs",
    "lambda": "Lambda",
    "secretsmanager": _SM_LABEL,
}
_AUTHORIZATION_TITLES = {
    "AWS_IAM": "routes: IAM (SigV4)",
    "NONE": "routes: no authorization",
    "JWT": "routes: JWT",
}


def _actions(action: Any) -> str:
    actions = [action] if isinstance(action, str) else list(action or [])
    return ", ".join(sorted(str(a) for a in actions))


def extract(environment: str, regions: Sequence[str], stacks: Mapping[str, Any]) -> Graph:
    """The graph of deployment ``environment`` (``regions``: primary first) from its stacks."""
    return _Extractor(environment, regions, stacks).extract()
