"""Read models for the measurement (测算) web pages.

The pages (``yibao.web.pages.measurement``) show more than the JSON API returns:
overview lists, a run's status derived from its job, chart statistics (RW by MDC, a
DRG's cost distribution against its trim fences), paged tables, and Chinese field
names for parameter errors.  The form operations are in
:mod:`yibao.measurement.workflows`.  Read only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.engines import measure as m
from yibao.engines.grouper import PlanRegistry
from yibao.grouping.models import CaseGrouping
from yibao.jobs.models import Job
from yibao.kit.errors import DomainError
from yibao.kit.paging import Page
from yibao.measurement.models import (
    STATUS_LABELS,
    MeasurementRun,
    PaymentStandardItem,
    PaymentStandardSet,
    RatePlanRow,
    RunFence,
    Simulation,
    WeightPlan,
)
from yibao.regions.models import Hospital, region_prefix

SOURCE_LABELS = {
    "drg": "本组",
    "adrg": "ADRG 合并",
    "drg_few": "病例少（待审）",
    "catalogue": "无病例",
    "manual": "人工设定",
}
STANDARD_SOURCES = {"measured": "测算生成", "imported": "导入"}

#: parameter paths → Chinese field names (error messages name the field in Chinese)
FIELD_LABELS = {
    "name": "名称",
    "plan": "分组方案",
    "plan_id": "分组方案",
    "years": "历史年度",
    "year": "模拟年度",
    "code": "方案编码",
    "ids": "模拟编号",
    "file": "文件",
    "action": "操作",
    "run_id": "测算运行",
    "weight_plan_id": "权重方案",
    "rate_plan_id": "费率方案",
    "volume_year": "测算年度（病例量）",
    "valid_from": "生效日期",
    "valid_to": "失效日期",
    "los_min_days": "住院天数下限",
    "los_max_days": "住院天数上限",
    "cost_floor": "费用下限",
    "method": "裁剪方法",
    "iqr_lower_k": "IQR 下限倍数",
    "iqr_upper_k": "IQR 上限倍数",
    "sd_k": "标准差倍数",
    "lower_percentile": "下百分位",
    "upper_percentile": "上百分位",
    "TrimParams.min_cases": "裁剪最少病例数",
    "WeightParams.min_cases": "权重最少病例数",
    "year_weights": "年度权重",
    "fallback": "病例不足时",
    "manual": "人工权重",
    "tilts": "倾斜",
    "factor": "倾斜系数",
    "mdcs": "倾斜 MDC",
    "budget": "预算",
    "growth": "增长率",
    "mode": "费率方式",
    "coefficients": "等级系数",
    "level_budgets": "分级预算",
    "level_rates": "各级费率",
    "high_multipliers": "高倍率阈值",
    "low_multiplier": "低倍率阈值",
    "high_payment": "高倍率病例支付",
    "fund_share": "基金支付比例",
    "fixed_fund_share": "固定基金支付比例",
}
_FIELD_AT = re.compile(r"(^|；)([A-Za-z_][\w.]*)(?=：| / )")


def zh_message(message: str) -> str:
    """Replace each ``path：`` in an error message with its Chinese field name (the
    path itself stays in the error's ``field``)."""

    def sub(match: re.Match[str]) -> str:
        path = match.group(2)
        parts = path.split(".")
        label = None
        for width in range(len(parts), 0, -1):  # the longest known part: TrimParams.min_cases
            for start in range(len(parts) - width + 1):
                label = label or FIELD_LABELS.get(".".join(parts[start : start + width]))
        return f"{match.group(1)}{label}" if label else match.group(0)

    return _FIELD_AT.sub(sub, message)


def _tilt_field(path: list[str], _message: str) -> str:
    if path[0] == "manual":
        return "manual"
    return "tilt_factor" if path[-1] == "factor" else "tilt_mdcs"


def _level(path: list[str], message: str) -> str:
    named = re.search(r"([123]) 级", message)
    return path[1] if len(path) > 1 else (named.group(1) if named else "")


def _rate_field(path: list[str], message: str) -> str:
    if path[0] not in ("coefficients", "level_budgets"):
        return "growth_pct" if path[0] == "growth" else path[0]
    return f"{'coef' if path[0] == 'coefficients' else 'lb'}_{_level(path, message)}"


def _sim_field(path: list[str], message: str) -> str:
    return f"high_{_level(path, message)}" if path[0] == "high_multipliers" else path[0]


#: parameter model → form input name of a field path (and the message)
_FORM_FIELDS: dict[str, Any] = {
    "TrimParams": lambda p, _m: f"trim.{p[0]}",
    "WeightParams": lambda p, _m: f"weights.{p[0]}",
    "ExclusionRules": lambda p, _m: f"exclusions.{p[0]}",
    "Adjustments": _tilt_field,
    "RateParams": _rate_field,
    "SimulationParams": _sim_field,
}


def error_field(exc: DomainError) -> str | None:
    """The form input an error is about (``TrimParams.min_cases`` → ``trim.min_cases``)."""
    head = re.match(r"(\w+)\.([\w.]+)", exc.message)
    if head and head.group(1) in _FORM_FIELDS:
        return str(_FORM_FIELDS[head.group(1)](head.group(2).split("."), exc.message))
    return exc.field


def region_of(region_code: str | None) -> str:
    """The region prefix a bureau user sees (no region: nothing)."""
    return region_prefix(region_code or "\x00")


# --------------------------------------------------------------------- overview


@dataclass(frozen=True)
class RunState:
    """A run's status as the analyst sees it: the run's own, or its job's."""

    status: str
    label: str
    error: str | None
    job: Job | None

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")


def run_state(run: MeasurementRun, job: Job | None) -> RunState:
    status = run.status
    error = run.error
    if status != "succeeded" and job is not None:
        if job.status in ("queued", "running", "failed"):
            status = job.status
        if job.status == "failed":
            error = job.error or error
    return RunState(status, STATUS_LABELS.get(status, status), error, job)


def run_with_state(session: Session, run: MeasurementRun) -> RunState:
    job = session.get(Job, run.job_id) if run.job_id else None
    return run_state(run, job)


@dataclass
class Overview:
    runs: list[tuple[MeasurementRun, RunState]]
    weight_plans: list[WeightPlan]
    rate_plans: list[RatePlanRow]
    simulations: list[Simulation]
    standards: list[PaymentStandardSet]
    item_counts: dict[int, int] = field(default_factory=dict)


def overview(session: Session, prefix: str, limit: int = 50) -> Overview:
    runs = list(
        session.scalars(
            select(MeasurementRun)
            .where(MeasurementRun.region_code.startswith(prefix))
            .order_by(MeasurementRun.id.desc())
            .limit(limit)
        )
    )
    job_ids = [r.job_id for r in runs if r.job_id]
    jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    sets = standard_sets(session, prefix)
    return Overview(
        runs=[(r, run_state(r, jobs.get(r.job_id or 0))) for r in runs],
        weight_plans=weight_plans(session, prefix),
        rate_plans=rate_plans(session, prefix),
        simulations=simulations(session, prefix, limit=limit),
        standards=sets,
        item_counts=standard_item_counts(session, [s.id for s in sets]),
    )


def weight_plans(session: Session, prefix: str, status: str | None = None) -> list[WeightPlan]:
    stmt = select(WeightPlan).where(WeightPlan.region_code.startswith(prefix))
    if status:
        stmt = stmt.where(WeightPlan.status == status)
    return list(session.scalars(stmt.order_by(WeightPlan.code, WeightPlan.version.desc())))


def rate_plans(
    session: Session, prefix: str, weight_plan_id: int | None = None
) -> list[RatePlanRow]:
    stmt = select(RatePlanRow).where(RatePlanRow.region_code.startswith(prefix))
    if weight_plan_id is not None:
        stmt = stmt.where(RatePlanRow.weight_plan_id == weight_plan_id)
    return list(session.scalars(stmt.order_by(RatePlanRow.id.desc())))


def simulations(
    session: Session, prefix: str, rate_plan_id: int | None = None, limit: int = 200
) -> list[Simulation]:
    stmt = select(Simulation).where(Simulation.region_code.startswith(prefix))
    if rate_plan_id is not None:
        stmt = stmt.where(Simulation.rate_plan_id == rate_plan_id)
    return list(session.scalars(stmt.order_by(Simulation.id.desc()).limit(limit)))


def standard_sets(session: Session, prefix: str) -> list[PaymentStandardSet]:
    return list(
        session.scalars(
            select(PaymentStandardSet)
            .where(PaymentStandardSet.region_code.startswith(prefix))
            .order_by(PaymentStandardSet.valid_from.desc(), PaymentStandardSet.id.desc())
        )
    )


def standard_item_counts(session: Session, set_ids: list[int]) -> dict[int, int]:
    if not set_ids:
        return {}
    rows = session.execute(
        select(PaymentStandardItem.set_id, func.count())
        .where(PaymentStandardItem.set_id.in_(set_ids))
        .group_by(PaymentStandardItem.set_id)
    ).all()
    return {int(k): int(v) for k, v in rows}


def hospital_names(session: Session) -> dict[str, tuple[str, str]]:
    """code → (name, level) of the hospitals in the session's scope."""
    rows = session.execute(select(Hospital.code, Hospital.name, Hospital.level)).all()
    return {c: (n, lv) for c, n, lv in rows}


def drg_names(registry: PlanRegistry, plan_id: str) -> dict[str, str]:
    try:
        return {code: spec.name for code, spec in registry.get(plan_id).plan.drgs.items()}
    except Exception:  # an unknown or broken plan only loses the names
        return {}


# --------------------------------------------------------------------- base runs


def trim_by_year(session: Session, run_id: int) -> list[dict[str, Any]]:
    """Per year: DRGs, DRGs actually trimmed (enough cases), cases below / above / kept."""
    rows = session.execute(
        select(
            RunFence.year,
            func.count(),
            func.sum(case((RunFence.applied, 1), else_=0)),
            func.sum(RunFence.below),
            func.sum(RunFence.above),
            func.sum(RunFence.kept),
        )
        .where(RunFence.run_id == run_id)
        .group_by(RunFence.year)
        .order_by(RunFence.year)
    ).all()
    return [
        {
            "year": int(y),
            "drgs": int(n),
            "applied": int(a or 0),
            "below": int(lo or 0),
            "above": int(hi or 0),
            "kept": int(k or 0),
        }
        for y, n, a, lo, hi, k in rows
    ]


def box_stats(values: pl.Series) -> dict[str, float | None]:
    """min, Q1, median, Q3, max, mean (linear interpolation) of a numeric series."""
    v = values.drop_nulls().cast(pl.Float64)
    if v.len() == 0:
        return dict.fromkeys(("min", "q1", "median", "q3", "max", "mean"))
    row = pl.DataFrame({"v": v}).select(
        pl.col("v").min().alias("min"),
        pl.col("v").quantile(0.25, "linear").alias("q1"),
        pl.col("v").median().alias("median"),
        pl.col("v").quantile(0.75, "linear").alias("q3"),
        pl.col("v").max().alias("max"),
        pl.col("v").mean().alias("mean"),
    )
    return {k: float(x) if x is not None else None for k, x in row.row(0, named=True).items()}


def rw_by_mdc(weights: pl.DataFrame) -> list[dict[str, Any]]:
    """RW distribution of the DRGs of each MDC (DRGs without a weight left out)."""
    frame = weights.filter(pl.col("relative_weight").is_not_null())
    out = []
    for mdc in sorted(frame["mdc"].unique().to_list()):
        part = frame.filter(pl.col("mdc") == mdc)
        out.append({"mdc": mdc, "drgs": part.height, **box_stats(part["relative_weight"])})
    return out


def page_rows(frame: pl.DataFrame, page: int, size: int) -> Page[dict[str, Any]]:
    """One page of a frame as dicts (page clamped to the last page)."""
    total = frame.height
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    rows = frame.slice((page - 1) * size, size).to_dicts()
    return Page(rows, total, page, size)


def _drg_case_frame(session: Session, plan_id: str, years: list[int], drg: str) -> pl.DataFrame:
    """The measurement frame of one DRG's cases (as :func:`case_frame`, one DRG only)."""
    lo, hi = date(min(years), 1, 1), date(max(years), 12, 31)
    stmt = (
        select(
            Case.setl_id,
            Case.discharge_date,
            Case.hospital_code,
            Hospital.level,
            Case.discharge_dept,
            CaseGrouping.status,
            CaseGrouping.mdc,
            CaseGrouping.adrg,
            CaseGrouping.drg,
            Case.los_days,
            Case.discharge_way,
            Case.total_cost,
            Case.fund_payment,
        )
        .join(Hospital, Hospital.id == Case.hospital_id)
        .join(CaseGrouping, CaseGrouping.case_id == Case.id)
        .where(CaseGrouping.plan_id == plan_id, CaseGrouping.drg == drg)
        .where(Case.discharge_date >= lo, Case.discharge_date <= hi)
        .order_by(Case.setl_id)
    )
    cols = [
        "setl_id",
        "discharge_date",
        "hospital_code",
        "hospital_level",
        "discharge_dept",
        "status",
        "mdc",
        "adrg",
        "drg",
        "los_days",
        "discharge_way",
        "total_cost",
        "fund_payment",
    ]
    raw = pl.DataFrame(
        [tuple(r) for r in session.execute(stmt).all()],
        schema=cols,
        orient="row",
        infer_schema_length=None,
    )
    if raw.height == 0:
        return pl.DataFrame(schema=m.MEASURE_CASES)
    frame = raw.with_columns(pl.col("discharge_date").dt.year().cast(pl.Int32).alias("year"))
    return frame.select([pl.col(c).cast(t) for c, t in m.MEASURE_CASES.items()])


def drg_distribution(
    session: Session, run: MeasurementRun, drg: str, max_points: int = 400
) -> dict[str, Any]:
    """A DRG's case costs per year in the run's case base (after the exclusions) with
    the trim fences: box statistics, the fences and the trimmed cases (at most
    ``max_points`` per year, the most extreme first)."""
    frame = _drg_case_frame(session, run.plan_id, list(run.years), drg)
    rules = m.ExclusionRules.model_validate({**run.params["exclusions"], "years": run.years})
    kept = m.apply_exclusions(frame, rules).kept if frame.height else frame
    fences = {
        f.year: f
        for f in session.scalars(
            select(RunFence).where(RunFence.run_id == run.id, RunFence.drg == drg)
        )
    }
    years = []
    for year in run.years:
        costs = kept.filter(pl.col("year") == year)["total_cost"].cast(pl.Float64)
        fence = fences.get(year)
        lower = fence.lower if fence and fence.applied else None
        upper = fence.upper if fence and fence.applied else None
        out_low = costs.filter(costs < lower).sort() if lower is not None else costs[:0]
        out_high = (
            costs.filter(costs > upper).sort(descending=True) if upper is not None else costs[:0]
        )
        years.append(
            {
                "year": year,
                "cases": costs.len(),
                **box_stats(costs),
                "lower": lower,
                "upper": upper,
                "applied": bool(fence.applied) if fence else False,
                "below": fence.below if fence else 0,
                "above": fence.above if fence else 0,
                "kept": fence.kept if fence else 0,
                "trimmed_low": out_low[:max_points].to_list(),
                "trimmed_high": out_high[:max_points].to_list(),
            }
        )
    return {"drg": drg, "years": years}


#: Chinese headers of measurement exports (pages and API Excel files); the standards
#: headers are ones the standards import reads back (DRG、医院等级、相对权重、费率、支付标准)
EXPORT_LABELS: dict[str, str] = {
    "hospital_code": "医院编码",
    "hospital_name": "医院名称",
    "hospital_level": "医院等级",
    "discharge_dept": "出院科室",
    "drg": "DRG",
    "drg_name": "DRG 名称",
    "mdc": "MDC",
    "adrg": "ADRG",
    "cases": "病例数",
    "normal": "正常",
    "high": "高倍率",
    "low": "低倍率",
    "qy": "歧义组",
    "ungroupable": "无法入组",
    "no_standard": "无支付标准",
    "total_cost": "医疗总费用（元）",
    "drg_payment": "DRG 支付（元）",
    "balance": "盈亏（元）",
    "payment_ratio": "支付/费用",
    "fund_estimate": "基金支付估算（元）",
    "fund_actual": "基金实际支付（元）",
    "ratio_band": "费用/标准",
    "payment_class": "类别代码",
    "class_name": "类别",
    "reason_code": "原因代码",
    "reason": "排除原因",
    "scenario": "方案",
    "budget": "预算（元）",
    "budget_gap": "支付-预算（元）",
    "year": "年度",
    "rates": "费率",
    "relative_weight": "相对权重",
    "base_rate": "费率",
    "payment_standard": "支付标准",
    "rw_source": "权重来源",
    "needs_review": "需人工复核",
    "volume": "病例量",
    "cases_kept": "保留病例数",
    "cost_mean": "例均费用（元）",
    "cv": "变异系数",
    "lower": "下界（元）",
    "upper": "上界（元）",
    "below": "低于下界",
    "above": "高于上界",
    "kept": "保留",
    "applied": "是否裁剪",
    "q1": "下四分位数（元）",
    "q3": "上四分位数（元）",
    "p_low": "下百分位数（元）",
    "p_high": "上百分位数（元）",
    "mean_log": "对数均值",
    "sd_log": "对数标准差",
    "cmi": "CMI",
    "cost_index": "费用消耗指数",
    "time_index": "时间消耗指数",
    "low_risk_mortality": "低风险死亡率",
}
#: values shown in words in measurement Excel exports
EXPORT_VALUES: dict[str, dict[Any, str]] = {
    "hospital_level": {"1": "一级", "2": "二级", "3": "三级"}
}
