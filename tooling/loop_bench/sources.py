"""The sources a run changes: a copy of ``services/`` and ``constraints.txt``, never the working
tree (other engineers build, sync and deploy from it while the bench runs), with the api_handler's
``GET /health`` body given a marker of the run, built into a dist directory of its own seeded
with the current zips (so only the changed service is built again, and without pip: the
dependency layer cache is the repository's, :attr:`Workspace.root`)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from tooling.loop_bench.errors import LoopBenchError

if TYPE_CHECKING:
    from tooling.lifecycle.workspace import Workspace

__all__ = ["HEALTH_BODY", "HEALTH_MODULE", "MARKER_KEY", "SourceCopy", "changed_body"]

#: The module answering ``GET /health``, relative to the tree built from.
HEALTH_MODULE: Final = Path("services") / "api_handler" / "src" / "api_handler" / "app.py"
#: The body it answers; the change adds the key :data:`MARKER_KEY` to it.
HEALTH_BODY: Final = 'HealthBody(status="ok").model_dump()'
MARKER_KEY: Final = "build"
_MARKER: Final = re.compile(r"[a-z0-9-]+")
#: What a build never reads: caches, build output, the zips (dist/ is seeded on its own).
_NOT_COPIED: Final = shutil.ignore_patterns(
    ".*", "__pycache__", "*.egg-info", "*.pyc", "build", "dist"
)


def changed_body(marker: str) -> str:
    """The expression the health handler answers after a change: its body plus
    ``"build": marker`` (``marker``: lowercase letters, digits and dashes)."""
    if not _MARKER.fullmatch(marker):
        raise ValueError(f"a marker is lowercase letters, digits and dashes, not {marker!r}")
    return f'{{**{HEALTH_BODY}, "{MARKER_KEY}": "{marker}"}}'


@dataclass(frozen=True)
class SourceCopy:
    """``root`` holds the copied ``services/`` and ``constraints.txt``, ``dist`` the copy's
    zips; ``original`` is the health module's text as copied."""

    root: Path
    dist: Path
    original: str

    @classmethod
    def make(cls, sources: Path, dist: Path, scratch: Path) -> SourceCopy:
        """Copy ``sources``' services and constraints, and the zips of ``dist`` (when built),
        into ``scratch``."""
        root = scratch / "sources"
        shutil.copytree(sources / "services", root / "services", ignore=_NOT_COPIED)
        shutil.copy2(sources / "constraints.txt", root / "constraints.txt")
        copied_dist = scratch / "dist"
        if dist.is_dir():
            shutil.copytree(dist, copied_dist)
        else:
            copied_dist.mkdir()
        original = (root / HEALTH_MODULE).read_text(encoding="utf-8")
        if original.count(HEALTH_BODY) != 1:
            raise LoopBenchError(
                f"{HEALTH_MODULE} does not answer {HEALTH_BODY} exactly once: the health body "
                "moved; update tooling/loop_bench/sources.py (HEALTH_BODY)."
            )
        return cls(root=root, dist=copied_dist, original=original)

    @property
    def health_module(self) -> Path:
        return self.root / HEALTH_MODULE

    def change(self, marker: str) -> None:
        """A save: the health module answers ``marker`` (each change starts from the original)."""
        changed = self.original.replace(HEALTH_BODY, changed_body(marker))
        self.health_module.write_text(changed, encoding="utf-8")

    def workspace(self, ws: Workspace) -> Workspace:
        """``ws`` building from this copy into its dist (root, outdir and target unchanged)."""
        return replace(ws, build_root=self.root, dist_dir=self.dist)
