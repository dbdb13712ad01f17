"""tooling.import_cycles (run on the repository by the lint session): a cycle of imports outside
functions is found and named; an import inside a function, or of a module's own package,
closes none."""

from __future__ import annotations

from pathlib import Path

from tooling.import_cycles import find_cycle, import_graph


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_two_modules_importing_each_other_are_a_cycle(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg.b import thing\n",
            "pkg/b.py": "from pkg import a\nthing = 1\n",
        },
    )
    graph = import_graph([root], ["pkg"])
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"pkg.a", "pkg.b"}


def test_a_cycle_closed_for_the_type_checker_or_in_a_try_block_counts(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import typing\nif typing.TYPE_CHECKING:\n    from .b import B\n",
            "pkg/b.py": "try:\n    from . import a\nexcept ImportError:\n    a = None\n",
        },
    )
    assert import_graph([root], ["pkg"]) == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}


def test_imports_in_functions_and_of_the_own_package_are_no_edges(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import run\n",
            "pkg/a.py": "import pkg\n\ndef run():\n    from pkg.b import other\n    return other\n",
            "pkg/b.py": "from pkg.a import run\nother = run\n",
        },
    )
    graph = import_graph([root], ["pkg"])
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": set(), "pkg.b": {"pkg.a"}}
    assert find_cycle(graph) is None
