"""JSON API of stored settlement lists: one page of lists (by state and hospital) and
one list with its QC findings and its payment.  Lists arrive through the intake's
routes (:mod:`yibao.settlement.intake.endpoints`)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, require
from yibao.api.inline import light_read
from yibao.kit.bounds import DbId, PageNo, PageSize
from yibao.kit.errors import NotFound
from yibao.kit.paging import clamp_page
from yibao.settlement.lists.repository import ListFilter, list_page, list_with_findings
from yibao.settlement.models import SettlementList
from yibao.settlement.schemas import ListDetailOut, ListPage

router = APIRouter(prefix="/api/settlement", tags=["settlement 结算清单"])
VIEW = require(Permission.VIEW_CASES)


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
@light_read
def list_lists(
    db: Db,
    user: User = VIEW,
    state: str | None = None,
    hospital: str | None = None,
    month: str | None = Query(
        None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="出院年月 YYYY-MM"
    ),
    q: str | None = Query(None, max_length=40, description="结算ID 包含"),
    page: PageNo = 1,
    size: PageSize = 50,
) -> ListPage:
    page, size = clamp_page(page, size)
    flt = ListFilter(state=state, hospital=hospital, month=month, q=(q or "").strip() or None)
    found = list_page(db, flt, page, size)
    return ListPage.model_validate(
        {
            "total": found.total,
            "page": page,
            "size": size,
            "items": [_list_out(r) for r in found.items],
        }
    )


@router.get("/lists/{list_id}", summary="一份结算清单：质控问题、版本、分组与支付")
@light_read
def get_list(list_id: DbId, db: Db, user: User = VIEW) -> ListDetailOut:
    found = list_with_findings(db, list_id)
    if found is None:
        raise NotFound(f"结算清单 {list_id} 不存在 / not found")
    row, findings, pricing = found
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
