"""tooling.lifecycle.protection: ``destroy`` refuses an environment whose data is protected,
before anything runs, and says how to lift the protection (no emulator, no terraform here)."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any, NoReturn

import pytest
from invoke.context import Context
from invoke.exceptions import Exit
from trading_infra.config import UNPROTECTED_ENVIRONMENTS_ENV, load_config, parse_config

from tooling.lifecycle.commands import destroy
from tooling.lifecycle.protection import ProtectedDataError, refuse_protected_destroy
from tooling.lifecycle.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]
CONFIG_FILE = ROOT / "platform.toml"
CONFIG = load_config(CONFIG_FILE, environ={})


def _document() -> dict[str, Any]:
    return copy.deepcopy(tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8")))


def _refusal(env: str, **kwargs: Any) -> str:
    selected = [name.strip() for name in env.split(",")]
    if env == "all":
        selected = [environment.name for environment in CONFIG.environments]
    with pytest.raises(ProtectedDataError) as raised:
        refuse_protected_destroy(CONFIG, selected, env=env, **kwargs)
    assert raised.value.code == 2
    return str(raised.value)


@pytest.fixture
def nothing_may_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Synth, the session (emulator or AWS) and terraform fail the test when reached."""
    monkeypatch.delenv(UNPROTECTED_ENVIRONMENTS_ENV, raising=False)
    monkeypatch.delenv("TF_WORKSPACE", raising=False)
    reached: list[str] = []

    def forbidden(name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> NoReturn:
            reached.append(name)
            raise AssertionError(f"{name} ran before the protection check")

        return fail

    for name in ("ordered_stacks", "session_for", "bootstrap", "destroy_stack", "has_state"):
        monkeypatch.setattr(destroy, name, forbidden(name))
    return reached


def test_a_protected_environment_is_refused_with_the_steps_that_lift_the_protection() -> None:
    message = _refusal("prod")
    assert "data protection is on for prod" in message
    assert "[environments.prod.overrides]\n       protect_data = false" in message
    assert "./tap deploy --env prod   (applies the lifted protection)" in message
    assert "./tap destroy --env prod\n" in message


@pytest.mark.parametrize("env", ["dev", "staging", "dev,staging"])
def test_unprotected_environments_pass(env: str) -> None:
    refuse_protected_destroy(CONFIG, env.split(","), env=env)


def test_a_selection_names_only_its_protected_environments_and_is_retried_as_given() -> None:
    message = _refusal("all")
    assert "data protection is on for prod, global" in message
    assert "[environments.dev.overrides]" not in message
    assert "./tap deploy --env prod,global " in message
    assert "./tap destroy --env all\n" in message


def test_the_commands_keep_the_target() -> None:
    message = _refusal("prod", target="aws")
    assert "./tap deploy --env prod --target aws " in message
    assert "./tap destroy --env prod --target aws\n" in message


def test_the_override_protect_data_false_lets_the_destroy_through() -> None:
    document = _document()
    document["environments"]["prod"].setdefault("overrides", {})["protect_data"] = False
    refuse_protected_destroy(parse_config(document), ["prod"])


def test_the_unprotected_environments_variable_lets_the_destroy_through() -> None:
    config = load_config(CONFIG_FILE, environ={UNPROTECTED_ENVIRONMENTS_ENV: "prod,global"})
    refuse_protected_destroy(config, ["dev", "staging", "prod", "global"])


def test_destroy_refuses_before_synth_session_or_terraform(
    tmp_path: Path, nothing_may_run: list[str]
) -> None:
    ws = Workspace(root=ROOT, outdir=tmp_path / "cdktf.out")
    with pytest.raises(ProtectedDataError, match="data protection is on for global"):
        destroy.destroy_stacks(ws, "dev,global")
    assert nothing_may_run == []
    assert not (tmp_path / "cdktf.out").exists()


def test_the_destroy_task_exits_non_zero_with_the_refusal(nothing_may_run: list[str]) -> None:
    import tasks

    with pytest.raises(Exit) as raised:
        tasks.destroy(Context(), env="prod")
    assert raised.value.code == 2
    assert "protect_data = false" in str(raised.value.message)
    assert nothing_may_run == []
