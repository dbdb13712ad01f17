"""``python -m tooling.code_size``: no module over 500 lines, no function over 80 lines.

Why a check and not a habit: a module past a few hundred lines usually holds several concerns
(several "rooms"), and a function past a screen and a half usually does several steps that
deserve names; both are where a newcomer gets lost. Ruff measures statements and branches
(``PLR0915``, ``C901``) but not lines, and nothing measures a module, so the lint session runs
this. Tests are exempt: a test module reads as a specification and grows with it. Lines are
counted as Python reports them (:mod:`ast` ``lineno`` to ``end_lineno``: a function's
docstring and comments count, as they do for a reader).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_FUNCTION_LINES", "MAX_MODULE_LINES", "Oversized", "main", "oversized"]

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

#: The repository's code outside tests: the infra app, both services, the tooling and the shells.
DEFAULT_PATHS = (
    "infra/src",
    "services/processor/src",
    "services/api_handler/src",
    "tooling",
    "tasks.py",
    "noxfile.py",
)


@dataclass(frozen=True)
class Oversized:
    """A module or function longer than its limit."""

    path: str
    line: int
    what: str
    lines: int
    limit: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} has {self.lines} lines (limit {self.limit})"


def _python_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
        else:
            yield from sorted(p for p in path.rglob("*.py") if "tests" not in p.parts)


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method, with its qualified name (``Class.method``, ``outer.inner``)."""
    pending: list[tuple[str, ast.AST]] = [("", tree)]
    while pending:
        prefix, node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    yield name, child
                pending.append((f"{name}.", child))
            else:
                pending.append((prefix, child))


def oversized(
    paths: Sequence[Path],
    *,
    max_module_lines: int = MAX_MODULE_LINES,
    max_function_lines: int = MAX_FUNCTION_LINES,
) -> list[Oversized]:
    """The modules and functions of ``paths`` (files or folders) over their limits."""
    found: list[Oversized] = []
    for path in _python_files(paths):
        source = path.read_text(encoding="utf-8")
        module_lines = len(source.splitlines())
        if module_lines > max_module_lines:
            found.append(Oversized(str(path), 1, "module", module_lines, max_module_lines))
        for name, function in _functions(ast.parse(source, filename=str(path))):
            end = function.end_lineno or function.lineno
            start = min([function.lineno, *(d.lineno for d in function.decorator_list)])
            lines = end - start + 1
            if lines > max_function_lines:
                what = f"function {name}"
                found.append(Oversized(str(path), start, what, lines, max_function_lines))
    return sorted(found, key=lambda o: (o.path, o.line))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.code_size", description=__doc__)
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS, help="files or folders")
    args = parser.parse_args(argv)
    found = oversized([Path(p) for p in args.paths])
    for item in found:
        print(item)
    if found:
        print(
            f"{len(found)} module(s)/function(s) over the limit: split a module by concern, "
            "a function into named steps",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
