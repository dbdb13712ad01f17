"""The package stands on its own: its tests use nothing of the monorepo but the package.

``nox -s api_handler`` runs these tests in a virtualenv holding only this package (installed
from its folder, not editable) and its ``test`` extra, with
``TAP_STANDALONE_SERVICE=api_handler``; there the last tests also check that the infrastructure
toolchain is absent. Elsewhere (the shared ``.venv``) they are skipped.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import tomllib
from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parents[1]
TESTS = SERVICE_DIR / "tests"
PACKAGE = "api_handler"
DISTRIBUTION = "trading-api-handler"
#: The monorepo's other parts (infra/, tooling/, tasks.py, noxfile.py, tests/), the other
#: service and the infrastructure toolchain: none of them may be imported by these tests.
FOREIGN = frozenset(
    {"trading_infra", "tooling", "tasks", "noxfile", "tests", "processor", "cdktf",
     "cdktf_cdktf_provider_aws", "constructs", "jsii"}
)  # fmt: skip
#: Calls that import a module named by a string.
IMPORTING_CALLS = frozenset({"import_module", "__import__", "importorskip", "find_spec"})
STANDALONE = os.environ.get("TAP_STANDALONE_SERVICE") == PACKAGE
standalone_only = pytest.mark.skipif(
    not STANDALONE, reason=f"only in `nox -s {PACKAGE}` (TAP_STANDALONE_SERVICE={PACKAGE})"
)


def _imported_roots(path: Path) -> set[tuple[str, int]]:
    """(top-level module, line) of every absolute import and every import by a string constant."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.Call) and node.args and path != Path(__file__):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in IMPORTING_CALLS and isinstance(first, ast.Constant):
                found.add((str(first.value).split(".")[0], node.lineno))
    return found


def test_the_tests_import_nothing_from_infra_tooling_or_the_other_service() -> None:
    offending = sorted(
        f"{path.relative_to(SERVICE_DIR)}:{line} imports {module}"
        for path in TESTS.rglob("*.py")
        for module, line in _imported_roots(path)
        if module in FOREIGN
    )
    assert offending == []


def test_the_scan_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import tooling.build\nfrom trading_infra.app import x\nfrom . import near\n"
        "def f():\n    import cdktf\n    importlib.import_module('tasks')\n",
        encoding="utf-8",
    )
    assert {module for module, _ in _imported_roots(sample)} == {
        "tooling", "trading_infra", "cdktf", "tasks"
    }  # fmt: skip


def test_the_installed_version_is_the_pyproject_version() -> None:
    pyproject = tomllib.loads((SERVICE_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    assert importlib.metadata.version(DISTRIBUTION) == pyproject["project"]["version"]


@standalone_only
@pytest.mark.parametrize("module", sorted(FOREIGN - {"tests"}))
def test_the_infrastructure_toolchain_and_the_monorepo_are_not_importable(module: str) -> None:
    assert importlib.util.find_spec(module) is None


@standalone_only
def test_the_package_is_the_installed_copy_not_the_source_tree() -> None:
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None and spec.origin is not None
    assert SERVICE_DIR not in Path(spec.origin).resolve().parents
    direct_url = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    editable = json.loads(direct_url or "{}").get("dir_info", {}).get("editable", False)
    assert editable is False
