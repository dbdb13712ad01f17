"""Incremental synthesis: a content-hash stamp of everything a synth depends on.

``invoke synth`` compares :func:`compute` with the stamp in ``cdktf.out/synth-stamp.json`` and
skips synthesis when they match. Only the standard library is imported here, so a no-op
synth costs a few file reads, not an import of cdktf.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

STAMP_FILE = "synth-stamp.json"
#: Files and trees whose content decides the synthesized JSON.
INPUT_GLOBS: tuple[str, ...] = (
    "platform.toml",
    "constraints.txt",
    "infra/pyproject.toml",
    "infra/src/**/*.py",
    "infra/src/**/*.toml",
    # the API's routes are read from the api_handler's published OpenAPI document
    # (trading_infra.components.api_routes)
    "docs/api/openapi.json",
)


def _files(root: Path, globs: Iterable[str]) -> list[Path]:
    found: set[Path] = set()
    for pattern in globs:
        found.update(path for path in root.glob(pattern) if path.is_file())
    return sorted(found)


def compute(
    root: Path,
    *,
    zips: Sequence[Path],
    selection: Sequence[str],
    target: str,
    port: int,
    configuration: str = "",
) -> str:
    """sha256 over input files, the zips' bytes, the selected environments and the target.

    ``configuration``: the validated configuration as loaded (JSON), which is more than the
    files say: the process environment can change it (TAP_UNPROTECTED_ENVIRONMENTS lifts data
    protection), and a synth made without that must not be reused with it, or the reverse.
    """
    digest = hashlib.sha256()
    digest.update(configuration.encode())
    for path in _files(root, INPUT_GLOBS):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for zip_path in sorted(zips):
        digest.update(zip_path.name.encode())
        digest.update(hashlib.sha256(zip_path.read_bytes()).digest())
    digest.update(json.dumps([sorted(selection), target, port]).encode())
    return digest.hexdigest()


def is_current(outdir: Path, stamp: str) -> bool:
    """True when ``outdir`` holds a complete synth made from exactly these inputs."""
    try:
        recorded = json.loads((outdir / STAMP_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    stacks = recorded.get("stacks", [])
    return (
        recorded.get("stamp") == stamp
        and bool(stacks)
        and all((outdir / "stacks" / name / "cdk.tf.json").is_file() for name in stacks)
    )


def write(outdir: Path, stamp: str, stacks: Sequence[str]) -> None:
    record = {"stamp": stamp, "stacks": sorted(stacks)}
    (outdir / STAMP_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def recorded_stacks(outdir: Path) -> list[str]:
    """The stacks of the last successful synth (empty when there is none)."""
    try:
        record = json.loads((outdir / STAMP_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return list(record.get("stacks", []))
