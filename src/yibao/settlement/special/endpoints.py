"""JSON API of special cases (特例单议) and appeals (申诉).

* ``POST /api/settlement/lists/{id}/special-case`` (hospital, multipart: ``reason``,
  ``new_tech``, ``files``) and ``POST /api/settlement/lists/{id}/appeal`` (hospital);
* ``GET /api/settlement/special-cases`` and ``GET /api/settlement/appeals`` (scoped);
* ``POST /api/settlement/special-cases/{id}/decide`` and
  ``POST /api/settlement/appeals/{id}/decide`` (reviewer).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require, require_any
from yibao.kit.bounds import DbId, PageNo, PageSize
from yibao.kit.paging import clamp_page
from yibao.settlement import special
from yibao.settlement.models import SettlementList
from yibao.settlement.schemas import AppealOut, AppealPage, SpecialCaseOut, SpecialCasePage

REVIEW = require(Permission.REVIEW_SETTLEMENT)
SUBMIT = require(Permission.SUBMIT_LISTS)
#: the applications and appeals are the hospitals' (apply, appeal) and the reviewers'
#: (decide) business, as on the special-case page
SPECIAL = require_any(Permission.SUBMIT_LISTS, Permission.REVIEW_SETTLEMENT)

router = APIRouter(prefix="/api/settlement", tags=["settlement 特例单议与申诉"])


class SpecialDecisionIn(BaseModel):
    decision: Literal["approve", "reject"] = Field(description="approve 通过 / reject 不通过")
    method: str | None = Field(None, description="通过时：items 按项目付费 / amount 核定金额")
    amount: str | int | float | None = Field(None, description="method=amount 时的支付金额（元）")
    reason: str | None = Field(None, description="原因（不通过必填）")


class AppealIn(BaseModel):
    reason: str | None = Field(None, description="申诉理由（必填）")


class AppealDecisionIn(BaseModel):
    decision: Literal["uphold", "reject"] = Field(description="uphold 申诉成立 / reject 驳回")
    reason: str | None = Field(None, description="原因（驳回必填）")
    method: str | None = Field(None, description="特例单议申诉成立时的支付方式")
    amount: str | int | float | None = None


def _list_state(db: Db, list_id: int) -> str | None:
    row = db.get(SettlementList, list_id)
    return row.state if row else None


@router.post("/lists/{list_id}/special-case")
def apply_special(
    list_id: DbId,
    request: Request,
    db: Db,
    user: User = SUBMIT,
    reason: str | None = Form(None, description="申请理由（必填）"),
    new_tech: bool = Form(False, description="是否使用新药品、新耗材、新技术"),
    files: list[UploadFile] = File(default_factory=list, description="附件"),
) -> SpecialCaseOut:
    """申请特例单议（医疗机构）：理由必填，可附附件；受申请期限、资格条件和名额限制。"""
    rules = special.SpecialRules()
    loaded: list[tuple[str, bytes]] = []
    for f in files:
        f.file.seek(0)
        data = f.file.read(rules.max_attachment_bytes + 1)
        loaded.append((f.filename or "", data))
    app = special.do_apply_special_case(
        db,
        list_id,
        reason=reason,
        new_tech=new_tech,
        files=loaded,
        user_role=user.role,
        actor=request_actor(request, user),
        var_dir=request.app.state.settings.var_dir,
        rules=rules,
    )
    return SpecialCaseOut.model_validate(special.special_out(app, _list_state(db, list_id)))


@router.get("/special-cases")
def special_cases(
    db: Db,
    user: User = SPECIAL,
    status: str | None = None,
    hospital: str | None = None,
    period: str | None = None,
    page: PageNo = 1,
    size: PageSize = 50,
) -> SpecialCasePage:
    """特例单议申请列表（本人辖区 / 本院），按状态、医疗机构、出院年月筛选。"""
    page, size = clamp_page(page, size)
    result = special.list_special_cases(
        db, status=status, hospital=hospital, period=period, page=page, size=size
    )
    return SpecialCasePage.model_validate(
        {"total": result.total, "page": page, "size": size, "items": result.items}
    )


@router.post("/special-cases/{special_id}/decide")
def decide_special(
    special_id: DbId, body: SpecialDecisionIn, request: Request, db: Db, user: User = REVIEW
) -> SpecialCaseOut:
    """特例单议评审：通过（按项目付费或核定金额，重新计价）或不通过（必须填写原因）。"""
    app = special.do_decide_special_case(
        db,
        special_id,
        approve=body.decision == "approve",
        method=body.method,
        amount=body.amount,
        reason=body.reason,
        user_role=user.role,
        actor=request_actor(request, user),
    )
    return SpecialCaseOut.model_validate(special.special_out(app, _list_state(db, app.list_id)))


@router.post("/lists/{list_id}/appeal")
def appeal(
    list_id: DbId, request: Request, db: Db, body: AppealIn | None = None, user: User = SUBMIT
) -> AppealOut:
    """提出申诉（医疗机构）：对调整扣减或特例单议不通过，在决定后规定天数内。"""
    row = special.do_file_appeal(
        db,
        list_id,
        reason=body.reason if body else None,
        user_role=user.role,
        actor=request_actor(request, user),
    )
    return AppealOut.model_validate(special.appeal_out(row, _list_state(db, list_id)))


@router.get("/appeals")
def appeals(
    db: Db,
    user: User = SPECIAL,
    status: str | None = None,
    hospital: str | None = None,
    page: PageNo = 1,
    size: PageSize = 50,
) -> AppealPage:
    """申诉列表（本人辖区 / 本院）。"""
    page, size = clamp_page(page, size)
    result = special.list_appeals(db, status=status, hospital=hospital, page=page, size=size)
    return AppealPage.model_validate(
        {"total": result.total, "page": page, "size": size, "items": result.items}
    )


@router.post("/appeals/{appeal_id}/decide")
def decide_appeal(
    appeal_id: DbId, body: AppealDecisionIn, request: Request, db: Db, user: User = REVIEW
) -> AppealOut:
    """申诉处理：申诉成立或驳回（驳回必须填写原因）。"""
    row = special.do_decide_appeal(
        db,
        appeal_id,
        uphold=body.decision == "uphold",
        reason=body.reason,
        method=body.method,
        amount=body.amount,
        user_role=user.role,
        actor=request_actor(request, user),
    )
    return AppealOut.model_validate(special.appeal_out(row, _list_state(db, row.list_id)))
