"""Weight plans (权重方案): a run's weights, adjusted, versioned and approved.

A plan takes its base weights from a succeeded run, applies the analyst's
adjustments (tilts, manual weights; draft only) and goes draft → approved →
published (→ retired), approved ones may be reopened; with four eyes another user
approves.  Every change writes its audit row in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.db.bulk import insert_frame
from yibao.engines import measure as m
from yibao.kit.errors import Conflict, Forbidden, ValidationFailed
from yibao.kit.timeutil import utcnow
from yibao.measurement.models import MeasurementRun, WeightPlan, WeightPlanItem
from yibao.measurement.service.common import _require_status
from yibao.measurement.service.runs import run_weights_frame


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
