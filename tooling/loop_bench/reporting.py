"""The run as text: the machine, the saves' table and their p50/min/max, the deploy and the
stacks it applied and skipped, the restore, and the goals beside today's figures (never
enforced). The tables are markdown, as docs/performance.md shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from tooling.loop_bench.figures import LoopFigures
from tooling.loop_bench.probe import POLL_SECONDS
from tooling.loop_bench.sources import HEALTH_MODULE

__all__ = ["GOAL_DEPLOY_SECONDS", "GOAL_SAVE_P50_SECONDS", "goals", "report"]

#: Save to new code serving, the p50 of the saves (sync of one service, warm emulator).
GOAL_SAVE_P50_SECONDS: Final = 2.0
#: ``./tap deploy`` after a handler-only change, on an idle machine.
GOAL_DEPLOY_SECONDS: Final = 25.0
SAVE_GOAL: Final = f"save to new code serving p50 <= {GOAL_SAVE_P50_SECONDS:g} s"
DEPLOY_GOAL: Final = (
    f"./tap deploy after a handler-only change <= {GOAL_DEPLOY_SECONDS:g} s (idle machine)"
)


def _met(seconds: float, limit: float) -> str:
    return "met" if seconds <= limit else "not met"


def goals(figures: LoopFigures) -> list[tuple[str, str]]:
    """Each goal beside today's figure: (goal, today)."""
    spread = figures.serving
    if spread is None:
        save = "not measured (no save was answered)"
    else:
        save = f"{spread.p50:.2f} s: {_met(spread.p50, GOAL_SAVE_P50_SECONDS)}"
    deployed = figures.deploy
    if deployed is None:
        deploy = "not measured (the run stopped before the deploy returned)"
    elif deployed.answered_after is None:
        deploy = f"{deployed.seconds:.1f} s, but /health did not answer the change: not met"
    else:
        deploy = f"{deployed.seconds:.1f} s: {_met(deployed.seconds, GOAL_DEPLOY_SECONDS)}"
    return [(SAVE_GOAL, save), (DEPLOY_GOAL, deploy)]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        f"| {' | '.join(header)} |",
        f"|{'|'.join('---' for _ in header)}|",
        *(f"| {' | '.join(row)} |" for row in rows),
    ]


def _saves(figures: LoopFigures) -> list[str]:
    lines = [
        f"save to new code serving: {figures.requested_saves} saves of {HEALTH_MODULE.as_posix()} "
        "(GET /health's body) in a copy of the sources, each synced into "
        f"{', '.join(figures.functions)}",
        "",
        *_table(
            ("save", "sync (s)", "save to new code serving (s)"),
            [
                (str(n), f"{s.sync_seconds:.2f}", f"{s.serving_seconds:.2f}")
                for n, s in enumerate(figures.saves, 1)
            ],
        ),
        "",
        "sync (s): the zip rebuilt (dependency layer reused), its modules' syntax checked, "
        "UpdateFunctionCode until every update succeeded",
        "save to new code serving (s): from the start of the sync to the first GET /health "
        f"answering the change (asked every {POLL_SECONDS:g} s)",
    ]
    spread = figures.serving
    if spread is not None:
        lines.append(
            f"save to new code serving: p50 {spread.p50:.2f} s, min {spread.low:.2f} s, "
            f"max {spread.high:.2f} s ({spread.count} of {figures.requested_saves} saves)"
        )
    return lines


def _deploy(figures: LoopFigures) -> list[str]:
    deployed = figures.deploy
    if deployed is None:
        return ["./tap deploy after a handler-only change: not measured"]
    if deployed.answered_after is None:
        answer = "/health did NOT answer the change"
    else:
        answer = f"/health answered the change {deployed.answered_after:.2f} s after it returned"
    lines = [f"./tap deploy after a handler-only change: {deployed.seconds:.1f} s; {answer}"]
    for stack in deployed.applied:
        detail = [f"apply {stack.seconds:.1f} s"] if stack.seconds is not None else []
        if stack.reason:
            detail.append(stack.reason)
        shown = f" ({'; '.join(detail)})" if detail else ""
        lines.append(f"  applied: {stack.name}{shown}")
    if not deployed.applied:
        lines.append("  applied: none reported")
    skipped = ", ".join(deployed.skipped) or "none reported"
    lines.append(f"  skipped (unchanged since their last apply): {skipped}")
    return lines


def _restore(figures: LoopFigures) -> list[str]:
    shown = [f"  {line}" for line in figures.restored]
    if figures.restore_failure is None:
        return ["restored: the deployment runs the working tree's code (dist/) again:", *shown]
    return [
        f"NOT restored: {figures.restore_failure}",
        *shown,
        f"  the deployment may still run the bench's code: run `./tap sync --env "
        f"{figures.environment}` to put dist/ back.",
    ]


def report(figures: LoopFigures) -> str:
    """The run as text: the machine, the saves, the deploy, the restore, the goals."""
    cpus = f"{figures.cpus} cores" if figures.cpus else "cores unknown"
    lines = [
        f"loop bench: {figures.environment}, run {figures.run_id}",
        f"machine: {figures.machine}, {cpus}, load average {figures.load_before:.2f} at the "
        f"start, {figures.load_after:.2f} at the end (wall times on a shared machine vary)",
        "",
        *_saves(figures),
        "",
        *_deploy(figures),
    ]
    if figures.failure is not None:
        lines.append(f"stopped: {figures.failure}")
    lines += ["", *_restore(figures), "", *_table(("goal", "today"), goals(figures))]
    return "\n".join(lines)
