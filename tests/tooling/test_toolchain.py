"""tests/toolchain.py: a missing Terraform or provider mirror skips locally and fails in CI."""

from __future__ import annotations

import pytest

from tests.toolchain import in_ci, missing_toolchain


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), ("TRUE", True), ("yes", True),
     ("", False), ("0", False), ("false", False), ("False", False), ("no", False)],
)  # fmt: skip
def test_ci_is_any_true_value_of_the_ci_variable(value: str, expected: bool) -> None:
    assert in_ci({"CI": value}) is expected


def test_without_the_ci_variable_it_is_not_ci() -> None:
    assert in_ci({}) is False


def test_a_missing_toolchain_is_a_skip_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="terraform is not on PATH"):
        missing_toolchain("terraform is not on PATH")


def test_a_missing_toolchain_is_a_failure_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"no hashicorp/aws filesystem mirror.*CI"):
        missing_toolchain("no hashicorp/aws filesystem mirror")
