"""The order of a verify run: each check timed, a check skipped when one it needs did not pass,
and the cleanup always last, even when a check raised or the run is interrupted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tooling.verify.checks import (
    CanaryRun,
    check_health,
    check_ingest,
    check_read,
    check_session,
)
from tooling.verify.cleanup import clean_up
from tooling.verify.errors import CheckFailedError, describe_error
from tooling.verify.results import CheckResult, VerifyResult

__all__ = ["CHECKS", "CLEANUP", "Check", "verify"]


@dataclass(frozen=True)
class Check:
    """A named step of the run, and the checks that must have passed before it runs."""

    name: str
    step: Callable[[CanaryRun], str]
    needs: tuple[str, ...] = ()


CHECKS: tuple[Check, ...] = (
    Check("health", check_health),
    Check("session", check_session),
    Check("ingest", check_ingest, needs=("session",)),
    Check("read", check_read, needs=("ingest",)),
)
CLEANUP = Check("cleanup", clean_up)


def verify(
    run: CanaryRun,
    *,
    environment: str,
    target: str,
    on_result: Callable[[CheckResult], None] = lambda result: None,
    checks: Sequence[Check] = CHECKS,
) -> VerifyResult:
    """Run ``checks`` in order, then the cleanup; ``on_result`` gets each result as it is
    known. An interruption (Ctrl-C) still runs the cleanup, then goes on."""
    started = run.clock()
    results: list[CheckResult] = []

    def record(result: CheckResult) -> None:
        results.append(result)
        on_result(result)

    try:
        for check in checks:
            record(_skipped(check, results) or _timed(check, run))
    finally:
        record(_timed(CLEANUP, run))
    return VerifyResult(
        environment=environment,
        target=target,
        run_id=run.canary.run_id,
        checks=tuple(results),
        seconds=run.clock() - started,
    )


def _skipped(check: Check, done: Sequence[CheckResult]) -> CheckResult | None:
    passed = {result.name for result in done if result.passed}
    missing = [name for name in check.needs if name not in passed]
    if not missing:
        return None
    return CheckResult(
        check.name, False, 0.0, f"not run: {', '.join(missing)} did not pass", skipped=True
    )


def _timed(check: Check, run: CanaryRun) -> CheckResult:
    started = run.clock()
    try:
        detail = check.step(run)
    except CheckFailedError as failure:
        return CheckResult(check.name, False, run.clock() - started, str(failure))
    except Exception as error:  # any error of a check is its failure, named in the report
        return CheckResult(check.name, False, run.clock() - started, describe_error(error))
    return CheckResult(check.name, True, run.clock() - started, detail)
