"""The architecture graph of one deployment, read from its synthesized stacks' JSON.

Nothing here knows the constructs by name: nodes come from the resource types of
``cdk.tf.json`` (a VPC, its subnets grouped by tier, endpoints, the database, each Lambda
function, the HTTP API and its routes grouped by authorization, tables, buckets, the KMS key,
the alarms as one node per stack, the SNS topic, the custom domain and its records) and edges
from what the JSON references: the bucket notification, the routes' integration and authorizer,
the IAM policy statements of each function's role (``${aws_dynamodb_table.X.arn}``-style
expressions, literal ARNs with partition/account placeholders, and outputs of other stacks read
through ``terraform_remote_state``), and the remote state reads between stacks.

The result is plain data (:class:`Graph`); :mod:`tooling.diagram.mermaid` renders it. The steps,
one module each: :mod:`.extractor` (the stacks and what a value refers to), :mod:`.network`
(a network stack's nodes), :mod:`.applications` (an application stack's nodes), :mod:`.edges`
(what connects them). Every node is drawn before any edge: an edge's ends are found through
the nodes that draw the resources a value refers to, whichever stack drew them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tooling.diagram.applications import draw_application
from tooling.diagram.edges import connect_application, connect_remote_states
from tooling.diagram.extractor import Extractor, StackDocument
from tooling.diagram.graph import Edge, Graph, Group, Node, slug
from tooling.diagram.network import draw_network

__all__ = ["Edge", "Graph", "Group", "Node", "StackDocument", "extract"]


def extract(environment: str, regions: Sequence[str], stacks: Mapping[str, Any]) -> Graph:
    """The graph of deployment ``environment`` (``regions``: primary first) from its stacks."""
    ex = Extractor(environment, regions, stacks)
    for index, region in enumerate(ex.regions):
        role = "primary" if index == 0 else "secondary"
        label = f"{region} ({role})" if len(ex.regions) > 1 else region
        ex.graph.add_group(Group(f"region_{slug(region)}", label))
    for stack in ex.stacks.values():
        ex.graph.add_group(
            Group(slug(stack.name), f"{stack.kind} stack {stack.name}", ex.region_group(stack))
        )
    for stack in ex.stacks.values():
        if stack.kind == "network":
            draw_network(ex, stack)
    for stack in ex.stacks.values():
        if stack.kind == "app":
            draw_application(ex, stack)
    for stack in ex.stacks.values():
        if stack.kind == "app":
            connect_application(ex, stack)
    connect_remote_states(ex)
    return ex.graph
