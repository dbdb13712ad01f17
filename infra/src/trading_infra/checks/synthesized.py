"""Reading a synthesized stack (``cdk.tf.json``): its resources, outputs and references.

A reference is how Terraform JSON names another object's attribute: ``${aws_subnet.X.id}``,
``${data.terraform_remote_state.Network.outputs.private_subnet_ids}``. Only whole-string
references are followed; an expression (``${element(...)}``, ``${jsonencode(...)}``) is not
resolved, and a rule reading one must treat it as unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_REFERENCE = re.compile(
    r"^\$\{(?P<address>(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+)\.(?P<attribute>[A-Za-z0-9_.]+)\}$"
)


@dataclass(frozen=True)
class Reference:
    """``${<address>.<attribute>}``: ``address`` is ``type.name`` or ``data.type.name``."""

    address: str
    attribute: str

    @property
    def resource_type(self) -> str:
        return self.address.removeprefix("data.").split(".", 1)[0]


def reference(value: object) -> Reference | None:
    """The reference ``value`` is, if it is exactly one (else None)."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.match(value)
    if match is None:
        return None
    return Reference(match["address"], match["attribute"])


def as_list(value: object) -> list[Any]:
    """A policy or block field that may be one value or a list of them."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


@dataclass(frozen=True)
class SynthesizedStack:
    """One stack's ``cdk.tf.json``."""

    name: str
    document: Mapping[str, Any]

    @classmethod
    def read(cls, outdir: Path, name: str) -> SynthesizedStack:
        path = outdir / "stacks" / name / "cdk.tf.json"
        return cls(name, json.loads(path.read_text(encoding="utf-8")))

    def resources(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        """``{"type.name": body}`` of every managed resource of ``resource_type``."""
        found = self.document.get("resource", {}).get(resource_type, {})
        return {f"{resource_type}.{name}": body for name, body in found.items()}

    def data_sources(self, data_type: str) -> dict[str, Mapping[str, Any]]:
        found = self.document.get("data", {}).get(data_type, {})
        return {f"data.{data_type}.{name}": body for name, body in found.items()}

    def body(self, address: str) -> Mapping[str, Any] | None:
        """The body of the resource (``type.name``) or data source (``data.type.name``)."""
        section, _, rest = address.partition(".")
        if section == "data":
            data_type = rest.partition(".")[0]
            found: Mapping[str, Any] | None = self.data_sources(data_type).get(address)
            return found
        return self.resources(section).get(address)

    def output(self, name: str) -> Any:
        return self.document.get("output", {}).get(name, {}).get("value")

    @property
    def region(self) -> str:
        providers = self.document.get("provider", {}).get("aws", [{}])
        return str(providers[0].get("region", ""))

    @property
    def backend(self) -> Mapping[str, Any]:
        """The S3 backend settings (bucket, key) this stack writes its state with."""
        backend: Mapping[str, Any] = (
            self.document.get("terraform", {}).get("backend", {}).get("s3", {})
        )
        return backend

    def all_resources(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for resource_type, resources in self.document.get("resource", {}).items():
            for name, body in resources.items():
                yield f"{resource_type}.{name}", body

    def label(self, address: str) -> str:
        """How a message names a resource: its ``Name`` tag or name, else its address."""
        body = self.body(address) or {}
        tags = body.get("tags") or {}
        named = tags.get("Name") or body.get("name")
        return str(named) if isinstance(named, str) else address
