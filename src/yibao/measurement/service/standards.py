"""Payment standards (支付标准): publish, approve and read a standard table.

Publishing stores a table (its CSV bytes checksummed) and closes the open earlier set
of the same plan the day before the new one starts (overlaps are refused); with four
eyes the table waits, ``pending``, until another user approves it.  Pricing reads a
set back as the engine's standards frame.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.db.bulk import insert_frame
from yibao.engines import measure as m
from yibao.kit.errors import Conflict, Forbidden, ValidationFailed
from yibao.kit.exports import csv_safe
from yibao.measurement.models import (
    PaymentStandardItem,
    PaymentStandardSet,
    RatePlanRow,
    WeightPlan,
)
from yibao.measurement.service.common import _status_label

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
