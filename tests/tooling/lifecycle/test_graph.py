"""tooling.lifecycle.graph: stack order (manifest or derived) and explicit dependency edges."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tooling.lifecycle.stacks import BUCKET, stack_names, write_manifest, write_stack
from tooling.lifecycle.graph import read_stacks
from tooling.lifecycle.session import DeployError


def test_order_from_the_manifest(tmp_path: Path) -> None:
    # names sort the application first: only the dependency puts the network before it
    write_stack(tmp_path, "tap-dev-r-1-app")
    write_stack(tmp_path, "tap-dev-r-1-network")
    write_manifest(
        tmp_path, {"tap-dev-r-1-app": ["tap-dev-r-1-network"], "tap-dev-r-1-network": []}
    )
    stacks = read_stacks(tmp_path, ["tap-dev-r-1-app", "tap-dev-r-1-network"])
    assert stack_names(stacks) == ["tap-dev-r-1-network", "tap-dev-r-1-app"]
    app = stacks[1]
    assert (app.environment, app.region, app.depends_on) == (
        "dev",
        "r-1",
        frozenset({"tap-dev-r-1-network"}),
    )
    assert app.state == (BUCKET, "tap/dev/tap-dev-r-1-app.tfstate")
    assert app.directory == tmp_path / "stacks" / "tap-dev-r-1-app"


def test_order_derived_from_remote_state_without_a_manifest(tmp_path: Path) -> None:
    write_stack(tmp_path, "a-app", reads=("z-network",))
    write_stack(tmp_path, "z-network")
    write_stack(tmp_path, "m-other")
    assert stack_names(read_stacks(tmp_path, ["a-app", "z-network", "m-other"])) == [
        "m-other",
        "z-network",
        "a-app",
    ]


def test_dependencies_outside_the_selection_are_ignored(tmp_path: Path) -> None:
    write_stack(tmp_path, "a-app", reads=("z-network",))
    write_stack(tmp_path, "z-network")
    (stack,) = read_stacks(tmp_path, ["a-app"])
    assert stack.depends_on == frozenset()


def test_a_cycle_is_an_error_naming_it(tmp_path: Path) -> None:
    write_stack(tmp_path, "a", reads=("b",))
    write_stack(tmp_path, "b", reads=("a",))
    write_stack(tmp_path, "c")
    with pytest.raises(DeployError) as error:
        read_stacks(tmp_path, ["a", "b", "c"])
    assert str(error.value) in {
        "the stacks depend on each other in a cycle: a -> b -> a",
        "the stacks depend on each other in a cycle: b -> a -> b",
    }


def test_a_missing_stack_says_to_synthesize(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="synth"):
        read_stacks(tmp_path, ["nowhere"])
