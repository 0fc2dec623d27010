"""The settlement case frame, the single-case model and exact fen helpers.

:func:`price_batch` reads one row per case with the columns of :data:`SETTLEMENT_CASES`
(only the required ones must be present; optional ones take their defaults).
:func:`prepare_settlement_cases` builds it from a case batch
(:mod:`yibao.engines.caseframe`), the grouper's result and the hospital list, like the
measurement engine's ``prepare_cases`` but keeping the patient-side money columns.

Money is read as integer fen (the physical integer of ``Decimal(18, 2)``), computed as
``Int64`` and returned as ``Decimal(18, 2)`` — no float step anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Final, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, field_validator

from yibao.engines.caseframe import MONEY
from yibao.engines.measure.frames import money
from yibao.engines.settlement.errors import SettlementError

E4: Final = 10_000
RATIO: Final = pl.Decimal(18, 4)

#: Columns of the settlement case frame and their types.
SETTLEMENT_CASES: Final[dict[str, pl.DataType | type[pl.DataType]]] = {
    "setl_id": pl.String,
    "hospital_code": pl.String,
    "hospital_level": pl.String,  # "1" / "2" / "3" (treating hospital)
    "region_code": pl.String,  # 就医地 admdvs (hospital's district)
    "insured_region_code": pl.String,  # 参保地 insuplc_admdvs
    "insutype": pl.String,  # "310" 职工 / "390" 居民
    "discharge_date": pl.Date,
    "los_days": pl.Int32,
    "status": pl.String,  # grouper status: ok, ambiguous_qy, ungroupable, ...
    "drg": pl.String,
    "total_cost": MONEY,
    "self_pay_full": MONEY,  # 全自费
    "self_pay_first": MONEY,  # 先行自付
    "fund_payment": MONEY,  # funds paid under item billing (pooled fund + other funds)
    "other_fund_payment": MONEY,  # part of fund_payment paid by other funds (大额, 公务员 …)
    "account_payment": MONEY,  # 个人账户
    "cash_payment": MONEY,  # 个人现金
    "special_case": pl.String,  # 特例单议: null / applied / approved / rejected
    "special_payment": MONEY,  # approved adjusted amount (null: pay by items)
    "deductible_paid": MONEY,  # 起付线 already borne this year (5206 人员累计信息)
    "fund_paid_ytd": MONEY,  # pooled fund already paid to the person this year (cap)
    "new_tech": pl.Boolean,  # uses a new drug / device / technology (特例单议)
}
#: the money columns of the frame and their Chinese names (for the errors)
MONEY_LABELS: Final = {
    "total_cost": "总费用",
    "self_pay_full": "全自费",
    "self_pay_first": "先行自付",
    "fund_payment": "基金支付",
    "other_fund_payment": "其他基金支付",
    "account_payment": "个人账户支付",
    "cash_payment": "个人现金支付",
    "special_payment": "特例单议核定金额",
    "deductible_paid": "本年已付起付线",
    "fund_paid_ytd": "本年统筹基金已支付",
}
REQUIRED: Final = ("setl_id", "hospital_code", "hospital_level", "status", "drg", "total_cost")
SPECIAL_STATES: Final = ("applied", "approved", "rejected")
_ZERO_DEFAULTS: Final = ("self_pay_full", "self_pay_first", "other_fund_payment")
_ZERO_DEFAULTS_YTD: Final = ("deductible_paid", "fund_paid_ytd")


def require(frame: pl.DataFrame | pl.LazyFrame, columns: Iterable[str], where: str) -> None:
    """Raise :class:`SettlementError` naming the missing columns of ``frame``."""
    names = set(frame.collect_schema().names())
    missing = [c for c in columns if c not in names]
    if missing:
        raise SettlementError(f"{where}：输入缺少列 {'、'.join(missing)}", field=missing[0])


def fen(column: str) -> pl.Expr:
    """A money column as Int64 fen (exact)."""
    return pl.col(column).cast(MONEY).to_physical().cast(pl.Int64)


def half_up_div(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    """numerator ÷ denominator rounded half away from zero, for a positive
    denominator, in integers (四舍五入 on magnitudes, as ``Decimal`` ROUND_HALF_UP)."""
    d = denominator if isinstance(denominator, pl.Expr) else pl.lit(denominator)
    up = (2 * numerator.abs() + d) // (2 * d)
    return pl.when(numerator < 0).then(up * -1).otherwise(up)


def e4_to_decimal(expr: pl.Expr) -> pl.Expr:
    """Integer units of 1/10,000 → ``Decimal(18, 4)``."""
    return (expr.cast(pl.Decimal(38, 0)) * pl.lit(Decimal("0.0001"))).cast(RATIO)


def to_money(expr: pl.Expr) -> pl.Expr:
    """Integer fen → ``Decimal(18, 2)`` yuan."""
    return money(expr)


def normalise(cases: pl.DataFrame) -> pl.DataFrame:
    """Every :data:`SETTLEMENT_CASES` column with its type; absent optional columns get
    their defaults (zero money for 全自费 / 先自付 / other funds / year-to-date sums,
    null otherwise).  ``special_case`` may be Boolean (``True`` = approved)."""
    require(cases, REQUIRED, "price_batch(cases)")
    columns: list[pl.Expr] = []
    for name, dtype in SETTLEMENT_CASES.items():
        if name == "special_case" and name in cases.columns:
            col = pl.col(name)
            if cases.schema[name] == pl.Boolean:
                col = pl.when(col).then(pl.lit("approved")).otherwise(pl.lit(None, pl.String))
            columns.append(col.cast(pl.String).alias(name))
        elif name in cases.columns:
            columns.append(pl.col(name).cast(dtype).alias(name))
        elif name in _ZERO_DEFAULTS or name in _ZERO_DEFAULTS_YTD:
            columns.append(pl.lit(Decimal("0.00"), dtype=MONEY).alias(name))
        else:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
    frame = cases.select(columns)
    _check(frame)
    return frame.with_columns(
        pl.col(*_ZERO_DEFAULTS, *_ZERO_DEFAULTS_YTD).fill_null(Decimal("0.00")),
        pl.col("new_tech").fill_null(False),
    )


def _check(frame: pl.DataFrame) -> None:
    problems: list[str] = []
    dup = frame.filter(pl.col("setl_id").is_duplicated())["setl_id"].unique().sort()
    if dup.len():
        problems.append(f"setl_id：结算ID 重复：{'、'.join(dup.head(10).to_list())}")
    nulls = [c for c in ("setl_id", "hospital_code", "total_cost") if frame[c].null_count()]
    problems += [f"{c}：不能为空（{frame[c].null_count()} 条病例为空）" for c in nulls]
    # every amount of a list is ≥ 0, as SettlementCase (one case) requires: a negative
    # 全自费 or 先自付 would raise the national formula's fund amount
    for name, label in MONEY_LABELS.items():
        bad = frame.filter(pl.col(name) < 0).height
        if bad:
            problems.append(f"{name}：{label}不能为负数（{bad} 条病例）")
    special = frame.filter(
        pl.col("special_case").is_not_null() & ~pl.col("special_case").is_in(SPECIAL_STATES)
    )["special_case"]
    if special.len():
        problems.append(
            f"special_case：特例单议状态须为 applied、approved、rejected 或空"
            f"（收到 {'、'.join(sorted(set(special.to_list()))[:5])}）"
        )
    if problems:
        raise SettlementError("；".join(problems), field="cases", problems=problems)


def check_standards(standards: pl.DataFrame) -> None:
    """The standards table must have one row per (drg, hospital_level)."""
    require(standards, ("drg", "hospital_level", "payment_standard"), "price_batch(standards)")
    dup = standards.filter(pl.struct("drg", "hospital_level").is_duplicated())
    if dup.height:
        pairs = dup.select(pl.format("{}/{}级", "drg", "hospital_level")).to_series().unique()
        raise SettlementError(
            f"standards：支付标准表中 (DRG, 医院等级) 重复：{'、'.join(pairs.sort().head(10))}",
            field="standards",
        )


def prepare_settlement_cases(
    cases: pl.DataFrame | pl.LazyFrame,
    grouped: pl.DataFrame | pl.LazyFrame,
    hospitals: pl.DataFrame,
) -> pl.DataFrame:
    """Join a case batch, grouping results and hospital levels into the settlement frame.

    ``cases`` has :data:`yibao.engines.caseframe.CASES` columns; ``grouped`` is
    :func:`~yibao.engines.grouper.group_batch` output (``case_id`` = ``setl_id``,
    ``status``, ``drg``); ``hospitals`` has ``code`` and ``level``.  Columns that
    the case batch lacks take the defaults of :func:`normalise` in pricing.
    """
    require(grouped, ("case_id", "status", "drg"), "prepare_settlement_cases(grouped)")
    require(hospitals, ("code", "level"), "prepare_settlement_cases(hospitals)")
    present = set(cases.collect_schema().names())
    keep = [c for c in SETTLEMENT_CASES if c in present and c not in ("status", "drg")]
    result = grouped.lazy().select(pl.col("case_id").alias("setl_id"), "status", "drg")
    levels = hospitals.lazy().select(
        pl.col("code").alias("hospital_code"),
        pl.col("level").cast(pl.String).alias("level_"),
    )
    frame = (
        cases.lazy()
        .select(keep)
        .join(result, on="setl_id", how="left", maintain_order="left")
        .join(levels, on="hospital_code", how="left", maintain_order="left")
        .with_columns(pl.col("level_").alias("hospital_level"))
        .drop("level_")
        .collect()
    )
    return frame


class SettlementCase(BaseModel):
    """One case for :func:`price_case` / :func:`benefit_split` (same fields as
    :data:`SETTLEMENT_CASES`; money in yuan with at most 2 decimals)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    setl_id: str
    hospital_code: str = ""
    hospital_level: Literal["1", "2", "3"] | None = None
    region_code: str | None = None
    insured_region_code: str | None = None
    insutype: str | None = None
    discharge_date: date | None = None
    los_days: int | None = None
    status: str = "ok"
    drg: str | None = None
    total_cost: Decimal
    self_pay_full: Decimal = Decimal(0)
    self_pay_first: Decimal = Decimal(0)
    fund_payment: Decimal | None = None
    other_fund_payment: Decimal = Decimal(0)
    account_payment: Decimal | None = None
    cash_payment: Decimal | None = None
    special_case: Literal["applied", "approved", "rejected"] | None = None
    special_payment: Decimal | None = None
    deductible_paid: Decimal = Decimal(0)
    fund_paid_ytd: Decimal = Decimal(0)
    new_tech: bool = False

    @field_validator(
        "total_cost",
        "self_pay_full",
        "self_pay_first",
        "fund_payment",
        "other_fund_payment",
        "account_payment",
        "cash_payment",
        "special_payment",
        "deductible_paid",
        "fund_paid_ytd",
    )
    @classmethod
    def _money(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and (v < 0 or v != v.quantize(Decimal("0.01"))):
            raise ValueError(f"金额不能为负数且最多 2 位小数（收到 {v}）")
        return v

    def frame(self) -> pl.DataFrame:
        """This case as a one-row settlement frame."""
        row: dict[str, Any] = self.model_dump()
        return pl.DataFrame([row], schema=SETTLEMENT_CASES, orient="row")
