"""The architecture graph as plain data: groups (nested boxes), nodes and labelled edges.

:mod:`tooling.diagram.model` fills it from the stacks; :mod:`tooling.diagram.mermaid` draws it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Edge", "Graph", "Group", "Node", "slug"]


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
