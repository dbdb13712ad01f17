"""Render a :class:`tooling.diagram.model.Graph` as a Mermaid flowchart, deterministically.

Groups become nested subgraphs, nodes get a shape and a class per kind, and everything is
emitted sorted by id, so the same stacks always give the same text (the committed diagrams are
compared byte for byte by tests/infra/test_architecture_diagrams.py).
"""

from __future__ import annotations

from tooling.diagram.graph import Graph, Node

__all__ = ["render"]

#: (opening, closing) of each node kind's shape.
SHAPES = {
    "function": ('(["', '"])'),
    "table": ('[("', '")]'),
    "database": ('[("', '")]'),
    "bucket": ('[("', '")]'),
    "queue": ('>"', '"]'),
    "topic": ('>"', '"]'),
    "api": ('{{"', '"}}'),
    "kms": ('[/"', '"/]'),
    "secret": ('[/"', '"/]'),
}
#: Keys and secrets share one style.
_KEY_STYLE = "fill:#eceff1,stroke:#37474f"
CLASSES = {
    "function": "fill:#fff3e0,stroke:#e65100",
    "table": "fill:#e3f2fd,stroke:#1565c0",
    "database": "fill:#e3f2fd,stroke:#1565c0",
    "bucket": "fill:#e8f5e9,stroke:#2e7d32",
    "api": "fill:#f3e5f5,stroke:#6a1b9a",
    "routes": "fill:#f3e5f5,stroke:#6a1b9a",
    "alarms": "fill:#ffebee,stroke:#c62828",
    "topic": "fill:#ffebee,stroke:#c62828",
    "queue": "fill:#fffde7,stroke:#f9a825",
    "kms": _KEY_STYLE,
    "secret": _KEY_STYLE,
}
ARROWS = {"solid": "-->", "dotted": "-.->"}


def _text(label: str) -> str:
    return label.replace('"', "#quot;")


def _node(node: Node, indent: str) -> str:
    opening, closing = SHAPES.get(node.kind, ('["', '"]'))
    return f"{indent}{node.id}{opening}{_text(node.label)}{closing}"


def _classes(graph: Graph) -> list[str]:
    lines = [f"  classDef {kind} {CLASSES[kind]}" for kind in sorted(CLASSES)]
    by_kind: dict[str, list[str]] = {}
    for node in sorted(graph.nodes.values()):
        if node.kind in CLASSES:
            by_kind.setdefault(node.kind, []).append(node.id)
    lines += [f"  class {','.join(ids)} {kind}" for kind, ids in sorted(by_kind.items())]
    return lines


def render(graph: Graph, direction: str = "LR") -> str:
    """The flowchart text (without the Markdown fence)."""
    lines = [f"flowchart {direction}"]
    children: dict[str | None, list[str]] = {}
    for group in sorted(graph.groups.values()):
        children.setdefault(group.parent, []).append(group.id)
    members: dict[str, list[Node]] = {}
    for node in sorted(graph.nodes.values()):
        members.setdefault(node.group, []).append(node)

    def emit(group_id: str, depth: int) -> None:
        indent = "  " * depth
        group = graph.groups[group_id]
        lines.append(f'{indent}subgraph {group.id}["{_text(group.label)}"]')
        for child in children.get(group.id, []):
            emit(child, depth + 1)
        for node in members.get(group.id, []):
            lines.append(_node(node, indent + "  "))
        lines.append(f"{indent}end")

    for top in children.get(None, []):
        emit(top, 1)
    for node in members.get("", []):
        lines.append(_node(node, "  "))
    for edge in graph.edges:
        arrow = ARROWS[edge.style]
        label = f'|"{_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {edge.source} {arrow}{label} {edge.target}")
    lines += _classes(graph)
    return "\n".join(lines) + "\n"
