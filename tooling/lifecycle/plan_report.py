"""The reviewable plan: per stack, what a deploy would add, change, replace and destroy.

Built from ``terraform show -json <planfile>`` (the plan's ``resource_changes``), never from the
human-readable plan text. Replacements and deletions are what a reviewer must not miss, so they
are listed first and marked, before the counts. ``./tap plan`` prints :func:`summary_lines`
and writes :data:`REPORT_JSON` (machine-readable, e.g. for a bot) and :data:`REPORT_MARKDOWN`
(a pull-request comment).

A stack that does not exist yet (:mod:`.first_plans`) is marked: planned against an empty state
(its counts are what a first deploy adds), or waiting (not planned), each with its note.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tooling.lifecycle.first_plans import Basis

__all__ = [
    "REPORT_JSON",
    "REPORT_MARKDOWN",
    "ResourceChange",
    "StackPlan",
    "markdown",
    "stack_plan",
    "summary_lines",
    "write_reports",
]

REPORT_JSON = Path("cfn-outputs") / "plan-report.json"
REPORT_MARKDOWN = Path("cfn-outputs") / "plan-report.md"

#: Order of importance for a reviewer: what is lost first.
_KIND_ORDER = ("replace", "destroy", "update", "create", "read")
_MARKS = {
    "replace": "!! REPLACE",
    "destroy": "!! DESTROY",
    "update": "~ update",
    "create": "+ create",
}


@dataclass(frozen=True)
class ResourceChange:
    """One resource of the plan and what happens to it."""

    address: str
    kind: str  # replace | destroy | update | create | read
    reason: str = ""  # terraform's action_reason, e.g. "replace_because_cannot_update"
    forcing: tuple[str, ...] = ()  # attributes forcing a replacement


@dataclass(frozen=True)
class StackPlan:
    """A stack's plan: its changes (most important first) and their counts."""

    stack: str
    changes: tuple[ResourceChange, ...] = ()
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    #: What it was planned against (:mod:`.first_plans`): ``"state"``, ``"empty_state"`` or
    #: ``"waiting"`` (not planned).
    basis: Basis = "state"
    #: What the report says of a basis other than ``"state"``.
    note: str | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def waiting(self) -> bool:
        return self.basis == "waiting"


def _kind(actions: Sequence[str]) -> str | None:
    wanted = set(actions)
    if {"create", "delete"} <= wanted:
        return "replace"
    for action, kind in (("delete", "destroy"), ("update", "update"), ("create", "create")):
        if action in wanted:
            return kind
    return "read" if "read" in wanted else None


def _forcing(change: Mapping[str, Any]) -> tuple[str, ...]:
    paths = change.get("replace_paths") or []
    return tuple(".".join(str(part) for part in path) for path in paths if path)


def stack_plan(stack: str, plan: Mapping[str, Any]) -> StackPlan:
    """The :class:`StackPlan` of ``stack`` from its ``terraform show -json`` document."""
    changes = []
    for entry in plan.get("resource_changes") or []:
        change = entry.get("change") or {}
        kind = _kind(change.get("actions") or [])
        if kind is None or kind == "read":
            continue
        changes.append(
            ResourceChange(
                address=str(entry.get("address")),
                kind=kind,
                reason=str(entry.get("action_reason") or ""),
                forcing=_forcing(change),
            )
        )
    changes.sort(key=lambda c: (_KIND_ORDER.index(c.kind), c.address))
    counts = {kind: sum(1 for c in changes if c.kind == kind) for kind in _KIND_ORDER[:4]}
    return StackPlan(stack=stack, changes=tuple(changes), counts=counts)


#: The mark of a plan's basis other than its state, in the summary and the comment.
_BASIS_MARKS = {"empty_state": "against an empty state", "waiting": "waiting, not planned"}


def _count_text(plan: StackPlan) -> str:
    if plan.error is not None:
        return "error"
    if plan.waiting:
        return _BASIS_MARKS["waiting"]
    if not plan.has_changes:
        text = "no changes"
    else:
        counts = plan.counts
        text = (
            f"{counts.get('create', 0)} to add, {counts.get('update', 0)} to change, "
            f"{counts.get('replace', 0)} to replace, {counts.get('destroy', 0)} to destroy"
        )
    return f"{text} ({_BASIS_MARKS[plan.basis]})" if plan.basis in _BASIS_MARKS else text


def _line(change: ResourceChange) -> str:
    forcing = f" (forced by {', '.join(change.forcing)})" if change.forcing else ""
    return f"{_MARKS[change.kind]:11} {change.address}{forcing}"


def summary_lines(plans: Iterable[StackPlan]) -> list[str]:
    """What ``./tap plan`` prints at the end: per stack its counts, replacements and deletions
    listed first and marked, then the other changes."""
    lines = ["plan summary:"]
    for plan in plans:
        lines.append(f"  {plan.stack}: {_count_text(plan)}")
        if plan.error is not None:
            lines.append(f"    {plan.error.splitlines()[0] if plan.error else 'error'}")
        if plan.note:
            lines.append(f"    {plan.note}")
        lines += [f"    {_line(change)}" for change in plan.changes]
    return lines


def markdown(plans: Sequence[StackPlan]) -> str:
    """A pull-request comment: a table of counts, then each stack's changes, dangerous first."""
    dangerous = sum(p.counts.get("replace", 0) + p.counts.get("destroy", 0) for p in plans)
    lines = [
        "## Terraform plan",
        "",
        f"**{dangerous} resource(s) replaced or destroyed.**"
        if dangerous
        else "No resource is replaced or destroyed.",
        "",
        "| stack | add | change | replace | destroy |",
        "|---|---:|---:|---:|---:|",
    ]
    for plan in plans:
        if plan.error is not None or plan.waiting:
            lines.append(f"| `{plan.stack}` | {'error' if plan.error else 'waiting'} | | | |")
            continue
        c = plan.counts
        mark = f" ({_BASIS_MARKS[plan.basis]})" if plan.basis in _BASIS_MARKS else ""
        lines.append(
            f"| `{plan.stack}`{mark} | {c.get('create', 0)} | {c.get('update', 0)} | "
            f"{c.get('replace', 0)} | {c.get('destroy', 0)} |"
        )
    notes = [f"- `{plan.stack}`: {plan.note}" for plan in plans if plan.note]
    if notes:
        lines += ["", *notes]
    for plan in plans:
        if not plan.changes:
            continue
        lines += ["", f"### `{plan.stack}`", ""]
        lines += [f"- `{_MARKS[c.kind].strip()}` `{c.address}`" + (
            f" (forced by {', '.join(f'`{f}`' for f in c.forcing)})" if c.forcing else ""
        ) for c in plan.changes]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_reports(root: Path, plans: Sequence[StackPlan]) -> tuple[Path, Path]:
    """Write :data:`REPORT_JSON` and :data:`REPORT_MARKDOWN` under ``root``; their paths."""
    json_path, markdown_path = root / REPORT_JSON, root / REPORT_MARKDOWN
    json_path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "stacks": [
            {**asdict(plan), "changes": [asdict(change) for change in plan.changes]}
            for plan in plans
        ]
    }
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown(plans), encoding="utf-8")
    return json_path, markdown_path
