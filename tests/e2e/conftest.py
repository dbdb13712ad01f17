"""dev and prod deployed once to the local emulator for the e2e tests that share them.

The session-scoped ``deployment`` fixture deploys ``--env dev,prod`` with the same functions as
``./tap deploy`` (every stack of both environments, dependencies first, side by side) and hands
the tests only what the flat outputs say (names, endpoint, region; ``cfn-outputs/flat-
outputs.json``, or the lane's own ``TAP_OUTPUTS_FILE``); the stacks themselves (for plan and
locking) come from the synthesized manifest, in deploy order, so no stack name is written here.
``test_environments`` checks the two side by side, ``test_platform`` exercises dev (the
``deployed`` fixture: a view of one environment), ``test_destroy`` destroys both and checks that
nothing is left. One deployment instead of one per module: a deploy and a destroy of dev less,
about 3.5 minutes and two CPU minutes of every CI run. The fixture always destroys every stack
and stops the emulator (by its recorded pid) afterwards, even when a test failed. Every endpoint
is checked to be loopback first: nothing here can reach real AWS.

The run synthesizes into its own directory (``TAP_CDKTF_OUTDIR``, default
``.build/e2e/cdktf.out``), so a concurrent ``synth --target aws`` (e.g. the security session)
cannot replace the stacks under it. It starts its own emulator: one already running (a local
deployment of yours) is refused, because the teardown would destroy it; stop it
(``./tap emulator --stop``) or set ``TAP_E2E_REUSE_EMULATOR=1`` to let the tests take it over.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tooling.lifecycle.outputs import outputs_path

ROOT = Path(__file__).resolve().parents[2]
#: The environments of the shared deployment; ``ENVIRONMENT`` is the one test_platform exercises.
ENVIRONMENTS = ("dev", "prod")
SELECTION = ",".join(ENVIRONMENTS)
ENVIRONMENT = "dev"
#: The environments of the shared deployment whose profile protects their data as shipped.
PROTECTED = "prod"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: The run's flat outputs (``TAP_OUTPUTS_FILE``, so that e2e lanes side by side have their own).
OUTPUTS = outputs_path(ROOT)
REUSE_ENV = "TAP_E2E_REUSE_EMULATOR"

# The run's own synth directory (tooling.lifecycle.workspace reads it for every workspace()).
os.environ.setdefault("TAP_CDKTF_OUTDIR", ".build/e2e/cdktf.out")

#: Measured seconds, printed at the end of the run (pytest_terminal_summary).
TIMINGS: dict[str, float] = {}


@contextmanager
def unprotected_data(selection: str) -> Iterator[None]:
    """Run with data protection lifted for ``selection`` (``TAP_UNPROTECTED_ENVIRONMENTS``, see
    docs/configuration.md). The e2e tests deploy prod and global as shipped, protection on, and
    lift it only to destroy them (:func:`destroy_protected`); the previous value is restored.
    """
    from trading_infra.config import UNPROTECTED_ENVIRONMENTS_ENV

    previous = os.environ.get(UNPROTECTED_ENVIRONMENTS_ENV)
    os.environ[UNPROTECTED_ENVIRONMENTS_ENV] = selection
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(UNPROTECTED_ENVIRONMENTS_ENV, None)
        else:
            os.environ[UNPROTECTED_ENVIRONMENTS_ENV] = previous


def destroy_protected(
    selection: str, protected: str, *, timings: dict[str, float] | None = None
) -> list[Any]:
    """Destroy ``selection`` the way docs/configuration.md ("Data protection") tells a user to
    when ``protected`` (a subset of it) is deployed as shipped, with its data protection on:
    lift the protection, deploy ``protected`` (terraform deletes with the settings in its
    state, so deletion protection off, force_destroy on and the rest must be applied first),
    then destroy. The leftovers the destroy reports are returned."""
    from tooling.lifecycle.commands.deploy import deploy_stacks
    from tooling.lifecycle.commands.destroy import destroy_stacks

    with unprotected_data(protected):
        deploy_stacks(workspace(), protected)
        return list(destroy_stacks(workspace(), selection, timings=timings))


def refuse_running_emulator(what: str) -> Any:
    """The emulator already running for this repository, or None; fails the test unless
    ``TAP_E2E_REUSE_EMULATOR=1``, because the teardown would destroy ``what`` in it."""
    from tooling.emulator import process as emulator

    running = emulator.status(ROOT)
    if running is not None and os.environ.get(REUSE_ENV) != "1":
        pytest.fail(
            f"an emulator already runs for this repository (pid {running.pid}, "
            f"{running.endpoint}); the teardown would destroy {what} in it. "
            f"Stop it (`./tap emulator --stop`) or set {REUSE_ENV}=1."
        )
    return running


@dataclass
class Deployment:
    """dev and prod as the outputs describe them (the ``deployment`` fixture)."""

    outputs: dict[str, Any]
    session: Any
    #: Every stack of both environments, in deploy order (tooling.lifecycle.graph.StackInfo).
    stacks: list[Any]
    destroyed: bool = False
    #: Measured seconds the tests add, printed with :data:`TIMINGS` at the end of the run.
    notes: dict[str, float] = field(default_factory=dict)

    def out(self, environment: str, name: str) -> Any:
        return self.outputs[f"{environment}_{name}"]

    def client(self, environment: str, service: str) -> Any:
        return self.session.client(service, str(self.out(environment, "aws_region")))

    def stacks_of(self, environment: str) -> list[Any]:
        return [stack for stack in self.stacks if stack.environment == environment]

    def view(self, environment: str) -> Deployed:
        return Deployed(self, environment)


@dataclass(frozen=True)
class Deployed:
    """One environment of the :class:`Deployment`: its outputs, stacks and clients."""

    deployment: Deployment
    environment: str = ENVIRONMENT

    @property
    def outputs(self) -> dict[str, Any]:
        return self.deployment.outputs

    @property
    def session(self) -> Any:
        return self.deployment.session

    @property
    def stacks(self) -> list[Any]:
        """The environment's stacks in deploy order."""
        return self.deployment.stacks_of(self.environment)

    @property
    def notes(self) -> dict[str, float]:
        return self.deployment.notes

    def out(self, name: str) -> Any:
        return self.deployment.out(self.environment, name)

    @property
    def region(self) -> str:
        return str(self.out("aws_region"))

    @property
    def endpoint(self) -> str:
        return str(self.out("emulator_endpoint"))

    def client(self, service: str) -> Any:
        return self.session.client(service, self.region)

    def aws_env(self) -> dict[str, str]:
        from tooling.emulator.process import local_aws_env

        return local_aws_env(self.session.emulator, region=self.region)


def workspace() -> Any:
    """The lifecycle workspace of the e2e run: its own synth directory, the emulator's port
    (read now: a fixture may have set TAP_EMULATOR_PORT), the local target."""
    from tooling.lifecycle.workspace import Workspace

    return Workspace.from_environ(ROOT)


def _timed(name: str, per_stack: dict[str, float], started: float) -> None:
    TIMINGS[f"{name} (total)"] = time.monotonic() - started
    for stack, seconds in per_stack.items():
        TIMINGS[f"{name} {stack}"] = seconds


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    """dev and prod deployed side by side exactly as shipped (prod with its data protection on),
    destroyed (prod's protection lifted first, as a user would) and the emulator stopped at the
    end of the session."""
    from tooling.emulator import process as emulator
    from tooling.lifecycle.commands.context import ordered_stacks, session_for
    from tooling.lifecycle.commands.deploy import deploy_stacks

    refuse_running_emulator("dev and prod")
    os.environ.setdefault("TAP_SERVE_QUIET", "1")
    state: Deployment | None = None
    try:
        per_stack: dict[str, float] = {}
        started = time.monotonic()
        deploy_stacks(workspace(), SELECTION, timings=per_stack)
        _timed(f"deploy {SELECTION}", per_stack, started)
        outputs = json.loads(OUTPUTS.read_text(encoding="utf-8"))
        session = session_for(workspace(), start=False)
        for environment in ENVIRONMENTS:
            endpoint = outputs[f"{environment}_emulator_endpoint"]
            assert urlsplit(endpoint).hostname in LOOPBACK, endpoint
            assert session.emulator is not None and session.emulator.endpoint == endpoint
        stacks = ordered_stacks(workspace(), SELECTION)
        assert {stack.environment for stack in stacks} == set(ENVIRONMENTS)
        state = Deployment(outputs=outputs, session=session, stacks=stacks)
        yield state
    finally:
        try:
            if state is None or not state.destroyed:
                destroy_protected(SELECTION, PROTECTED)
        finally:
            emulator.stop(ROOT)
            if state is not None:
                TIMINGS.update(state.notes)


@pytest.fixture(scope="module")
def deployed(deployment: Deployment) -> Deployed:
    """The dev environment of the shared deployment."""
    return deployment.view(ENVIRONMENT)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("e2e timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name:60} {seconds:7.1f} s")
