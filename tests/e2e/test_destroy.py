"""End-to-end, last: destroying the session's deployment (dev and prod) leaves nothing of either.

Runs after ``test_environments`` and ``test_platform`` (the e2e session lists it last): the
destroy goes through the same function as ``./tap destroy``, then the tests look for what could
be left: resources of each environment (tags and names, the lifecycle's own leftover check, per
environment), resources in the state objects, a held state lock, outputs.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.e2e.conftest import (
    ENVIRONMENTS,
    OUTPUTS,
    PROTECTED,
    ROOT,
    SELECTION,
    Deployment,
    destroy_protected,
    workspace,
)

pytestmark = pytest.mark.e2e


def _backend() -> Any:
    from tooling.lifecycle.backend import load_backend_spec

    return load_backend_spec(ROOT / "platform.toml")


def _state_documents(deployment: Deployment, environment: str) -> dict[str, dict[str, Any]]:
    """The state documents (by key) of ``environment``'s stacks that still have one."""
    spec = _backend()
    s3 = deployment.session.client("s3", spec.region)
    bucket = spec.bucket_of(environment)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = {item["Key"] for page in pages for item in page.get("Contents", [])}
    documents = {}
    for stack in deployment.stacks_of(environment):
        if stack.state is not None and stack.state[1] in keys:
            body = s3.get_object(Bucket=bucket, Key=stack.state[1])["Body"].read()
            documents[stack.state[1]] = json.loads(body)
    return documents


def test_the_shipped_protection_refuses_the_destroy_and_touches_nothing(
    deployment: Deployment,
) -> None:
    """GIVEN prod deployed as shipped (data protection on) WHEN `./tap destroy --env dev,prod`
    runs THEN it is refused with exit code 2 before any terraform runs: every stack of both
    environments still has its resources."""
    from tooling.lifecycle.commands.destroy import destroy_stacks
    from tooling.lifecycle.protection import ProtectedDataError

    with pytest.raises(ProtectedDataError, match=r"data protection is on for prod\b") as refused:
        destroy_stacks(workspace(), SELECTION)
    assert refused.value.code == 2
    for environment in ENVIRONMENTS:
        documents = _state_documents(deployment, environment)
        assert len(documents) == len(deployment.stacks_of(environment))
        assert all(document["resources"] for document in documents.values())


def test_destroying_both_leaves_nothing_of_either(deployment: Deployment) -> None:
    """GIVEN dev and prod deployed side by side WHEN prod's protection is lifted as
    docs/configuration.md says (deploy with it lifted) and `./tap destroy --env dev,prod` runs
    THEN no resource of either is left, their states are empty, no lock is held, no output is
    kept."""
    from tooling.lifecycle.leftovers import leftovers

    started = time.monotonic()
    per_stack: dict[str, float] = {}
    left = destroy_protected(SELECTION, PROTECTED, timings=per_stack)
    deployment.destroyed = True
    deployment.notes[f"destroy {SELECTION} (total)"] = time.monotonic() - started
    deployment.notes.update({f"destroy {name}": seconds for name, seconds in per_stack.items()})
    assert left == []

    spec = _backend()
    regions = {stack.region for stack in deployment.stacks}
    for environment in ENVIRONMENTS:  # each on its own, too
        assert leftovers(deployment.session, regions, spec, environments=[environment]) == []
        for key, document in _state_documents(deployment, environment).items():
            assert not document["resources"], key
    lock_table = deployment.session.client("dynamodb", spec.region)
    items = lock_table.scan(TableName=spec.lock_table, ConsistentRead=True)["Items"]
    assert not [item for item in items if "Info" in item], "a state lock is still held"
    outputs = json.loads(OUTPUTS.read_text(encoding="utf-8"))
    assert not [key for key in outputs if key.split("_", 1)[0] in ENVIRONMENTS]
