"""Consistency by construction: the regions of a deployment differ only where declared.

``invoke drift --static`` (and tests/infra/test_multi_region.py) normalizes the synthesized
stacks of every region of a deployment (region names, CIDRs, declared per-region parameters)
and compares them. Anything else that differs is configuration drift between regions, printed
as paths into the stack JSON.

Two kinds of difference are declared, not drift:

* per-region parameters from platform.toml (region, VPC CIDR, zones, key/certificate ARNs);
* the primary region's role in the global data (:data:`PRIMARY_ONLY`): it owns the Aurora
  global cluster and its credentials, and the DynamoDB global table; secondaries join them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trading_infra.components.database import MASTER_CREDENTIAL_SWITCH
from trading_infra.config import Environment

#: Resource/data types (or type.name prefixes) only the primary region has, with the reason.
PRIMARY_ONLY: tuple[tuple[str, str], ...] = (
    ("aws_rds_global_cluster", "the global cluster is created once, by the primary region"),
    ("aws_secretsmanager_secret_rotation", "master credentials live in the primary region"),
    ("aws_secretsmanager_secret", "master credentials live in the primary region (lookup)"),
    ("aws_secretsmanager_secret_version", "read ephemerally by the primary's writer cluster"),
    ("aws_dynamodb_table.Tables_SessionsTable", "the global table's owner; replicas elsewhere"),
    (
        "aws_route53_record.CustomDomain_CertificateValidationRecord",
        "ACM's validation CNAME is the same in every region: the primary's stack manages it",
    ),
    (
        "aws_caller_identity.ReplicaKeyCheck",
        "the owner checks each replica's key read from that region's network state",
    ),
)
#: Attributes of the primary's cluster that secondaries inherit from the global database.
PRIMARY_ONLY_CLUSTER_ATTRIBUTES = frozenset(
    {"database_name", "master_username", "master_password_wo", "master_password_wo_version"}
)
#: Input variables only the primary declares: the one that opens the master password secret.
PRIMARY_ONLY_VARIABLES = frozenset({MASTER_CREDENTIAL_SWITCH})
#: Attributes that only secondaries set, because they join the global cluster.
SECONDARY_ONLY_CLUSTER_ATTRIBUTES = frozenset({"lifecycle"})
#: Remote states: the primary reads the secondaries' networks, a secondary reads the primary.
ROLE_REMOTE_STATES = re.compile(r"^(Network[A-Z].*|PrimaryApplication)$")
ROLE_OUTPUTS = frozenset({"database_secret_arn", "global_cluster_identifier"})


@dataclass(frozen=True)
class RegionStack:
    """One synthesized stack of one region, with the parameters declared for that region."""

    region: str
    part: str  # "network" or "app"
    document: Mapping[str, Any]
    declared: Mapping[str, str]  # placeholder -> value, e.g. {"<cidr>": "10.1.0.0/16"}


def _replace_declared(text: str, stack: RegionStack) -> str:
    for placeholder, value in sorted(stack.declared.items(), key=lambda i: -len(i[1])):
        text = text.replace(value, placeholder)
    camel = "".join(part.capitalize() for part in stack.region.split("-"))
    return text.replace(stack.region, "<region>").replace(camel, "<Region>")


def normalize(stack: RegionStack) -> dict[str, Any]:
    """The stack's JSON with region-specific values replaced and role-specific parts removed."""
    document = json.loads(_replace_declared(json.dumps(stack.document, sort_keys=True), stack))
    document.pop("//", None)
    # Where state lives is declared by the state backend settings, not by the region: keys
    # differ per stack by construction and the state region is the same for all.
    document.pop("terraform", None)
    remote_states = document.get("data", {}).get("terraform_remote_state", {})
    for name in list(remote_states):
        if ROLE_REMOTE_STATES.match(name):
            del remote_states[name]
        else:
            remote_states[name].pop("config", None)
    _drop_primary_only_blocks(document)
    variables = document.get("variable", {})
    for name in PRIMARY_ONLY_VARIABLES:
        variables.pop(name, None)
    if "variable" in document and not variables:
        del document["variable"]
    for output in ROLE_OUTPUTS:
        document.get("output", {}).pop(output, None)
    for cluster in document.get("resource", {}).get("aws_rds_cluster", {}).values():
        # global_cluster_identifier: a reference on the primary, a remote-state read on the
        # secondaries; both join the same global cluster.
        for attribute in (
            PRIMARY_ONLY_CLUSTER_ATTRIBUTES
            | SECONDARY_ONLY_CLUSTER_ATTRIBUTES
            | {"global_cluster_identifier"}
        ):
            cluster.pop(attribute, None)
    return dict(document)


def _drop_primary_only_blocks(document: dict[str, Any]) -> None:
    for block in ("resource", "data", "ephemeral"):
        types = document.get(block, {})
        for resource_type in list(types):
            for name in list(types[resource_type]):
                types[resource_type][name].pop("//", None)
                if _primary_only(resource_type, name):
                    del types[resource_type][name]
            if not types[resource_type]:
                del types[resource_type]
        if block in document and not types:
            del document[block]


def _primary_only(resource_type: str, name: str) -> bool:
    keys = [key for key, _reason in PRIMARY_ONLY]
    return resource_type in keys or any(
        key.startswith(f"{resource_type}.") and name.startswith(key.split(".", 1)[1])
        for key in keys
    )


def differences(left: Any, right: Any, path: str = "") -> Iterator[str]:
    """Paths where two normalized documents differ, with both values."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if key not in left or key not in right:
                yield f"{path}.{key}: only in {'first' if key in left else 'second'}"
            else:
                yield from differences(left[key], right[key], f"{path}.{key}")
    elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            yield from differences(a, b, f"{path}[{index}]")
    elif left != right:
        yield f"{path}: {left!r} != {right!r}"


def compare_regions(stacks: Sequence[RegionStack]) -> list[str]:
    """Every difference between the first region's stacks and each other region's."""
    found: list[str] = []
    by_part: dict[str, list[RegionStack]] = {}
    for stack in stacks:
        by_part.setdefault(stack.part, []).append(stack)
    for part, regional in sorted(by_part.items()):
        reference = regional[0]
        normalized = normalize(reference)
        for other in regional[1:]:
            for difference in differences(normalized, normalize(other)):
                found.append(f"{part}: {reference.region} vs {other.region}: {difference}")
    return found


def declared_parameters(environment: Environment, region_name: str) -> dict[str, str]:
    """The per-region values platform.toml declares for ``region_name`` (placeholder -> value)."""
    region = next(r for r in environment.regions if r.name == region_name)
    declared = {"<cidr>": str(region.vpc_cidr)}
    for index, cidr in enumerate(region.public_subnet_cidrs + region.private_subnet_cidrs):
        declared[f"<subnet-{index}>"] = cidr
    for name in ("kms_key_arn", "certificate_arn"):
        value = getattr(region, name)
        if value is not None:
            declared[f"<{name}>"] = value
    return declared


def load_region_stacks(
    stacks_dir: Path, platform: str, environment: Environment
) -> list[RegionStack]:
    """The synthesized network and application stacks of every region of ``environment``."""
    result = []
    for region in environment.regions:
        for part in ("network", "app"):
            path = (
                stacks_dir / f"{platform}-{environment.name}-{region.name}-{part}" / "cdk.tf.json"
            )
            document = json.loads(path.read_text(encoding="utf-8"))
            result.append(
                RegionStack(
                    region.name, part, document, declared_parameters(environment, region.name)
                )
            )
    return result
