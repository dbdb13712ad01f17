"""The Node tools that tests run, each installed with ``npm ci`` from a committed lockfile.

A tool is a folder holding its ``package.json`` and ``package-lock.json`` (every package at an
exact version with its integrity hash). :func:`install` copies both into ``.build/<name>`` and
runs ``npm ci`` there, once per digest of the two files. The digest is written into
``node_modules`` after the install succeeded: ``npm ci`` empties ``node_modules`` first, so an
interrupted install, a removed ``node_modules`` or a changed lockfile installs again, and nothing
else does. A file lock lets concurrent callers (the ``lint`` session's early install, a test,
another engineer's run) install once while the others wait for it.

No install script runs (``--ignore-scripts``): npm 11 runs only those listed in its
``allowScripts``, npm 10 runs all of them, and with none the tree is the same under both. Neither
tool needs one: the only package of theirs that has scripts, the cdktf CLI's
``@cdktf/node-pty-prebuilt-multiarch``, ships its binaries and loads them from the package.

``python -m tests.node_tools [NAME ...]`` installs the named tools (all of them by default): the
noxfile runs it beside the ``lint`` session, and a developer runs it to get the cdktf CLI
(docs/contributing.md).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from tests.toolchain import missing_toolchain

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".build"
#: What pins a tool, copied next to its node_modules (``npm ci`` reads them there).
PINS = ("package.json", "package-lock.json")
#: In node_modules, which ``npm ci`` removes first: present only after a complete install.
MARKER = ".tap-lock-sha256"
NPM_CI = ("ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline")
#: A cold install of the cdktf CLI (~480 packages, ~420 MB) takes about a minute on 2 cores.
NPM_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class NodeTool:
    """The npm packages pinned in ``package``, installed into ``.build/<name>``."""

    name: str
    package: Path


#: mermaid's own parser and jsdom, for the syntax of docs/architecture/*.md.
MERMAID = NodeTool("diagram-node", ROOT / "tooling" / "diagram")
#: cdktf-cli 0.21.0, for tests/build/test_cdktf_cli.py and docs/contributing.md.
CDKTF_CLI = NodeTool("cdktf-cli", ROOT / "tests" / "build" / "cdktf-cli")
TOOLS = (MERMAID, CDKTF_CLI)


class NpmCiError(RuntimeError):
    """``npm ci`` exited non-zero; the message holds its output."""


def lock_digest(tool: NodeTool) -> str:
    """The sha256 of the tool's package.json and package-lock.json, each with its name."""
    digest = hashlib.sha256()
    for name in PINS:
        data = (tool.package / name).read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def install(tool: NodeTool, *, npm: str, build: Path = BUILD) -> bool:
    """Install ``tool`` into ``build/<name>`` unless it holds this lockfile's complete install.

    Returns whether ``npm`` ran; raises :class:`NpmCiError` when it failed.
    """
    directory = build / tool.name
    directory.mkdir(parents=True, exist_ok=True)
    wanted = lock_digest(tool)
    marker = directory / "node_modules" / MARKER
    with FileLock(directory / ".install.lock"):
        if marker.is_file() and marker.read_text(encoding="utf-8") == wanted:
            return False
        for name in PINS:
            shutil.copy(tool.package / name, directory / name)
        result = subprocess.run(
            [npm, *NPM_CI], cwd=directory, capture_output=True, text=True,
            timeout=NPM_TIMEOUT_SECONDS, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise NpmCiError(
                f"npm ci in {directory} exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        marker.write_text(wanted, encoding="utf-8")
    return True


def installed(tool: NodeTool) -> Path:
    """``.build/<name>`` with ``tool`` installed (by this call if need be), for a test.

    Without node or npm the toolchain is missing: the test is skipped locally and fails in CI
    (tests/toolchain.py).
    """
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        missing_toolchain(f"node and npm are not both on PATH (npm ci installs {tool.name})")
    install(tool, npm=npm)
    return BUILD / tool.name


def main(argv: Sequence[str] | None = None) -> int:
    """Install the named tools (all by default), one line each; 1 if one could not be."""
    names = list(sys.argv[1:] if argv is None else argv)
    known = {tool.name: tool for tool in TOOLS}
    unknown = sorted(set(names) - set(known))
    if unknown:
        print(f"node tools: unknown {unknown} (known: {sorted(known)})", file=sys.stderr)
        return 2
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        print("node tools: node and npm are not both on PATH", file=sys.stderr)
        return 1
    for tool in [known[name] for name in names] or TOOLS:
        started = time.monotonic()
        try:
            ran = install(tool, npm=npm)
        except (NpmCiError, subprocess.TimeoutExpired) as error:
            print(f"node tools: {tool.name}: {error}", file=sys.stderr)
            return 1
        done = f"installed in {time.monotonic() - started:.1f} s" if ran else "up to date"
        print(f"node tools: {tool.name} {done} (.build/{tool.name})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
