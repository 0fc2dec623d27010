"""JSON API of the settlement-list intake: 4101A lists as a JSON body or an uploaded
file (JSON, CSV, Excel), each answered with its state, QC findings, group and payment."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, File, Request, UploadFile

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Body, Db, request_actor, require
from yibao.api.limits import checks_text_per_item, parse_json
from yibao.api.openapi import json_body
from yibao.engines.qc.schema import SettlementList as List4101A
from yibao.grouping.plans import plan_registry
from yibao.kit.tables import table_limits
from yibao.settlement.intake import do_intake_lists
from yibao.settlement.intake.files import list_messages, read_list_file
from yibao.settlement.schemas import IntakeOut

router = APIRouter(prefix="/api/settlement", tags=["settlement 结算清单"])
SUBMIT = require(Permission.SUBMIT_LISTS)


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
    read = read_list_file(file.filename or "", file.file, limits)
    out = _intake(request, db, user, read.messages, "file")
    out.notes = read.notes
    if read.rows is not None:
        for item in out.lists:
            item.row = read.rows[item.index] if item.index < len(read.rows) else None
    return out
