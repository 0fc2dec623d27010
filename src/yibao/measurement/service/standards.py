"""Payment standards (支付标准): publish, approve and read a standard table.

A table is measured from a published weight plan and its rate plan (optionally
after a simulation of the rate plan's volume year checked the budget) or imported
from a file.  Publishing stores a table (its CSV bytes checksummed) and closes the
open earlier set of the same plan the day before the new one starts (overlaps are
refused); with four eyes the table waits, ``pending``, until another user approves
it.  Pricing reads a set back as the engine's standards frame; the set in force for a
region on a day (:func:`standard_sets_in_force`) is the one pricing and the post-audit
both use.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.db.bulk import insert_frame
from yibao.engines import measure as m
from yibao.engines.grouper import PlanRegistry
from yibao.grouping.plans import plan_info
from yibao.kit.errors import Conflict, Forbidden, ValidationFailed
from yibao.kit.exports import csv_safe
from yibao.kit.money import format_yuan
from yibao.measurement.imports import read_standards_file
from yibao.measurement.models import (
    MeasurementRun,
    PaymentStandardItem,
    PaymentStandardSet,
    RatePlanRow,
    WeightPlan,
)
from yibao.measurement.service.common import _status_label
from yibao.measurement.service.rate_plans import budget_gap, rate_plan_of
from yibao.measurement.service.weight_plans import weight_plan_frame
from yibao.measurement.service.year_frames import SIMULATION_RULES, year_frame

STANDARD_COLUMNS = ("drg", "hospital_level", "relative_weight", "base_rate", "payment_standard")
#: the parts of the simulation parameters that say how a case is classified and paid
RULE_FIELDS = {"high_multipliers", "low_multiplier", "high_payment", "rules"}


def payment_rules(data: dict[str, Any] | None) -> m.SimulationParams:
    """The classification and payment rules of a standard set (defaults for ``None``);
    a bad value is a Chinese error naming the field (``payment_rules.rules.qy_fraction``)."""
    unknown = sorted(set(data or {}) - RULE_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"payment_rules：不是可识别的支付规则：{'、'.join(unknown)}"
            f"（可用：{'、'.join(sorted(RULE_FIELDS))}）",
            field="payment_rules",
        )
    return m.parse_params(m.SimulationParams, data or {})


def rules_json(params: m.SimulationParams) -> dict[str, Any]:
    return params.model_dump(mode="json", include=RULE_FIELDS)


def rules_text(text: str) -> dict[str, Any] | None:
    """Payment rules typed as JSON (a form field); empty: none."""
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValidationFailed(
            f"payment_rules：支付规则须为 JSON 对象（第 {getattr(exc, 'lineno', 1)} 行有误）",
            field="payment_rules",
        ) from None
    if not isinstance(data, dict):
        raise ValidationFailed("payment_rules：支付规则须为 JSON 对象", field="payment_rules")
    return data


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


# long: one audited transaction step: validate, store the table and items, close, record
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
    rules: m.SimulationParams | None = None,
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
        payment_rules=rules_json(rules) if rules is not None else None,
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
            "payment_rules": row.payment_rules,
            **({"budget_gap_confirmed": budget_gap} if budget_gap else {}),
        },
    )
    return row


def check_budget(
    session: Session,
    registry: PlanRegistry,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    run: MeasurementRun,
    tolerance: Decimal,
    actor: Actor,
    rules: m.SimulationParams | None = None,
) -> dict[str, Any] | None:
    """Simulate the rate plan's volume year with its rates: None when the simulated
    payment meets the budget within ``tolerance`` (a share), else the figures."""
    rates = rate_plan_of(rate_row)
    if rates.budget is None:
        return None
    year = rate_row.volume_year
    frame = year_frame(session, registry, run.plan_id, year, SIMULATION_RULES, actor)
    if frame.height == 0:
        return None
    table = m.payment_standards(weight_plan_frame(session, weight_plan.id), rates)
    params = rules or m.SimulationParams()
    gap = budget_gap(m.simulate(frame, table, params, budget=rates.budget))
    if gap is None:
        return None
    payment, budget, diff = gap
    if abs(diff) <= budget * tolerance:
        return None
    return {
        "year": year,
        "payment": payment,
        "budget": budget,
        "gap": diff,
        "share": (diff / budget).quantize(Decimal("0.0001")),
        "tolerance": tolerance,
    }


class BudgetMissed(Conflict):
    """Publishing standards whose simulated payment misses the budget (409)."""

    code = "budget_gap"


# long: the checks before publishing standards (run, plans, rates, overlaps) in one sequence
def publish_standards(
    session: Session,
    *,
    weight_plan: WeightPlan,
    rate_row: RatePlanRow,
    run: MeasurementRun,
    name: str,
    valid_from: date,
    valid_to: date | None,
    actor: Actor,
    four_eyes: bool = False,
    registry: PlanRegistry | None = None,
    budget_tolerance: Decimal | None = None,
    confirm_budget_gap: bool = False,
    rules: dict[str, Any] | None = None,
) -> PaymentStandardSet:
    """As ``POST /api/measurement/standards``.

    With ``registry`` and ``budget_tolerance``: the rate plan's volume year is
    simulated first; a payment that misses the budget by more than the tolerance
    raises :class:`BudgetMissed` (with the figures) unless ``confirm_budget_gap``, and
    the confirmed gap is written into the audit row."""
    if weight_plan.status != "published":
        raise ValidationFailed(
            "weight_plan_id：只有已发布的权重方案才能生成支付标准", field="weight_plan_id"
        )
    if rate_row.weight_plan_id != weight_plan.id:
        raise ValidationFailed("rate_plan_id：费率方案不是基于该权重方案", field="rate_plan_id")
    params = payment_rules(rules) if rules else None
    gap = None
    if registry is not None and budget_tolerance is not None:
        gap = check_budget(
            session,
            registry,
            weight_plan=weight_plan,
            rate_row=rate_row,
            run=run,
            tolerance=budget_tolerance,
            actor=actor,
            rules=params,
        )
        if gap is not None and not confirm_budget_gap:
            raise BudgetMissed(
                f"按费率方案 #{rate_row.id} 模拟 {gap['year']} 年病例：DRG 支付 "
                f"{format_yuan(gap['payment'])} 元，预算 {format_yuan(gap['budget'])} 元，"
                f"相差 {format_yuan(gap['gap'])} 元（{gap['share'] * 100:+.2f}%），"
                f"超过允许偏差 {budget_tolerance * 100:.2f}%。可先在模拟中按预算求解费率"
                "并应用到费率方案；确需按此费率发布，请确认后再发布",
                field="confirm_budget_gap",
            )
    table = m.payment_standards(weight_plan_frame(session, weight_plan.id), rate_plan_of(rate_row))
    return do_publish_standards(
        session,
        region_code=weight_plan.region_code,
        name=name,
        plan_id=run.plan_id,
        table=table,
        valid_from=valid_from,
        valid_to=valid_to,
        source="measured",
        weight_plan=weight_plan,
        rate_row=rate_row,
        actor=actor,
        four_eyes=four_eyes,
        budget_gap=None if gap is None else {k: str(v) for k, v in gap.items()},
        rules=params,
    )


def import_standards(
    session: Session,
    registry: PlanRegistry,
    *,
    region_code: str,
    plan_id: str,
    content: bytes,
    filename: str,
    name: str,
    valid_from: date,
    valid_to: date | None,
    actor: Actor,
    four_eyes: bool = False,
    rules: dict[str, Any] | None = None,
) -> PaymentStandardSet:
    """As ``POST /api/measurement/standards/import``."""
    params = payment_rules(rules) if rules else None
    info = plan_info(registry, plan_id)
    table = read_standards_file(content, filename, registry.get(info.id))
    return do_publish_standards(
        session,
        region_code=region_code,
        name=name or filename,
        plan_id=info.id,
        table=table,
        valid_from=valid_from,
        valid_to=valid_to,
        source="imported",
        weight_plan=None,
        rate_row=None,
        actor=actor,
        four_eyes=four_eyes,
        rules=params,
    )


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


def standard_sets_in_force(
    session: Session, keys: Iterable[tuple[str, date]]
) -> dict[tuple[str, date], PaymentStandardSet]:
    """The published set in force for each (region code, day) of ``keys``: the newest
    (by ``valid_from``, then id) published set of the region's city (the code's first
    four digits; a city prefix itself will do) valid on that day.  Settlement prices a
    case with it; the post-audit reads an unpriced case's weight from it.  Keys without
    a set in force are left out."""
    wanted = {(code, day) for code, day in keys if code and day}
    found: list[PaymentStandardSet] = []
    for prefix in sorted({code[:4] for code, _ in wanted}):
        found.extend(
            session.scalars(
                select(PaymentStandardSet).where(
                    PaymentStandardSet.region_code.startswith(prefix),
                    PaymentStandardSet.status == "published",
                )
            )
        )
    newest = sorted(found, key=lambda s: (s.valid_from, s.id), reverse=True)
    out: dict[tuple[str, date], PaymentStandardSet] = {}
    for code, day in wanted:
        for s in newest:
            if (
                s.region_code.startswith(code[:4])
                and s.valid_from <= day
                and (s.valid_to is None or s.valid_to >= day)
            ):
                out[(code, day)] = s
                break
    return out
