"""tooling.lifecycle.selection: ``--env`` is one environment, a comma-separated list, or 'all';
``TF_WORKSPACE`` pins a run to one environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from trading_infra.config import PlatformConfig, load_config

from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.selection import SelectionError, select_environments

ROOT = Path(__file__).resolve().parents[3]
CONFIG = load_config(ROOT / "platform.toml")
#: Every environment of platform.toml, in its order.
EVERY = [environment.name for environment in CONFIG.environments]


@pytest.fixture(autouse=True)
def _no_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TF_WORKSPACE", raising=False)


def _config_with_default(name: str) -> PlatformConfig:
    return CONFIG.model_copy(
        update={"platform": CONFIG.platform.model_copy(update={"default_environment": name})}
    )


@pytest.mark.parametrize(
    ("env", "selected"),
    [
        (None, [CONFIG.platform.default_environment]),
        ("prod", ["prod"]),
        ("all", EVERY),
        ("dev,prod", ["dev", "prod"]),
        ("prod,dev", ["dev", "prod"]),  # platform.toml order, whatever the order given
        (" dev , prod ", ["dev", "prod"]),
        ("dev,dev", ["dev"]),
    ],
)
def test_selection(env: str | None, selected: list[str]) -> None:
    assert select_environments(CONFIG, env) == selected


def test_no_env_means_the_default_environment() -> None:
    assert select_environments(_config_with_default("staging"), None) == ["staging"]


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
    with pytest.raises(SelectionError, match=message) as error:
        select_environments(CONFIG, env)
    assert isinstance(error.value, LifecycleError)
    assert error.value.code == 2


def test_tf_workspace_selects_and_pins_one_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_WORKSPACE", "prod")
    assert select_environments(CONFIG, None) == ["prod"]
    assert select_environments(CONFIG, "prod") == ["prod"]
    assert select_environments(CONFIG, "prod,prod") == ["prod"]
    for env in ("dev", "dev,prod", "all"):
        with pytest.raises(SelectionError, match="TF_WORKSPACE=prod restricts this run"):
            select_environments(CONFIG, env)


def test_an_explicit_workspace_wins_over_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TF_WORKSPACE", "prod")
    assert select_environments(CONFIG, None, workspace="") == [CONFIG.platform.default_environment]
    assert select_environments(CONFIG, None, workspace="all") == EVERY
