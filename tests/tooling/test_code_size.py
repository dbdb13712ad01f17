"""tooling.code_size (run on the repository by the lint session): a module over 500 lines or a
function over 80 lines (decorators, docstring and comments included) is named with its place;
test folders are not measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from tooling.code_size import Oversized, main, oversized


def _function(name: str, body_lines: int, indent: str = "") -> str:
    body = "".join(f"{indent}    x{i} = {i}\n" for i in range(body_lines))
    return f"{indent}def {name}() -> None:\n{body}"


def test_a_function_of_81_lines_is_named_and_one_of_80_is_not(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(_function("fits", 79) + _function("too_long", 80))
    assert oversized([tmp_path]) == [
        Oversized(str(tmp_path / "m.py"), 81, "function too_long", 81, 80)
    ]


def test_methods_and_nested_functions_are_measured_with_their_decorators(tmp_path: Path) -> None:
    source = "class Store:\n    @staticmethod\n" + _function("put", 79, indent="    ")
    source += "def outer() -> None:\n" + _function("inner", 80, indent="    ")
    (tmp_path / "m.py").write_text(source)
    found = oversized([tmp_path])
    assert [(o.line, o.what, o.lines) for o in found] == [
        (2, "function Store.put", 81),
        (83, "function outer", 82),
        (84, "function outer.inner", 81),
    ]


def test_a_module_of_501_lines_is_named(tmp_path: Path) -> None:
    (tmp_path / "long.py").write_text("x = 1\n" * 501)
    (tmp_path / "fits.py").write_text("x = 1\n" * 500)
    assert oversized([tmp_path]) == [Oversized(str(tmp_path / "long.py"), 1, "module", 501, 500)]


def test_test_folders_are_not_measured(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_long.py").write_text("x = 1\n" * 900)
    assert oversized([tmp_path]) == []


def test_main_exits_1_and_prints_each_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.py").write_text(_function("too_long", 85))
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert out.out == f"{tmp_path / 'm.py'}:1: function too_long has 86 lines (limit 80)\n"
    assert "split a module by concern, a function into named steps" in out.err
    (tmp_path / "m.py").write_text(_function("fits", 10))
    assert main([str(tmp_path)]) == 0
