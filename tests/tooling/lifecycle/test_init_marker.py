"""A stack is initialised again only when what ``terraform init`` depends on changed (the
``terraform`` block, the binary, where the providers come from), or what init installed is
gone; a synth keeps the init files of the stacks it writes again and drops the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tooling.lifecycle import init_marker
from tooling.lifecycle.runs import init_stack
from tooling.lifecycle.session import Session
from tooling.lifecycle.synth import _keep_initialised, _restore_initialised

BACKEND: dict[str, Any] = {
    "s3": {"bucket": "tap-terraform-state-dev", "endpoints": {"s3": "http://127.0.0.1:4566"}}
}
#: sha256 of ``{"backend": BACKEND}`` as JSON with its keys sorted.
BLOCK_SHA256 = "6e844263e21254710f6b5241ccfb3da0f6e67eee1231369459e135a1eb64c95f"
ENV = {"TF_CLI_CONFIG_FILE": "checkout-a/.build/terraform/cli.tfrc", "HOME": "home-of-someone"}


def _stack(directory: Path, backend: dict[str, Any] = BACKEND, *, installed: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    document = {"terraform": {"backend": backend}, "resource": {"aws_s3_bucket": {"b": {}}}}
    (directory / "cdk.tf.json").write_text(json.dumps(document))
    if installed:
        (directory / ".terraform" / "providers").mkdir(parents=True)
        (directory / ".terraform.lock.hcl").write_text(
            'provider "registry.terraform.io/hashicorp/aws" {}\n'
        )
    return directory


def test_the_inputs_are_the_terraform_block_digest_the_binary_and_the_provider_environment(
    tmp_path: Path,
) -> None:
    stack = _stack(tmp_path / "s")
    inputs = init_marker.init_inputs(stack, ENV, "terraform-1.11")
    assert inputs == {
        "terraform_block_sha256": BLOCK_SHA256,
        "terraform": "terraform-1.11",
        "env": {
            "TF_CLI_CONFIG_FILE": "checkout-a/.build/terraform/cli.tfrc",
            "TF_PLUGIN_CACHE_DIR": None,
            "TF_DATA_DIR": None,
        },
    }


def test_an_unrecorded_stack_needs_init_and_a_recorded_one_does_not(tmp_path: Path) -> None:
    stack = _stack(tmp_path / "s")
    inputs = init_marker.init_inputs(stack, ENV, "terraform")
    assert not init_marker.is_current(stack, inputs)
    init_marker.record(stack, inputs)
    assert init_marker.is_current(stack, init_marker.init_inputs(stack, ENV, "terraform"))


def test_a_changed_backend_address_binary_or_cli_configuration_needs_init(tmp_path: Path) -> None:
    stack = _stack(tmp_path / "s")
    init_marker.record(stack, init_marker.init_inputs(stack, ENV, "terraform"))
    moved = {"s3": {**BACKEND["s3"], "endpoints": {"s3": "http://127.0.0.1:4599"}}}
    _stack(tmp_path / "s", moved, installed=False)
    assert not init_marker.is_current(stack, init_marker.init_inputs(stack, ENV, "terraform"))
    _stack(tmp_path / "s", BACKEND, installed=False)
    assert init_marker.is_current(stack, init_marker.init_inputs(stack, ENV, "terraform"))
    assert not init_marker.is_current(stack, init_marker.init_inputs(stack, ENV, "terraform-1.12"))
    other_cli = {**ENV, "TF_CLI_CONFIG_FILE": "checkout-b/.build/terraform/cli.tfrc"}
    assert not init_marker.is_current(stack, init_marker.init_inputs(stack, other_cli, "terraform"))
    assert init_marker.is_current(
        stack, init_marker.init_inputs(stack, {**ENV, "HOME": "home-of-another"}, "terraform")
    )


def test_a_recorded_stack_whose_providers_or_lock_file_are_gone_needs_init(tmp_path: Path) -> None:
    stack = _stack(tmp_path / "s")
    inputs = init_marker.init_inputs(stack, ENV, "terraform")
    init_marker.record(stack, inputs)
    (stack / ".terraform.lock.hcl").unlink()
    assert not init_marker.is_current(stack, inputs)
    (stack / ".terraform.lock.hcl").write_text("")
    (stack / ".terraform" / "providers").rmdir()
    assert not init_marker.is_current(stack, inputs)


def test_a_synth_keeps_the_init_files_of_the_stacks_it_writes_again(tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    for name in ("tap-dev-network", "tap-old-network"):
        stack = _stack(outdir / "stacks" / name)
        init_marker.record(stack, init_marker.init_inputs(stack, ENV, "terraform"))
    kept = _keep_initialised(outdir)
    # the synth rewrites stacks/ with only tap-dev-network
    for stack in (outdir / "stacks").iterdir():
        for file in stack.rglob("*"):
            assert not file.name.startswith(".terraform"), file
    (outdir / "stacks" / "tap-old-network" / "cdk.tf.json").unlink()
    (outdir / "stacks" / "tap-old-network").rmdir()
    _restore_initialised(outdir, kept, ["tap-dev-network"])
    dev = outdir / "stacks" / "tap-dev-network"
    assert init_marker.is_current(dev, init_marker.init_inputs(dev, ENV, "terraform"))
    assert not kept.exists()
    assert sorted(p.name for p in (outdir / "stacks").iterdir()) == ["tap-dev-network"]


FAKE_INIT = """#!/bin/sh
# Logs its arguments; an init installs what a real one does (providers, the lock file).
echo "$@" >> "$FAKE_LOG"
if [ "$1" = "init" ]; then mkdir -p .terraform/providers; : > .terraform.lock.hcl; fi
"""


def test_init_stack_runs_init_once_until_the_terraform_block_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = tmp_path / "terraform"
    fake.write_text(FAKE_INIT, encoding="utf-8")
    fake.chmod(0o755)
    log = tmp_path / "args"
    monkeypatch.setenv("TAP_TERRAFORM", str(fake))
    monkeypatch.setenv("FAKE_LOG", str(log))
    session = Session(root=tmp_path, target="aws")
    stack = _stack(tmp_path / "tap-dev-r-1-network", installed=False)

    init_stack(session, stack)
    init_stack(session, stack)
    assert log.read_text().splitlines() == ["init -input=false -reconfigure -no-color"]

    moved = {"s3": {**BACKEND["s3"], "endpoints": {"s3": "http://127.0.0.1:4599"}}}
    _stack(stack, moved, installed=False)
    init_stack(session, stack)
    assert log.read_text().splitlines() == ["init -input=false -reconfigure -no-color"] * 2
