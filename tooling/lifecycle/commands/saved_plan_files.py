"""``plan --out DIR``: each stack's plan file and report kept in ``DIR``, and the manifest
(:mod:`..saved_plans`) that lets ``deploy --plan DIR`` apply exactly those plans.

The plan files are binary and hold the configuration and the values of the plan in clear
(sensitive ones included): the directory and the files are made readable by their owner only.
A state that changed while its stack was planned (a concurrent apply) fails that stack: its plan
would be recorded against a state it was not made from. A stack that did not exist yet
(:mod:`...first_plans`: planned against an empty state, or waiting) is recorded with why it has
no plan to apply, and its report, but no plan file: ``deploy --plan`` refuses the directory.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tooling.lifecycle.plan_report import StackPlan, markdown
from tooling.lifecycle.saved_plans import (
    MANIFEST,
    PlanManifest,
    SavedStack,
    plan_file_name,
    report_file_name,
    sha256_of,
    write_manifest,
)
from tooling.lifecycle.session import DeployError
from tooling.lifecycle.state_snapshot import StateSnapshot, config_sha256, read_snapshot

if TYPE_CHECKING:
    from tooling.lifecycle.graph import StackInfo
    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["REPORT_MARKDOWN", "Before", "PlanSaver"]

#: The reviewable report of every saved plan, beside the manifest.
REPORT_MARKDOWN = "plan-report.md"


@dataclass(frozen=True)
class Before:
    """What a stack was made from, read just before its plan: its configuration and state."""

    config_sha256: str
    snapshot: StateSnapshot


@dataclass
class PlanSaver:
    """The saved plans of one ``plan --out`` run (thread-safe: the stacks plan at once)."""

    ws: Workspace
    session: Session
    directory: Path
    terraform_version: str
    saved: dict[str, SavedStack] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, ws: Workspace, session: Session, directory: Path) -> PlanSaver:
        """Make ``directory`` (owner only) and remove a manifest left in it: until this run
        writes its own, the directory holds no plans a deploy would apply."""
        from tooling.terraform import terraform_version

        target = directory.resolve()
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(0o700)
        (target / MANIFEST).unlink(missing_ok=True)
        return cls(ws, session, target, terraform_version())

    def plan_file(self, stack: StackInfo) -> Path:
        return self.directory / plan_file_name(stack.name)

    def before(self, stack: StackInfo) -> Before:
        return Before(config_sha256(stack.directory), read_snapshot(self.session, stack.directory))

    def saved_stack(self, stack: StackInfo, before: Before, plan: StackPlan, code: int) -> None:
        """Record ``stack``'s saved plan (terraform's exit ``code``: 2 changes) and write its
        report; a DeployError when its state or what it reads changed while it was planned."""
        after = read_snapshot(self.session, stack.directory)
        if after != before.snapshot:
            raise DeployError(
                f"{stack.name}: its state or a state it reads was written while it was planned "
                "(a concurrent apply?): plan again"
            )
        plan_file = self.plan_file(stack)
        plan_file.chmod(0o600)
        self._report(plan)
        record = SavedStack(
            **_placed(stack),
            config_sha256=before.config_sha256,
            lineage=before.snapshot.lineage,
            serial=before.snapshot.serial,
            reads_sha256=before.snapshot.reads_sha256,
            has_changes=code == 2,
            plan_file=plan_file.name,
            plan_sha256=sha256_of(plan_file),
        )
        with self.lock:
            self.saved[stack.name] = record

    def not_applicable(
        self, stack: StackInfo, plan: StackPlan, *, has_changes: bool, reason: str
    ) -> None:
        """Record ``stack`` as having no plan to apply, and why (``reason``), with its report."""
        self._report(plan)
        record = SavedStack(
            **_placed(stack),
            config_sha256=config_sha256(stack.directory),
            lineage=None,
            serial=None,
            reads_sha256="",
            has_changes=has_changes,
            plan_file="",
            plan_sha256="",
            not_applicable=reason,
        )
        with self.lock:
            self.saved[stack.name] = record

    def _report(self, plan: StackPlan) -> None:
        """Write the report of ``plan`` beside the plan files."""
        report = self.directory / report_file_name(plan.stack)
        document = {**asdict(plan), "changes": [asdict(change) for change in plan.changes]}
        report.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    def finish(self, stacks: Sequence[StackInfo], plans: Sequence[StackPlan]) -> Path | None:
        """Write the manifest (stacks in deploy order) and the report when every stack was
        saved; its path, or None (said so) when not."""
        missing = [stack.name for stack in stacks if stack.name not in self.saved]
        if missing:
            self.ws.echo(
                f"no manifest written to {self.directory}: not planned: {', '.join(missing)}"
            )
            return None
        manifest = PlanManifest(
            target=self.ws.target,
            environments=tuple(sorted({stack.environment for stack in stacks})),
            terraform_version=self.terraform_version,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            stacks=tuple(self.saved[stack.name] for stack in stacks),
        )
        path = write_manifest(self.directory, manifest)
        (self.directory / REPORT_MARKDOWN).write_text(markdown(plans), encoding="utf-8")
        self.ws.echo(
            f"saved plans: {path} ({len(stacks)} stack(s)); the plan files hold the planned "
            "values in clear, sensitive ones included: keep the directory like a secret"
        )
        for saved in manifest.stacks:
            if saved.not_applicable is not None:
                self.ws.echo(
                    f"deploy --plan refuses this directory: {saved.name} has no plan to "
                    f"apply ({saved.not_applicable})"
                )
        return path


def _placed(stack: StackInfo) -> dict[str, Any]:
    """What a saved plan's record says of where ``stack`` is: its name, environment, region and
    the stacks it reads."""
    return {
        "name": stack.name,
        "environment": stack.environment,
        "region": stack.region,
        "depends_on": tuple(sorted(stack.depends_on)),
    }
