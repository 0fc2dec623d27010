"""JSON API for settlement lists: intake (4101A messages or files), status, findings."""

from __future__ import annotations

import io
import json
from dataclasses import asdict
from typing import Any

import polars as pl
from fastapi import APIRouter, File, Request, UploadFile
from sqlalchemy import func, select

from yibao.accounts.models import User
from yibao.accounts.roles import Permission
from yibao.api.deps import Db, request_actor, require
from yibao.engines.qc import read_flat
from yibao.grouping.plans import plan_registry
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.paging import clamp_page
from yibao.settlement.intake import do_intake_lists
from yibao.settlement.models import CasePricing, QcFinding, SettlementList

router = APIRouter(prefix="/api/settlement", tags=["settlement 结算清单"])
SUBMIT = require(Permission.SUBMIT_LISTS)
VIEW = require(Permission.VIEW_CASES)
MAX_LISTS = 10_000


def _messages(body: Any) -> list[Any]:
    """One 4101A message, ``{"lists": [...]}``, an NHSA envelope ``{"input": ...}`` or a list."""
    if isinstance(body, list):
        messages = body
    elif isinstance(body, dict) and isinstance(body.get("lists"), list):
        messages = body["lists"]
    elif isinstance(body, dict):
        messages = [body]
    else:
        raise ValidationFailed(
            '请求体应为结算清单对象（含 setlinfo）、对象数组或 {"lists": [...]}', field="body"
        )
    if not messages:
        raise ValidationFailed("没有结算清单 / no lists", field="lists")
    if len(messages) > MAX_LISTS:
        raise ValidationFailed(f"一次最多上传 {MAX_LISTS} 份清单（收到 {len(messages)} 份）")
    return messages


def _intake(
    request: Request, db: Db, user: User, messages: list[Any], source: str
) -> dict[str, Any]:
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
    return {"received": len(outcomes), "by_state": counts, "lists": [asdict(o) for o in outcomes]}


@router.post("/lists")
async def submit_lists(request: Request, db: Db, user: User = SUBMIT) -> dict[str, Any]:
    """4101A 结算清单上传 (JSON)：每份清单返回状态、质控问题、分组与支付。"""
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"请求体不是有效的 JSON：{exc}", field="body") from None
    return _intake(request, db, user, _messages(body), "api")


@router.post("/lists/upload")
async def upload_lists(
    request: Request, db: Db, user: User = SUBMIT, file: UploadFile = File(...)
) -> dict[str, Any]:
    """批量上传：JSON（清单数组）、CSV 或 Excel（平铺格式，见 FLAT_COLUMNS）。"""
    name = (file.filename or "").lower()
    content = await file.read()
    try:
        if name.endswith(".json"):
            messages = _messages(json.loads(content))
        elif name.endswith(".csv"):
            messages = read_flat(pl.read_csv(io.BytesIO(content), infer_schema=False))
        elif name.endswith((".xlsx", ".xlsm")):
            frame = pl.read_excel(io.BytesIO(content), engine="openpyxl", infer_schema_length=0)
            messages = read_flat(frame)
        else:
            raise ValidationFailed(
                f"文件类型应为 .json、.csv 或 .xlsx：{file.filename}", field="file"
            )
    except ValidationFailed:
        raise
    except Exception as exc:
        raise ValidationFailed(f"无法读取文件 {file.filename}：{exc}", field="file") from None
    return _intake(request, db, user, _messages(messages), "file")


def _list_out(row: SettlementList) -> dict[str, Any]:
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


@router.get("/lists")
def list_lists(
    db: Db,
    user: User = VIEW,
    state: str | None = None,
    hospital: str | None = None,
    page: int = 1,
    size: int = 50,
) -> dict[str, Any]:
    page, size = clamp_page(page, size)
    stmt = select(SettlementList)
    if state:
        stmt = stmt.where(SettlementList.state == state)
    if hospital:
        stmt = stmt.where(SettlementList.hospital_code == hospital)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(SettlementList.id.desc()).offset((page - 1) * size).limit(size))
    return {"total": total, "page": page, "size": size, "items": [_list_out(r) for r in rows]}


@router.get("/lists/{list_id}")
def get_list(list_id: int, db: Db, user: User = VIEW) -> dict[str, Any]:
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
    return {
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
            "terms": pricing.terms,
            "standard_set_id": pricing.standard_set_id,
        },
    }
