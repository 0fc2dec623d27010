"""Import a payment standard table a bureau already has (Excel or CSV)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import polars as pl

from yibao.engines.grouper import CompiledPlan
from yibao.engines.measure import STANDARDS_SCHEMA
from yibao.kit.errors import ValidationFailed
from yibao.kit.tables import TableLimits, read_table

#: accepted headers (English or Chinese) → column
HEADERS = {
    "drg": "drg", "DRG": "drg", "DRG编码": "drg", "病组编码": "drg",
    "hospital_level": "hospital_level", "医院等级": "hospital_level", "等级": "hospital_level",
    "relative_weight": "relative_weight", "相对权重": "relative_weight", "权重": "relative_weight",
    "base_rate": "base_rate", "费率": "base_rate",
    "payment_standard": "payment_standard", "支付标准": "payment_standard",
}  # fmt: skip
LEVEL_WORDS = {"1": "1", "2": "2", "3": "3", "一级": "1", "二级": "2", "三级": "3"}
MAX_ERRORS = 20


def _read(content: bytes, filename: str) -> pl.DataFrame:
    """An all-text table, read within the upload limits (no zip bomb, bounded rows)."""
    return read_table(content, filename, TableLimits(max_rows=100_000))


def _decimal(text: str | None, places: int) -> Decimal | None:
    if text is None or not str(text).strip():
        return None
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return value.quantize(Decimal(1).scaleb(-places)) if value.is_finite() else None


# long: one validation per column with row-level messages, all-or-nothing
def read_standards_file(content: bytes, filename: str, plan: CompiledPlan) -> pl.DataFrame:
    """Parse and validate a standards table; all-or-nothing with row-level Chinese errors.

    Required columns: DRG code, hospital level (1/2/3 or 一级/二级/三级), relative weight,
    payment standard; the rate may be omitted (then standard ÷ weight is stored).
    """
    raw = _read(content, filename)
    raw = raw.rename({c: HEADERS[c.strip()] for c in raw.columns if c.strip() in HEADERS})
    missing = [c for c in ("drg", "hospital_level", "relative_weight", "payment_standard")
               if c not in raw.columns]  # fmt: skip
    if missing:
        raise ValidationFailed(
            f"{filename} 缺少列：{'、'.join(missing)}"
            "（可用中文表头 DRG编码、医院等级、相对权重、支付标准）",
            field=missing[0],
        )
    drgs = plan.plan.drgs
    errors: list[str] = []
    rows: list[tuple[str, str, Decimal, Decimal, Decimal]] = []
    seen: set[tuple[str, str]] = set()
    has_rate = "base_rate" in raw.columns
    for i, row in enumerate(raw.iter_rows(named=True), start=2):
        drg = (row["drg"] or "").strip()
        level = LEVEL_WORDS.get((row["hospital_level"] or "").strip())
        rw = _decimal(row["relative_weight"], 4)
        std = _decimal(row["payment_standard"], 2)
        rate = _decimal(row.get("base_rate"), 10) if has_rate else None
        problems = []
        if drg not in drgs:
            problems.append(f"DRG {drg!r} 不在方案 {plan.id} 中")
        if level is None:
            problems.append(f"医院等级 {row['hospital_level']!r} 应为 1/2/3 或 一级/二级/三级")
        if rw is None or rw <= 0:
            problems.append(f"相对权重 {row['relative_weight']!r} 应为正数")
        if std is None or std <= 0:
            problems.append(f"支付标准 {row['payment_standard']!r} 应为正数")
        if (drg, level or "") in seen:
            problems.append(f"DRG {drg} 等级 {level} 重复")
        if problems:
            errors.append(f"第 {i} 行：" + "；".join(problems))
            if len(errors) >= MAX_ERRORS:
                break
            continue
        assert level is not None and rw is not None and std is not None
        seen.add((drg, level))
        rows.append(
            (
                drg,
                level,
                rw,
                rate if rate is not None else (std / rw).quantize(Decimal("1e-10")),
                std,
            )
        )
    if errors:
        raise ValidationFailed(
            "支付标准文件有误，未导入任何数据：" + " | ".join(errors), field="file"
        )
    if not rows:
        raise ValidationFailed(f"{filename} 没有数据行", field="file")
    return pl.DataFrame(rows, schema=dict(STANDARDS_SCHEMA), orient="row").sort(
        "drg", "hospital_level"
    )
