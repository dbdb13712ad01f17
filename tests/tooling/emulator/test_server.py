"""tooling.emulator.server and the patch registry: the status endpoint lists every patch, and
every patch is declared, listed, cites its gap and undoes cleanly."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from werkzeug.test import Client

from tooling.emulator import patches
from tooling.emulator.patches import PATCHES, CompatPatch, apply_patches, patched
from tooling.emulator.server import STATUS_PATH, build_app

pytestmark = pytest.mark.moto

#: The service modules of tooling.emulator.patches (everything but the mechanism).
SERVICE_MODULES = [
    importlib.import_module(f"{patches.__name__}.{info.name}")
    for info in pkgutil.iter_modules(patches.__path__)
    if info.name != "base"
]


def test_status_endpoint_names_pid_and_patches() -> None:
    response = Client(build_app(PATCHES)).get(STATUS_PATH)
    assert response.status_code == 200
    body = response.get_json()
    assert body["pid"] > 0
    assert [p["name"] for p in body["patches"]] == [p.name for p in PATCHES]
    assert [p["gap"] for p in body["patches"]] == [p.gap for p in PATCHES]


def test_every_declared_patch_is_listed_once_under_its_service() -> None:
    listed = [patch for module in SERVICE_MODULES for patch in module.PATCHES]
    assert sorted(p.name for p in listed) == sorted(p.name for p in PATCHES)
    assert len({p.name for p in PATCHES}) == len(PATCHES)
    for module in SERVICE_MODULES:
        declared = {v for v in vars(module).values() if isinstance(v, CompatPatch)}
        assert declared == set(module.PATCHES), module.__name__
        service = module.__name__.rsplit(".", 1)[-1].rstrip("_")
        assert all(p.name.startswith(f"{service}-") for p in module.PATCHES), module.__name__


def test_every_patch_cites_its_gap() -> None:
    for patch in PATCHES:
        assert f"docs/emulator.md, gap {patch.gap}" in (patch.apply.__doc__ or ""), patch.name


@pytest.mark.parametrize("patch", PATCHES, ids=lambda patch: patch.name)
def test_every_patch_undoes_cleanly(patch: CompatPatch) -> None:
    """Apply, undo, apply again: a patch that left a replacement behind would be refused."""
    undo = patch.apply()
    undo()
    undo()  # harmless twice
    again = patch.apply()
    again()


def test_all_patches_apply_together_and_refuse_a_second_time() -> None:
    with patched(), pytest.raises(RuntimeError, match="already patched"):
        apply_patches()
    apply_patches()()  # all undone: applies again
