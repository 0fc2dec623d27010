"""Architecture rule: engines import only the standard library, kit, pydantic, numpy, polars
(and defusedxml: the standard library's XML parser with its dangerous features off; gmssl:
SM3 in pure Python, for message signatures, ADR 0019; scikit-learn: the IsolationForest
of the audit detectors' anomaly score, ADR 0020; xlsxwriter and python_calamine: the
file format of the grouping plan workbook, written and read without any other layer,
ADR 0040)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "yibao"
ALLOWED_THIRD_PARTY = {
    "numpy",
    "polars",
    "pydantic",
    "pyarrow",
    "defusedxml",
    "gmssl",
    "sklearn",
    "xlsxwriter",
    "python_calamine",
}
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


#: the layers above the domains (and the plans, which are data)
NOT_DOMAINS = {"api", "web", "cli", "engines", "plans"}


def _domains() -> list[Path]:
    """Every package of the house below the web, API and command-line layers: found on
    disk, so a new domain is covered the day it is added."""
    return sorted(
        p
        for p in SRC.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in NOT_DOMAINS
    )


def _is_endpoints(path: Path) -> bool:
    """A JSON endpoints module (``endpoints.py``, ``<topic>_endpoints.py`` or a module of
    an ``endpoints`` package): the one place in a domain that may use ``yibao.api``."""
    return path.name.endswith("endpoints.py") or path.parent.name == "endpoints"


def test_domains_are_found() -> None:
    names = {p.name for p in _domains()}
    assert {"accounts", "cases", "grouping", "measurement", "settlement", "jobs"} <= names


def test_domains_do_not_import_web_or_cli() -> None:
    """Domains never import pages or the command line; only their endpoints modules
    import the API layer (its request dependencies), and nothing is exempt silently."""
    bad = []
    for domain in _domains():
        for path in domain.rglob("*.py"):
            forbidden: tuple[str, ...] = ("yibao.web", "yibao.cli")
            if not _is_endpoints(path):
                forbidden += ("yibao.api",)
            for name in _imports(path):
                if name.startswith(forbidden):
                    bad.append((str(path.relative_to(SRC)), name))
    assert not bad, f"domains import web/cli/api: {bad}"
