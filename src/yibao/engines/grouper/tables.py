"""Reading the TSV tables of a plan byte-exact, and the error builder shared by the loader."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from yibao.engines.grouper.errors import PlanError
from yibao.engines.grouper.model import CcEntry

#: level of a code listed both as MCC and as CC (same exclusion table)
MCC_AND_CC = "MCC+CC"

#: table name → columns the engine needs.
TABLE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "diagnoses": ("code", "name"),
    "procedures": ("code", "name"),
    "dx_map": ("input_code", "grouper_code"),
    "proc_map": ("input_code", "grouper_code"),
    "or_procedures": ("code", "name"),
    "cc_mcc": ("code", "level", "table"),
    "cc_exclusion": ("principal_code", "table"),
}


class Checker:
    """Builds :class:`PlanError` for one plan and checks JSON value types."""

    def __init__(self, plan_id: str) -> None:
        self.plan_id = plan_id

    def error(self, where: str, zh: str, en: str) -> PlanError:
        """A :class:`PlanError` at ``where`` (Chinese and English text)."""
        return PlanError(self.plan_id, where, zh, en)

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        """``value`` if it is a JSON object."""
        if not isinstance(value, dict):
            raise self.error(where, f"{where} 应为 JSON 对象", "expected a JSON object")
        return value

    def key(self, parent: Mapping[str, Any], key: str, where: str) -> Any:
        """``parent[key]``, which must exist."""
        if key not in parent:
            raise self.error(f"{where}.{key}", f"缺少 {where}.{key}", "missing key")
        return parent[key]

    def str_(self, value: Any, where: str) -> str:
        """``value`` if it is a string."""
        if not isinstance(value, str):
            raise self.error(where, f"{where} 应为字符串", "expected a string")
        return value

    def int_(self, value: Any, where: str) -> int:
        """``value`` if it is an integer (not a boolean)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(where, f"{where} 应为整数", "expected an integer")
        return value

    def str_list(self, value: Any, where: str) -> tuple[str, ...]:
        """``value`` as a tuple if it is an array of strings."""
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(where, f"{where} 应为字符串数组", "expected an array of strings")
        return tuple(value)


def read_tables(ck: Checker, folder: Path, specs: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Read every table the engine needs (``TABLE_COLUMNS``) as rows of strings."""
    out = {}
    for name, columns in TABLE_COLUMNS.items():
        if name not in specs:
            raise ck.error(f"tables.{name}", f"plan.json 未列出表 {name}", f"table {name} missing")
        out[name] = _read_tsv(ck, folder, name, ck.obj(specs[name], f"tables.{name}"), columns)
    return out


def _read_tsv(
    ck: Checker, folder: Path, name: str, spec: dict[str, Any], needed: tuple[str, ...]
) -> list[list[str]]:
    """Read one TSV exactly: split at LF and TAB only, no trimming, no quoting."""
    where = f"tables.{name}"
    file = ck.str_(ck.key(spec, "file", where), f"{where}.file")
    columns = ck.str_list(ck.key(spec, "columns", where), f"{where}.columns")
    if columns != needed:
        raise ck.error(f"{where}.columns", f"表 {name} 的列应为 {list(needed)}", "wrong columns")
    path = folder / file
    if not path.is_file():
        raise ck.error(f"{where}.file", f'表 {name} 的文件 "{file}" 不存在', f"{path} not found")
    data = path.read_bytes()
    expected = ck.str_(ck.key(spec, "sha256", where), f"{where}.sha256")
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected.lower():
        raise ck.error(
            f"{where}.sha256",
            f"表 {name}（{file}）的 SHA-256 校验和不符：应为 {expected}，实际为 {digest}",
            "checksum mismatch",
        )
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise ck.error(f"{where}.file", f"{file} 不是 UTF-8 编码", "not UTF-8") from exc
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0].split("\t") != list(columns):
        raise ck.error(f"{where}.columns", f"{file} 的表头与 plan.json 不符", "header mismatch")
    rows = [line.split("\t") for line in lines[1:]]
    for i, row in enumerate(rows, start=2):
        if len(row) != len(columns):
            raise ck.error(
                f"{where}.file", f"{file} 第 {i} 行应有 {len(columns)} 列", f"line {i}: wrong width"
            )
    count = ck.int_(ck.key(spec, "rows", where), f"{where}.rows")
    if len(rows) != count:
        raise ck.error(
            f"{where}.rows", f"表 {name} 应有 {count} 行，实际 {len(rows)} 行", "row count mismatch"
        )
    return rows


def to_dict(ck: Checker, name: str, rows: list[list[str]]) -> dict[str, str]:
    """First column → second column; a repeated key with another value is an error."""
    out: dict[str, str] = {}
    for row in rows:
        old = out.setdefault(row[0], row[1])
        if old != row[1]:
            raise ck.error(
                f"tables.{name}", f'表 {name} 中编码 "{row[0]}" 出现两次且取值不同', "conflict"
            )
    return out


def cc_mcc_table(ck: Checker, rows: list[list[str]]) -> dict[str, CcEntry]:
    """``cc_mcc.tsv`` as code → (level, table); levels are MCC or CC, one entry per code.

    A code listed as MCC and as CC with the same table (one regional plan has one)
    counts as both: level ``MCC+CC``.
    """
    out: dict[str, CcEntry] = {}
    for code, level, table in rows:
        if level not in ("MCC", "CC"):
            raise ck.error(
                "tables.cc_mcc", f'cc_mcc 中 "{code}" 的级别 "{level}" 无效', "bad level"
            )
        entry = CcEntry(level, table)
        old = out.setdefault(code, entry)
        if old != entry and old.table == table and {old.level, level} == {"MCC", "CC"}:
            out[code] = CcEntry(MCC_AND_CC, table)
        elif old != entry and old != CcEntry(MCC_AND_CC, table):
            raise ck.error("tables.cc_mcc", f'cc_mcc 中 "{code}" 出现两次且取值不同', "conflict")
    return out
