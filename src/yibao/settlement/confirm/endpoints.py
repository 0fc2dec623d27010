"""JSON API of settlement periods: the periods and their state, a period's summary,
month confirmation (a job), closing a period, and the confirmation records."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require, runner_of
from yibao.kit.bounds import PageNo, PageSize, Year
from yibao.kit.paging import clamp_page
from yibao.settlement import tasks, views
from yibao.settlement.auth import region_for
from yibao.settlement.confirm import MAX_CHUNK, do_close_period
from yibao.settlement.confirm.repository import confirmation_page
from yibao.settlement.review import parse_period
from yibao.settlement.schemas import (
    ConfirmationPage,
    ConfirmJobOut,
    PeriodCloseOut,
    PeriodListOut,
    PeriodSummaryOut,
)

REVIEW = require(Permission.REVIEW_SETTLEMENT)

router = APIRouter(prefix="/api/settlement/periods", tags=["settlement 结算期间"])


class ConfirmIn(BaseModel):
    region: str | None = Field(None, description="区划；不填为本人所在区划")
    chunk_size: int | None = Field(
        None, ge=1, le=MAX_CHUNK, description=f"每个事务确认的清单数（默认 500，最多 {MAX_CHUNK}）"
    )


@router.get("")
def periods(
    db: Db, user: User = REVIEW, region: str | None = None, year: Year | None = None
) -> PeriodListOut:
    """结算期间及其状态（本人辖区内）。"""
    return PeriodListOut.model_validate(views.period_list(db, region_for(db, user, region), year))


@router.get("/{period}")
def period_detail(
    period: str, db: Db, user: User = REVIEW, region: str | None = None
) -> PeriodSummaryOut:
    """结算期间：状态、确认批次、确认合计、待确认清单数。"""
    return PeriodSummaryOut.model_validate(
        views.period_summary(db, region_for(db, user, region), period)
    )


@router.post("/{period}/confirm", status_code=202)
def confirm(
    period: str, request: Request, db: Db, body: ConfirmIn | None = None, user: User = REVIEW
) -> ConfirmJobOut:
    """确认结算（作业）：本期间审核通过 / 调整的清单逐批确认，可中断后续跑。"""
    body = body or ConfirmIn(region=None, chunk_size=None)
    batch, job = tasks.submit_confirmation(
        db,
        runner_of(request),
        region_code=region_for(db, user, body.region),
        period_code=period,
        actor=request_actor(request, user),
        chunk_size=body.chunk_size,
    )
    return ConfirmJobOut(
        job_id=job.id,
        batch_id=batch.id,
        status=job.status,
        status_url=f"/api/jobs/{job.id}",
        resumed=batch.runs > 0,
    )


class CloseIn(BaseModel):
    region: str | None = Field(None, description="区划（默认本人的）")
    how: str | None = Field(
        None, description="carry = 未结清单结转到下一期间；close_out = 关闭（不予结算）"
    )
    reason: str | None = Field(None, description="原因（必填，记入审计日志）")


@router.post("/{period}/close")
def close_period(
    period: str, request: Request, db: Db, body: CloseIn | None = None, user: User = REVIEW
) -> PeriodCloseOut:
    """关闭结算期间：可确认的清单已全部确认后，其余未结清单结转到下一期间或关闭（须填原因）。"""
    body = body or CloseIn(region=None, how=None, reason=None)
    closed = do_close_period(
        db,
        region_code=region_for(db, user, body.region),
        period_code=period,
        how=body.how or "",
        reason=body.reason,
        actor=request_actor(request, user),
    )
    return PeriodCloseOut.model_validate(closed)


@router.get("/{period}/confirmations")
def confirmations(
    period: str,
    db: Db,
    user: User = REVIEW,
    region: str | None = None,
    hospital: str | None = None,
    page: PageNo = 1,
    size: PageSize = 50,
) -> ConfirmationPage:
    """确认结算记录（分页）与合计。"""
    parse_period(period)
    page, size = clamp_page(page, size)
    code = region_for(db, user, region)
    batch_ids = [b.id for b in views.period_batches(db, code, period)]
    found = confirmation_page(db, batch_ids, hospital, page, size)
    return ConfirmationPage.model_validate(
        {
            "total": found.total,
            "amount_paid": f"{found.amount_paid:.2f}",
            "fund_amount": f"{found.fund_amount:.2f}",
            "page": page,
            "size": size,
            "items": [
                {
                    "list_id": c.list_id,
                    "case_id": c.case_id,
                    "setl_id": c.setl_id,
                    "hospital_code": c.hospital_code,
                    "period": c.period_code,
                    "batch_id": c.batch_id,
                    "drg": c.drg,
                    "payment_class": c.payment_class,
                    "drg_payment": str(c.drg_payment),
                    "adjusted": c.adjusted,
                    "amount_paid": str(c.amount_paid),
                    "fund_amount": str(c.fund_amount),
                    "confirmed_at": c.confirmed_at.isoformat(),
                }
                for c in found.items
            ],
        }
    )
