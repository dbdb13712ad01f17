"""Every `./tap ...` command shown in README.md and docs/**/*.md works.

The cheap ones run (``--help``, ``--list``, ``./tap TASK --help``; ``synth`` into a scratch
directory); every other one must name an existing task and only options that task has (parsed
from ``./tap --list`` and ``./tap TASK --help``). ``./tap`` is run as ``python -m invoke``: the
wrapper only bootstraps .venv and then execs invoke with the same arguments.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
COMMAND = re.compile(r"\./tap(?:\s+[^\s`|;&)<>#\"]+)*")
CHEAP = {"--help", "--list", "-l", "-h"}


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )  # fmt: skip


def commands() -> list[tuple[str, str]]:
    found = set()
    for path in DOCS:
        for line in path.read_text(encoding="utf-8").splitlines():
            for match in COMMAND.finditer(line):
                command = match.group(0).strip().rstrip(".,:")
                found.add((str(path.relative_to(ROOT)), command))
    return sorted(found)


@functools.cache
def tasks() -> frozenset[str]:
    listing = invoke("--list")
    assert listing.returncode == 0, listing.stderr
    return frozenset(re.findall(r"^  ([a-z][a-z0-9-]*)\s", listing.stdout, re.MULTILINE))


@functools.cache
def help_text(task: str) -> str:
    """What ``./tap --help TASK`` prints (it must exit 0), once per task."""
    result = invoke("--help", task)  # not `task --help`: a positional argument would eat it
    assert result.returncode == 0, result.stderr
    return result.stdout


def options(task: str) -> frozenset[str]:
    return frozenset(re.findall(r"(--[a-z0-9-]+)", help_text(task))) | {"--help", "-h"}


def test_the_docs_show_commands() -> None:
    assert len(commands()) > 20


@pytest.mark.parametrize(("document", "command"), commands())
def test_command_names_a_task_and_its_options(document: str, command: str) -> None:
    words = re.sub(r"[\[\]<>'\"\\]", " ", command).split()[1:]
    if not words or words[0] in CHEAP:
        assert invoke(*words[:1] or ["--list"]).returncode == 0
        return
    task = words[0]
    assert task in tasks(), f"{document}: `{command}`: no task {task!r}"
    for word in words[1:]:
        if word.startswith("--"):
            name = word.split("=", 1)[0]
            assert name in options(task), f"{document}: `{command}`: {task} has no {name}"


@pytest.mark.parametrize("task", sorted({c.split()[1] for _, c in commands() if len(c.split()) > 1
                                          and not c.split()[1].startswith("-")}))  # fmt: skip
def test_task_help_runs(task: str) -> None:
    assert task in tasks(), f"the docs show ./tap {task}, which is no task"
    assert help_text(task).startswith(f"Usage: inv[oke] [--core-opts] {task} ")


def test_synth_as_documented_runs(tmp_path: Path) -> None:
    shown = [c for _, c in commands() if c.split()[1:2] == ["synth"]]
    assert shown, "the docs show ./tap synth"
    result = invoke("synth", "--env", "dev", env={"TAP_CDKTF_OUTDIR": str(tmp_path / "out")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out" / "stacks" / "tap-dev-ap-southeast-1-app" / "cdk.tf.json").is_file()
