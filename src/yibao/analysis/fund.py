"""Fund-run analysis (基金运行分析, ADR 0037): the year's fund spending month by month
from the monthly statements, against the region's budget, with a forecast to year end
and its uncertainty (:func:`yibao.engines.analysis.forecast.forecast_year`).

The budget is the bureau's own figure for its region and year (:func:`do_set_budget`:
bounded, with a reason and an audit row); a hospital user sees its own statements and
no budget."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.analysis.models import AnalysisState, FundBudget, FundMonth
from yibao.analysis.reports import Filters, Report
from yibao.audit.service import Actor, record
from yibao.engines.analysis.forecast import forecast_year, overrun_probability
from yibao.kit.bounds import MONEY_MAX
from yibao.kit.errors import ValidationFailed
from yibao.kit.timeutil import utcnow

CENT = Decimal("0.01")


def budget_of(session: Session, region_code: str | None, year: int) -> FundBudget | None:
    if not region_code:
        return None
    return session.scalar(
        select(FundBudget).where(FundBudget.region_code == region_code, FundBudget.year == year)
    )


def do_set_budget(
    session: Session, region_code: str, year: int, amount: Decimal, reason: str, actor: Actor
) -> FundBudget:
    """Set (or change) the region's fund budget of ``year``; audited with before/after."""
    if not 2000 <= year <= 2100:
        raise ValidationFailed(f"year：年度须在 2000–2100 之间（收到 {year}）", field="year")
    if not amount.is_finite() or amount <= 0 or amount > MONEY_MAX:
        raise ValidationFailed(f"amount：基金预算须为正数且不超过 {MONEY_MAX} 元", field="amount")
    if amount != amount.quantize(CENT):
        raise ValidationFailed(
            f"amount：基金预算最多 2 位小数（收到 {amount}），请按元、角、分填写", field="amount"
        )
    text = reason.strip()
    if len(text) < 2 or len(text) > 500:
        raise ValidationFailed("reason：请填写设定预算的依据（2–500 字）", field="reason")
    row = budget_of(session, region_code, year)
    before = {"amount": str(row.amount)} if row is not None else None
    if row is None:
        row = FundBudget(region_code=region_code, year=year)
        session.add(row)
    row.amount = amount.quantize(CENT, ROUND_HALF_UP)
    row.reason, row.set_by, row.set_at = text, actor.name, utcnow()
    session.flush()
    record(
        session,
        actor,
        "analysis.budget",
        "fund_budget",
        row.id,
        before=before,
        after={"region": region_code, "year": year, "amount": str(row.amount), "reason": text},
        region_code=region_code,
    )
    return row


def budget_line(amount: Decimal, month: int, first: int = 1) -> Decimal | None:
    """The budget spent evenly to the end of ``month`` over the months paid under the
    system this year (``first``..12): amount × (month − first + 1) ÷ (13 − first), exact
    before one rounding half up (四舍五入) to the fen; ``None`` before ``first`` (a
    late-start year's budget covers its span, as the forecast it is compared with)."""
    if month < first:
        return None
    return (amount * (month - first + 1) / (13 - first)).quantize(CENT, ROUND_HALF_UP)


def _monthly(session: Session, f: Filters) -> dict[int, dict[int, dict[str, Decimal]]]:
    """year → month → summed statement figures, for ``f.year`` and earlier years."""
    stmt = select(FundMonth).where(FundMonth.period <= f"{f.year:04d}-12")
    if f.hospital:
        stmt = stmt.where(FundMonth.hospital_code == f.hospital)
    out: dict[int, dict[int, dict[str, Decimal]]] = defaultdict(dict)
    for r in session.scalars(stmt):
        y, m = int(r.period[:4]), int(r.period[5:7])
        acc = out[y].setdefault(m, defaultdict(Decimal))
        acc["cases"] += r.cases
        acc["fund_total"] += r.fund_total
        acc["settlement_amount"] += r.settlement_amount
        acc["deductions"] += r.deductions + r.audit_deductions
    return out


def _spent(got: dict[str, Decimal] | None) -> float | None:
    return None if got is None else float(got["fund_total"])


# long: actual months, forecast months and the budget line in one table
def fund_run(
    session: Session, state: AnalysisState | None, f: Filters, budget_region: str | None
) -> Report:
    """One row per month of ``f.year``: actual (statements) or forecast spending."""
    data = _monthly(session, f)
    this = data.get(f.year, {})
    known = sorted(this)
    first, k = (known[0], known[-1]) if known else (1, 0)
    if any(y < f.year for y in data):
        first = 1  # paid under the system last year: a month not confirmed yet is a gap
    span = 13 - first  # months paid under the system this year: first..12
    gaps = [m for m in range(first, k + 1) if m not in this]
    # a month between confirmed ones whose statements are not confirmed yet is unknown
    # (forecast), not nothing spent
    actual = [_spent(this.get(m)) for m in range(first, k + 1)]
    history = [
        [float(data[y][m]["fund_total"]) for m in range(first, 13)]
        for y in sorted(data)
        if y < f.year and len(data[y]) == 12
    ]
    fc = forecast_year(actual, history, months=span) if k else None
    budget = budget_of(session, budget_region, f.year)
    rows, cumulative = [], Decimal(0)
    for m in range(1, 13):
        got = this.get(m)
        value = got["fund_total"] if got else None
        cumulative += value or 0
        ahead = fc is not None and m >= first and got is None
        forecast = (
            Decimal(str(fc.monthly[m - first])).quantize(CENT, ROUND_HALF_UP)
            if fc and ahead
            else None
        )
        rows.append(
            {
                "month": f"{f.year:04d}-{m:02d}",
                "cases": int(got["cases"]) if got else None,
                "fund_total": value,
                "deductions": got["deductions"] if got else None,
                "settlement_amount": got["settlement_amount"] if got else None,
                "cumulative": cumulative if got is not None else None,
                "forecast": forecast,
                "budget_line": budget_line(budget.amount, m, first) if budget else None,
            }
        )
    extra: dict[str, Any] = {"budget": budget.amount if budget else None, "forecast": None}
    notes = []
    if fc is not None:
        extra["forecast"] = {
            "method": ("按往年月度分布" if fc.method == "history" else "按本年月均")
            + (f"，自 {first} 月起" if first > 1 else ""),
            "months": fc.months_known,
            "ytd": Decimal(str(fc.ytd)).quantize(CENT, ROUND_HALF_UP),
            "total": Decimal(str(fc.total)).quantize(CENT, ROUND_HALF_UP),
            "low": Decimal(str(fc.low)).quantize(CENT, ROUND_HALF_UP)
            if fc.low is not None
            else None,
            "high": Decimal(str(fc.high)).quantize(CENT, ROUND_HALF_UP)
            if fc.high is not None
            else None,
        }
        if budget:
            p = overrun_probability(fc, float(budget.amount))
            extra["forecast"]["execution"] = (Decimal(str(fc.ytd)) / budget.amount).quantize(
                Decimal("0.0001"), ROUND_HALF_UP
            )
            extra["forecast"]["overrun_p"] = None if p is None else round(p, 4)
        if fc.sd is None:  # one month, no earlier years: its spread is not known
            notes.append(
                f"仅 {fc.months_known} 个月已确认、无往年数据，月度波动无法估计："
                "暂不给出 95% 区间与超预算概率（需至少 2 个月或往年数据）。"
            )
        if gaps:
            months = "、".join(f"{m} 月" for m in gaps)
            notes.append(f"{f.year} 年 {months}尚无已确认的结算单，按预测显示，未按 0 计入。")
    else:
        notes.append(f"{f.year} 年尚无已确认的月度结算单。")
    if budget_region and budget is None:
        notes.append(f"{f.year} 年尚未设定基金预算。")
    return Report(
        "fund",
        "基金运行分析",
        f,
        [
            ("month", "月份", "text"),
            ("cases", "结算病例", "int"),
            ("fund_total", "基金支付（结算单）", "money"),
            ("deductions", "扣减合计", "money"),
            ("settlement_amount", "结算金额", "money"),
            ("cumulative", "累计基金支付", "money"),
            ("forecast", "预测基金支付", "money"),
            ("budget_line", "预算进度", "money"),
        ],
        rows,
        chart={
            "kind": "fund",
            "x": [f"{m}月" for m in range(1, 13)],
            "actual": [_wan(r["fund_total"]) for r in rows],
            "forecast": [_wan(r["forecast"]) for r in rows],
            "budget": [_wan(r["budget_line"]) for r in rows],
        },
        notes=notes,
        extra=extra,
    )


def _wan(value: Any) -> float | None:
    return None if value is None else round(float(value) / 1e4, 2)
