"""JSON API for settlement lists: intake (4101A messages or files), status, findings."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from sqlalchemy import func, select

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Body, Db, request_actor, require
from yibao.api.limits import checks_text_per_item, parse_json
from yibao.api.openapi import json_body
from yibao.engines.qc.schema import SettlementList as List4101A
from yibao.grouping.plans import plan_registry
from yibao.kit.bounds import DbId, PageNo, PageSize
from yibao.kit.errors import NotFound
from yibao.kit.paging import clamp_page
from yibao.kit.tables import table_limits
from yibao.settlement.files import list_messages, read_list_file
from yibao.settlement.intake import do_intake_lists
from yibao.settlement.models import CasePricing, QcFinding, SettlementList
from yibao.settlement.schemas import IntakeOut, ListDetailOut, ListPage

router = APIRouter(prefix="/api/settlement", tags=["settlement 结算清单"])
SUBMIT = require(Permission.SUBMIT_LISTS)
VIEW = require(Permission.VIEW_CASES)


def _intake(request: Request, db: Db, user: User, messages: list[Any], source: str) -> IntakeOut:
    outcomes = do_intake_lists(
        db,
        messages,
        registry=plan_registry(request.app.state.settings),
        actor=request_actor(request, user),
        source=source,
    )
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    return IntakeOut.model_validate(
        {"received": len(outcomes), "by_state": counts, "lists": [asdict(o) for o in outcomes]}
    )


@router.post(
    "/lists",
    openapi_extra=json_body(
        list[List4101A],
        "4101A 结算清单数组（setlinfo、diseinfo、oprninfo、icuinfo、bldinfo、iteminfo）；"
        "字段长度与字符按 4101A 规范校验，超限为该份清单的质控问题",
    ),
)
@checks_text_per_item
def submit_lists(request: Request, body: Body, db: Db, user: User = SUBMIT) -> IntakeOut:
    """4101A 结算清单上传 (JSON)：每份清单返回状态、质控问题、分组与支付。"""
    return _intake(
        request, db, user, list_messages(parse_json(body.raw, text_checked_per_item=True)), "api"
    )


@router.post("/lists/upload")
def upload_lists(
    request: Request, db: Db, user: User = SUBMIT, file: UploadFile = File(...)
) -> IntakeOut:
    """批量上传：JSON（清单数组）、CSV 或 Excel（平铺格式，见 FLAT_COLUMNS）。"""
    limits = table_limits(request.app.state.settings)
    messages = read_list_file(file.filename or "", file.file, limits)
    return _intake(request, db, user, messages, "file")


def _list_out(row: SettlementList) -> dict[str, Any]:
    """The fields of :class:`ListOut`."""
    return {
        "id": row.id,
        "setl_id": row.setl_id,
        "hospital_code": row.hospital_code,
        "version": row.version,
        "state": row.state,
        "case_id": row.case_id,
        "blocking": row.blocking,
        "warnings": row.warnings,
        "source": row.source,
        "received_at": row.received_at.isoformat(),
    }


@router.get("/lists", summary="结算清单列表（本人权限内，按状态、医院、出院年月筛选，分页）")
def list_lists(
    db: Db,
    user: User = VIEW,
    state: str | None = None,
    hospital: str | None = None,
    page: PageNo = 1,
    size: PageSize = 50,
) -> ListPage:
    page, size = clamp_page(page, size)
    stmt = select(SettlementList)
    if state:
        stmt = stmt.where(SettlementList.state == state)
    if hospital:
        stmt = stmt.where(SettlementList.hospital_code == hospital)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(SettlementList.id.desc()).offset((page - 1) * size).limit(size))
    return ListPage.model_validate(
        {"total": total, "page": page, "size": size, "items": [_list_out(r) for r in rows]}
    )


@router.get("/lists/{list_id}", summary="一份结算清单：质控问题、版本、分组与支付")
def get_list(list_id: DbId, db: Db, user: User = VIEW) -> ListDetailOut:
    row = db.scalar(select(SettlementList).where(SettlementList.id == list_id))
    if row is None:
        raise NotFound(f"结算清单 {list_id} 不存在 / not found")
    findings = db.scalars(
        select(QcFinding).where(QcFinding.list_id == row.id).order_by(QcFinding.id)
    )
    pricing = (
        db.scalar(select(CasePricing).where(CasePricing.case_id == row.case_id))
        if row.case_id
        else None
    )
    return ListDetailOut.model_validate(
        {
            **_list_out(row),
            "findings": [
                {
                    "rule_id": f.rule_id,
                    "severity": f.severity,
                    "field": f.field,
                    "value": f.value,
                    "message": f.message,
                }
                for f in findings
            ],
            "pricing": None
            if pricing is None
            else {
                "plan_id": pricing.plan_id,
                "drg": pricing.drg,
                "payment_class": pricing.payment_class,
                "payment_standard": None
                if pricing.payment_standard is None
                else str(pricing.payment_standard),
                "drg_payment": str(pricing.drg_payment),
                "fund_amount": str(pricing.fund_amount),
                "explanation": pricing.explanation,
                "terms": pricing.terms
                if isinstance(pricing.terms, dict)
                else json.loads(pricing.terms or "{}"),
                "standard_set_id": pricing.standard_set_id,
            },
        }
    )
