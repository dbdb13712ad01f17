"""The syntax check of a zip: every module of the service package compiled by the runtime's
CPython (what Lambda imports them with), in a separate interpreter; and where a service's
sources keep its packages, to show an error at its source file."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Final

from tooling.sync.errors import SyncError

__all__ = ["check_syntax", "package_root"]

_SYNTAX_CHECK: Final = """\
import json, sys, zipfile
errors = []
with zipfile.ZipFile(sys.argv[1]) as archive:
    for name in archive.namelist():
        if name.startswith(sys.argv[2] + "/") and name.endswith(".py"):
            try:
                compile(archive.read(name), name, "exec", dont_inherit=True)
            except SyntaxError as error:
                errors.append([name, error.lineno or 0, error.msg])
print(json.dumps(errors))
"""


def check_syntax(python: Path, zip_path: Path, package: str) -> list[tuple[str, int, str]]:
    """The syntax errors (zip path, line, message) of the modules of ``package`` in the zip,
    compiled by ``python`` (the runtime's CPython: what Lambda imports them with)."""
    completed = subprocess.run(
        [str(python), "-I", "-S", "-W", "ignore", "-c", _SYNTAX_CHECK, str(zip_path), package],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SyncError(f"checking the syntax of {zip_path.name} failed: {completed.stderr}")
    return [(str(name), int(line), str(msg)) for name, line, msg in json.loads(completed.stdout)]


def package_root(service_dir: Path) -> str | None:
    """Where setuptools finds the service's packages (``[tool.setuptools.packages.find]
    where``), relative to ``service_dir`` with a trailing ``/`` (``"src/"``), to show a syntax
    error at its source file; None when the layout does not say."""
    try:
        pyproject = tomllib.loads((service_dir / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    packages = pyproject.get("tool", {}).get("setuptools", {}).get("packages")
    where = packages.get("find", {}).get("where") if isinstance(packages, dict) else None
    if not (isinstance(where, list) and len(where) == 1 and isinstance(where[0], str)):
        return None
    root = where[0].strip("/")
    return "" if root in ("", ".") else root + "/"
