"""Import a payment standard table a bureau already has (Excel or CSV)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

import polars as pl

from yibao.engines.grouper import CompiledPlan
from yibao.engines.measure import STANDARDS_SCHEMA
from yibao.kit.bounds import MONEY_MAX
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


#: the largest value each number column holds (``STANDARDS_SCHEMA``: relative weight
#: Decimal(18, 4), rate Decimal(28, 10), standard Decimal(18, 2))
LIMITS = {
    "relative_weight": Decimal("99999999999999.9999"),
    "base_rate": Decimal("999999999999999999.9999999999"),
    "payment_standard": MONEY_MAX,
}
PLACES = {"relative_weight": 4, "base_rate": 10, "payment_standard": 2}
#: Chinese names of the number columns, for the row messages
LABELS = {"relative_weight": "相对权重", "base_rate": "费率", "payment_standard": "支付标准"}


def _decimal(text: str | None, column: str) -> Decimal | None:
    """A positive number of ``column`` rounded half up (四舍五入) to its places, or
    ``None`` when empty, not a number, not positive or beyond what the column holds."""
    if text is None or not str(text).strip():
        return None
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0 or value > LIMITS[column]:
        return None
    rounded = value.quantize(Decimal(1).scaleb(-PLACES[column]), rounding=ROUND_HALF_UP)
    return rounded if rounded > 0 else None


def _derived_rate(std: Decimal, rw: Decimal) -> Decimal | None:
    """standard ÷ weight to 10 decimals, half up; ``None`` beyond the rate column."""
    with localcontext() as ctx:
        ctx.prec = 60  # 16 + 4 digits of the quotient's integer part and 10 decimals fit
        rate = (std / rw).quantize(Decimal("1e-10"), rounding=ROUND_HALF_UP)
    return rate if rate <= LIMITS["base_rate"] else None


def _numbers(
    row: dict[str, str | None], has_rate: bool
) -> tuple[dict[str, Decimal | None], list[str]]:
    """The row's weight, standard and rate (given, or standard ÷ weight) and the
    problems with them, in Chinese naming the column and the value."""
    columns = ["relative_weight", "payment_standard", *(["base_rate"] if has_rate else [])]
    got: dict[str, Decimal | None] = {c: _decimal(row.get(c), c) for c in columns}
    problems = [
        f"{LABELS[c]} {row.get(c)!r} 应为不超过 {LIMITS[c]} 的正数"
        for c in columns
        if got[c] is None and (c != "base_rate" or (row.get(c) or "").strip())
    ]
    rw, std = got["relative_weight"], got["payment_standard"]
    if got.get("base_rate") is None and rw is not None and std is not None:
        got["base_rate"] = _derived_rate(std, rw)
        if got["base_rate"] is None:
            problems.append(f"支付标准 {std} ÷ 相对权重 {rw} 得到的费率超出范围")
    return got, problems


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
        got, number_problems = _numbers(row, has_rate)
        problems = []
        if drg not in drgs:
            problems.append(f"DRG {drg!r} 不在方案 {plan.id} 中")
        if level is None:
            problems.append(f"医院等级 {row['hospital_level']!r} 应为 1/2/3 或 一级/二级/三级")
        problems += number_problems
        if (drg, level or "") in seen:
            problems.append(f"DRG {drg} 等级 {level} 重复")
        if problems:
            errors.append(f"第 {i} 行：" + "；".join(problems))
            if len(errors) >= MAX_ERRORS:
                break
            continue
        rw, rate, std = got["relative_weight"], got["base_rate"], got["payment_standard"]
        assert level is not None and rw is not None and rate is not None and std is not None
        seen.add((drg, level))
        rows.append((drg, level, rw, rate, std))
    if errors:
        raise ValidationFailed(
            "支付标准文件有误，未导入任何数据：" + " | ".join(errors), field="file"
        )
    if not rows:
        raise ValidationFailed(f"{filename} 没有数据行", field="file")
    return pl.DataFrame(rows, schema=dict(STANDARDS_SCHEMA), orient="row").sort(
        "drg", "hospital_level"
    )
