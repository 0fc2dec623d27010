"""DIP payment schemes (DIP 付费方案, issue 14 item 6, ADR 0030): a region settles the
cases discharged within a scheme's validity under DIP — grouped against its published
catalogue and paid score × hospital coefficient × the budget point value (月度预拨);
year-end clearing re-prices them with the settlement point value.

A scheme is published when created (or, with ``YIBAO_PUBLISH_FOUR_EYES``, waits as
``pending`` until another user approves it), never changes afterwards, and closes an
open earlier scheme of the region the day before it starts; a scheme overlapping one
that starts on or after it is refused.  Where a scheme is in force it takes precedence
over the region's DRG payment standards (ADR 0030)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.cases.models import Case
from yibao.dip.models import SCHEME_STATUSES, DipCatalogue, DipScheme
from yibao.engines import dip
from yibao.engines.measure import parse_params
from yibao.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yibao.kit.timeutil import utcnow
from yibao.regions.models import Hospital, region_prefix
from yibao.settlement.models import CasePricing

#: bounds of a point value (元/分): above zero, at most this (a score of 1,000 is the
#: region's mean case; a point value of 1,000 would pay it a million yuan)
MAX_POINT_VALUE = Decimal(1000)


def budget_point_value(catalogue: DipCatalogue) -> Decimal | None:
    """The catalogue's budget point value (预算点值) as computed when it was built."""
    value = (catalogue.summary or {}).get("budget_point_value")
    return Decimal(str(value)) if value is not None else None


def _checked_point_value(value: Decimal | None, catalogue: DipCatalogue) -> Decimal:
    if value is None:
        value = budget_point_value(catalogue)
        if value is None:
            raise ValidationFailed(
                "point_value：目录没有计算预算点值，请填写点值（元/分）", field="point_value"
            )
    if not 0 < value <= MAX_POINT_VALUE or value != round(value, 4):
        raise ValidationFailed(
            f"point_value：点值须大于 0、不超过 {MAX_POINT_VALUE} 元/分且最多 4 位小数"
            f"（收到 {value}）",
            field="point_value",
        )
    return value


def _check_coefficients(session: Session, params: dip.PaymentParams) -> None:
    """Refuse add-ons that leave a hospital of the database with a coefficient at or
    below zero (base of its level + add-on), before anything is stored."""
    if not params.add_ons:
        return
    rows = session.execute(
        select(Hospital.code, Hospital.level).where(Hospital.code.in_(list(params.add_ons)))
    )
    hospitals = pl.DataFrame(
        [tuple(r) for r in rows], schema={"code": pl.String, "level": pl.String}, orient="row"
    )
    dip.coefficients(
        hospitals.filter(pl.col("level").is_in(list(params.coefficients))),
        params.coefficients,
        params.add_ons,
    )


def _one_method_a_year(session: Session, region_code: str, valid_from: date) -> None:
    """A year is cleared by one method (ADR 0030): a scheme may not begin while cases of
    its year from that day on are already priced by the DRG standards (they are never
    re-priced, and the year could then be cleared by neither method); nor mid-year
    unless it follows a DIP scheme (a change of point value within DIP)."""
    year_end = date(valid_from.year, 12, 31)
    priced = session.scalars(
        select(Case.setl_id)
        .join(CasePricing, CasePricing.case_id == Case.id)
        .where(
            Case.region_code.startswith(region_code[:4]),
            Case.discharge_date >= valid_from,
            Case.discharge_date <= year_end,
            CasePricing.payment_class.not_like("dip_%"),
        )
        .limit(6)
    ).all()
    if priced:
        raise Conflict(
            f"valid_from：{valid_from} 起本年度已有病例按 DRG 支付标准结算（如 "
            f"{'、'.join(priced[:5])}），同一年度只能按一种方式清算；DIP 付费方案请自"
            f" {valid_from.year + 1}-01-01 起实行",
            field="valid_from",
        )
    if (valid_from.month, valid_from.day) == (1, 1):
        return
    before = valid_from - timedelta(days=1)
    follows = session.scalar(
        select(DipScheme.id).where(
            DipScheme.region_code == region_code,
            DipScheme.status == "published",
            DipScheme.valid_from <= before,
            (DipScheme.valid_to.is_(None)) | (DipScheme.valid_to >= before),
        )
    )
    if follows is None:
        raise ValidationFailed(
            f"valid_from：DIP 付费自 1 月 1 日起实行（同一年度的病例按同一种方式清算）；"
            f"{valid_from} 之前本年度没有在用的 DIP 方案，请设为 {valid_from.year}-01-01",
            field="valid_from",
        )


def _overlapping(
    session: Session, region_code: str, valid_from: date, valid_to: date | None, exclude: int = 0
) -> list[DipScheme]:
    """Published schemes of the region whose validity overlaps; 409 when one starts on or
    after ``valid_from`` (only an open earlier scheme can be closed)."""
    out = []
    for prev in session.scalars(
        select(DipScheme).where(
            DipScheme.region_code == region_code,
            DipScheme.status == "published",
            DipScheme.id != exclude,
        )
    ):
        if not (
            prev.valid_from <= (valid_to or date.max) and valid_from <= (prev.valid_to or date.max)
        ):
            continue
        if prev.valid_from >= valid_from or prev.valid_to is not None:
            raise Conflict(
                f"有效期与已发布的 DIP 付费方案 {prev.id}（{prev.valid_from} 至 "
                f"{prev.valid_to or '长期'}）重叠",
                field="valid_from",
            )
        out.append(prev)
    return out


def _publish(session: Session, row: DipScheme, actor: Actor) -> None:
    for prev in _overlapping(session, row.region_code, row.valid_from, row.valid_to, row.id):
        before = prev.valid_to
        prev.valid_to = row.valid_from - timedelta(days=1)
        record(
            session,
            actor,
            "dip.scheme.close",
            "dip_scheme",
            prev.id,
            before={"valid_to": before},
            after={"valid_to": prev.valid_to, "replaced_by": row.id},
            region_code=row.region_code,
        )
    row.status = "published"
    row.published_by = actor.name
    row.published_at = utcnow()


def create_scheme(
    session: Session,
    catalogue: DipCatalogue,
    *,
    name: str,
    valid_from: date,
    valid_to: date | None,
    point_value: Decimal | None,
    params: dict[str, Any],
    actor: Actor,
    four_eyes: bool = False,
) -> DipScheme:
    """A new scheme on a published catalogue (published now, or pending with four eyes)."""
    if catalogue.status != "published":
        raise Conflict(
            f"DIP 目录 {catalogue.code} 第 {catalogue.version} 版尚未发布，不能用于结算",
            field="catalogue_id",
        )
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed("valid_to：失效日期早于生效日期", field="valid_to")
    value = _checked_point_value(point_value, catalogue)
    clean = parse_params(dip.PaymentParams, {**params, "point_value": None, "budget": None})
    _check_coefficients(session, clean)
    _overlapping(session, catalogue.region_code, valid_from, valid_to)  # 409 early
    _one_method_a_year(session, catalogue.region_code, valid_from)
    row = DipScheme(
        region_code=catalogue.region_code,
        catalogue_id=catalogue.id,
        name=name.strip()[:100] or f"DIP 付费方案 {valid_from}",
        valid_from=valid_from,
        valid_to=valid_to,
        point_value=value,
        params=clean.model_dump(mode="json", include={"coefficients", "add_ons", "deviation"}),
        status="pending",
        created_by=actor.name,
    )
    session.add(row)
    session.flush()
    if not four_eyes:
        _publish(session, row, actor)
    record(
        session,
        actor,
        "dip.scheme.create",
        "dip_scheme",
        row.id,
        after={
            "catalogue_id": catalogue.id,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "point_value": value,
            "params": row.params,
            "status": row.status,
        },
        region_code=row.region_code,
    )
    return row


def do_approve_scheme(session: Session, row: DipScheme, actor: Actor) -> DipScheme:
    """A pending scheme published by a second user (双人复核)."""
    if row.status != "pending":
        label = SCHEME_STATUSES.get(row.status, row.status)
        raise Conflict(f"DIP 付费方案 {row.id} 当前为“{label}”，只有待批准的方案可以批准")
    if row.created_by == actor.name:
        raise Forbidden(f"DIP 付费方案须由提交人（{row.created_by}）以外的用户批准发布")
    _publish(session, row, actor)
    record(
        session,
        actor,
        "dip.scheme.publish",
        "dip_scheme",
        row.id,
        before={"status": "pending"},
        after={"status": "published", "requested_by": row.created_by},
        region_code=row.region_code,
    )
    return row


def get_scheme(session: Session, scheme_id: int, region: str) -> DipScheme:
    row = session.get(DipScheme, scheme_id)
    if row is None or not row.region_code.startswith(region):
        raise NotFound(f"DIP 付费方案 {scheme_id} 不存在 / not found")
    return row


def list_schemes(session: Session, region: str) -> list[DipScheme]:
    return list(
        session.scalars(
            select(DipScheme)
            .where(DipScheme.region_code.startswith(region))
            .order_by(DipScheme.valid_from.desc(), DipScheme.id.desc())
        )
    )


def schemes_in_force(
    session: Session, keys: Iterable[tuple[str, date]]
) -> dict[tuple[str, date], DipScheme]:
    """The published scheme in force for each (case region code, discharge day) of
    ``keys``: a scheme of a region whose subtree holds the case's region, valid that
    day (the newest by ``valid_from`` when several are).  Keys without one are left
    out: those cases are priced under DRG."""
    wanted = {(code, day) for code, day in keys if code and day}
    if not wanted:
        return {}
    found = sorted(
        session.scalars(select(DipScheme).where(DipScheme.status == "published")),
        key=lambda s: (s.valid_from, s.id),
        reverse=True,
    )
    out: dict[tuple[str, date], DipScheme] = {}
    for code, day in wanted:
        for s in found:
            if (
                code.startswith(region_prefix(s.region_code))
                and s.valid_from <= day
                and (s.valid_to is None or s.valid_to >= day)
            ):
                out[(code, day)] = s
                break
    return out
