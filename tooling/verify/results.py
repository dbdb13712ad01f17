"""What a verify run found: each check's result (:class:`CheckResult`) and the run's
(:class:`VerifyResult`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CheckResult", "VerifyResult"]


@dataclass(frozen=True)
class CheckResult:
    """One check: whether it passed, how long it took, what it saw (or why it failed).

    ``skipped``: not run, because a check it needs did not pass (``passed`` is False then, and
    the check is not counted as failed).
    """

    name: str
    passed: bool
    seconds: float
    detail: str
    skipped: bool = False

    @property
    def failed(self) -> bool:
        return not self.passed and not self.skipped


@dataclass(frozen=True)
class VerifyResult:
    """A run against ``environment`` (as the report names it) on ``target``, with the canary
    ``run_id``: its checks in the order they ran, the cleanup last."""

    environment: str
    target: str
    run_id: str
    checks: tuple[CheckResult, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(check.name for check in self.checks if check.failed)

    @property
    def skipped(self) -> tuple[str, ...]:
        return tuple(check.name for check in self.checks if check.skipped)

    def check(self, name: str) -> CheckResult:
        """The result of the check ``name`` (KeyError if there is none)."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)
