"""Where a lifecycle run reads and writes: repository, synth directory, target, port, output.

The tasks and the e2e tests describe a run the same way, so that both see the same stacks:
:meth:`Workspace.from_environ` reads ``TAP_CDKTF_OUTDIR`` (a run's own synth directory, so two
runs with different targets never replace each other's stacks) and ``TAP_EMULATOR_PORT`` (the
port ``synth --target local`` writes into the stacks and the emulator listens on).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from tooling.lifecycle.errors import LifecycleError

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

__all__ = [
    "DEFAULT_OUTDIR",
    "DEFAULT_PORT",
    "OUTDIR_ENV",
    "PORT_ENV",
    "TARGETS",
    "Workspace",
    "check_target",
]

#: Where synth writes the stacks unless ``TAP_CDKTF_OUTDIR`` (relative to the repository) says.
OUTDIR_ENV = "TAP_CDKTF_OUTDIR"
DEFAULT_OUTDIR = "cdktf.out"
#: The emulator's port, also written into the stacks synthesized for the local target.
PORT_ENV = "TAP_EMULATOR_PORT"
DEFAULT_PORT = 4566
#: Where a run deploys: the emulator on loopback, or real AWS.
TARGETS = ("local", "aws")


def check_target(target: str) -> None:
    """Refuse a target other than :data:`TARGETS` (exit code 2)."""
    if target not in TARGETS:
        raise LifecycleError(f"--target must be one of {TARGETS}, got {target!r}.", code=2)


@dataclass(frozen=True)
class Workspace:
    """One run's repository ``root``, synth ``outdir``, ``target``, emulator ``port`` and stream.

    ``out`` None means the ``sys.stdout`` of the moment of writing (so pytest's capture sees it).
    """

    root: Path
    outdir: Path
    target: str = "local"
    port: int = DEFAULT_PORT
    out: TextIO | None = None
    #: The tree whose ``services/`` and ``constraints.txt`` the Lambda zips are built from
    #: (None: ``root``); a test builds a changed copy of a service without touching ``root``.
    build_root: Path | None = None
    #: Where the zips are built (None: ``<root>/dist``).
    dist_dir: Path | None = None

    def __post_init__(self) -> None:
        check_target(self.target)

    @classmethod
    def from_environ(
        cls, root: Path, *, target: str = "local", out: TextIO | None = None
    ) -> Workspace:
        """The workspace of ``root`` with ``TAP_CDKTF_OUTDIR`` and ``TAP_EMULATOR_PORT`` applied."""
        outdir = os.environ.get(OUTDIR_ENV, "").strip() or DEFAULT_OUTDIR
        port = int(os.environ.get(PORT_ENV, "").strip() or DEFAULT_PORT)
        return cls(root=root, outdir=root / outdir, target=target, port=port, out=out)

    @property
    def config_file(self) -> Path:
        """The platform configuration of the repository."""
        return self.root / "platform.toml"

    def config(self) -> PlatformConfig:
        """platform.toml, validated; an invalid one is a LifecycleError with exit code 2."""
        from trading_infra.config import ConfigError, load_config

        try:
            return load_config(self.config_file)
        except ConfigError as error:
            raise LifecycleError(str(error), code=2) from None

    @property
    def dist(self) -> Path:
        """Where the Lambda zips are built."""
        return self.dist_dir if self.dist_dir is not None else self.root / "dist"

    @property
    def sources(self) -> Path:
        """The tree the Lambda zips are built from (``services/<name>/``, ``constraints.txt``)."""
        return self.build_root if self.build_root is not None else self.root

    @property
    def stream(self) -> TextIO:
        """Where progress is written: ``out``, else the current ``sys.stdout``."""
        return self.out if self.out is not None else sys.stdout

    def echo(self, line: str) -> None:
        """Write one line to :attr:`stream` and flush it (progress must show while it happens)."""
        stream = self.stream
        stream.write(line + "\n")
        stream.flush()
