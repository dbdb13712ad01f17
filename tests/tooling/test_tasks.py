"""tasks.py, the shell of ``./tap``: its tasks, the commands it passes the lifecycle to name in
its messages (:class:`tooling.lifecycle.commands.hints.Hints`), and the options it refuses
before calling a module."""

from __future__ import annotations

from typing import Any

import pytest
from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit

import tasks
from tooling.bench_command import BenchCli, BenchRequest
from tooling.cli import shell
from tooling.lifecycle.commands.hints import Hints
from tooling.lifecycle.commands.stack_run import DEFAULT_PARALLEL
from tooling.lifecycle.holders import LockInfo, locked_message

UNLOCK = "./tap unlock "


def test_every_task_of_the_cli_is_listed() -> None:
    assert sorted(Collection.from_module(tasks).task_names) == [
        "bench", "bootstrap-backend", "build", "clean", "deploy", "destroy", "diagram", "diff",
        "drift", "emulator", "invoke", "logs", "plan", "preflight", "stacks", "sync", "synth",
        "test", "unlock", "upload", "validate", "verify",
    ]  # fmt: skip


def test_the_cli_default_is_the_lifecycle_default() -> None:
    assert shell.PARALLEL == DEFAULT_PARALLEL == 4


@pytest.mark.parametrize(
    ("task_name", "env", "target", "again"),
    [
        ("deploy", "dev,prod", "aws", "./tap deploy --env dev,prod --target aws"),
        ("plan", None, "local", "./tap plan"),
        ("drift", "global", "local", "./tap drift --env global"),
    ],
)
def test_the_hints_run_the_same_task_on_the_same_selection_and_target(
    task_name: str, env: str | None, target: str, again: str
) -> None:
    assert shell.hints_for(task_name, env, target) == Hints(again=again, unlock=UNLOCK)


def test_the_destroy_hints_name_the_destroy_that_sweeps() -> None:
    assert shell.hints_for("destroy", "dev", "aws", sweep=True) == Hints(
        again="./tap destroy --env dev --target aws",
        sweep="./tap destroy --env dev --target aws --sweep",
        unlock=UNLOCK,
    )


def test_the_unlock_hint_begins_the_line_a_locked_stack_names() -> None:
    # The lifecycle turns the lines of a locked stack's error that begin with the hint into
    # "Next:" steps, so the hint must begin the line the lock's message writes.
    message = locked_message("tap-dev-r-1-app", LockInfo(id="L-1", who="ci@runner-7"), None)
    steps = [line.strip() for line in message.splitlines() if line.strip().startswith(UNLOCK)]
    assert steps == ["./tap unlock --stack tap-dev-r-1-app --lock-id L-1"]


def test_deploy_passes_its_hints_to_the_lifecycle(monkeypatch: pytest.MonkeyPatch) -> None:
    called: dict[str, Any] = {}

    def deploy_stacks(ws: Any, env: str | None, **kwargs: Any) -> dict[str, Any]:
        called.update(kwargs, env=env, target=ws.target)
        return {}

    monkeypatch.setattr("tooling.lifecycle.commands.deploy.deploy_stacks", deploy_stacks)
    tasks.deploy(Context(), env="dev", target="aws", parallel=2)
    assert called == {
        "env": "dev",
        "target": "aws",
        "parallel": 2,
        "plan_all": False,
        "hints": Hints(again="./tap deploy --env dev --target aws", unlock=UNLOCK),
    }


def test_deploy_of_saved_plans_names_the_plan_command_to_run_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: dict[str, Any] = {}

    def deploy_saved_plans(ws: Any, env: str | None, plan_dir: Any, **kwargs: Any) -> None:
        called.update(kwargs, env=env, target=ws.target, plan_dir=str(plan_dir))

    monkeypatch.setattr(
        "tooling.lifecycle.commands.deploy_saved.deploy_saved_plans", deploy_saved_plans
    )
    tasks.deploy(Context(), env="dev", target="aws", parallel=2, plan="plans/dev")
    assert called == {
        "env": "dev",
        "target": "aws",
        "plan_dir": "plans/dev",
        "parallel": 2,
        "hints": Hints(again="./tap plan --env dev --target aws --out plans/dev", unlock=UNLOCK),
    }


def test_deploy_refuses_saved_plans_with_plan_all_with_exit_2() -> None:
    with pytest.raises(Exit) as raised:
        tasks.deploy(Context(), env="dev", plan="plans", plan_all=True)
    assert (raised.value.code, raised.value.message) == (
        2,
        "deploy: --plan applies saved plans; --plan-all plans again.",
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sizes": "1000"}, "bench: --sizes goes with --ingest."),
        ({"saves": "3"}, "bench: --saves goes with --loop."),
        ({"saves": "3", "lifecycle": True}, "bench: --saves goes with --loop."),
    ],
)
def test_bench_refuses_an_option_of_another_benchmark_with_exit_2(
    options: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tooling.bench_command.run_bench", _no_bench)
    with pytest.raises(Exit) as raised:
        tasks.bench(Context(), **options)
    assert (raised.value.code, raised.value.message) == (2, message)


def _no_bench(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the benchmark ran")


def test_bench_hands_its_options_and_the_cli_spelling_to_the_bench_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: list[tuple[BenchRequest, BenchCli]] = []
    monkeypatch.setattr(
        "tooling.bench_command.run_bench",
        lambda root, request, cli: called.append((request, cli)),
    )
    tasks.bench(Context(), ingest=True, sizes="1000", saves="3", env="dev")
    [(request, cli)] = called
    assert request == BenchRequest(ingest=True, sizes="1000", saves="3", env="dev")
    assert cli.deploy_command("staging") == "./tap deploy --env staging"
    assert cli.one_environment("prod") == "prod"
    with pytest.raises(Exit) as raised:
        cli.one_environment("dev,prod")
    assert raised.value.code == 2
    assert (
        raised.value.message
        == "bench reads one environment; --env dev,prod selects ['dev', 'prod']."
    )
