"""What an environment's synthesized stacks will create in each region, as preflight needs it.

The synthesized Terraform JSON is the contract: the bucket names, VPCs, interface endpoints,
functions and Elastic IPs counted here are exactly what ``terraform apply`` creates. Names that
carry the deploying account or partition (``data.aws_caller_identity`` / ``data.aws_partition``
references) are resolved with the account the checks run against.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tooling.lifecycle.graph import StackInfo

__all__ = ["RegionNeeds", "region_needs", "resolve_name"]

_ACCOUNT_REF = re.compile(r"\$\{data\.aws_caller_identity\.[A-Za-z0-9_-]+\.account_id\}")
_PARTITION_REF = re.compile(r"\$\{data\.aws_partition\.[A-Za-z0-9_-]+\.partition\}")


@dataclass(frozen=True)
class RegionNeeds:
    """What one environment's stacks create in one region."""

    environment: str
    region: str
    #: S3 bucket names as synthesized (see :func:`resolve_name`).
    buckets: tuple[str, ...] = ()
    #: The ``Name`` tag of each VPC.
    vpcs: tuple[str, ...] = ()
    #: The services of the interface endpoints of the VPC that has the most of them.
    interface_endpoints: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    #: Reserved concurrency summed over the functions that set one.
    reserved_concurrency: int = 0
    elastic_ips: int = 0


def resolve_name(name: str, *, account_id: str, partition: str) -> str:
    """``name`` with the account-id and partition references of the stacks filled in; any other
    ``${...}`` is left as it is (a name known only at apply time)."""
    name = _ACCOUNT_REF.sub(account_id, name)
    return _PARTITION_REF.sub(partition, name)


def _resources(document: Mapping[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return list((document.get("resource") or {}).get(resource_type, {}).values())


def region_needs(stacks: Iterable[StackInfo]) -> list[RegionNeeds]:
    """One :class:`RegionNeeds` per (environment, region) of ``stacks``, in their order."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for stack in stacks:
        document = json.loads((stack.directory / "cdk.tf.json").read_text(encoding="utf-8"))
        grouped.setdefault((stack.environment, stack.region), []).append(document)
    found = []
    for (environment, region), documents in grouped.items():
        buckets, vpcs, functions = [], [], []
        endpoints: list[str] = []
        reserved, eips = 0, 0
        for document in documents:
            buckets += [str(b["bucket"]) for b in _resources(document, "aws_s3_bucket")]
            vpcs += [
                str((vpc.get("tags") or {}).get("Name", ""))
                for vpc in _resources(document, "aws_vpc")
            ]
            # One network stack, one VPC: its interface endpoints are those of one VPC.
            interface = [
                str(e["service_name"]).rsplit(".", 1)[-1]
                for e in _resources(document, "aws_vpc_endpoint")
                if e.get("vpc_endpoint_type") == "Interface"
            ]
            endpoints = max(endpoints, sorted(interface), key=len)
            for function in _resources(document, "aws_lambda_function"):
                functions.append(str(function["function_name"]))
                # -1 (or absent) is "no reservation": the function uses the unreserved pool.
                value = function.get("reserved_concurrent_executions")
                if isinstance(value, int) and value > 0:
                    reserved += value
            eips += len(_resources(document, "aws_eip"))
        found.append(
            RegionNeeds(
                environment=environment,
                region=region,
                buckets=tuple(buckets),
                vpcs=tuple(vpcs),
                interface_endpoints=tuple(endpoints),
                functions=tuple(functions),
                reserved_concurrency=reserved,
                elastic_ips=eips,
            )
        )
    return found
