"""The platform deployed once to the local emulator for the e2e tests (module scope).

The fixture deploys ``dev`` with the same functions as ``./tap deploy`` and hands the tests only
what ``cfn-outputs/flat-outputs.json`` says (names, endpoint, region). It always destroys the
stack and stops the emulator afterwards, even when a test failed. Every endpoint is checked to
be loopback first: nothing here can reach real AWS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = "dev"
STACK = "tap-dev-ap-southeast-1"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Deployed:
    """The deployed dev environment, as the outputs describe it."""

    outputs: dict[str, Any]
    session: Any
    stack_dir: Path
    destroyed: bool = False
    notes: dict[str, Any] = field(default_factory=dict)

    def out(self, name: str) -> Any:
        return self.outputs[f"{ENVIRONMENT}_{name}"]

    @property
    def region(self) -> str:
        return str(self.out("aws_region"))

    @property
    def endpoint(self) -> str:
        return str(self.out("emulator_endpoint"))

    def client(self, service: str) -> Any:
        return self.session.client(service, self.region)

    def aws_env(self) -> dict[str, str]:
        from tooling.emulator import local_aws_env

        return local_aws_env(self.session.emulator, region=self.region)


def _context() -> Any:
    from invoke.context import Context

    return Context()


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    import tasks
    from tooling import emulator

    os.environ.setdefault("TAP_SERVE_QUIET", "1")
    state: Deployed | None = None
    try:
        tasks.deploy_stacks(_context(), env=ENVIRONMENT, target="local")
        outputs = json.loads((ROOT / "cfn-outputs" / "flat-outputs.json").read_text())
        endpoint = outputs[f"{ENVIRONMENT}_emulator_endpoint"]
        assert urlsplit(endpoint).hostname in LOOPBACK, endpoint
        session = tasks._lifecycle_session("local", start=False)
        assert session.emulator.endpoint == endpoint
        state = Deployed(
            outputs=outputs, session=session, stack_dir=tasks.OUTDIR / "stacks" / STACK
        )
        yield state
    finally:
        try:
            if state is None or not state.destroyed:
                tasks.destroy_stacks(_context(), env=ENVIRONMENT, target="local")
        finally:
            emulator.stop(ROOT)
