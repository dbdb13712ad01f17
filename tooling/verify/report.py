"""What ``./tap verify`` prints: a header naming the canary, one line per check as it ends
(``PASS``, ``FAIL`` or ``SKIP``, its seconds, what it saw), a summary; and the message it exits
with when a check failed."""

from __future__ import annotations

from typing import Final

from tooling.verify.canary import Canary
from tooling.verify.results import CheckResult, VerifyResult

__all__ = ["check_line", "failure_message", "header_line", "report_lines", "summary_line"]

#: The longest check name (``session``, ``cleanup``): the details line up after it.
_NAME_WIDTH: Final = 7


def header_line(environment: str, target: str, canary: Canary) -> str:
    return f"verify {environment} on {target}: canary {canary.run_id}, file {canary.key}"


def check_line(result: CheckResult) -> str:
    if result.skipped:
        return f"  SKIP  {result.name:<{_NAME_WIDTH}}  {'-':>5}    {result.detail}"
    status = "PASS" if result.passed else "FAIL"
    return f"  {status}  {result.name:<{_NAME_WIDTH}}  {result.seconds:5.1f} s  {result.detail}"


def summary_line(result: VerifyResult) -> str:
    if result.passed:
        return (
            f"verify {result.environment}: passed, {len(result.checks)} checks "
            f"in {result.seconds:.1f} s"
        )
    text = f"verify {result.environment}: FAILED: {', '.join(result.failed)}"
    if result.skipped:
        text += f" (not run: {', '.join(result.skipped)})"
    return f"{text}, {result.seconds:.1f} s"


def report_lines(result: VerifyResult, canary: Canary) -> list[str]:
    """The whole report of a finished run (what :func:`tooling.verify.run` printed)."""
    return [
        header_line(result.environment, result.target, canary),
        *(check_line(check) for check in result.checks),
        summary_line(result),
    ]


def failure_message(result: VerifyResult) -> str:
    """Why the command exits 1: the checks that failed, each with what it saw."""
    failed = [check for check in result.checks if check.failed]
    reasons = "; ".join(f"{check.name}: {check.detail}" for check in failed)
    return f"{result.environment} failed {', '.join(result.failed)} ({reasons})"
