"""``--env`` of the tasks (tasks._selection): one environment, a comma-separated list, or 'all';
``TF_WORKSPACE`` pins a run to one environment."""

from __future__ import annotations

import tomllib

import pytest
from invoke.exceptions import Exit

import tasks

#: Every environment of platform.toml, in its order.
EVERY = list(tomllib.loads(tasks.CONFIG_FILE.read_text(encoding="utf-8"))["environments"])


@pytest.fixture(autouse=True)
def _no_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_WORKSPACE", raising=False)


@pytest.mark.parametrize(
    ("env", "selected"),
    [
        (None, ["dev"]),  # platform.default_environment
        ("prod", ["prod"]),
        ("all", EVERY),
        ("dev,prod", ["dev", "prod"]),
        ("prod,dev", ["dev", "prod"]),  # platform.toml order, whatever the order given
        (" dev , prod ", ["dev", "prod"]),
        ("dev,dev", ["dev"]),
    ],
)
def test_selection(env: str | None, selected: list[str]) -> None:
    assert tasks._selection(env) == selected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ("qa", "unknown environment 'qa'"),
        ("dev,qa", "unknown environment 'qa'"),
        ("dev,,prod", "empty entry"),
        ("all,dev", "'all' cannot be combined"),
    ],
)
def test_selection_errors(env: str, message: str) -> None:
    with pytest.raises(Exit, match=message) as error:
        tasks._selection(env)
    assert error.value.code == 2


def test_tf_workspace_selects_and_pins_one_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_WORKSPACE", "prod")
    assert tasks._selection(None) == ["prod"]
    assert tasks._selection("prod") == ["prod"]
    assert tasks._selection("prod,prod") == ["prod"]
    for env in ("dev", "dev,prod", "all"):
        with pytest.raises(Exit, match="TF_WORKSPACE=prod restricts this run"):
            tasks._selection(env)
