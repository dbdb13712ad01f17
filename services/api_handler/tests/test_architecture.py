"""Dependency rules of the package, checked on its source (no imports executed)."""

from __future__ import annotations

import ast
from pathlib import Path

import api_handler

PACKAGE = Path(api_handler.__file__).parent
AWS_MODULES = ("boto3", "botocore", "mypy_boto3_dynamodb")
# The only modules that may talk to AWS libraries: the DynamoDB adapters and the wiring.
AWS_ALLOWED = {"adapters/dynamodb.py", "wiring.py"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules() -> dict[str, Path]:
    return {path.relative_to(PACKAGE).as_posix(): path for path in PACKAGE.rglob("*.py")}


def test_only_the_dynamodb_adapters_and_the_wiring_import_aws_libraries() -> None:
    importing = {
        name
        for name, path in _modules().items()
        if any(m.split(".")[0] in AWS_MODULES for m in _imports(path))
    }
    assert importing == AWS_ALLOWED


def test_the_domain_depends_on_nothing_else_in_the_package() -> None:
    for name, path in _modules().items():
        if name.startswith("domain/"):
            ours = {m for m in _imports(path) if m.startswith("api_handler")}
            assert all(m.startswith("api_handler.domain") for m in ours), name


def test_no_code_sets_an_aws_endpoint() -> None:
    for name, path in _modules().items():
        assert "endpoint_url" not in path.read_text(encoding="utf-8"), name
