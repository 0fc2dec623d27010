"""JSON API of settlement review and period confirmation.

* ``/api/settlement/review`` — the reviewer's queue and decisions (approve, return,
  adjust, bulk approve);
* ``/api/settlement/periods`` — periods, their confirmation (a job) and records;
* ``/api/settlement/lists/{id}/history`` — a list's state history with the reasons
  (hospital users read their own lists).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Protocol

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require
from yibao.api.inline import light_read
from yibao.audit.service import Actor
from yibao.kit.bounds import DbId, PageNo, PageSize
from yibao.kit.errors import ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.settlement.history import list_history
from yibao.settlement.models import (
    SettlementList,
)
from yibao.settlement.review import (
    AdjustPolicy,
    ReviewFilter,
    adjustment_view,
    bulk_ids,
    do_adjust_list,
    do_approve_list,
    do_bulk_approve_lists,
    do_decide_adjustment,
    do_return_list,
    do_revert_adjustment,
    do_start_review,
    do_withdraw_list,
    review_queue,
    state_label,
    waiting_adjustments,
)
from yibao.settlement.schemas import (
    BulkApproveOut,
    DecisionOut,
    HistoryOut,
    ReviewQueueOut,
    WaitingAdjustmentsOut,
)

REVIEW = require(Permission.REVIEW_SETTLEMENT)
VIEW = require(Permission.VIEW_CASES)

review_router = APIRouter(prefix="/api/settlement/review", tags=["settlement 结算审核"])
lists_router = APIRouter(prefix="/api/settlement/lists", tags=["settlement 结算清单"])


class DecisionIn(BaseModel):
    reason: str | None = Field(None, description="原因（退回、调整必填）")


class AdjustIn(BaseModel):
    reason: str | None = Field(None, description="调整原因（必填）")
    drg_payment: str | int | float | None = Field(None, description="调整后的 DRG 支付金额（元）")
    kind: str | None = Field(
        None, description="deduct = 调整扣减（低于原支付，默认）；add = 调增（高于原支付，有上限）"
    )


class FilterIn(BaseModel):
    hospital: str | None = None
    drg: str | None = None
    payment_class: str | None = None
    state: str | None = None
    has_warnings: bool | None = None
    period: str | None = None
    setl_id: str | None = None

    def to_filter(self) -> ReviewFilter:
        return ReviewFilter(
            hospital=self.hospital,
            drg=self.drg,
            payment_class=self.payment_class,
            states=_states(self.state),
            has_warnings=self.has_warnings,
            period=self.period,
            setl_id=self.setl_id,
        )


class BulkIn(BaseModel):
    ids: list[DbId] | None = Field(None, description="清单 id 列表")
    filter: FilterIn | None = Field(None, description="或：按审核队列的筛选条件")
    reason: str | None = None


def _states(value: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (value or "").split(",") if s.strip())


# --------------------------------------------------------------------------- review


@review_router.get("")
@light_read
def queue(
    db: Db,
    user: User = REVIEW,
    hospital: str | None = Query(None, description="医疗机构编码"),
    drg: str | None = None,
    payment_class: str | None = Query(None, description="normal / high / low / …"),
    state: str | None = Query(None, description="状态，逗号分隔；默认 priced,under_review；all"),
    has_warnings: bool | None = Query(None, description="是否有质控提示"),
    period: str | None = Query(None, description="出院年月 YYYY-MM"),
    setl_id: str | None = Query(None, max_length=40, description="结算ID（或至少 4 位的开头）"),
    page: PageNo = 1,
    size: PageSize = 50,
) -> ReviewQueueOut:
    """审核队列：按医疗机构、DRG、支付类别、状态、质控提示、出院年月筛选，分页。"""
    page, size = clamp_page(page, size)
    flt = ReviewFilter(hospital, drg, payment_class, _states(state), has_warnings, period, setl_id)
    result = review_queue(db, flt, page, size)
    return ReviewQueueOut.model_validate(
        {
            "total": result.total,
            "page": result.page,
            "size": result.size,
            "pages": result.pages,
            "items": result.items,
        }
    )


def _decision(db: Db, list_id: int, state: str) -> DecisionOut:
    history = list_history(db, list_id)
    return DecisionOut.model_validate(
        {
            "id": list_id,
            "setl_id": history["setl_id"],
            "state": state,
            "state_label": state_label(state),
            "reason": history["reason"],
            "adjustment": history["adjustment"],
            "pending_adjustment": history["pending_adjustment"],
        }
    )


class ListDecision(Protocol):
    """``do_approve_list``, ``do_return_list``, ``do_withdraw_list``: the list's new state."""

    def __call__(
        self, session: Session, list_id: int, /, *, reason: str | None, user_role: str, actor: Actor
    ) -> str: ...


def _decide_list(
    do: ListDecision,
    list_id: int,
    request: Request,
    db: Session,
    body: DecisionIn | None,
    user: User,
) -> DecisionOut:
    """Take the decision ``do`` on a list as this user, with the body's reason if any."""
    reason = body.reason if body else None
    state = do(db, list_id, reason=reason, user_role=user.role, actor=request_actor(request, user))
    return _decision(db, list_id, state)


def _decide_adjustment(
    adjustment_id: int,
    request: Request,
    db: Session,
    body: DecisionIn | None,
    user: User,
    *,
    approve: bool,
) -> DecisionOut:
    """The second reviewer's yes (the list is ``adjusted``) or no to an adjustment."""
    adj = do_decide_adjustment(
        db,
        adjustment_id,
        approve=approve,
        reason=body.reason if body else None,
        user_role=user.role,
        actor=request_actor(request, user),
    )
    return _decision(db, adj.list_id, "adjusted") if approve else _as_now(db, adj.list_id)


def _as_now(db: Session, list_id: int) -> DecisionOut:
    """The list in the state it is in now (after a step that does not return it)."""
    state = db.scalar(select(SettlementList.state).where(SettlementList.id == list_id))
    return _decision(db, list_id, str(state))


@review_router.post("/{list_id}/start")
def start(list_id: DbId, request: Request, db: Db, user: User = REVIEW) -> DecisionOut:
    """提交审核（已计价 → 审核中）。"""
    state = do_start_review(db, list_id, user_role=user.role, actor=request_actor(request, user))
    return _decision(db, list_id, state)


@review_router.post("/{list_id}/approve")
def approve(
    list_id: DbId, request: Request, db: Db, body: DecisionIn | None = None, user: User = REVIEW
) -> DecisionOut:
    """审核通过。"""
    return _decide_list(do_approve_list, list_id, request, db, body, user)


@review_router.post("/{list_id}/return")
def return_list(
    list_id: DbId, request: Request, db: Db, body: DecisionIn | None = None, user: User = REVIEW
) -> DecisionOut:
    """退回医院（必须填写原因）。"""
    return _decide_list(do_return_list, list_id, request, db, body, user)


@review_router.post("/{list_id}/adjust")
def adjust(
    list_id: DbId, request: Request, db: Db, body: AdjustIn | None = None, user: User = REVIEW
) -> DecisionOut:
    """调整扣减：填写原因和调整后的 DRG 支付金额（原计价保留）。"""
    body = body or AdjustIn(reason=None, drg_payment=None, kind=None)
    adj = do_adjust_list(
        db,
        list_id,
        reason=body.reason,
        drg_payment=body.drg_payment,
        kind=body.kind,
        user_role=user.role,
        actor=request_actor(request, user),
        policy=AdjustPolicy.of(request.app.state.settings),
    )
    return _decision(db, list_id, "adjusted" if adj.status == "effective" else "under_review")


@review_router.post("/{list_id}/revert-adjustment")
def revert_adjustment(
    list_id: DbId, request: Request, db: Db, body: DecisionIn | None = None, user: User = REVIEW
) -> DecisionOut:
    """撤销调整（确认结算前）：撤回待复核的调整，或撤销已生效的调整（清单回到审核中）；必须填写原因。"""
    do_revert_adjustment(
        db,
        list_id,
        reason=body.reason if body else None,
        user_role=user.role,
        actor=request_actor(request, user),
    )
    return _as_now(db, list_id)


@review_router.get("/adjustments")
def adjustments_waiting(db: Db, user: User = REVIEW) -> WaitingAdjustmentsOut:
    """待复核的调整（本人辖区内，最早的在前）：须由提出人以外的审核员同意或不同意。"""
    items = [{**adjustment_view(a), "mine": a.actor_id == user.id} for a in waiting_adjustments(db)]
    return WaitingAdjustmentsOut.model_validate({"total": len(items), "items": items})


@review_router.post("/adjustments/{adjustment_id}/approve")
def approve_adjustment(
    adjustment_id: DbId,
    request: Request,
    db: Db,
    body: DecisionIn | None = None,
    user: User = REVIEW,
) -> DecisionOut:
    """复核同意调整（不能复核自己提出的调整）：清单进入“已调整支付”。"""
    return _decide_adjustment(adjustment_id, request, db, body, user, approve=True)


@review_router.post("/adjustments/{adjustment_id}/reject")
def reject_adjustment(
    adjustment_id: DbId,
    request: Request,
    db: Db,
    body: DecisionIn | None = None,
    user: User = REVIEW,
) -> DecisionOut:
    """复核不同意调整（必须填写原因）：清单留在审核中，按原计价支付。"""
    return _decide_adjustment(adjustment_id, request, db, body, user, approve=False)


@review_router.post("/bulk-approve")
def bulk_approve(body: BulkIn, request: Request, db: Db, user: User = REVIEW) -> BulkApproveOut:
    """批量审核通过（ids 或筛选条件），一个事务；每份清单单独报告结果。"""
    if body.ids is not None and body.filter is not None:
        raise ValidationFailed("ids 与 filter 只能给出其一", field="ids")
    if body.ids is not None:
        ids = body.ids
    elif body.filter is not None:
        ids = bulk_ids(db, body.filter.to_filter())
    else:
        raise ValidationFailed("请给出要审核通过的清单 ids 或筛选条件 filter", field="ids")
    if not ids:
        return BulkApproveOut(requested=0, approved=0, refused=0, results=[])
    results = do_bulk_approve_lists(
        db, ids, user_role=user.role, actor=request_actor(request, user), reason=body.reason
    )
    approved = sum(r.ok for r in results)
    return BulkApproveOut.model_validate(
        {
            "requested": len(results),
            "approved": approved,
            "refused": len(results) - approved,
            "results": [asdict(r) for r in results],
        }
    )


# --------------------------------------------------------------------------- lists


@lists_router.post("/{list_id}/withdraw")
def withdraw(
    list_id: DbId, request: Request, db: Db, body: DecisionIn | None = None, user: User = VIEW
) -> DecisionOut:
    """撤回清单（医疗机构，审核开始前；须填原因）：不再审核、不再结算，之后可重新上传。"""
    return _decide_list(do_withdraw_list, list_id, request, db, body, user)


@lists_router.get("/{list_id}/history")
def history(list_id: DbId, db: Db, user: User = VIEW) -> HistoryOut:
    """清单状态历史：接收的版本、审核 / 退回 / 调整 / 确认，以及退回或调整的原因。"""
    return HistoryOut.model_validate(list_history(db, list_id))


router = APIRouter()
router.include_router(review_router)
router.include_router(lists_router)
