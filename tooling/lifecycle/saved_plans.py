"""Saved plans: the manifest ``./tap plan --out DIR`` writes and the checks that make
``./tap deploy --plan DIR`` apply exactly what was approved, or nothing.

Why: under change management (PCI-DSS requirement 6.5.1, changes approved before they are
made) the plan applied must be the plan that was reviewed. A saved plan (``terraform plan
-out``) is that plan, but it is only the reviewed change while nothing it was made from moved:

- the configuration: the sha256 of the stack's synthesized ``cdk.tf.json`` (a deploy
  synthesizes first, as every command does, then compares);
- the state: its ``lineage`` and ``serial`` as stored in the backend (Terraform refuses a
  stale saved plan too, "Saved plan is stale", but only once the apply of the stacks before it
  already ran, and without saying why);
- what the stack reads: a sha256 over the outputs of the remote states it reads (a plan made
  from another stack's old outputs is not the change that would now be made);
- the plan file itself (its sha256: a plan file altered or swapped after the review);
- where it applies: the target, the environments and the stacks the deploy selects, and the
  terraform version (a plan file only applies with the version that made it).

A stack that did not exist yet when planned (:mod:`.first_plans`: planned against an empty
state in a scratch copy, or waiting for a stack it reads) has no plan to apply: its record says
why (``not_applicable``), no plan file is kept, and a deploy of the directory is refused naming
it: such an environment is bootstrapped and deployed first, then planned again.

This module is pure: it reads and writes the manifest and compares what was recorded with what
is found now (:class:`StackNow`); reading the backend is :mod:`.state_snapshot`'s.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tooling.lifecycle.errors import LifecycleError

__all__ = [
    "MANIFEST",
    "MANIFEST_FORMAT",
    "PlanManifest",
    "SavedStack",
    "StackNow",
    "mismatches",
    "plan_file_name",
    "read_manifest",
    "refusal",
    "report_file_name",
    "sha256_of",
    "stale_reasons",
    "write_manifest",
]

#: The manifest's name in the plan directory.
MANIFEST = "manifest.json"
#: Part of every manifest: a deploy refuses a manifest of another format.
MANIFEST_FORMAT = "tap-saved-plans/1"


def sha256_of(path: Path) -> str:
    """The sha256 of the file at ``path``, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plan_file_name(stack: str) -> str:
    """The saved plan of ``stack`` in the plan directory."""
    return f"{stack}.tfplan"


def report_file_name(stack: str) -> str:
    """The plan report (:mod:`.plan_report`) of ``stack`` in the plan directory."""
    return f"{stack}.report.json"


@dataclass(frozen=True)
class SavedStack:
    """One stack's saved plan as the manifest records it.

    ``lineage``/``serial`` None: the stack had no state when planned (never deployed).
    ``not_applicable``: why there is no plan to apply (no plan file then); None: a plan to apply.
    """

    name: str
    environment: str
    region: str
    depends_on: tuple[str, ...]
    config_sha256: str
    lineage: str | None
    serial: int | None
    reads_sha256: str
    has_changes: bool
    plan_file: str
    plan_sha256: str
    not_applicable: str | None = None

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SavedStack:
        serial, refused = raw.get("serial"), raw.get("not_applicable")
        return cls(
            name=str(raw["name"]),
            environment=str(raw["environment"]),
            region=str(raw["region"]),
            depends_on=tuple(str(name) for name in raw.get("depends_on") or ()),
            config_sha256=str(raw["config_sha256"]),
            lineage=None if raw.get("lineage") is None else str(raw["lineage"]),
            serial=None if serial is None else int(serial),
            reads_sha256=str(raw["reads_sha256"]),
            has_changes=bool(raw["has_changes"]),
            plan_file=str(raw["plan_file"]),
            plan_sha256=str(raw["plan_sha256"]),
            not_applicable=None if refused is None else str(refused),
        )

    def to_document(self) -> dict[str, Any]:
        """The record as the manifest writes it (``not_applicable`` only when set)."""
        document = asdict(self)
        if self.not_applicable is None:
            del document["not_applicable"]
        return document


@dataclass(frozen=True)
class PlanManifest:
    """The manifest of a plan directory: where its plans apply and each stack's record."""

    target: str
    environments: tuple[str, ...]
    terraform_version: str
    created_at: str
    stacks: tuple[SavedStack, ...] = field(default_factory=tuple)

    def stack(self, name: str) -> SavedStack | None:
        return next((saved for saved in self.stacks if saved.name == name), None)

    def to_json(self) -> str:
        document = {
            "format": MANIFEST_FORMAT,
            **asdict(self),
            "stacks": [stack.to_document() for stack in self.stacks],
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PlanManifest:
        """The manifest in ``text``; a LifecycleError (exit 2) when it is not one."""
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
                raise ValueError(f"its format is not {MANIFEST_FORMAT}")
            return cls(
                target=str(raw["target"]),
                environments=tuple(str(name) for name in raw["environments"]),
                terraform_version=str(raw["terraform_version"]),
                created_at=str(raw["created_at"]),
                stacks=tuple(SavedStack.from_json(stack) for stack in raw["stacks"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise LifecycleError(f"not a saved-plan manifest: {error}", code=2) from None


def write_manifest(directory: Path, manifest: PlanManifest) -> Path:
    """Write ``manifest`` as ``directory``/:data:`MANIFEST`; its path."""
    path = directory / MANIFEST
    path.write_text(manifest.to_json(), encoding="utf-8")
    return path


def read_manifest(directory: Path) -> PlanManifest:
    """The manifest of the plan directory ``directory`` (a LifecycleError, exit 2, without)."""
    path = directory / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise LifecycleError(
            f"no saved plans in {directory}: cannot read {MANIFEST} ({error.strerror})", code=2
        ) from None
    try:
        return PlanManifest.from_json(text)
    except LifecycleError as error:
        raise LifecycleError(f"{path}: {error}", code=2) from None


@dataclass(frozen=True)
class StackNow:
    """What a stack is now, to compare with its :class:`SavedStack`; ``plan_sha256`` None: its
    plan file is missing."""

    config_sha256: str
    lineage: str | None
    serial: int | None
    reads_sha256: str
    plan_sha256: str | None


def stale_reasons(saved: SavedStack, now: StackNow) -> list[str]:
    """Why the saved plan of a stack is no longer the plan to apply; [] when it still is.

    A record without a plan to apply (``not_applicable``) has nothing to go stale: it refuses
    the whole directory in :func:`mismatches`."""
    if saved.not_applicable is not None:
        return []
    reasons = []
    if now.config_sha256 != saved.config_sha256:
        reasons.append("its configuration changed since the plan (cdk.tf.json differs)")
    if (now.lineage, now.serial) != (saved.lineage, saved.serial):
        then, current = _state(saved.lineage, saved.serial), _state(now.lineage, now.serial)
        reasons.append(
            f"its state changed since the plan (lineage/serial {then} then, {current} now)"
        )
    if now.reads_sha256 != saved.reads_sha256:
        reasons.append("the outputs of the states it reads changed since the plan")
    if now.plan_sha256 is None:
        reasons.append(f"its plan file {saved.plan_file} is missing")
    elif now.plan_sha256 != saved.plan_sha256:
        reasons.append(f"its plan file {saved.plan_file} was altered (sha256 differs)")
    return reasons


def _state(lineage: str | None, serial: int | None) -> str:
    return "none" if lineage is None else f"{lineage}/{serial}"


def mismatches(
    manifest: PlanManifest,
    *,
    target: str,
    stacks: Iterable[str],
    environments: Sequence[str],
    terraform_version: str,
) -> list[str]:
    """Why the plan directory does not apply to this deploy as a whole: another target, other
    environments or stacks than the deploy selects, another terraform version, a selected stack
    without a plan to apply (each named with why); [] when none."""
    problems = []
    if manifest.target != target:
        problems.append(f"the plans are for --target {manifest.target}, not {target}")
    if sorted(manifest.environments) != sorted(environments):
        problems.append(
            f"the plans are for environment(s) {', '.join(sorted(manifest.environments))}, "
            f"not {', '.join(sorted(environments))}"
        )
    selected, saved = set(stacks), {stack.name for stack in manifest.stacks}
    if selected - saved:
        problems.append(f"no saved plan for: {', '.join(sorted(selected - saved))}")
    if saved - selected:
        problems.append(
            f"saved plans of stacks not selected: {', '.join(sorted(saved - selected))}"
        )
    if manifest.terraform_version != terraform_version:
        problems.append(
            f"the plans were made by terraform {manifest.terraform_version}, "
            f"this is {terraform_version}"
        )
    problems += [
        f"{stack.name}: {stack.not_applicable}"
        for stack in manifest.stacks
        if stack.not_applicable is not None and stack.name in selected
    ]
    return problems


def refusal(problems: Sequence[str], stale: Mapping[str, Sequence[str]], again: str | None) -> str:
    """The message of a deploy that refuses its saved plans: each problem, each stale stack and
    why, then to plan again (``again``: the plan command, as the caller spells it)."""
    lines = ["deploy --plan refused: nothing was applied."]
    lines += [f"  {problem}" for problem in problems]
    for stack, reasons in stale.items():
        lines.append(f"  {stack}: stale: {'; '.join(reasons)}")
    step = f" (`{again}`)" if again else ""
    lines.append(f"Plan again{step}, review the new plans, then deploy them.")
    return "\n".join(lines)
