"""The plan a region pays by (issue 16 item 3, ADR 0039).

A city or province bureau sets which grouping plan — national or regional — its
region pays by from a date (to a date, or open).  Grouping at intake, stored-case
grouping and single-case grouping then take, for each case, the plan its region (else
its city, else its province) has set for the case's discharge date, and only without
one the national plan valid that day (:func:`plan_for_case`).

Setting a plan regroups nothing: cases already grouped and settled keep their stored
results and prices; a new period starts from its date.  An open earlier period of the
region is closed the day before; any other overlap is refused.  Each change has a
reason and an audit row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor, record
from yibao.engines.grouper import PlanInfo, PlanRegistry
from yibao.grouping.local_plans import ensure_local_plan
from yibao.grouping.models import RegionPlan
from yibao.grouping.plans import plan_for_date, plan_info
from yibao.kit.errors import Conflict, Forbidden, ValidationFailed
from yibao.regions.models import region_prefix

REASON = "region"


def _chain(region_code: str) -> list[str]:
    """The region, its city and its province (most specific first, no repeats)."""
    out = []
    for code in (region_code, region_code[:4] + "00", region_code[:2] + "0000"):
        if code not in out:
            out.append(code)
    return out


def user_region(user: Any) -> str | None:
    """The region whose plan a user's own cases are grouped by (a hospital's region)."""
    hospital = getattr(user, "hospital", None)
    return hospital.region_code if hospital is not None else getattr(user, "region_code", None)


def own_region(user: Any, region_code: str | None) -> str:
    """The region a bureau user may set a plan for: its own, or one under it."""
    mine = getattr(user, "region_code", None)
    if getattr(user, "hospital_id", None) is not None or not mine:
        raise Forbidden("只有医保局用户可以设定本地区的付费方案")
    code = (region_code or mine).strip()
    if len(code) != 6 or not code.isdigit():
        raise ValidationFailed(
            f"region_code：区划代码须为 6 位数字（收到 {code[:10]!r}）", field="region_code"
        )
    if not code.startswith(region_prefix(mine)):
        raise Forbidden(f"只能设定本辖区（{mine}）的付费方案")
    return code


def region_plan_id(session: Session, region_code: str | None, day: date) -> str | None:
    """The plan id the region (or its city, or province) set for ``day``, if any."""
    if not region_code:
        return None
    chain = _chain(region_code)
    rows = session.scalars(
        select(RegionPlan).where(
            RegionPlan.region_code.in_(chain),
            RegionPlan.valid_from <= day,
            (RegionPlan.valid_to.is_(None)) | (RegionPlan.valid_to >= day),
        )
    ).all()
    for code in chain:
        for row in rows:
            if row.region_code == code:
                return row.plan_id
    return None


def plan_chooser(
    session: Session, registry: PlanRegistry
) -> Callable[[str | None, date], PlanInfo | None]:
    """A memoised (region, discharge date) → plan function for one batch of cases."""
    memo: dict[tuple[str | None, date], PlanInfo | None] = {}
    ensured: set[str] = set()

    def choose(region_code: str | None, day: date) -> PlanInfo | None:
        key = (region_code, day)
        if key not in memo:
            own = region_plan_id(session, region_code, day)
            if own and own not in ensured:  # a local plan imported on another server
                ensure_local_plan(session, registry, own)
                ensured.add(own)
            memo[key] = plan_info(registry, own) if own else plan_for_date(registry, day)
        return memo[key]

    return choose


def list_region_plans(session: Session, region_code: str | None = None) -> list[RegionPlan]:
    stmt = select(RegionPlan).order_by(RegionPlan.region_code, RegionPlan.valid_from)
    if region_code:
        stmt = stmt.where(RegionPlan.region_code.in_(_chain(region_code)))
    return list(session.scalars(stmt))


# long: the checks (plan, dates, overlap) before the one write and its audit row
def do_set_region_plan(
    session: Session,
    registry: PlanRegistry,
    *,
    region_code: str,
    plan_id: str,
    valid_from: date,
    valid_to: date | None,
    reason: str,
    actor: Actor,
) -> RegionPlan:
    """Set the plan ``region_code`` pays by from ``valid_from``."""
    ensure_local_plan(session, registry, plan_id)  # published by another process
    info = plan_info(registry, plan_id)  # 404 naming the plan when unknown
    if info.meta.status == "draft":
        raise ValidationFailed(f"plan_id：方案 {plan_id} 是草稿，不能用于付费", field="plan_id")
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed("valid_to：结束日期不能早于开始日期", field="valid_to")
    text = reason.strip()
    if len(text) < 2:
        raise ValidationFailed("reason：请填写设定依据（如文件号）", field="reason")
    rows = session.scalars(
        select(RegionPlan).where(RegionPlan.region_code == region_code).with_for_update()
    ).all()
    closed: dict[str, Any] | None = None
    for row in rows:
        end = row.valid_to or date.max
        if row.valid_from < valid_from and row.valid_to is None:
            closed = {"id": row.id, "plan_id": row.plan_id, "valid_to": None}
            row.valid_to = valid_from - timedelta(days=1)
            continue
        if row.valid_from <= (valid_to or date.max) and valid_from <= end:
            raise Conflict(
                f"与已设定的方案 {row.plan_id}（{row.valid_from} 至 {row.valid_to or '长期'}）"
                "的有效期重叠",
                field="valid_from",
            )
    new = RegionPlan(
        region_code=region_code,
        plan_id=info.id,
        valid_from=valid_from,
        valid_to=valid_to,
        reason=text[:500],
        set_by=actor.name,
    )
    session.add(new)
    session.flush()
    after = {
        "region": region_code,
        "plan_id": info.id,
        "valid_from": str(valid_from),
        "valid_to": str(valid_to) if valid_to else None,
        "reason": text[:500],
    }
    record(
        session,
        actor,
        "grouping.region_plan",
        "region_plan",
        new.id,
        before=closed,
        after=after,
        region_code=region_code,
    )
    return new


def with_plan_ids(
    frame: pl.DataFrame, choose: Callable[[str | None, date], PlanInfo | None]
) -> pl.DataFrame:
    """``frame`` (with ``region_code`` and ``discharge_date``) plus the ``plan_id`` each
    case is grouped by (null: no plan valid on that date)."""
    pairs = frame.select("region_code", "discharge_date").unique()
    ids = []
    for region, day in pairs.iter_rows():
        info = choose(region, day) if day is not None else None
        ids.append(info.id if info else None)
    lookup = pairs.with_columns(pl.Series("plan_id", ids, dtype=pl.String))
    return frame.join(lookup, on=["region_code", "discharge_date"], how="left", nulls_equal=True)
