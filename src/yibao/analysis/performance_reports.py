"""Hospital performance reports (ADR 0037): DRG (CMI, consumption indices, low-risk
mortality, 入组率) and DIP (入组率, points per case, cost against payment, low / high /
extreme shares), one row per hospital of a year, from the summary tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.analysis.models import AnalysisState, DipYear, DrgYear
from yibao.analysis.reports import Filters, Report, _hospitals, _ratio
from yibao.regions.models import HOSPITAL_LEVELS, Hospital

#: the first columns of every per-hospital report
HOSPITAL_COLUMNS = (
    ("hospital_code", "医院编码", "text"),
    ("hospital_name", "医院名称", "text"),
    ("level", "等级", "text"),
)


def _year_rows(
    session: Session, model: type[DrgYear] | type[DipYear], f: Filters
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """The summary rows of the year (one hospital's if filtered), each with the
    hospital's code, name and level."""
    stmt: Any = select(model).where(model.year == f.year).order_by(model.hospital_code)
    if f.hospital:  # one hospital (its home page): its own name only
        stmt = stmt.where(model.hospital_code == f.hospital)
        one = session.scalars(select(Hospital).where(Hospital.code == f.hospital))
        names = {h.code: h for h in one}
    else:
        names = _hospitals(session)
    for d in session.scalars(stmt):
        h = names.get(d.hospital_code)
        yield (
            d,
            {
                "hospital_code": d.hospital_code,
                "hospital_name": h.name if h else d.hospital_code,
                "level": HOSPITAL_LEVELS.get(h.level, h.level) if h else "",
            },
        )


def drg_rows(session: Session, f: Filters) -> list[dict[str, Any]]:
    """The DRG 绩效 rows of the year (one hospital's if filtered), from the summaries.

    ``cmi`` is the hospital-year's one CMI (ADR 0037, amendment "one CMI"): Σ weights
    ÷ ``cases`` over the year's cases grouped under the weight plan's grouping plan
    and kept by its run's exclusions (LOS 1–60 days, cost ≥ 5 yuan, grouped, not QY)
    whose DRG has a weight — :func:`yibao.engines.measure.hospital_indices`."""
    return [
        {
            **hospital,
            "year": d.year,
            "cases_all": d.cases_all,
            "grouped": d.grouped,
            "group_rate": _ratio(d.grouped, d.eligible if d.eligible is not None else d.cases_all),
            "drgs": d.drgs,
            "cases": d.cases,
            "cmi": d.cmi,
            "cost_index": d.cost_index,
            "time_index": d.time_index,
            "low_risk_cases": d.low_risk_cases,
            "low_risk_deaths": d.low_risk_deaths,
            "low_risk_mortality": _ratio(d.low_risk_deaths, d.low_risk_cases),
        }
        for d, hospital in _year_rows(session, DrgYear, f)
    ]


def hospital_cmi(session: Session, hospital_code: str) -> dict[str, Any] | None:
    """The hospital's DRG 绩效 row (:func:`drg_rows`: ``year``, ``cmi``, ``cases``, …)
    of its latest year with cases counted in the summaries; None before a refresh."""
    year = session.scalar(
        select(func.max(DrgYear.year)).where(
            DrgYear.hospital_code == hospital_code, DrgYear.cases > 0
        )
    )
    if year is None:
        return None
    rows = drg_rows(session, Filters(year=int(year), hospital=hospital_code))
    return rows[0] if rows else None


def drg(session: Session, state: AnalysisState | None, f: Filters) -> Report:
    """DRG 绩效: CMI, cost and time consumption indices, low-risk mortality, 入组率."""
    rows = drg_rows(session, f)
    notes = []
    if not rows:
        notes.append("本年度暂无 DRG 指标：需先发布权重方案并刷新汇总。")
    elif state is not None and state.weight_plan_id:
        notes.append(f"权重方案 #{state.weight_plan_id}（最新发布）；指数以全市同 DRG 均值为 1。")
    return Report(
        "drg",
        "DRG 绩效",
        f,
        [
            *HOSPITAL_COLUMNS,
            ("cases_all", "出院病例", "int"),
            ("grouped", "入组病例", "int"),
            ("group_rate", "入组率", "pct"),
            ("drgs", "DRG 组数", "int"),
            ("cases", "参与指标病例", "int"),
            ("cmi", "CMI", "index"),
            ("cost_index", "费用消耗指数", "index"),
            ("time_index", "时间消耗指数", "index"),
            ("low_risk_cases", "低风险组病例", "int"),
            ("low_risk_deaths", "低风险组死亡", "int"),
            ("low_risk_mortality", "低风险组死亡率", "pct"),
        ],
        rows,
        chart={
            "kind": "scatter",
            "points": [
                {
                    "name": r["hospital_name"],
                    "value": [float(r["cost_index"] or 0), float(r["cmi"] or 0)],
                }
                for r in rows
            ],
            "x_name": "费用消耗指数",
            "y_name": "CMI",
        },
        notes=notes,
    )


# long: the DIP rows, then their column labels and chart
def dip(session: Session, state: AnalysisState | None, f: Filters) -> Report:
    """DIP 绩效: the cases priced under DIP per hospital."""
    rows: list[dict[str, Any]] = []
    for d, hospital in _year_rows(session, DipYear, f):
        rows.append(
            {
                **hospital,
                "cases": d.cases,
                "grouped": d.grouped,
                "group_rate": _ratio(d.grouped, d.cases),
                "groups": d.groups,
                "total_score": d.total_score,
                "avg_score": _ratio(d.total_score, d.grouped, "0.01"),
                "low_rate": _ratio(d.low, d.cases),
                "high_rate": _ratio(d.high + d.extreme, d.cases),
                "total_cost": d.total_cost,
                "payment": d.payment,
                "balance_rate": _ratio(d.payment - d.total_cost, d.total_cost),
            }
        )
    notes = [] if rows else ["本年度没有按 DIP 结算的病例（需有生效的 DIP 付费方案）。"]
    return Report(
        "dip",
        "DIP 绩效",
        f,
        [
            *HOSPITAL_COLUMNS,
            ("cases", "DIP 结算病例", "int"),
            ("grouped", "入组病例", "int"),
            ("group_rate", "入组率", "pct"),
            ("groups", "病种数", "int"),
            ("total_score", "总分值", "dec"),
            ("avg_score", "例均分值", "dec"),
            ("low_rate", "费用超低占比", "pct"),
            ("high_rate", "费用超高占比", "pct"),
            ("total_cost", "医疗总费用", "money"),
            ("payment", "DIP 支付", "money"),
            ("balance_rate", "结余率", "pct"),
        ],
        rows,
        chart={
            "kind": "bar",
            "x": [r["hospital_name"] for r in rows],
            "series": {
                "例均分值": [float(r["avg_score"] or 0) for r in rows],
                "结余率 %": [round(float(r["balance_rate"] or 0) * 100, 1) for r in rows],
            },
        },
        notes=notes,
    )
