"""The synthesized stacks as a dependency graph: what each stack reads, and a safe order.

A stack that reads another's outputs (``terraform_remote_state``) must be applied after it and
destroyed before it. The edges are kept explicit on every :class:`StackInfo` (``depends_on``),
so that a scheduler can run independent stacks at the same time; :func:`read_stacks` also
returns one sequential order (dependencies first) for the runs that go one stack at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from tooling.lifecycle.session import DeployError

__all__ = ["StackInfo", "read_stacks"]


@dataclass(frozen=True)
class StackInfo:
    """A synthesized stack as the lifecycle needs it, read from its ``cdk.tf.json``."""

    name: str
    directory: Path
    environment: str
    region: str
    #: Names of the stacks this one reads from (manifest ``dependencies`` plus
    #: ``terraform_remote_state``), only those of the same run.
    depends_on: frozenset[str] = frozenset()
    #: (bucket, key) of its S3 backend state object, if it has one.
    state: tuple[str, str] | None = None


def _state_address(backend: Mapping[str, Any]) -> tuple[str, str] | None:
    bucket, key = backend.get("bucket"), backend.get("key")
    return (str(bucket), str(key)) if bucket and key else None


def _remote_state_addresses(document: Mapping[str, Any]) -> set[tuple[str, str]]:
    """The (bucket, key) of every S3 ``terraform_remote_state`` data source of a stack."""
    found = set()
    for source in (document.get("data") or {}).get("terraform_remote_state", {}).values():
        if source.get("backend") == "s3":
            address = _state_address(source.get("config") or {})
            if address is not None:
                found.add(address)
    return found


def _environment_and_region(name: str, document: Mapping[str, Any]) -> tuple[str, str]:
    """The stack's ``Environment`` default tag and provider region (every stack has both)."""
    providers = (document.get("provider") or {}).get("aws") or [{}]
    provider = providers[0] if isinstance(providers, list) else providers
    tags: dict[str, Any] = {}
    for block in provider.get("default_tags") or []:
        tags.update(block.get("tags") or {})
    environment, region = tags.get("Environment"), provider.get("region")
    if not environment or not region:
        raise DeployError(
            f"stack {name} has no aws provider region or Environment default tag; "
            "synthesize it again (`./tap synth --force`)"
        )
    return str(environment), str(region)


def _manifest_stacks(outdir: Path) -> dict[str, Any]:
    """The ``stacks`` of cdktf's ``manifest.json`` in ``outdir`` ({} when absent or unreadable)."""
    try:
        manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stacks = manifest.get("stacks") if isinstance(manifest, dict) else None
    return stacks if isinstance(stacks, dict) else {}


def _dependencies_first(infos: Mapping[str, StackInfo]) -> list[StackInfo]:
    """A topological order of ``infos`` (each wave of ready stacks in name order); a cycle is a
    DeployError."""
    sorter = TopologicalSorter({name: info.depends_on for name, info in infos.items()})
    try:
        sorter.prepare()
    except CycleError as error:
        cycle = " -> ".join(reversed(error.args[1]))
        raise DeployError(f"the stacks depend on each other in a cycle: {cycle}") from None
    ordered: list[StackInfo] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered.extend(infos[name] for name in ready)
        sorter.done(*ready)
    return ordered


def read_stacks(outdir: Path, names: Iterable[str]) -> list[StackInfo]:
    """``names`` of ``outdir/stacks`` in deploy order: every stack after the stacks it reads.

    Dependencies are the ``dependencies`` of ``outdir/manifest.json`` (when it lists the stack)
    plus those derived from the stack itself: a ``terraform_remote_state`` (S3) whose bucket and
    key are another stack's backend. Dependencies on stacks outside ``names`` are left out (they
    are not deployed or destroyed by this run). Ties keep name order; a cycle is an error.
    Destroy in the reverse of this order.
    """
    wanted = sorted(set(names))
    manifest = _manifest_stacks(outdir)
    documents: dict[str, dict[str, Any]] = {}
    for name in wanted:
        path = outdir / "stacks" / name / "cdk.tf.json"
        try:
            documents[name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DeployError(f"cannot read {path}: {exc}; run `./tap synth` first") from None
    owners = {}
    states: dict[str, tuple[str, str] | None] = {}
    for name, document in documents.items():
        backend = ((document.get("terraform") or {}).get("backend") or {}).get("s3") or {}
        states[name] = address = _state_address(backend)
        if address is not None:
            owners[address] = name
    infos: dict[str, StackInfo] = {}
    for name, document in documents.items():
        declared = set((manifest.get(name) or {}).get("dependencies") or [])
        derived = {owners[a] for a in _remote_state_addresses(document) if a in owners}
        depends_on = frozenset((declared | derived) & set(wanted) - {name})
        environment, region = _environment_and_region(name, document)
        infos[name] = StackInfo(
            name, outdir / "stacks" / name, environment, region, depends_on, states[name]
        )
    return _dependencies_first(infos)
