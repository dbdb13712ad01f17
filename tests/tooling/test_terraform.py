"""tooling.terraform: the project's CLI configuration, offline installs, validation."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.toolchain import missing_toolchain
from tooling import terraform
from tooling.terraform import (
    GO_GC_PERCENT,
    MIRROR_ENV,
    ProviderMirrorError,
    TerraformError,
    cli_config_text,
    find_provider_mirror,
    run_terraform,
    terraform_env,
    terraform_platform,
    terraform_version,
    validate_stack,
    write_cli_config,
)


def _config(bucket: dict[str, Any]) -> dict[str, Any]:
    return {
        "terraform": {
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}
        },
        "provider": {"aws": [{"region": "ap-southeast-1"}]},
        "resource": {"aws_s3_bucket": {"b": bucket}},
    }


def _stack(directory: Path, bucket: dict[str, Any]) -> Path:
    (directory / "main.tf.json").write_text(json.dumps(_config(bucket)), encoding="utf-8")
    return directory


def _fake_mirror(root: Path) -> Path:
    package = root / "registry.terraform.io/hashicorp/aws/5.100.0" / terraform_platform()
    package.mkdir(parents=True)
    (package / "terraform-provider-aws_v5.100.0_x5").write_bytes(b"")
    return root


# --------------------------------------------------------------------------- configuration


def test_cli_config_with_mirror_installs_hashicorp_providers_from_it_only(tmp_path: Path) -> None:
    mirror, cache = Path("/opt/tf-plugins"), tmp_path / "cache"
    dest = write_cli_config(tmp_path / "terraformrc", mirror, plugin_cache_dir=cache)
    text = dest.read_text(encoding="utf-8")
    assert 'path    = "/opt/tf-plugins"' in text
    assert 'include = ["registry.terraform.io/hashicorp/*"]' in text
    assert 'exclude = ["registry.terraform.io/hashicorp/*"]' in text
    assert f'plugin_cache_dir = "{cache}"' in text
    assert cache.is_dir()
    # Deterministic, and not rewritten when unchanged.
    before = dest.stat().st_mtime_ns
    assert write_cli_config(dest, mirror, plugin_cache_dir=cache) == dest
    assert dest.stat().st_mtime_ns == before
    assert cli_config_text(mirror, cache) == text


def test_cli_config_without_mirror_uses_the_registry(tmp_path: Path) -> None:
    text = write_cli_config(tmp_path / "terraformrc", None).read_text(encoding="utf-8")
    assert "direct {}" in text
    assert "filesystem_mirror" not in text
    assert "plugin_cache_dir" not in text


def test_cli_config_escapes_hcl_templates() -> None:
    text = cli_config_text(Path('/odd/${x}/%{y}/"q"'))
    assert 'path    = "/odd/$${x}/%%{y}/\\"q\\""' in text


def test_terraform_and_its_providers_collect_garbage_less_often_unless_told(
    tmp_path: Path,
) -> None:
    """GIVEN no GOGC WHEN terraform runs THEN it (and the providers it starts) get the project's
    GC target; a GOGC of the caller's own is kept."""
    base = {"PATH": os.environ["PATH"]}
    assert terraform_env(tmp_path / "repo", base)["GOGC"] == GO_GC_PERCENT == "400"
    assert terraform_env(tmp_path / "repo", {**base, "GOGC": "100"})["GOGC"] == "100"


def test_terraform_env_replaces_inherited_configuration(tmp_path: Path) -> None:
    base = {
        "PATH": os.environ["PATH"],
        "TF_CLI_CONFIG_FILE": str(tmp_path / "inherited.terraformrc"),
        "TERRAFORM_CONFIG": str(tmp_path / "inherited.terraformrc"),
        "TF_PLUGIN_CACHE_DIR": "/nonexistent",
        "TF_CLI_ARGS": "-no-color",
        "TF_CLI_ARGS_init": "-upgrade",
        "TF_WORKSPACE": "prod",
        "TF_LOG": "WARN",
        MIRROR_ENV: str(_fake_mirror(tmp_path / "mirror")),
    }
    env = terraform_env(tmp_path / "repo", base)
    config = tmp_path / "repo/.build/terraform/terraformrc"
    assert env["TF_CLI_CONFIG_FILE"] == str(config)
    assert env["TF_PLUGIN_CACHE_DIR"] == str(tmp_path / "repo/.build/terraform/plugin-cache")
    assert env["TF_IN_AUTOMATION"] == "1"
    assert env["TF_INPUT"] == "0"
    assert env["CHECKPOINT_DISABLE"] == "1"
    assert env["TF_LOG"] == "WARN"
    for name in ("TERRAFORM_CONFIG", "TF_CLI_ARGS", "TF_CLI_ARGS_init", "TF_WORKSPACE"):
        assert name not in env
    assert f'path    = "{tmp_path / "mirror"}"' in config.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- mirror lookup


def test_find_provider_mirror_searches_known_locations(tmp_path: Path) -> None:
    empty, mirror = tmp_path / "empty", _fake_mirror(tmp_path / "mirror")
    empty.mkdir()
    assert find_provider_mirror(environ={}, candidates=[empty, mirror]) == mirror
    assert find_provider_mirror(environ={}, candidates=[empty, tmp_path / "missing"]) is None
    assert find_provider_mirror(environ={MIRROR_ENV: str(mirror)}, candidates=[]) == mirror


@pytest.mark.parametrize(
    ("layout", "problem"),
    [
        (None, "no such directory"),
        ("registry.terraform.io/hashicorp", "no registry.terraform.io/hashicorp/aws/"),
        ("registry.terraform.io/hashicorp/aws/5.100.0/plan9_mips", "no hashicorp/aws package"),
    ],
)
def test_bad_mirror_variable_is_an_actionable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str | None, problem: str
) -> None:
    bad = tmp_path / "mirror"
    if layout is not None:
        (bad / layout).mkdir(parents=True)
    monkeypatch.setenv(MIRROR_ENV, str(bad))
    with pytest.raises(ProviderMirrorError) as caught:
        run_terraform(["version"], cwd=tmp_path, repo_root=tmp_path)
    message = str(caught.value)
    assert problem in message
    assert f"{MIRROR_ENV}='{bad}'" in message
    assert "registry.terraform.io/hashicorp/aws/<version>/" in message
    assert "unset it" in message


# --------------------------------------------------------------------------- running terraform


def test_terraform_version() -> None:
    if shutil.which("terraform") is None:
        missing_toolchain("terraform is not on PATH")
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", terraform_version())


@pytest.mark.parametrize("capture", [True, False])
def test_failure_raises_with_command_cwd_code_and_stderr(
    terraform_repo: Path, tmp_path: Path, capture: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(TerraformError) as caught:
        run_terraform(
            ["init", "-no-such-flag"], cwd=tmp_path, repo_root=terraform_repo, capture=capture
        )
    error = caught.value
    assert error.returncode != 0
    assert error.cwd == tmp_path
    assert error.command[1:] == ("init", "-no-such-flag")
    assert any("no-such-flag" in line for line in error.output_tail)
    assert f"failed with exit code {error.returncode} in {tmp_path}" in str(error)
    if not capture:  # streamed through as it arrived
        assert "no-such-flag" in capsys.readouterr().err
    result = run_terraform(
        ["init", "-no-such-flag"], cwd=tmp_path, repo_root=terraform_repo, check=False
    )
    assert result.returncode == error.returncode


def test_validate_works_offline_through_the_mirror(
    terraform_repo: Path, provider_mirror: Path, offline: Path, tmp_path: Path
) -> None:
    result = validate_stack(_stack(tmp_path, {"bucket": "x"}), terraform_repo)
    assert result.ok, result.messages()
    assert result.warnings == ()
    # In a data directory of its own: a deploy's .terraform (its backend) is never read or
    # changed, so a stack deployed to a stopped emulator validates too.
    assert not (tmp_path / ".terraform").exists()
    # Installed from the mirror (through the shared plugin cache), not from the registry.
    installed = (
        tmp_path / ".terraform-validate/providers/registry.terraform.io/hashicorp/aws/5.100.0"
    )
    package = (installed / terraform_platform()).resolve()
    assert package.is_relative_to(provider_mirror)
    cached = terraform_repo / ".build/terraform/plugin-cache/registry.terraform.io/hashicorp/aws"
    assert (cached / "5.100.0" / terraform_platform()).exists()
    assert os.environ["TF_CLI_CONFIG_FILE"] == str(offline)  # the poisoned one was inherited


def test_deprecated_argument_is_a_warning(terraform_repo: Path, tmp_path: Path) -> None:
    result = validate_stack(_stack(tmp_path, {"bucket": "x", "acl": "private"}), terraform_repo)
    assert result.ok
    assert [d.summary for d in result.deprecations] == ["Argument is deprecated"]
    (warning,) = result.warnings
    assert "acl is deprecated" in warning.detail
    assert warning.address == "aws_s3_bucket.b"
    assert warning.filename == "main.tf.json"


def test_invalid_configuration_is_an_error(terraform_repo: Path, tmp_path: Path) -> None:
    result = validate_stack(_stack(tmp_path, {"bucket": "x", "no_such": 1}), terraform_repo)
    assert not result.ok
    assert [d.summary for d in result.errors] == ["Extraneous JSON object property"]
    assert "no_such" in result.messages()[0]


def test_validate_needs_a_configuration(terraform_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(terraform.TerraformSetupError, match="no Terraform configuration"):
        validate_stack(tmp_path, terraform_repo)


def test_run_terraform_environment_cannot_be_undone_by_env_extra(tmp_path: Path) -> None:
    fake = tmp_path / "terraform"
    fake.write_text("#!/bin/sh\nenv\n", encoding="utf-8")
    fake.chmod(0o755)
    base = {"PATH": os.environ["PATH"], "TAP_TERRAFORM": str(fake), "AWS_PROFILE": "dev"}
    result = run_terraform(
        ["plan"],
        cwd=tmp_path,
        repo_root=tmp_path / "repo",
        base_env={**base, "TF_CLI_CONFIG_FILE": str(tmp_path / "inherited.terraformrc")},
        env_extra={"TF_CLI_CONFIG_FILE": "/bogus", "TF_CLI_ARGS_plan": "-x", "AWS_REGION": "r"},
        capture=True,
    )
    env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "repo/.build/terraform/terraformrc")
    assert "TF_CLI_ARGS_plan" not in env
    assert (env["AWS_REGION"], env["AWS_PROFILE"]) == ("r", "dev")


def test_stream_terraform_hands_over_merged_lines_as_they_come(tmp_path: Path) -> None:
    fake = tmp_path / "terraform"
    script = 'echo "one $1"\necho "two" >&2\necho three\nexit 3\n'
    fake.write_text(f"#!/bin/sh\n{script}", encoding="utf-8")
    fake.chmod(0o755)
    seen: list[str] = []
    run = terraform.stream_terraform(
        ["apply"],
        cwd=tmp_path,
        repo_root=tmp_path / "repo",
        base_env={"PATH": os.environ["PATH"], "TAP_TERRAFORM": str(fake)},
        on_line=seen.append,
        tail_lines=2,
    )
    assert seen == ["one apply", "two", "three"]  # stderr merged, in order, no newlines
    assert (run.returncode, run.tail) == (3, ("two", "three"))
    assert run.command == (str(fake), "apply")


def test_stream_terraform_forwards_one_sigint_and_runs_in_its_own_group(tmp_path: Path) -> None:
    import threading

    fake = tmp_path / "terraform"
    record = tmp_path / "signals"
    # Python, not sh: a shell cannot trap a signal ignored when it started (as SIGINT is for
    # every job a non-interactive shell starts with &), while terraform, a Go program, installs
    # its handler whatever it inherited; so does this fake.
    fake.write_text(
        f"#!{sys.executable}\n"
        "import os, signal, sys, time\n"
        f"record = open({str(record)!r}, 'a')\n"
        "def stop(signum, frame):\n"
        "    record.write('INT\\n'); record.flush(); sys.exit(1)\n"
        "signal.signal(signal.SIGINT, stop)\n"
        "record.write(f'pgid {os.getpgrp()}\\n'); record.flush()\n"
        "print('started', flush=True)\n"
        "time.sleep(10)\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    interrupt = threading.Event()

    def on_line(line: str) -> None:
        if line == "started":
            interrupt.set()

    run = terraform.stream_terraform(
        ["apply"],
        cwd=tmp_path,
        repo_root=tmp_path / "repo",
        base_env={"PATH": os.environ["PATH"], "TAP_TERRAFORM": str(fake)},
        on_line=on_line,
        stops=terraform.StopSignals(interrupt=interrupt),
    )
    assert (run.returncode, run.interrupted, run.killed) == (1, True, False)
    lines = record.read_text(encoding="utf-8").split()
    assert lines.count("INT") == 1
    assert lines[1] != str(os.getpgrp())


def test_a_terraform_directory_of_its_own_moves_the_configuration_and_the_plugin_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN TAP_TERRAFORM_DIR (an e2e lane's) WHEN terraform runs THEN its CLI configuration
    and plugin cache are there, relative to the repository, so lanes never share a cache."""
    from tooling.terraform import TERRAFORM_DIR_ENV, cli_config_path, plugin_cache_path

    monkeypatch.setenv(TERRAFORM_DIR_ENV, ".build/e2e/lanes/crash/terraform")
    repo = tmp_path / "repo"
    lane = repo / ".build/e2e/lanes/crash/terraform"
    assert cli_config_path(repo) == lane / "terraformrc"
    assert plugin_cache_path(repo) == lane / "plugin-cache"
    env = terraform_env(repo, {"PATH": os.environ["PATH"]})
    assert env["TF_PLUGIN_CACHE_DIR"] == str(lane / "plugin-cache")
    assert env["TF_CLI_CONFIG_FILE"] == str(lane / "terraformrc")
    monkeypatch.delenv(TERRAFORM_DIR_ENV)
    assert plugin_cache_path(repo) == repo / ".build/terraform/plugin-cache"
