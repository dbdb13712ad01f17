"""The values of the reachability rule (trading_infra.checks.reachability): the stacks it reads,
the calls it checks and the violations it reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trading_infra.checks.synthesized import SynthesizedStack


@dataclass(frozen=True)
class RegionStacks:
    """The synthesized network and application stacks of one environment in one region."""

    environment: str
    network: SynthesizedStack
    application: SynthesizedStack


@dataclass(frozen=True)
class Call:
    """An action the code may call, the statement that allows it and that statement's
    resources."""

    action: str
    statement: str
    resources: tuple[str, ...]


@dataclass(frozen=True)
class Violation:
    """A call of ``function`` (in ``stack``) to ``service`` that has no working path."""

    stack: str
    function: str
    service: str | None
    calls: tuple[Call, ...]
    problem: str
    fix: str

    @property
    def message(self) -> str:
        if self.service is None:
            return f"function {self.function}: {self.problem}: {self.fix}"
        return (
            f"function {self.function} calls {self.service} ({_calls(self.calls)}) "
            f"but {self.problem}: {self.fix}"
        )


class ReachabilityError(ValueError):
    """Synth refused: a function's code calls an AWS API its subnets cannot reach."""

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations = tuple(violations)
        lines = [f"  - {v.stack}: {v.message}" for v in self.violations]
        super().__init__(
            "synth refused: the code of a function calls an AWS API that its subnets cannot "
            "reach (trading_infra/checks/reachability.py):\n" + "\n".join(lines)
        )


class UnreadableFunctionError(Exception):
    """What the rule cannot read of a function (its role or its VPC configuration)."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


def _calls(calls: Iterable[Call]) -> str:
    by_statement: dict[str, list[str]] = {}
    for call in calls:
        by_statement.setdefault(call.statement, []).append(call.action)
    return "; ".join(
        f"{', '.join(actions)}, statement {statement}"
        for statement, actions in by_statement.items()
    )
