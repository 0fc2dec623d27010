"""A DIP catalogue as a worksheet: the export's layout read back (issue 14 item 1:
"exported and imported (CSV/Excel)").

Cells are read as text; every problem of every row is collected and reported by row
and column, and nothing is stored unless the whole sheet is fine."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.dip import service
from yibao.dip.models import DipCatalogue
from yibao.dip.service import GROUP_LABELS, KIND_LABELS, LEVEL_LABELS, TYPE_LABELS
from yibao.engines import dip
from yibao.engines.caseframe import MONEY
from yibao.engines.grouper import PlanRegistry
from yibao.grouping.plans import plan_info
from yibao.kit.errors import ValidationFailed
from yibao.kit.timeutil import utcnow

HEADERS = {label: name for name, label in GROUP_LABELS.items()}
REQUIRED = ("code", "name", "kind", "level", "dx_key", "proc_type", "cases", "score")
MAX_PROBLEMS = 20
_WORDS = {
    "kind": {v: k for k, v in KIND_LABELS.items()} | {k: k for k in KIND_LABELS},
    "level": {v: k for k, v in LEVEL_LABELS.items()} | {k: k for k in LEVEL_LABELS},
    "proc_type": {v: k for k, v in TYPE_LABELS.items()} | {k: k for k in TYPE_LABELS},
}
_MONEY = ("mean_cost", "standard_3", "standard_2", "standard_1")
_COUNTS = ("cases", "kept")


def _number(text: str, places: int) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value >= Decimal(10) ** 15:
        return None
    if value != value.quantize(Decimal(1).scaleb(-places)):
        return None
    return value


# long: one pass over the rows checks every column and collects every problem
def read_groups(frame: pl.DataFrame, filename: str) -> pl.DataFrame:
    """The groups of an uploaded sheet (all cells text), or one
    :class:`ValidationFailed` listing the first problems by row and column."""
    missing = [GROUP_LABELS[c] for c in REQUIRED if GROUP_LABELS[c] not in frame.columns]
    unknown = [c for c in frame.columns if c not in HEADERS]
    if missing or unknown:
        parts = [f"缺少列 {'、'.join(missing)}"] if missing else []
        parts += [f"不认识的列 {'、'.join(unknown)}"] if unknown else []
        raise ValidationFailed(
            f"{filename}：{'；'.join(parts)}（表头须与导出的 DIP 目录文件一致）", field="file"
        )
    problems: list[str] = []
    seen: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for number, cells in enumerate(frame.rename(HEADERS).to_dicts(), start=2):
        text = {k: ("" if v is None else str(v).strip()) for k, v in cells.items()}
        if not any(text.values()):
            continue

        def bad(name: str, words: str, number: int = number) -> None:
            problems.append(f"第 {number} 行“{GROUP_LABELS[name]}”：{words}")

        row: dict[str, Any] = {}
        for name in REQUIRED:
            if not text.get(name) and name != "score":
                bad(name, "不能为空")
        code = text.get("code", "")
        if code in seen:
            bad("code", f"{code} 与第 {seen[code]} 行重复")
        elif code:
            seen[code] = number
        if len(code) > 400 or len(text.get("name", "")) > 500 or len(text.get("dx_key", "")) > 10:
            bad("code", "病种编码最长 400 字、名称 500 字、诊断分类 10 字")
        for name, words in _WORDS.items():
            value = text.get(name, "")
            if value and value not in words:
                bad(name, f"“{value}”不是 {'、'.join(k for k in words if not k.isascii())} 之一")
            row[name] = words.get(value)
        for name in _COUNTS:
            value = text.get(name, "")
            if value and not (value.isdigit() and int(value) < 2**31):
                bad(name, f"须为非负整数（收到 {value}）")
            row[name] = int(value) if value.isdigit() and int(value) < 2**31 else 0
        for name, places in (("score", 2), *((m, 2) for m in _MONEY)):
            value = text.get(name, "")
            parsed = _number(value, places) if value else None
            if value and parsed is None:
                bad(name, f"须为不小于 0 的数，最多 {places} 位小数（收到 {value}）")
            row[name] = parsed
        if row.get("kind") == "core" and row.get("level") not in (None, "combination"):
            bad("level", "核心病种的层级须为“诊断+手术操作组合”")
        row.update(
            code=code,
            name=text.get("name", ""),
            dx_key=text.get("dx_key", ""),
            procedures=text.get("procedures", ""),
        )
        out.append(row)
    if not out and not problems:
        raise ValidationFailed(f"{filename}：没有数据行", field="file")
    if problems:
        shown = "；".join(problems[:MAX_PROBLEMS])
        more = (
            f"（另有 {len(problems) - MAX_PROBLEMS} 处未列出）"
            if len(problems) > MAX_PROBLEMS
            else ""
        )
        raise ValidationFailed(
            f"{filename}：{len(problems)} 处错误，未导入任何病种：{shown}{more}", field="file"
        )
    return pl.DataFrame(
        out,
        schema={
            "kind": pl.String,
            "level": pl.String,
            "proc_type": pl.String,
            "cases": pl.Int64,
            "kept": pl.Int64,
            "score": pl.Decimal(18, 2),
            **dict.fromkeys(_MONEY, MONEY),
            "code": pl.String,
            "name": pl.String,
            "dx_key": pl.String,
            "procedures": pl.String,
        },
    )


def do_import(
    session: Session,
    registry: PlanRegistry,
    groups: pl.DataFrame,
    *,
    region_code: str,
    code: str,
    name: str,
    plan_id: str,
    source: str,
    actor: Actor,
) -> DipCatalogue:
    """A new draft version of catalogue ``code`` holding ``groups`` (read from a sheet
    by :func:`yibao.dip.sheets.read_groups`): a bureau edits an exported catalogue and
    brings it back.  Its diagnosis key lengths are taken from the groups (core: the
    category; comprehensive: the prefix)."""
    code = service.check_code_and_name(code, name)
    info = plan_info(registry, plan_id)

    cparams = _key_lengths(groups)
    row = DipCatalogue(
        region_code=region_code,
        code=code,
        version=service.next_version(session, region_code, code),
        name=name.strip(),
        plan_id=info.id,
        years=[],
        params={
            "catalogue": cparams.model_dump(mode="json"),
            "scores": dip.ScoreParams().model_dump(mode="json"),
            "source": source,
        },
        status="draft",
        created_by=actor.name,
        built_at=utcnow(),
        summary=_summary(groups),
    )
    session.add(row)
    session.flush()
    costs = _level_costs(groups)
    service.store_groups(session, row.id, groups.with_columns(pl.Series("level_costs", costs)))
    record(
        session,
        actor,
        "dip.catalogue.import",
        "dip_catalogue",
        row.id,
        after={"code": code, "version": row.version, "groups": groups.height, "source": source},
        region_code=region_code,
    )
    return row


def _key_lengths(groups: pl.DataFrame) -> dip.CatalogueParams:
    """The catalogue parameters the groups' diagnosis keys imply (core: the category's
    length; comprehensive: the prefix's)."""

    def chars(level: str) -> int | None:
        keys = groups.filter(pl.col("level") == level)["dx_key"].to_list()
        lengths = {len(k.replace(".", "")) for k in keys}
        return lengths.pop() if len(lengths) == 1 else None

    dx_chars = chars("combination") or dip.CatalogueParams().dx_chars
    comp_chars = chars("prefix") or min(dx_chars, dip.CatalogueParams().comprehensive_chars)
    try:
        return dip.CatalogueParams(dx_chars=dx_chars, comprehensive_chars=comp_chars)
    except ValueError:
        raise ValidationFailed(
            f"诊断分类长度不一致：核心病种 {dx_chars} 位、综合病种 {comp_chars} 位", field="file"
        ) from None


def _summary(groups: pl.DataFrame) -> dict[str, Any]:
    """An imported catalogue's figures, from its groups (chapter pools count no case)."""
    core = groups.filter(pl.col("kind") == "core")
    cases = int(groups.filter(pl.col("level") != "chapter")["cases"].sum())
    core_cases = int(core["cases"].sum())
    return {
        "cases": cases,
        "without_diagnosis": 0,
        "grouped": cases,
        "core_groups": core.height,
        "comprehensive_groups": groups.height - core.height,
        "core_cases": core_cases,
        "core_share": round(core_cases / max(1, cases), 4),
        "trimmed": 0,
        "by_type": {},
        "imported": True,
    }


def _level_costs(groups: pl.DataFrame) -> list[str]:
    return [
        json.dumps(
            {lv: str(v) for lv, v in zip(("3", "2", "1"), values, strict=True) if v is not None},
            sort_keys=True,
        )
        for values in groups.select("standard_3", "standard_2", "standard_1").iter_rows()
    ]
