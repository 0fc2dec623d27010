"""Architecture rule: engines import only the standard library, kit, pydantic, numpy, polars."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "yibao"
ALLOWED_THIRD_PARTY = {"numpy", "polars", "pydantic", "pyarrow"}
ALLOWED_YIBAO = ("yibao.engines", "yibao.kit")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_engines_are_pure() -> None:
    bad = []
    for path in (SRC / "engines").rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "yibao":
                if not name.startswith(ALLOWED_YIBAO):
                    bad.append((path.name, name))
            elif top not in ALLOWED_THIRD_PARTY and top not in sys.stdlib_module_names:
                bad.append((path.name, name))
    assert not bad, f"engines import forbidden modules: {bad}"


def test_domains_do_not_import_web_or_cli() -> None:
    bad = []
    for domain in (
        "accounts",
        "benefits",
        "cases",
        "regions",
        "audit",
        "settlement",
        "db",
        "kit",
        "demo",
    ):
        for path in (SRC / domain).rglob("*.py"):
            if path.name.endswith("endpoints.py"):
                continue  # JSON endpoints (endpoints.py, <topic>_endpoints.py) import api.deps
            for name in _imports(path):
                if name.startswith(("yibao.web", "yibao.cli", "yibao.api")):
                    bad.append((f"{domain}/{path.name}", name))
    assert not bad, f"domains import web/cli/api: {bad}"
