"""Shared pieces of the emulator tests: boto3 clients of the in-process moto server (the
``endpoint`` fixture of tests/tooling/conftest.py) with moto's fake credentials, and patch
selection by name. Test modules import these functions (``tests.tooling.emulator.conftest``)."""

from __future__ import annotations

from typing import Any

import boto3

from tests.tooling.conftest import reset_moto
from tooling.emulator.patches import PATCHES, CompatPatch
from tooling.emulator.process import FAKE_CREDENTIALS

__all__ = ["client", "named"]


def client(endpoint: str, service: str, *, region: str, reset: bool) -> Any:
    """A boto3 client of ``service`` in ``region`` on the moto server at ``endpoint``, with
    moto's fake credentials; with ``reset``, the server is reset first."""
    if reset:
        reset_moto(endpoint)
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=FAKE_CREDENTIALS.access_key_id,
        aws_secret_access_key=FAKE_CREDENTIALS.secret_access_key,
    )


def named(*names: str) -> list[CompatPatch]:
    """The patches of ``tooling.emulator.patches.PATCHES`` called ``names``, in that order; each
    name must name exactly one patch."""
    selected = []
    for name in names:
        matches = [patch for patch in PATCHES if patch.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} patches are named {name!r}")
        selected.extend(matches)
    return selected
