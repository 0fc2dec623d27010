"""Real-time settlements: search with filters, one settlement with setlinfo and
setldetail under Chinese names, its fee lines and its reversal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.engines.exchange.settling import SetlDetail, SetlInfo
from yibao.exchange.models import Fee, Settlement, Visit
from yibao.exchange.schemas import (
    FeeLine,
    FieldValue,
    SettlementDetail,
    SettlementPage,
    SettlementRow,
)
from yibao.exchange.views.common import CROSS_REGION, LABEL_NOTES, SETLINFO_WORDS, masked
from yibao.exchange.views.journal import message_id_of
from yibao.kit.errors import NotFound
from yibao.regions.models import Hospital


@dataclass(frozen=True)
class SettlementFilter:
    """实时结算的查询条件. ``month`` (YYYYMM) takes the settlements settled or
    reversed in that month — what the month's clearing counts."""

    hospital: str | None = None
    scope: str | None = None
    state: str | None = None
    month: str | None = None
    person: str | None = None
    kind: str | None = None


def _settlement_conditions(flt: SettlementFilter) -> list[Any]:
    conds: list[Any] = []
    if flt.hospital:
        conds.append(Hospital.code == flt.hospital)
    if flt.scope == "cross":
        conds.append(Settlement.scope.in_(CROSS_REGION))
    elif flt.scope:
        conds.append(Settlement.scope == flt.scope)
    if flt.state:
        conds.append(Settlement.state == flt.state)
    if flt.month:
        conds.append((Settlement.clr_month == flt.month) | (Settlement.reversal_month == flt.month))
    if flt.person:
        conds.append(Settlement.psn_no.startswith(flt.person.strip(), autoescape=True))
    if flt.kind:
        conds.append(Settlement.kind == flt.kind)
    return conds


def _settlement_row(s: Settlement, code: str, name: str) -> dict[str, Any]:
    return {
        "setl_id": s.setl_id,
        "setl_time": s.setl_time,
        "hospital_code": code,
        "hospital_name": name,
        "psn_no": s.psn_no,
        "psn_name": str((s.setlinfo or {}).get("psn_name") or ""),
        "kind": s.kind,
        "insutype": s.insutype,
        "scope": s.scope,
        "insuplc_admdvs": s.insuplc_admdvs,
        "mdtrtarea_admvs": s.mdtrtarea_admvs,
        "clr_month": s.clr_month,
        "medfee_sumamt": s.medfee_sumamt,
        "fund_pay_sumamt": s.fund_pay_sumamt,
        "hifp_pay": s.hifp_pay,
        "acct_pay": s.acct_pay,
        "psn_cash_pay": s.psn_cash_pay,
        "policy_key": s.policy_key,
        "state": s.state,
        "reversal_setl_id": s.reversal_setl_id,
        "reversed_at": s.reversed_at,
        "reversal_msgid": s.reversal_msgid,
        "reversal_infno": s.reversal_infno,
        "reversal_month": s.reversal_month,
    }


def search_settlements(
    session: Session, flt: SettlementFilter, page: int, size: int
) -> SettlementPage:
    """The settlements in scope matching ``flt``, newest first."""
    conds = _settlement_conditions(flt)
    joined = (Settlement.hospital_id == Hospital.id,)
    total = session.scalar(select(func.count(Settlement.id)).join(Hospital, *joined).where(*conds))
    rows = session.execute(
        select(Settlement, Hospital.code, Hospital.name)
        .join(Hospital, *joined)
        .where(*conds)
        .order_by(Settlement.setl_time.desc(), Settlement.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return SettlementPage(
        items=[SettlementRow.model_validate(_settlement_row(s, c, n)) for s, c, n in rows],
        total=int(total or 0),
        page=page,
        size=size,
    )


def _fields(model: type[SetlInfo] | type[SetlDetail], values: dict[str, Any]) -> list[FieldValue]:
    """The stored values in the model's order with its Chinese field names (and any
    stored field the model no longer has, under its code)."""
    out = [
        FieldValue(
            name=name,
            label=LABEL_NOTES.sub("", info.description or "") or name,
            value=values.get(name),
            text=SETLINFO_WORDS.get(name, {}).get(str(values.get(name))),
        )
        for name, info in model.model_fields.items()
    ]
    out += [
        FieldValue(name=k, label=k, value=v, text=None)
        for k, v in values.items()
        if k not in model.model_fields
    ]
    return out


def _fee_line(f: Fee) -> FeeLine:
    return FeeLine.model_validate(f, from_attributes=True)


def settlement_detail(session: Session, setl_id: str, *, reveal: bool) -> SettlementDetail:
    """One settlement (404 outside the user's scope): setlinfo and setldetail with
    their Chinese field names, the visit, its fee lines and the reversal."""
    found = session.execute(
        select(Settlement, Hospital.code, Hospital.name)
        .join(Hospital, Settlement.hospital_id == Hospital.id)
        .where(Settlement.setl_id == setl_id)
    ).first()
    if found is None:
        raise NotFound(f"没有结算ID为 {setl_id} 的结算", field="setl_id")
    s, code, name = found
    visit = session.scalar(select(Visit).where(Visit.id == s.visit_id))
    of_visit = s.state != "settled"
    fee_cond = Fee.visit_id == s.visit_id if of_visit else Fee.settlement_id == s.id
    fees = session.scalars(select(Fee).where(fee_cond).order_by(Fee.id)).all()
    info = s.setlinfo if reveal else masked(s.setlinfo)
    return SettlementDetail.model_validate(
        {
            **_settlement_row(s, code, name),
            "mdtrt_id": visit.mdtrt_id if visit else "",
            "visit_begntime": visit.begntime if visit else None,
            "visit_endtime": visit.endtime if visit else None,
            "dept_name": visit.dept_name if visit else "",
            "diag": f"{visit.diag_code} {visit.diag_name}".strip() if visit else "",
            "msgid": s.msgid,
            "message_id": s.message_id,
            "reversal_message_id": message_id_of(session, s.hospital_id, s.reversal_msgid),
            "setlinfo": _fields(SetlInfo, info),
            "setldetail": [_fields(SetlDetail, d) for d in s.setldetail],
            "fees": [_fee_line(f) for f in fees],
            "fees_of_visit": of_visit,
            "ids_masked": not reveal,
        }
    )
