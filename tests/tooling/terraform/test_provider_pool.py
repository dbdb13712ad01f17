"""tooling.terraform.provider_pool: which stacks get a running provider, the reattach value made
from go-plugin's handshake, and how servers are lent, reused and stopped (with a stand-in
server: a script that prints a handshake and waits). The real provider attached this way is
exercised by every local deploy, plan, drift and destroy (e2e)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tooling.terraform import provider_pool
from tooling.terraform.errors import TerraformSetupError
from tooling.terraform.provider_pool import (
    ProviderPool,
    handshake_reattach,
    pool_enabled,
    provider_binary,
)

AWS = "registry.terraform.io/hashicorp/aws"
#: Terraform's plugin handshake cookie, which a plugin requires before it serves.
COOKIE = provider_pool.MAGIC_COOKIE["TF_PLUGIN_MAGIC_COOKIE"]


def _stack(directory: Path, providers: dict[str, object], *, installed: int = 1) -> Path:
    directory.mkdir(parents=True)
    (directory / "cdk.tf.json").write_text(json.dumps({"provider": providers}), encoding="utf-8")
    for number in range(installed):
        plugin = directory / ".terraform/providers" / AWS / f"5.10{number}.0/linux_amd64"
        plugin.mkdir(parents=True)
        (plugin / f"terraform-provider-aws_v5.10{number}.0_x5").write_bytes(b"")
    return directory


def test_a_stack_with_one_aws_configuration_gets_its_installed_provider(tmp_path: Path) -> None:
    stack = _stack(tmp_path / "s", {"aws": [{"region": "ap-southeast-1"}]})
    expected = stack / ".terraform/providers" / AWS / "5.100.0/linux_amd64"
    assert provider_binary(stack) == (expected / "terraform-provider-aws_v5.100.0_x5").resolve()


@pytest.mark.parametrize(
    ("providers", "installed"),
    [
        ({"aws": [{"region": "a"}, {"region": "b", "alias": "b"}]}, 1),  # two configurations
        ({"aws": [{"region": "a"}], "random": [{}]}, 1),  # another provider
        ({"aws": [{"region": "a"}]}, 0),  # not initialised
        ({"aws": [{"region": "a"}]}, 2),  # two versions installed: which one is unknown
    ],
)
def test_other_stacks_start_their_own_providers(
    tmp_path: Path, providers: dict[str, object], installed: int
) -> None:
    assert provider_binary(_stack(tmp_path / "s", providers, installed=installed)) is None


def test_a_directory_without_a_stack_has_none(tmp_path: Path) -> None:
    assert provider_binary(tmp_path) is None


def test_the_reattach_value_names_the_handshakes_socket_and_is_left_running() -> None:
    value = handshake_reattach("1|5|unix|/tmp/plugin123|grpc|\n", 4242)
    assert json.loads(value) == {
        AWS: {
            "Protocol": "grpc",
            "ProtocolVersion": 5,
            "Pid": 4242,
            "Test": True,
            "Addr": {"Network": "unix", "String": "/tmp/plugin123"},
        }
    }


@pytest.mark.parametrize("line", ["", "This binary is a plugin.", "1|5|unix|/tmp/p|netrpc|"])
def test_anything_but_a_grpc_handshake_is_refused(line: str) -> None:
    with pytest.raises(TerraformSetupError, match="handshake"):
        handshake_reattach(line, 1)


def test_the_pool_is_on_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv(provider_pool.POOL_ENV, raising=False)
    assert pool_enabled()
    monkeypatch.setenv(provider_pool.POOL_ENV, "0")
    assert not pool_enabled()
    monkeypatch.delenv(provider_pool.POOL_ENV)
    monkeypatch.setattr("sys.platform", "darwin")
    assert not pool_enabled()


@pytest.fixture
def server(tmp_path: Path) -> Path:
    """A stand-in provider: refuses to serve without Terraform's magic cookie (as a plugin
    does), records its working directory and environment, prints a handshake and waits."""
    script = tmp_path / "terraform-provider-fake"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$TF_PLUGIN_MAGIC_COOKIE" = {COOKIE} ] || exit 1\n'
        'pwd > "$RECORD.$$"; env >> "$RECORD.$$"\n'
        'echo "1|5|unix|/tmp/plugin-$$|grpc|"\n'
        "exec sleep 600\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _pid(value: str) -> int:
    return int(json.loads(value)[AWS]["Pid"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.skipif(not pool_enabled(), reason="the pool runs on Linux only")
def test_a_server_serves_one_command_at_a_time_then_the_next(server: Path, tmp_path: Path) -> None:
    pool = ProviderPool()
    env = {"PATH": os.environ["PATH"], "RECORD": str(tmp_path / "record"), "AWS_CA_BUNDLE": "x"}
    stack = tmp_path / "stack"
    stack.mkdir()
    try:
        with pool.lease(server, stack, env) as first:
            # a second command at the same time gets a server of its own
            with pool.lease(server, stack, env) as second:
                second.reusable = True
            first.reusable = True
        one = first.env["TF_REATTACH_PROVIDERS"]
        two = second.env["TF_REATTACH_PROVIDERS"]
        assert _pid(one) != _pid(two)
        # the next command is lent one of them again: nothing new starts
        with pool.lease(server, stack, env) as third:
            third.reusable = True
        assert third.env["TF_REATTACH_PROVIDERS"] in {one, two}
        # each server works in the stack's directory, with the environment but the CA bundle
        records = sorted(tmp_path.glob("record.*"))
        assert len(records) == 2
        lines = records[0].read_text(encoding="utf-8").splitlines()
        assert lines[0] == str(stack)
        assert f"RECORD={tmp_path / 'record'}" in lines
        assert not any(line.startswith("AWS_CA_BUNDLE=") for line in lines)
    finally:
        pool.close()
    assert not _alive(_pid(one)) and not _alive(_pid(two))


@pytest.mark.skipif(not pool_enabled(), reason="the pool runs on Linux only")
def test_at_most_four_idle_servers_are_kept_the_longest_idle_stopped_first(
    server: Path, tmp_path: Path
) -> None:
    pool = ProviderPool()
    env = {"PATH": os.environ["PATH"], "RECORD": str(tmp_path / "record")}
    pids = []
    try:
        for number in range(6):  # six stacks, one command each
            stack = tmp_path / f"stack-{number}"
            stack.mkdir()
            with pool.lease(server, stack, env) as lease:
                lease.reusable = True
            pids.append(_pid(lease.env["TF_REATTACH_PROVIDERS"]))
        assert [_alive(pid) for pid in pids] == [False, False, True, True, True, True]
    finally:
        pool.close()
    assert not any(_alive(pid) for pid in pids)


@pytest.mark.skipif(not pool_enabled(), reason="the pool runs on Linux only")
def test_a_server_whose_command_was_interrupted_is_stopped(server: Path, tmp_path: Path) -> None:
    pool = ProviderPool()
    env = {"PATH": os.environ["PATH"], "RECORD": str(tmp_path / "record")}
    try:
        with pool.lease(server, tmp_path, env) as interrupted:
            pid = _pid(interrupted.env["TF_REATTACH_PROVIDERS"])
            assert _alive(pid)
        assert not _alive(pid)  # reusable was never set
        with pool.lease(server, tmp_path, env) as next_one:
            assert _pid(next_one.env["TF_REATTACH_PROVIDERS"]) != pid
    finally:
        pool.close()


@pytest.mark.skipif(not pool_enabled(), reason="the pool runs on Linux only")
def test_a_binary_that_is_no_plugin_is_an_error(tmp_path: Path) -> None:
    silent = tmp_path / "not-a-plugin"
    silent.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    silent.chmod(silent.stat().st_mode | stat.S_IXUSR)
    pool = ProviderPool()
    try:
        with (
            pytest.raises(TerraformSetupError, match="printed no plugin handshake"),
            pool.lease(silent, tmp_path, {"PATH": os.environ["PATH"]}),
        ):
            pass
    finally:
        pool.close()
