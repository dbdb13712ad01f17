"""tooling.lifecycle.leftovers: which names and tags count as the platform's."""

from __future__ import annotations

import pytest

from tooling.lifecycle.backend import BackendSpec, StateBucket
from tooling.lifecycle.leftovers import Owner

BUCKET = "tap-terraform-state-dev"
SPEC = BackendSpec(
    lock_table="tap-terraform-locks",
    region="ap-southeast-1",
    platform="tap",
    cost_center="CC-1",
    state_buckets=(StateBucket("dev", BUCKET, f"alias/{BUCKET}"),),
)


@pytest.mark.parametrize(
    ("name", "mine"),
    [
        ("tap-trades-dev", True),
        ("tap-data-dev-ap-southeast-1", True),
        ("/aws/lambda/tap-processor-dev", True),
        ("/tap/dev/api-access", True),
        ("tap-aurora-dev", True),
        ("tap-trades-staging", False),  # another environment
        ("tap-terraform-locks", False),  # no environment token
        ("other-trades-dev", False),
        ("/aws/lambda/other-dev", False),
        ("", False),
    ],
)
def test_owner_by_name(name: str, mine: bool) -> None:
    assert Owner(SPEC, frozenset({"dev"})).named(name) is mine


def test_owner_by_tags() -> None:
    owner = Owner(SPEC, frozenset({"dev"}))

    def tags(**values: str) -> list[dict[str, str]]:
        return [{"Key": k, "Value": v} for k, v in values.items()]

    assert owner.tagged(tags(CostCenter="CC-1", Environment="dev"))
    assert not owner.tagged(tags(CostCenter="CC-1", Environment="prod"))
    assert not owner.tagged(tags(CostCenter="CC-2", Environment="dev"))
    assert Owner(SPEC, frozenset()).tagged(tags(CostCenter="CC-1"))  # every environment
