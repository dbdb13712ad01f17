"""Shared synthesized stacks: the app is synthesized ONCE per test session (one process).

Importing the provider bindings and synthesizing are the expensive parts; every infra test
reads the same JSON through the fixtures below.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from trading_infra.app import SynthRequest, synthesize
from trading_infra.components.functions import LambdaArtifact
from trading_infra.config import PlatformConfig, load_config
from trading_infra.target import DeployTarget

ROOT = Path(__file__).resolve().parents[2]
CONFIG_FILE = ROOT / "platform.toml"


@dataclass(frozen=True)
class Stack:
    """One synthesized stack's JSON with small query helpers."""

    name: str
    document: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return dict(self.document.get("resource", {}).get(resource_type, {}))

    def only(self, resource_type: str) -> dict[str, Any]:
        found = self.resources(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.values()))

    def by_path(self, resource_type: str, path_suffix: str) -> dict[str, Any]:
        for resource in self.resources(resource_type).values():
            if resource["//"]["metadata"]["path"].endswith(path_suffix):
                return resource
        raise AssertionError(f"no {resource_type} at */{path_suffix} in {self.name}")

    def address(self, resource_type: str, path_suffix: str) -> str:
        for name, resource in self.resources(resource_type).items():
            if resource["//"]["metadata"]["path"].endswith(path_suffix):
                return f"{resource_type}.{name}"
        raise AssertionError(f"no {resource_type} at */{path_suffix} in {self.name}")

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.document.get("output", {}))

    def all_resources(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for resource_type, resources in self.document.get("resource", {}).items():
            for name, body in resources.items():
                yield resource_type, name, body


def fake_artifacts(directory: Path) -> dict[str, LambdaArtifact]:
    """Tiny deterministic zips standing in for dist/*.zip (infra tests do not need real code)."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for service in ("processor", "api_handler"):
        path = directory / f"{service}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            info = zipfile.ZipInfo(f"{service}/handler.py", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, f"# {service}\n")
        artifacts[service] = LambdaArtifact(path)
    return artifacts


def synth_to(outdir: Path, config: PlatformConfig, target: str) -> dict[str, Stack]:
    names = synthesize(
        SynthRequest(
            config=config,
            environments=tuple(e.name for e in config.environments),
            target=DeployTarget(kind=target, emulator_port=4566),  # type: ignore[arg-type]
            artifacts=fake_artifacts(outdir / "artifacts"),
            outdir=outdir,
        )
    )
    return {
        name: Stack(name, json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text()))
        for name in names
    }


@pytest.fixture(scope="session")
def config() -> PlatformConfig:
    # The repository's configuration as written: a TAP_UNPROTECTED_ENVIRONMENTS of the shell
    # (meant for throwaway deployments) must not change what the specification reads.
    return load_config(CONFIG_FILE, environ={})


@pytest.fixture(scope="session")
def local_stacks(
    tmp_path_factory: pytest.TempPathFactory, config: PlatformConfig
) -> dict[str, Stack]:
    return synth_to(tmp_path_factory.mktemp("synth-local"), config, "local")


@pytest.fixture(scope="session")
def aws_stacks(
    tmp_path_factory: pytest.TempPathFactory, config: PlatformConfig
) -> dict[str, Stack]:
    return synth_to(tmp_path_factory.mktemp("synth-aws"), config, "aws")


@pytest.fixture(scope="session")
def stack(aws_stacks: dict[str, Stack], config: PlatformConfig) -> Stack:
    """The default environment's primary-region application stack, as deployed to AWS."""
    return stack_of(aws_stacks, config, config.platform.default_environment)


@pytest.fixture(scope="session")
def network(aws_stacks: dict[str, Stack], config: PlatformConfig) -> Stack:
    """The default environment's primary-region network stack, as deployed to AWS."""
    return stack_of(aws_stacks, config, config.platform.default_environment, "network")


def stack_of(
    stacks: dict[str, Stack], config: PlatformConfig, environment: str, part: str = "app"
) -> Stack:
    env = config.environment(environment)
    return stacks[f"{config.platform.name}-{env.name}-{env.regions[0].name}-{part}"]


def remote(output: str) -> str:
    """How the application stack refers to an output of its network stack."""
    return "${data.terraform_remote_state.Network.outputs." + output + "}"
