"""House rules on size (issue 11, ../shared/docs/architecture.md rule 9): no module over
500 lines outside the migrations, and a function over 60 lines says why in a comment
on the line above its ``def`` (or its first decorator)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "yibao"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)


def test_no_module_is_over_500_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_long_functions_say_why() -> None:
    silent = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            assert node.end_lineno is not None
            if node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES:
                continue
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            if first < 2 or not lines[first - 2].strip().startswith("#"):
                silent.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}")
    assert not silent, f"functions over {MAX_FUNCTION_LINES} lines without a reason: {silent}"
