"""Measurement operations: base runs, weight plans, rate plans, simulations, standards.

Every state change is a ``do_<verb>_<noun>(…, actor=…)`` that writes its audit row in
the caller's transaction; nothing here commits.  Heavy steps run as jobs
(:mod:`yibao.measurement.tasks`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.benefits.service import policy_set
from yibao.db.bulk import insert_frame
from yibao.engines import measure as m
from yibao.engines.settlement import policy_fund_fen
from yibao.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yibao.kit.exports import csv_safe
from yibao.kit.timeutil import utcnow
from yibao.measurement.models import (
    MeasurementRun,
    PaymentStandardItem,
    PaymentStandardSet,
    RatePlanRow,
    RunFence,
    RunWeight,
    Simulation,
    WeightPlan,
    WeightPlanItem,
)

RUN_KIND = "measurement.run"


# --------------------------------------------------------------------------- lookups


def _get(session: Session, model: type[Any], obj_id: int, label: str, region: str) -> Any:
    obj = session.get(model, obj_id)
    if obj is None or not obj.region_code.startswith(region):
        raise NotFound(f"{label} {obj_id} 不存在 / not found")
    return obj


def get_run(session: Session, run_id: int, region: str) -> MeasurementRun:
    return _get(session, MeasurementRun, run_id, "测算运行", region)  # type: ignore[no-any-return]


def get_weight_plan(session: Session, plan_id: int, region: str) -> WeightPlan:
    return _get(session, WeightPlan, plan_id, "权重方案", region)  # type: ignore[no-any-return]


def get_rate_plan(session: Session, plan_id: int, region: str) -> RatePlanRow:
    return _get(session, RatePlanRow, plan_id, "费率方案", region)  # type: ignore[no-any-return]


def get_simulation(session: Session, sim_id: int, region: str) -> Simulation:
    return _get(session, Simulation, sim_id, "模拟测算", region)  # type: ignore[no-any-return]


def get_standard_set(session: Session, set_id: int, region: str) -> PaymentStandardSet:
    return _get(session, PaymentStandardSet, set_id, "支付标准", region)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- base runs


def parse_run_params(data: dict[str, Any]) -> dict[str, Any]:
    """Validate the three parameter blocks of a run; returns them as JSON-safe dicts."""
    out = {
        "exclusions": m.parse_params(m.ExclusionRules, data.get("exclusions") or {}),
        "trim": m.parse_params(m.TrimParams, data.get("trim") or {}),
        "weights": m.parse_params(m.WeightParams, data.get("weights") or {}),
    }
    return {k: v.model_dump(mode="json") for k, v in out.items()}


def do_create_run(
    session: Session,
    *,
    region_code: str,
    name: str,
    plan_id: str,
    plan_version: str | None,
    years: list[int],
    params: dict[str, Any],
    actor: Actor,
) -> MeasurementRun:
    if not name.strip():
        raise ValidationFailed("name：测算名称不能为空", field="name")
    if not years or len(set(years)) != len(years) or any(y < 1990 or y > 2100 for y in years):
        raise ValidationFailed("years：历史年度须为不重复的四位年份，至少一个", field="years")
    years = sorted(years)
    clean = parse_run_params(params)
    weights = clean["weights"]
    if len(weights["year_weights"]) != len(years) and weights.get("years") is None:
        raise ValidationFailed(
            f"weights.year_weights：年度 {len(years)} 个，年度权重 "
            f"{len(weights['year_weights'])} 个，须一一对应（从早到晚）",
            field="weights.year_weights",
        )
    run = MeasurementRun(
        region_code=region_code,
        name=name.strip(),
        plan_id=plan_id,
        plan_version=plan_version,
        years=years,
        params=clean,
        status="queued",
        created_by=actor.name,
    )
    session.add(run)
    session.flush()
    record(
        session,
        actor,
        "measurement.run.create",
        "measurement_run",
        run.id,
        after={"name": run.name, "plan_id": plan_id, "years": years, "params": clean},
    )
    return run


def execute_run(session: Session, run: MeasurementRun, frame: pl.DataFrame) -> dict[str, Any]:
    """Exclusions → trimming → weights → quality on ``frame``; stores the results."""
    p = run.params
    rules = m.ExclusionRules.model_validate({**p["exclusions"], "years": tuple(run.years)})
    base = m.apply_exclusions(frame, rules)
    trim = m.trim_outliers(base.kept, m.TrimParams.model_validate(p["trim"]))
    wparams = m.WeightParams.model_validate({**p["weights"], "years": tuple(run.years)})
    weights = m.relative_weights(trim.kept, wparams)
    report = m.quality(trim.kept, weights, base)
    session.execute(delete(RunWeight).where(RunWeight.run_id == run.id))
    session.execute(delete(RunFence).where(RunFence.run_id == run.id))
    insert_frame(session, RunWeight.__table__, _weight_rows(run.id, weights, run.years))
    insert_frame(session, RunFence.__table__, _fence_rows(run.id, trim.fences))
    summary = {
        "cases": frame.height,
        "kept": base.kept.height,
        "excluded": base.excluded.height,
        "exclusions": _jsonable(base.summary.to_dicts()),
        "trimmed": trim.trimmed.height,
        "trimmed_low": int((trim.trimmed["trim_side"] == "low").sum())
        if trim.trimmed.height
        else 0,
        "trimmed_high": int((trim.trimmed["trim_side"] == "high").sum())
        if trim.trimmed.height
        else 0,
        "base_cases": trim.kept.height,
        "quality": _jsonable(_asdict(report)),
        "drgs": weights.height,
        "flagged": int(weights["needs_review"].sum()),
    }
    run.summary = summary
    run.status = "succeeded"
    run.error = None
    run.finished_at = utcnow()
    return summary


def _asdict(obj: Any) -> dict[str, Any]:
    import dataclasses

    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)  # type: ignore[arg-type]
    return dict(obj._asdict())


def jsonable_record(value: dict[str, Any]) -> dict[str, Any]:
    """A record with its decimals as strings and its dates in ISO form, for JSON."""
    return {str(k): _jsonable(v) for k, v in value.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _weight_rows(run_id: int, weights: pl.DataFrame, years: list[int]) -> pl.DataFrame:
    year_cols = [f"n_{y}" for y in years if f"n_{y}" in weights.columns]
    year_json = [
        json.dumps({c[2:]: int(v or 0) for c, v in zip(year_cols, row, strict=True)})
        for row in weights.select(year_cols).iter_rows()
    ]
    return weights.select(
        pl.lit(run_id).alias("run_id"),
        "drg",
        "mdc",
        "adrg",
        "cases",
        "volume",
        pl.Series("year_cases", year_json, dtype=pl.String),
        "mean_cost",
        "cv",
        pl.col("relative_weight").cast(pl.Decimal(12, 4)),
        "rw_source",
        "needs_review",
        "note",
    )


def _fence_rows(run_id: int, fences: pl.DataFrame) -> pl.DataFrame:
    return fences.select(
        pl.lit(run_id).alias("run_id"),
        "drg",
        pl.col("year").cast(pl.Int64),
        pl.col("lower").cast(pl.Float64),
        pl.col("upper").cast(pl.Float64),
        "below",
        "above",
        "kept",
        "applied",
    )


def run_weights_frame(session: Session, run_id: int) -> pl.DataFrame:
    """The stored weights of a run as the engine's weights frame (``volume`` etc.)."""
    rows = session.execute(
        select(
            RunWeight.mdc, RunWeight.adrg, RunWeight.drg, RunWeight.cases, RunWeight.volume,
            RunWeight.mean_cost, RunWeight.cv, RunWeight.relative_weight, RunWeight.rw_source,
            RunWeight.needs_review, RunWeight.note,
        )
        .where(RunWeight.run_id == run_id)
        .order_by(RunWeight.drg)
    ).all()  # fmt: skip
    schema: dict[str, Any] = {
        "mdc": pl.String, "adrg": pl.String, "drg": pl.String, "cases": pl.Int64,
        "volume": pl.Int64, "mean_cost": pl.Decimal(18, 2), "cv": pl.Float64,
        "relative_weight": pl.Decimal(18, 4), "rw_source": pl.String,
        "needs_review": pl.Boolean, "note": pl.String,
    }  # fmt: skip
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


# --------------------------------------------------------------------------- weight plans


def _next_version(session: Session, region_code: str, code: str) -> int:
    current = session.scalar(
        select(func.max(WeightPlan.version)).where(
            WeightPlan.region_code == region_code, WeightPlan.code == code
        )
    )
    return int(current or 0) + 1


def _apply_adjustments(
    session: Session, plan: WeightPlan, adjustments: dict[str, Any]
) -> m.WeightAdjustment:
    parsed = m.parse_params(m.Adjustments, adjustments)
    result = m.adjust_weights(run_weights_frame(session, plan.run_id), parsed)
    session.execute(delete(WeightPlanItem).where(WeightPlanItem.plan_id == plan.id))
    items = result.weights.select(
        pl.lit(plan.id).alias("plan_id"),
        "drg",
        "mdc",
        "adrg",
        "cases",
        pl.col("base_relative_weight").cast(pl.Decimal(12, 4)),
        pl.col("relative_weight").cast(pl.Decimal(12, 4)),
        "rw_source",
        pl.col("adjustment"),
    )
    insert_frame(session, WeightPlanItem.__table__, items)
    plan.adjustments = parsed.model_dump(mode="json")
    plan.total_before = result.total_before
    plan.total_after = result.total_after
    plan.scale = result.scale
    return result


def do_create_weight_plan(
    session: Session,
    *,
    run: MeasurementRun,
    code: str,
    name: str,
    adjustments: dict[str, Any] | None,
    actor: Actor,
) -> WeightPlan:
    if run.status != "succeeded":
        raise Conflict(f"测算运行 {run.id} 尚未完成，不能据此建立权重方案", field="run_id")
    code = code.strip()
    if not code or len(code) > 40:
        raise ValidationFailed("code：方案编码须为 1–40 个字符", field="code")
    plan = WeightPlan(
        region_code=run.region_code,
        code=code,
        version=_next_version(session, run.region_code, code),
        name=name.strip() or code,
        run_id=run.id,
        adjustments={},
        status="draft",
        created_by=actor.name,
    )
    session.add(plan)
    session.flush()
    _apply_adjustments(session, plan, adjustments or {})
    record(
        session, actor, "measurement.weight_plan.create", "weight_plan", plan.id, after=_wp(plan)
    )
    return plan


def _wp(plan: WeightPlan) -> dict[str, Any]:
    return {
        "code": plan.code, "version": plan.version, "status": plan.status,
        "adjustments": plan.adjustments, "total_before": plan.total_before,
        "total_after": plan.total_after, "scale": plan.scale,
    }  # fmt: skip


def _require_status(obj: Any, allowed: tuple[str, ...], what: str) -> None:
    if obj.status not in allowed:
        from yibao.measurement.models import STATUS_LABELS

        now = STATUS_LABELS.get(obj.status, obj.status)
        raise Conflict(f"{what}当前状态为「{now}」，不能执行此操作（已发布的版本不可修改）")


def do_update_weight_plan(
    session: Session, plan: WeightPlan, *, adjustments: dict[str, Any], actor: Actor
) -> WeightPlan:
    _require_status(plan, ("draft",), "权重方案")
    before = _wp(plan)
    _apply_adjustments(session, plan, adjustments)
    record(
        session,
        actor,
        "measurement.weight_plan.update",
        "weight_plan",
        plan.id,
        before=before,
        after=_wp(plan),
    )
    return plan


WEIGHT_TRANSITIONS = {
    "approve": (("draft",), "approved"),
    "publish": (("approved",), "published"),
    "reopen": (("approved",), "draft"),
    "retire": (("published",), "retired"),
}


def do_transition_weight_plan(
    session: Session, plan: WeightPlan, action: str, *, actor: Actor, four_eyes: bool = False
) -> WeightPlan:
    """draft → approved → published (→ retired); approved can be reopened to draft.

    ``four_eyes`` (``YIBAO_PUBLISH_FOUR_EYES``): the plan is approved by a user other
    than the one who made it, so no weight reaches publication on one person's word."""
    if action not in WEIGHT_TRANSITIONS:
        raise ValidationFailed(
            f"action：未知操作 {action!r}（可选 {', '.join(WEIGHT_TRANSITIONS)}）"
        )
    allowed, target = WEIGHT_TRANSITIONS[action]
    _require_status(plan, allowed, "权重方案")
    if four_eyes and action == "approve" and plan.created_by == actor.name:
        raise Forbidden(
            f"已启用双人复核：权重方案须由创建人（{plan.created_by}）以外的用户审批 / four-eyes"
        )
    if action == "approve":
        missing = session.scalar(
            select(func.count())
            .select_from(WeightPlanItem)
            .where(WeightPlanItem.plan_id == plan.id, WeightPlanItem.relative_weight.is_(None))
        )
        if missing:
            raise Conflict(f"还有 {missing} 个 DRG 没有权重（病例数不足、需人工设定），不能审批")
    before = plan.status
    plan.status = target
    now = utcnow()
    if target == "approved":
        plan.approved_at = now
    if target == "published":
        plan.published_at = now
    record(
        session,
        actor,
        f"measurement.weight_plan.{action}",
        "weight_plan",
        plan.id,
        before={"status": before},
        after={"status": target},
    )
    return plan


def weight_plan_frame(session: Session, plan_id: int) -> pl.DataFrame:
    rows = session.execute(
        select(
            WeightPlanItem.mdc,
            WeightPlanItem.adrg,
            WeightPlanItem.drg,
            WeightPlanItem.cases,
            WeightPlanItem.base_relative_weight,
            WeightPlanItem.relative_weight,
            WeightPlanItem.rw_source,
            WeightPlanItem.adjustment,
        )
        .where(WeightPlanItem.plan_id == plan_id)
        .order_by(WeightPlanItem.drg)
    ).all()
    schema: dict[str, Any] = {
        "mdc": pl.String, "adrg": pl.String, "drg": pl.String, "cases": pl.Int64,
        "base_relative_weight": pl.Decimal(18, 4), "relative_weight": pl.Decimal(18, 4),
        "rw_source": pl.String, "adjustment": pl.String,
    }  # fmt: skip
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


# --------------------------------------------------------------------------- rate plans


def do_create_rate_plan(
    session: Session,
    *,
    weight_plan: WeightPlan,
    name: str,
    volume_year: int,
    params: dict[str, Any],
    volume_frame: pl.DataFrame,
    actor: Actor,
    paid_total: Decimal | None = None,
) -> RatePlanRow:
    """Budget and rates from the weight plan and ``volume_year``'s case base.

    ``paid_total``: the total cost of every case of the year that the DRG budget pays
    (the cases a simulation pays, item-paid ones included, ADR 0011); the budget is
    based on it unless the parameters give a budget or a last total."""
    parsed = m.parse_params(m.RateParams, params)
    if volume_frame.height == 0:
        raise ValidationFailed(f"volume_year：{volume_year} 年没有可用病例", field="volume_year")
    if paid_total is not None and parsed.budget is None and parsed.last_total is None:
        parsed = m.parse_params(
            m.RateParams, {**parsed.model_dump(mode="json"), "last_total": str(paid_total)}
        )
    rates = m.compute_rates(
        weight_plan_frame(session, weight_plan.id), m.expected_volume(volume_frame), parsed
    )
    row = RatePlanRow(
        region_code=weight_plan.region_code,
        name=name.strip() or f"费率方案 {volume_year}",
        weight_plan_id=weight_plan.id,
        volume_year=volume_year,
        params=parsed.model_dump(mode="json"),
        plan=rates.model_dump(mode="json"),
        status="draft",
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "measurement.rate_plan.create",
        "rate_plan",
        row.id,
        after={"weight_plan_id": weight_plan.id, "params": row.params, "plan": row.plan},
    )
    return row


def rate_plan_of(row: RatePlanRow) -> m.RatePlan:
    return m.RatePlan.model_validate(row.plan)


def do_set_rates(
    session: Session, row: RatePlanRow, rates: dict[str, Decimal], *, actor: Actor
) -> RatePlanRow:
    """The analyst sets the level rates by hand (draft only)."""
    _require_status(row, ("draft",), "费率方案")
    before = row.plan
    plan = rate_plan_of(row).model_copy(update={"level_rates": rates, "mode": "per_level"})
    row.plan = m.RatePlan.model_validate(plan.model_dump()).model_dump(mode="json")
    record(
        session,
        actor,
        "measurement.rate_plan.set_rates",
        "rate_plan",
        row.id,
        before=before,
        after=row.plan,
    )
    return row


def do_apply_simulation_rates(
    session: Session, sim: Simulation, row: RatePlanRow, *, actor: Actor
) -> RatePlanRow:
    """应用求解的费率: the rates a budget-solving simulation found become the rate
    plan's rates (draft only; the budget and the weights stay)."""
    if sim.rate_plan_id != row.id:
        raise ValidationFailed("模拟不是基于该费率方案", field="rate_plan_id")
    if not isinstance(sim.results, dict) or "solved" not in sim.results:
        raise Conflict("这次模拟没有求解费率（勾选“按预算求解费率”后重新模拟）", field="simulation")
    _require_status(row, ("draft",), "费率方案")
    before = row.plan
    solved = m.RatePlan.model_validate(sim.rates)
    row.plan = solved.model_dump(mode="json")
    record(
        session,
        actor,
        "measurement.rate_plan.apply_simulation",
        "rate_plan",
        row.id,
        before=before,
        after={"simulation_id": sim.id, "plan": row.plan},
    )
    return row


def budget_gap(result: m.SimulationResult) -> tuple[Decimal, Decimal, Decimal] | None:
    """(simulated DRG payment, budget, gap) of a simulation's totals, or None without
    a budget."""
    if result.totals.height == 0:
        return None
    totals = result.totals.row(0, named=True)
    if totals.get("budget") is None:
        return None
    payment, budget = Decimal(totals["drg_payment"]), Decimal(totals["budget"])
    return payment, budget, payment - budget


# --------------------------------------------------------------------------- simulation


def run_simulation(
    session: Session,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    frame: pl.DataFrame,
    params: dict[str, Any],
    solve_budget: bool,
) -> tuple[m.RatePlan, m.SimulationResult, dict[str, Any]]:
    sim_params = m.parse_params(m.SimulationParams, params)
    weights = weight_plan_frame(session, weight_plan.id)
    rates = rate_plan_of(rate_row)
    extra: dict[str, Any] = {}
    if solve_budget:
        solution = m.solve_rate_for_budget(frame, weights, rates, sim_params)
        rates = solution.rates
        extra = {
            "solved": _jsonable(solution.solved),
            "gap": str(solution.gap),
            "roots": solution.roots,
        }
    table = m.payment_standards(weights, rates)
    fund = None
    if sim_params.fund_share == "policy":  # the insured places' published policies
        policies = policy_set(session)
        fund = lambda classified: policy_fund_fen(classified, policies)  # noqa: E731
    result = m.simulate(frame, table, sim_params, budget=rates.budget, fund=fund)
    return rates, result, extra


def simulation_results(result: m.SimulationResult, extra: dict[str, Any]) -> dict[str, Any]:
    def rows(df: pl.DataFrame) -> list[dict[str, Any]]:
        return _jsonable(df.to_dicts())  # type: ignore[no-any-return]

    return {
        "totals": rows(result.totals)[0] if result.totals.height else {},
        "by_level": rows(result.by_level),
        "by_class": rows(result.by_class),
        "by_hospital": rows(result.by_hospital),
        "by_drg": rows(result.by_drg),
        "distribution": rows(result.distribution),
        **extra,
    }


def do_save_simulation(
    session: Session,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    name: str,
    year: int,
    params: dict[str, Any],
    rates: m.RatePlan,
    results: dict[str, Any],
    actor: Actor,
) -> Simulation:
    sim = Simulation(
        region_code=weight_plan.region_code,
        name=name.strip() or f"模拟 {year}",
        weight_plan_id=weight_plan.id,
        rate_plan_id=rate_row.id,
        year=year,
        params=m.parse_params(m.SimulationParams, params).model_dump(mode="json"),
        rates=rates.model_dump(mode="json"),
        results=results,
        created_by=actor.name,
    )
    session.add(sim)
    session.flush()
    record(
        session,
        actor,
        "measurement.simulation.create",
        "simulation",
        sim.id,
        after={"name": sim.name, "year": year, "totals": results.get("totals")},
    )
    return sim


# --------------------------------------------------------------------------- standards

STANDARD_COLUMNS = ("drg", "hospital_level", "relative_weight", "base_rate", "payment_standard")


def standards_csv(table: pl.DataFrame) -> bytes:
    """The published table as CSV bytes: fixed columns and order (reproducible), text
    that begins like a formula neutralised (the download is these bytes, the checksum
    their SHA-256)."""
    ordered = table.select(STANDARD_COLUMNS).sort("drg", "hospital_level")
    return csv_safe(ordered).write_csv().encode("utf-8")


def _overlapping_sets(
    session: Session,
    region_code: str,
    plan_id: str,
    valid_from: date,
    valid_to: date | None,
    exclude: int | None = None,
) -> list[PaymentStandardSet]:
    """Published sets of the plan (other than ``exclude``) whose validity overlaps; 409
    when one starts on or after ``valid_from`` (only an open earlier set can be closed)."""
    out = []
    for prev in session.scalars(
        select(PaymentStandardSet).where(
            PaymentStandardSet.region_code == region_code,
            PaymentStandardSet.plan_id == plan_id,
            PaymentStandardSet.status == "published",
            PaymentStandardSet.id != (exclude or 0),
        )
    ).all():
        ends = prev.valid_to or date.max
        if not (prev.valid_from <= (valid_to or date.max) and valid_from <= ends):
            continue
        if prev.valid_from >= valid_from:
            raise Conflict(
                f"有效期与已发布的支付标准 {prev.id}（{prev.valid_from} 起）重叠",
                field="valid_from",
            )
        out.append(prev)
    return out


def _close_earlier(session: Session, row: PaymentStandardSet, actor: Actor) -> None:
    """Close the open earlier sets the day before ``row`` starts (audited)."""
    for prev in _overlapping_sets(
        session, row.region_code, row.plan_id, row.valid_from, row.valid_to, exclude=row.id
    ):
        before = {"valid_to": prev.valid_to}
        prev.valid_to = row.valid_from - timedelta(days=1)
        record(
            session,
            actor,
            "measurement.standards.close",
            "payment_standard_set",
            prev.id,
            before=before,
            after={"valid_to": prev.valid_to},
        )


def do_publish_standards(
    session: Session,
    *,
    region_code: str,
    name: str,
    plan_id: str,
    table: pl.DataFrame,
    valid_from: date,
    valid_to: date | None,
    source: str,
    weight_plan: WeightPlan | None,
    rate_row: RatePlanRow | None,
    actor: Actor,
    four_eyes: bool = False,
    budget_gap: dict[str, str] | None = None,
) -> PaymentStandardSet:
    """Store a payment standard table; an open earlier set of the same plan is closed
    the day before ``valid_from`` (audited), overlapping closed sets are refused.

    ``four_eyes`` (``YIBAO_PUBLISH_FOUR_EYES``): the table is stored ``pending`` (not
    used for pricing) until another user approves it (:func:`do_approve_standards`)."""
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed("valid_to：失效日期早于生效日期", field="valid_to")
    _overlapping_sets(session, region_code, plan_id, valid_from, valid_to)  # 409 early
    data = standards_csv(table)
    row = PaymentStandardSet(
        region_code=region_code,
        name=name.strip() or f"支付标准 {valid_from}",
        plan_id=plan_id,
        weight_plan_id=weight_plan.id if weight_plan else None,
        rate_plan_id=rate_row.id if rate_row else None,
        source=source,
        valid_from=valid_from,
        valid_to=valid_to,
        status="pending" if four_eyes else "published",
        checksum=hashlib.sha256(data).hexdigest(),
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    items = table.select(
        pl.lit(row.id).alias("set_id"),
        "drg",
        "hospital_level",
        pl.col("relative_weight").cast(pl.Decimal(12, 4)),
        pl.col("base_rate").cast(pl.Decimal(28, 10)),
        pl.col("payment_standard").cast(pl.Decimal(18, 2)),
    ).sort("drg", "hospital_level")
    insert_frame(session, PaymentStandardItem.__table__, items)
    if not four_eyes:
        _close_earlier(session, row, actor)
        if rate_row is not None:
            rate_row.status = "published"
    record(
        session,
        actor,
        "measurement.standards.request" if four_eyes else "measurement.standards.publish",
        "payment_standard_set",
        row.id,
        after={
            "name": row.name,
            "plan_id": plan_id,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "items": items.height,
            "checksum": row.checksum,
            "source": source,
            "status": row.status,
            **({"budget_gap_confirmed": budget_gap} if budget_gap else {}),
        },
    )
    return row


def _status_label(status: str) -> str:
    from yibao.measurement.models import STATUS_LABELS

    return STATUS_LABELS.get(status, status)


def do_approve_standards(
    session: Session, row: PaymentStandardSet, *, actor: Actor
) -> PaymentStandardSet:
    """A pending payment standard table published by a second user (双人复核): earlier
    open sets are closed now, the rate plan marked published."""
    if row.status != "pending":
        raise Conflict(
            f"支付标准 {row.id} 当前为“{_status_label(row.status)}”，"
            "只有待批准的支付标准可以批准发布",
            field="status",
        )
    if row.created_by == actor.name:
        raise Forbidden(
            f"已启用双人复核：支付标准须由提交人（{row.created_by}）以外的用户批准发布 / four-eyes"
        )
    _close_earlier(session, row, actor)
    row.status = "published"
    if row.rate_plan_id is not None:
        rate_row = session.get(RatePlanRow, row.rate_plan_id)
        if rate_row is not None:
            rate_row.status = "published"
    record(
        session,
        actor,
        "measurement.standards.publish",
        "payment_standard_set",
        row.id,
        before={"status": "pending"},
        after={"status": "published", "requested_by": row.created_by, "checksum": row.checksum},
    )
    return row


def standards_frame(session: Session, set_id: int) -> pl.DataFrame:
    rows = session.execute(
        select(
            PaymentStandardItem.drg,
            PaymentStandardItem.hospital_level,
            PaymentStandardItem.relative_weight,
            PaymentStandardItem.base_rate,
            PaymentStandardItem.payment_standard,
        )
        .where(PaymentStandardItem.set_id == set_id)
        .order_by(PaymentStandardItem.drg, PaymentStandardItem.hospital_level)
    ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=dict(m.STANDARDS_SCHEMA), orient="row")
