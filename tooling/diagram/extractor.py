"""The stacks as the extraction reads them, and what ties their JSON to the graph's nodes:
which node draws each Terraform address, and which nodes a Terraform value refers to.

A value refers to a node through ``${aws_x.name...}`` expressions (of its own stack, of an
``ephemeral`` block, or of another stack's output read through ``terraform_remote_state``) and
through literal ARNs with partition/account placeholders (a table, bucket, function, queue or
secret found by its name and region).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tooling.diagram.graph import Graph, Node, slug

__all__ = ["NETWORK_SUFFIX", "REFERENCE", "Extractor", "Stack", "StackDocument", "strings", "strip"]

StackDocument = Mapping[str, Any]

NETWORK_SUFFIX = "-network"

_EXPRESSION = re.compile(r"\$\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
REFERENCE = re.compile(
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


def strip(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` without CDKTF's ``//`` metadata."""
    return {key: value for key, value in body.items() if key != "//"}


def strings(value: Any) -> Iterator[str]:
    """Every string in ``value`` (a string, list or mapping), CDKTF's metadata left out."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key != "//":
                yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@dataclass(frozen=True)
class Stack:
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


class Extractor:
    """The graph being drawn, the stacks it is drawn from, and the lookups that resolve what
    a value refers to."""

    def __init__(self, environment: str, regions: Sequence[str], stacks: Mapping[str, Any]):
        self.graph = Graph(title=f"{environment}: {len(regions)} region(s), {len(stacks)} stacks")
        self.stacks: dict[str, Stack] = {}
        for name, document in sorted(stacks.items()):
            providers = document.get("provider", {}).get("aws", [{}])
            region = str(providers[0].get("region", regions[0]))
            kind = "network" if name.endswith(NETWORK_SUFFIX) else "app"
            self.stacks[name] = Stack(name, document, region, kind)
        self.regions = [r for r in regions if any(s.region == r for s in self.stacks.values())]
        self.primary = self.regions[0] if self.regions else ""
        #: (stack, "aws_type.name" or "data.aws_type.name") -> the node drawing it
        self.owner: dict[tuple[str, str], str] = {}
        #: (kind, region, name) -> node, for literal ARNs in policies
        self.named: dict[tuple[str, str, str], str] = {}
        self.function_of_role: dict[tuple[str, str], str] = {}

    def resolve(self, stack: Stack, value: Any, depth: int = 0) -> set[str]:
        """The nodes ``value`` (a string, list or mapping of Terraform values) refers to."""
        found: set[str] = set()
        if depth > 4:
            return found
        for text in strings(value):
            for expression in _EXPRESSION.findall(text):
                for match in REFERENCE.finditer(expression):
                    found |= self._reference(stack, match, depth)
            if "${" in text or text.startswith("arn:"):
                found |= self._literal_arn(stack, _EXPRESSION.sub("", text))
        return found

    def _reference(self, stack: Stack, match: re.Match[str], depth: int) -> set[str]:
        prefix, resource_type, name, output = match.groups()
        if resource_type == "terraform_remote_state":
            source = self.remote_stack(stack, name)
            if source is None or output is None:
                return set()
            value = source.document.get("output", {}).get(output, {}).get("value")
            return self.resolve(source, value, depth + 1)
        address = f"{prefix + '.' if prefix else ''}{resource_type}.{name}"
        if (stack.name, address) in self.owner:
            return {self.owner[(stack.name, address)]}
        if prefix == "ephemeral":  # e.g. a secret version read at apply time, by secret name
            body = strip(stack.document.get("ephemeral", {}).get(resource_type, {}).get(name, {}))
            found = self.resolve(stack, body, depth + 1)
            named = self.named.get(("secret", stack.region, str(body.get("secret_id"))))
            return found | ({named} if named else set())
        return set()

    def _literal_arn(self, stack: Stack, arn: str) -> set[str]:
        for kind, pattern in _ARN_NAMES:
            match = pattern.search(arn)
            if match is None:
                continue
            region, name = (stack.region, match.group(1)) if kind == "bucket" else match.groups()
            node = self.named.get((kind, region or stack.region, name))
            return {node} if node else set()
        return set()

    def remote_stack(self, stack: Stack, name: str) -> Stack | None:
        """The stack whose state ``stack`` reads as ``data.terraform_remote_state.<name>``."""
        remote = stack.document.get("data", {}).get("terraform_remote_state", {}).get(name, {})
        key = str(remote.get("config", {}).get("key", ""))
        return self.stacks.get(key.rsplit("/", 1)[-1].removesuffix(".tfstate"))

    def node(
        self, stack: Stack, kind: str, label: str, group: str, owned: Iterable[tuple[str, str]]
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

    def region_group(self, stack: Stack) -> str:
        return f"region_{slug(stack.region)}"
