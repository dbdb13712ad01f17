"""An application stack's nodes: its functions, tables (and their replicas), buckets, queues,
topics, databases and their secrets, the HTTP API with its custom domain and DNS records, and
its alarms (one node per stack)."""

from __future__ import annotations

import re

from tooling.diagram.extractor import Extractor, Stack
from tooling.diagram.graph import Node, slug

__all__ = ["draw_application"]

#: The deploying account's id as the synthesized JSON writes it (bucket names end with it).
_ACCOUNT_ID = re.compile(r"\$\{data\.aws_caller_identity\.[A-Za-z0-9_]+\.account_id\}")


def draw_application(ex: Extractor, stack: Stack) -> None:
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
            node_id = ex.node(stack, "function", label, group, [("aws_lambda_function", name)])
            ex.named[("function", region, str(body["function_name"]))] = node_id
            role = re.search(r"aws_iam_role\.([A-Za-z0-9_]+)\.", str(body.get("role", "")))
            if role:
                ex.function_of_role[(stack.name, role.group(1))] = node_id
    _table_nodes(ex, stack, top)
    for name, body in stack.resources("aws_s3_bucket"):
        label = f"S3 {_ACCOUNT_ID.sub('ACCOUNT_ID', str(body['bucket']))}"
        node_id = ex.node(stack, "bucket", label, top, [("aws_s3_bucket", name)])
        ex.named[("bucket", region, str(body["bucket"]))] = node_id
    for name, body in stack.resources("aws_sqs_queue"):
        node_id = ex.node(stack, "queue", f"SQS {body['name']}", top, [("aws_sqs_queue", name)])
        ex.named[("queue", region, str(body["name"]))] = node_id
    for name, body in stack.resources("aws_sns_topic"):
        ex.node(stack, "topic", f"SNS {body['name']}", top, [("aws_sns_topic", name)])
    _database_nodes(ex, stack, top)
    _api_nodes(ex, stack, top)
    _alarm_nodes(ex, stack, top)


def _table_nodes(ex: Extractor, stack: Stack, top: str) -> None:
    region = stack.region
    for name, body in stack.resources("aws_dynamodb_table"):
        extra = []
        if body.get("global_secondary_index"):
            extra.append("+ " + ", ".join(i["name"] for i in body["global_secondary_index"]))
        if body.get("replica"):
            extra.append("global table")
        label = "<br/>".join([f"DynamoDB {body['name']}", *extra])
        node_id = ex.node(stack, "table", label, top, [("aws_dynamodb_table", name)])
        ex.named[("table", region, str(body["name"]))] = node_id
        for replica in body.get("replica", []):
            replica_region = str(replica["region_name"])
            replica_stack = next(
                (s for s in ex.stacks.values() if s.region == replica_region), None
            )
            replica_group = slug(replica_stack.name) if replica_stack else top
            replica_id = f"{node_id}__replica_{slug(replica_region)}"
            ex.graph.add_node(
                Node(
                    replica_id,
                    f"DynamoDB {body['name']}<br/>replica (owned by {region})",
                    "table",
                    replica_group,
                )
            )
            ex.named[("table", replica_region, str(body["name"]))] = replica_id
            ex.graph.connect(node_id, replica_id, "global table replication", "dotted")


def _alarm_nodes(ex: Extractor, stack: Stack, top: str) -> None:
    alarms = stack.resources("aws_cloudwatch_metric_alarm")
    if alarms:
        node_id = f"{top}__alarms"
        ex.graph.add_node(Node(node_id, f"CloudWatch alarms x{len(alarms)}", "alarms", top))
        for name, body in alarms:
            ex.owner[(stack.name, f"aws_cloudwatch_metric_alarm.{name}")] = node_id
            for target in ex.resolve(stack, body.get("alarm_actions")):
                ex.graph.connect(node_id, target, "notify")


def _database_nodes(ex: Extractor, stack: Stack, top: str) -> None:
    for name, body in stack.resources("aws_rds_global_cluster"):
        label = f"Aurora global database<br/>{body['global_cluster_identifier']}"
        ex.node(stack, "database", label, top, [("aws_rds_global_cluster", name)])
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
        owned = [("aws_rds_cluster", name)] + [("aws_rds_cluster_instance", n) for n in instances]
        ex.node(stack, "database", label, top, owned)
    for name, body in stack.resources("aws_db_instance"):
        label = f"RDS {body.get('engine', '')} {body.get('engine_version', '')}"
        label += f"<br/>{body.get('identifier', name)}"
        ex.node(stack, "database", label, top, [("aws_db_instance", name)])
    for name, body in sorted(
        stack.document.get("data", {}).get("aws_secretsmanager_secret", {}).items()
    ):
        label = f"Secrets Manager {body.get('name', name)}<br/>(existing)"
        node_id = ex.node(stack, "secret", label, top, [("data.aws_secretsmanager_secret", name)])
        ex.named[("secret", stack.region, str(body.get("name", name)))] = node_id
    for name, body in stack.resources("aws_secretsmanager_secret"):
        node_id = ex.node(
            stack,
            "secret",
            f"Secrets Manager {body['name']}",
            top,
            [("aws_secretsmanager_secret", name)],
        )
        ex.named[("secret", stack.region, str(body["name"]))] = node_id
    for name, body in stack.resources("aws_secretsmanager_secret_rotation"):
        days = body.get("rotation_rules", {}).get("automatically_after_days")
        managed = [n for n in ex.resolve(stack, body.get("secret_id"))]
        if managed and ex.graph.nodes[managed[0]].kind == "database":
            label = "Secrets Manager<br/>DB master secret (RDS-managed)"
            label += f"<br/>rotated every {days} days" if days else ""
            secret = ex.node(
                stack, "secret", label, top, [("aws_secretsmanager_secret_rotation", name)]
            )
            ex.graph.connect(managed[0], secret, "master credentials")


def _api_nodes(ex: Extractor, stack: Stack, top: str) -> None:
    for name, body in stack.resources("aws_apigatewayv2_api"):
        stages = [
            s["name"]
            for _, s in stack.resources("aws_apigatewayv2_stage")
            if f"aws_apigatewayv2_api.{name}." in str(s.get("api_id", ""))
        ]
        label = f"{body.get('protocol_type', 'HTTP')} API {body['name']}"
        label += f"<br/>stage {', '.join(stages)}" if stages else ""
        ex.node(stack, "api", label, top, [("aws_apigatewayv2_api", name)])
    domains = stack.resources("aws_apigatewayv2_domain_name")
    for name, body in domains:
        certificate = " + ACM certificate" if stack.resources("aws_acm_certificate") else ""
        label = f"custom domain {body['domain_name']}{certificate}"
        policy = body.get("domain_name_configuration", {}).get("security_policy")
        label += f"<br/>{policy}" if policy else ""
        owned = [("aws_apigatewayv2_domain_name", name)]
        owned += [("aws_acm_certificate", n) for n, _ in stack.resources("aws_acm_certificate")]
        ex.node(stack, "domain", label, top, owned)
    for name, body in stack.resources("aws_route53_health_check"):
        label = f"Route 53 health check<br/>{body.get('type', '')} {body.get('resource_path', '')}"
        label = re.sub(r"\$\{[^}]*\}", "{stage}", label)
        ex.node(stack, "dns", label, top, [("aws_route53_health_check", name)])
    for name, body in stack.resources("aws_route53_record"):
        if "alias" not in body:
            continue  # certificate validation records: part of the custom domain
        policy = "latency " if body.get("latency_routing_policy") else ""
        label = f"Route 53 {policy}record<br/>{body['type']} {body['name']}"
        ex.node(stack, "dns", label, top, [("aws_route53_record", name)])
