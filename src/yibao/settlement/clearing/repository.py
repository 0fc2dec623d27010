"""The saved year-end clearings of a region (a year's list, newest first, and one by id)
and the months of a year whose settlement confirmation is done."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.kit.errors import NotFound
from yibao.regions.models import region_prefix
from yibao.settlement.models import SettlementClearing, SettlementConfirmBatch


def saved_clearings(session: Session, region_code: str, year: int) -> list[SettlementClearing]:
    """The region's saved clearings of ``year``, newest first."""
    return list(
        session.scalars(
            select(SettlementClearing)
            .where(
                SettlementClearing.region_code.startswith(region_prefix(region_code)),
                SettlementClearing.year == year,
            )
            .order_by(SettlementClearing.id.desc())
        )
    )


def get_clearing(session: Session, clearing_id: int, region_code: str) -> SettlementClearing:
    row = session.get(SettlementClearing, clearing_id)
    if row is None or not row.region_code.startswith(region_prefix(region_code)):
        raise NotFound(f"年终清算 {clearing_id} 不存在 / no such clearing")
    return row


def confirmed_months(session: Session, region_code: str, year: int) -> list[str]:
    """The ``YYYY-MM`` months of ``year`` whose settlement confirmation (确认结算) is
    done in the region or one of its districts, sorted.  A month whose confirmation
    still runs is not among them."""
    periods = [f"{year:04d}-{m:02d}" for m in range(1, 13)]
    rows = session.scalars(
        select(SettlementConfirmBatch.period_code)
        .where(
            SettlementConfirmBatch.region_code.startswith(region_prefix(region_code)),
            SettlementConfirmBatch.period_code.in_(periods),
            SettlementConfirmBatch.status == "done",
        )
        .distinct()
    )
    return sorted(set(rows))
