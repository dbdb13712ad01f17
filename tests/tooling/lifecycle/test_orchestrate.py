"""tooling.lifecycle.orchestrate without a cloud: what needs no synth (the e2e tests run the
commands against the emulator)."""

from __future__ import annotations

import io
from pathlib import Path

from tooling.lifecycle.orchestrate import static_drift
from tooling.lifecycle.workspace import Workspace

ROOT = Path(__file__).resolve().parents[3]


def test_static_drift_of_single_region_environments_compares_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    ws = Workspace(root=ROOT, outdir=tmp_path / "cdktf.out", out=out)
    assert static_drift(ws, "dev,prod") == []
    assert out.getvalue() == (
        "drift --static: no multi-region environment in ['dev', 'prod']: nothing to compare\n"
    )
    assert not (tmp_path / "cdktf.out").exists()  # nothing was synthesized
