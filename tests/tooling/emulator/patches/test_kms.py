"""tooling.emulator.patches.kms: the patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 4: the
key rotation period is forgotten)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests.tooling.emulator.conftest import client, named
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"

#: A client of a freshly reset moto server, unless called with ``reset=False``.
_client = partial(client, region=REGION, reset=True)


def _rotation(endpoint: str) -> dict[str, Any]:
    kms = _client(endpoint, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    return dict(kms.get_key_rotation_status(KeyId=key))


def test_gap4_unpatched_moto_forgets_the_kms_rotation_period(endpoint: str) -> None:
    assert "RotationPeriodInDays" not in _rotation(endpoint)


def test_gap4_patch_returns_the_kms_rotation_period(endpoint: str) -> None:
    with patched(named("kms-rotation-period")):
        assert _rotation(endpoint)["RotationPeriodInDays"] == 180


def test_the_kms_patches_are_undone() -> None:
    from moto.kms.responses import KmsResponse

    from tooling.emulator.patches import kms

    names = ("enable_key_rotation", "get_key_rotation_status")
    originals = {name: KmsResponse.__dict__[name] for name in names}
    with patched(kms.PATCHES):
        assert all(KmsResponse.__dict__[name] is not fn for name, fn in originals.items())
    assert all(KmsResponse.__dict__[name] is fn for name, fn in originals.items())
