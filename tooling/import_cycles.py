"""``python -m tooling.import_cycles``: no two modules of the repository import each other.

A cycle of module-level imports makes the import order matter (a module may see the other half
initialised) and makes the two modules one concern in two files; a cycle closed only for the
type checker (``if TYPE_CHECKING:``) is the same entanglement, so it counts too. Read from the
source with :mod:`ast` (nothing is imported). An import inside a function is a one-off use
that runs after both modules are initialised, and a module's import of its own package (which
Python has begun initialising first) is how a package re-exports: neither is an edge. Ordering
the graph with :class:`graphlib.TopologicalSorter` finds a cycle when there is one; the check
prints it and exits 1. The lint session runs it (noxfile.py).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator, Sequence
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

__all__ = ["find_cycle", "import_graph", "main"]

#: Where the repository's packages live (the folder on ``sys.path`` for each).
DEFAULT_ROOTS = (".", "infra/src", "services/processor/src", "services/api_handler/src")
#: The top-level packages checked, each under one of the roots.
DEFAULT_PACKAGES = ("tooling", "trading_infra", "processor", "api_handler")


def _modules(root: Path, package: str) -> Iterator[tuple[str, Path]]:
    folder = root / package
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _top_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """The module's imports outside functions and classes: at module level and in its ``if``
    (``TYPE_CHECKING`` included) and ``try`` blocks."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            pending.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            pending.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                pending.extend(handler.body)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterable[str]:
    """The modules ``node`` names, absolute (``from . import x`` may name module ``.x``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        stem = ".".join([*base, node.module] if node.module else base)
    else:
        stem = node.module or ""
    return [stem, *(f"{stem}.{alias.name}" for alias in node.names)]


def import_graph(roots: Sequence[Path], packages: Sequence[str]) -> dict[str, set[str]]:
    """Module -> the repository's modules it imports at module level."""
    files: dict[str, Path] = {}
    for root in roots:
        for package in packages:
            if (root / package).is_dir():
                files.update(_modules(root, package))
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = set()
        for node in _top_level_imports(tree):
            for name in _imported(node, module, is_package):
                # importing a.b.c runs a and a.b first: the nearest module the repository has
                while name and name not in files:
                    name = name.rpartition(".")[0]
                if name and name != module and not module.startswith(f"{name}."):
                    edges.add(name)
        graph[module] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` (its modules in import order, the first repeated last), or None."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return list(error.args[1])
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.import_cycles", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    args = parser.parse_args(argv)
    graph = import_graph([args.root / r for r in DEFAULT_ROOTS], DEFAULT_PACKAGES)
    cycle = find_cycle(graph)
    if cycle is None:
        print(f"import cycles: none among {len(graph)} modules")
        return 0
    print("import cycle: " + " -> ".join(cycle), file=sys.stderr)
    print(
        "each module imports the next at module level; move what they share into a module of "
        "its own, or import inside the function that needs it when the dependency is one-off",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
