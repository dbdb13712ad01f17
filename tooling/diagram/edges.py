"""The graph's edges: what each application stack's resources call, read, write or refer to
(bucket notifications and access logs, the routes with their integrations and authorizers,
the policy statements of each function's role, VPC placement, database membership and
secrets, the custom domain's mapping and records), and the remote state reads between
stacks."""

from __future__ import annotations

import json
import re
from typing import Any

from tooling.diagram.extractor import REFERENCE, Extractor, Stack, strings, strip
from tooling.diagram.graph import Node, slug

__all__ = ["ACCESS_KINDS", "connect_application", "connect_remote_states"]

#: Node kinds a function's policy statement may point at (log groups, the KMS key and the
#: function itself are left out: every function has them, drawing them only adds noise).
ACCESS_KINDS = frozenset({"table", "bucket", "secret", "queue", "database", "topic"})

_AUTHORIZATION_TITLES = {
    "AWS_IAM": "routes: IAM (SigV4)",
    "NONE": "routes: no authorization",
    "JWT": "routes: JWT",
}


def _actions(action: Any) -> str:
    actions = [action] if isinstance(action, str) else list(action or [])
    return ", ".join(sorted(str(a) for a in actions))


def connect_application(ex: Extractor, stack: Stack) -> None:
    top = slug(stack.name)
    for _, body in stack.resources("aws_s3_bucket_notification"):
        buckets = ex.resolve(stack, body.get("bucket"))
        for notification in body.get("lambda_function", []):
            events = ", ".join(notification.get("events", []))
            prefix = notification.get("filter_prefix", "")
            label = f"{events} {prefix}*".strip() if prefix else events
            for bucket in buckets:
                for function in ex.resolve(stack, notification.get("lambda_function_arn")):
                    ex.graph.connect(bucket, function, label)
    for _, body in stack.resources("aws_s3_bucket_logging"):
        for source in ex.resolve(stack, body.get("bucket")):
            for target in ex.resolve(stack, body.get("target_bucket")):
                ex.graph.connect(source, target, "access logs", "dotted")
    _route_edges(ex, stack, top)
    _policy_edges(ex, stack)
    _vpc_edges(ex, stack, top)
    _database_edges(ex, stack)
    _domain_edges(ex, stack)


def _database_edges(ex: Extractor, stack: Stack) -> None:
    for kind in ("aws_rds_cluster", "aws_db_instance"):
        for name, body in stack.resources(kind):
            database = ex.owner[(stack.name, f"{kind}.{name}")]
            for target in sorted(ex.resolve(stack, strip(body))):
                node = ex.graph.nodes.get(target)
                if node is None:
                    continue
                if node.kind == "database":
                    ex.graph.connect(database, target, "member of global cluster")
                elif node.kind == "secret":
                    ex.graph.connect(database, target, "master credentials")


def _domain_edges(ex: Extractor, stack: Stack) -> None:
    for _, body in stack.resources("aws_apigatewayv2_api_mapping"):
        for domain in ex.resolve(stack, body.get("domain_name")):
            for api in ex.resolve(stack, body.get("api_id")):
                ex.graph.connect(domain, api, "API mapping")
    for name, body in stack.resources("aws_route53_health_check"):
        check = ex.owner[(stack.name, f"aws_route53_health_check.{name}")]
        for api in ex.resolve(stack, body.get("fqdn")):
            ex.graph.connect(check, api, "probes", "dotted")
    for name, body in stack.resources("aws_route53_record"):
        record = ex.owner.get((stack.name, f"aws_route53_record.{name}"))
        if record is None:
            continue
        for target in ex.resolve(stack, body.get("alias")):
            ex.graph.connect(record, target, "alias")
        for target in ex.resolve(stack, body.get("health_check_id")):
            ex.graph.connect(record, target, "routes only if healthy", "dotted")


def _route_edges(ex: Extractor, stack: Stack, top: str) -> None:
    integrations = {
        name: ex.resolve(stack, body.get("integration_uri"))
        for name, body in stack.resources("aws_apigatewayv2_integration")
    }
    authorizers = {
        name: (body, ex.resolve(stack, body.get("authorizer_uri")))
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
        ex.graph.add_node(Node(node_id, label, "routes", top))
        for name, body in routes:
            ex.owner[(stack.name, f"aws_apigatewayv2_route.{name}")] = node_id
            for api in ex.resolve(stack, body.get("api_id")):
                ex.graph.connect(api, node_id, "")
            integration = re.search(
                r"aws_apigatewayv2_integration\.([A-Za-z0-9_]+)\.", str(body.get("target"))
            )
            for function in integrations.get(integration.group(1) if integration else "", ()):
                ex.graph.connect(node_id, function, "proxy integration")
        if authorization == "CUSTOM" and authorizer in authorizers:
            for function in authorizers[authorizer][1]:
                ex.graph.connect(function, node_id, "authorizes", "dotted")


def _policy_edges(ex: Extractor, stack: Stack) -> None:
    for _, body in stack.resources("aws_iam_role_policy"):
        role = re.search(r"aws_iam_role\.([A-Za-z0-9_]+)\.", str(body.get("role", "")))
        function = ex.function_of_role.get((stack.name, role.group(1) if role else ""))
        if function is None:
            continue
        document = json.loads(body["policy"])
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") != "Allow":
                continue
            label = str(statement.get("Sid") or _actions(statement.get("Action")))
            for target in sorted(ex.resolve(stack, statement.get("Resource"))):
                if ex.graph.nodes[target].kind in ACCESS_KINDS:
                    ex.graph.connect(function, target, label)


def _vpc_edges(ex: Extractor, stack: Stack, top: str) -> None:
    placements = {
        name: frozenset(ex.resolve(stack, body.get("vpc_config", {}).get("subnet_ids")))
        for name, body in stack.resources("aws_lambda_function")
    }
    for name, tiers in sorted(placements.items()):
        for tier in sorted(tiers):
            function = ex.owner[(stack.name, f"aws_lambda_function.{name}")]
            ex.graph.connect(function, tier, "runs in", "dotted")


def connect_remote_states(ex: Extractor) -> None:
    for stack in ex.stacks.values():
        states = stack.document.get("data", {}).get("terraform_remote_state", {})
        for name in sorted(states):
            source = ex.remote_stack(stack, name)
            if source is None:
                continue
            outputs = sorted(
                {
                    match.group(4)
                    for text in strings(stack.document.get("resource", {}))
                    for match in REFERENCE.finditer(text)
                    if match.group(2) == "terraform_remote_state"
                    and match.group(3) == name
                    and match.group(4)
                }
            )
            label = "terraform_remote_state"
            if source.kind == "app" and outputs:
                label += ": " + ", ".join(outputs)
            ex.graph.connect(slug(stack.name), slug(source.name), label, "dotted")
