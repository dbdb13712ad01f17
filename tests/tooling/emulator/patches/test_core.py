"""tooling.emulator.patches.core: unpatched moto keeps every model object it ever created (gap
14), the patched emulator only those still in use, and moto still sees every live one."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.tooling.emulator.conftest import named
from tooling.emulator.patches import patched
from tooling.emulator.patches.core import WeakInstances

pytestmark = pytest.mark.moto

WEAK = "core-models-tracked-weakly"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-southeast-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _items_alive_after_overwriting_one_item(client: Any, times: int) -> int:
    """How many moto Items are alive after ``times`` PutItems of one key (one is stored)."""
    from moto.dynamodb.models.dynamo_type import Item

    for value in range(times):
        client.put_item(TableName="t", Item={"k": {"S": "one"}, "v": {"N": str(value)}})
    gc.collect()
    return sum(1 for _ in Item.instances_tracked)  # type: ignore[attr-defined]


def test_gap14_unpatched_moto_keeps_every_overwritten_item(dynamodb: Any) -> None:
    assert _items_alive_after_overwriting_one_item(dynamodb, 300) >= 300


def test_gap14_the_patched_emulator_keeps_only_the_stored_item(dynamodb: Any) -> None:
    with patched(named(WEAK)):
        alive = _items_alive_after_overwriting_one_item(dynamodb, 300)
        stored = dynamodb.get_item(TableName="t", Key={"k": {"S": "one"}})["Item"]
    assert alive == 1
    assert stored == {"k": {"S": "one"}, "v": {"N": "299"}}


def test_weak_instances_iterate_what_is_alive_and_keep_what_cannot_be_weak() -> None:
    class Model:
        pass

    kept, dropped = Model(), Model()
    unweakable = 7  # an int cannot be weakly referenced
    instances = WeakInstances([kept, dropped, unweakable])
    del dropped
    gc.collect()
    assert list(instances) == [unweakable, kept]
    assert len(instances) == 2


def test_the_core_patch_is_undone() -> None:
    from moto.core.common_models import BaseModel

    original = BaseModel.__dict__["__new__"]
    with patched(named(WEAK)):
        assert BaseModel.__dict__["__new__"] is not original
    assert BaseModel.__dict__["__new__"] is original


LISTED_ONCE = "core-service-modules-listed-once"


def _listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import moto.backends as backends

    listings: list[str] = []
    listdir = backends.os.listdir

    def counting(path: str) -> list[str]:
        listings.append(path)
        return listdir(path)

    monkeypatch.setattr(backends.os, "listdir", counting)
    return listings


@pytest.mark.parametrize(
    ("patches", "expected"), [((), 3), ((LISTED_ONCE,), 1)], ids=["unpatched", "patched"]
)
def test_gap15_moto_lists_its_package_once_instead_of_for_every_request(
    monkeypatch: pytest.MonkeyPatch, patches: tuple[str, ...], expected: int
) -> None:
    import moto.backends as backends

    with patched(named(*patches)):
        listings = _listings(monkeypatch)
        answers = [list(backends.list_of_moto_modules()) for _ in range(3)]
    assert len(listings) == expected
    assert answers[0] == answers[1] == answers[2]
    assert {"dynamodb", "s3", "awslambda"} <= set(answers[0])
    assert "__pycache__" not in answers[0]
