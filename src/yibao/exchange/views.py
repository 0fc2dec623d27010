"""The gateway as the pages and the read API show it (issue 12 item 10): the journal
of messages with filters and one message's request and response, the real-time
settlements with their reversals, and the reconciliations (3201 / 3202).

Who sees what is the session's data scope (:mod:`yibao.db.scoping`): a bureau user
its region's institutions, a hospital user its own rows only — another hospital's
message or settlement is "not found".  ID numbers (``certno``, ``mdtrt_cert_no`` …)
are masked for roles without ``VIEW_ID_NUMBERS``; a message stored as text (a body
that was no JSON) has every 15–18 digit ID-like run masked as well.  Never commits.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session, undefer

from yibao.accounts.models import User
from yibao.accounts.roles import Permission, has_permission
from yibao.engines.exchange import mask_ids
from yibao.engines.exchange.answer import mask_id
from yibao.engines.exchange.visits import MED_TYPES, SetlDetail, SetlInfo
from yibao.engines.insured import CERT_TYPES, GENDERS, INSUTYPES, PSN_TYPES
from yibao.engines.insured.messages import PSN_CERT_TYPES
from yibao.exchange.models import ExchangeMessage, Fee, Settlement, Visit
from yibao.exchange.schemas import (
    FeeLine,
    FieldValue,
    JournalEntry,
    JournalPage,
    JournalRow,
    ReconciliationPage,
    ReconciliationRow,
    SettlementDetail,
    SettlementPage,
    SettlementRow,
)
from yibao.exchange.settle import MONEY
from yibao.exchange.transactions import TRANSACTIONS
from yibao.kit.errors import NotFound, ValidationFailed
from yibao.kit.timeutil import BUSINESS_TZ
from yibao.regions.models import Hospital

#: the permission of every page and read API of the gateway (bureau roles that read
#: settlement data, hospital users and HIS clients — theirs only, by scope)
VIEW_PERMISSION = Permission.VIEW_CASES
SCOPES = {"local": "本地", "in_province": "省内异地", "out_of_province": "跨省异地"}
CROSS_REGION = ("in_province", "out_of_province")
SETTLEMENT_STATES = {"settled": "已结算", "reversed": "已撤销"}
KINDS = {"ipt": "住院", "otp": "门诊"}
RESULTS = {"ok": "成功", "failed": "失败"}
FEE_STATES = {"open": "待结算", "settled": "已结算", "cancelled": "已撤销"}
CHRGITM_LEVELS = {"01": "甲类", "02": "乙类", "03": "丙类"}
RECONCILIATIONS = ("3201", "3202")
#: setlinfo fields that are amounts of money (shown as yuan)
SETLINFO_AMOUNTS = frozenset((*MONEY, "balc"))
#: words of the coded setlinfo fields
SETLINFO_WORDS: dict[str, dict[str, str]] = {
    "gend": GENDERS,
    "insutype": INSUTYPES,
    "psn_type": PSN_TYPES,
    "psn_cert_type": PSN_CERT_TYPES,
    "mdtrt_cert_type": CERT_TYPES,
    "med_type": MED_TYPES,
    "setl_type": {"1": "结算", "2": "撤销"},
    "cvlserv_flag": {"0": "否", "1": "是"},
    "out_setl_flag": {"0": "本地", "1": "异地"},
    "clr_type": {"11": "门诊", "21": "住院"},
    "clr_way": {"1": "按项目"},
}
#: what a field description says for the API (format, values) but a page's label need not
_LABEL_NOTES = re.compile(r"：.*$| yyyy.*$|（预结算为空）")
#: an ID number in free text (a body kept as text): 15 digits, or 17 and a check digit
_ID_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])|(?<![0-9])[0-9]{15}(?![0-9])")
_MONTH = re.compile(r"^(\d{4})-?(0[1-9]|1[0-2])$")


def reveals_ids(user: User) -> bool:
    """Whether ``user`` sees ID numbers in full."""
    return has_permission(user.role, Permission.VIEW_ID_NUMBERS)


def transaction_name(infno: str | None) -> str:
    """The Chinese name of a transaction ("" for an unknown or absent one)."""
    found = TRANSACTIONS.find(infno) if infno else None
    return found.name if found else ""


def transaction_names() -> dict[str, str]:
    return {t.infno: t.name for t in sorted(TRANSACTIONS, key=lambda t: t.infno)}


def masked(value: Any) -> Any:
    """A message for a reader who may not see ID numbers: by key, and in free text."""
    if isinstance(value, str):
        return _ID_IN_TEXT.sub(lambda m: mask_id(m.group(0)), value)
    return mask_ids(value)


def month_code(raw: str | None, field: str = "month") -> str | None:
    """``YYYYMM`` from ``YYYYMM`` or ``YYYY-MM`` (None when blank); 422 otherwise."""
    text = (raw or "").strip()
    if not text:
        return None
    found = _MONTH.match(text)
    if found is None:
        raise ValidationFailed(
            f"年月 {field}：应为 YYYYMM 或 YYYY-MM，如 202605（收到 {text[:20]!r}）", field=field
        )
    return found.group(1) + found.group(2)


def institutions(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the institutions the user sees, for the filters."""
    rows = session.execute(select(Hospital.code, Hospital.name).order_by(Hospital.code)).all()
    return [(r[0], r[1]) for r in rows]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), BUSINESS_TZ)


def _duration_ms(received: datetime, answered: datetime) -> int:
    return max(0, int((answered - received) / timedelta(milliseconds=1)))


# ------------------------------------------------------------------ journal


@dataclass(frozen=True)
class JournalFilter:
    """交易日志的查询条件; dates are business dates, both inclusive."""

    hospital: str | None = None
    infno: str | None = None
    result: Literal["ok", "failed"] | None = None
    msgid: str | None = None
    person: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def _journal_conditions(flt: JournalFilter) -> list[Any]:
    conds: list[Any] = []
    if flt.hospital:
        conds.append(Hospital.code == flt.hospital)
    if flt.infno:
        conds.append(ExchangeMessage.infno == flt.infno.strip().upper())
    if flt.result == "ok":
        conds.append(ExchangeMessage.infcode == 0)
    elif flt.result == "failed":
        conds.append(ExchangeMessage.infcode != 0)
    if flt.msgid:
        conds.append(ExchangeMessage.msgid.startswith(flt.msgid.strip(), autoescape=True))
    if flt.person:
        # 人员编号 or a whole ID number, anywhere in the request as received
        text = cast(ExchangeMessage.request, String)
        conds.append(text.contains(flt.person.strip(), autoescape=True))
    if flt.date_from:
        conds.append(ExchangeMessage.received_at >= _day_start(flt.date_from))
    if flt.date_to:
        conds.append(ExchangeMessage.received_at < _day_start(flt.date_to + timedelta(days=1)))
    return conds


def _journal_row(m: ExchangeMessage, code: str, name: str) -> dict[str, Any]:
    return {
        "id": m.id,
        "received_at": m.received_at,
        "duration_ms": _duration_ms(m.received_at, m.answered_at),
        "hospital_code": code,
        "hospital_name": name,
        "infno": m.infno,
        "infno_name": transaction_name(m.infno),
        "msgid": m.msgid,
        "infcode": m.infcode,
        "err_msg": m.err_msg,
        "warn_msg": m.warn_msg,
        "inf_refmsgid": m.inf_refmsgid,
    }


def search_journal(session: Session, flt: JournalFilter, page: int, size: int) -> JournalPage:
    """The messages in scope matching ``flt``, newest first."""
    conds = _journal_conditions(flt)
    joined = (ExchangeMessage.hospital_id == Hospital.id,)
    total = session.scalar(
        select(func.count(ExchangeMessage.id)).join(Hospital, *joined).where(*conds)
    )
    rows = session.execute(
        select(ExchangeMessage, Hospital.code, Hospital.name)
        .join(Hospital, *joined)
        .where(*conds)
        .order_by(ExchangeMessage.received_at.desc(), ExchangeMessage.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return JournalPage(
        items=[JournalRow.model_validate(_journal_row(m, c, n)) for m, c, n in rows],
        total=int(total or 0),
        page=page,
        size=size,
    )


def journal_entry(session: Session, message_id: int, *, reveal: bool) -> JournalEntry:
    """One message with its request and response (404 outside the user's scope)."""
    found = session.execute(
        select(ExchangeMessage, Hospital.code, Hospital.name)
        .join(Hospital, ExchangeMessage.hospital_id == Hospital.id)
        .where(ExchangeMessage.id == message_id)
        .options(undefer(ExchangeMessage.request))
    ).first()
    if found is None:
        raise NotFound(f"交易日志中没有序号为 {message_id} 的报文", field="message_id")
    m, code, name = found
    request, response = m.request, m.response
    if not reveal:
        request, response = masked(request), masked(response)
    return JournalEntry.model_validate(
        {
            **_journal_row(m, code, name),
            "answered_at": m.answered_at,
            "sign_no": m.sign_no,
            "request": request,
            "response": response or {},
            "ids_masked": not reveal,
        }
    )


def message_id_of(session: Session, hospital_id: int, msgid: str | None) -> int | None:
    """The journal row of an institution's msgid, if it is in scope."""
    if not msgid:
        return None
    return session.scalar(
        select(ExchangeMessage.id).where(
            ExchangeMessage.hospital_id == hospital_id, ExchangeMessage.msgid == msgid
        )
    )


# ------------------------------------------------------------------ settlements


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
            label=_LABEL_NOTES.sub("", info.description or "") or name,
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


# ------------------------------------------------------------------ reconciliation


@dataclass(frozen=True)
class ReconciliationFilter:
    hospital: str | None = None
    infno: str | None = None
    balanced: bool | None = None
    date_from: date | None = None
    date_to: date | None = None


def _ci(node: Any, key: str) -> Any:
    """``node[key]`` ignoring letter case (the gateway reads keys so), or None; a
    node sent as JSON text is read first."""
    if isinstance(node, str):
        try:
            node = json.loads(node)
        except ValueError:
            return None
    if not isinstance(node, dict):
        return None
    if key in node:
        return node[key]
    for k, v in node.items():
        if isinstance(k, str) and k.lower() == key:
            return v
    return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _reconciliation(m: ExchangeMessage, code: str, name: str) -> ReconciliationRow:
    data = _ci(_ci(m.request, "input"), "data")
    output = (m.response or {}).get("output") or {}
    balanced: bool | None = None
    if m.infcode != 0:
        description = m.err_msg or "交易失败"
    elif m.infno == "3201":
        info = output.get("stmtinfo") or {}
        balanced = str(info.get("stmt_rslt")) == "0"
        description = str(info.get("stmt_rslt_dscr") or "")
    else:
        info = output.get("fileinfo") or {}
        balanced = str(info.get("stmt_rslt")) == "0"
        description = (
            f"机构 {info.get('fixmedins_cnt', '—')} 笔，中心 {info.get('centre_cnt', '—')} 笔，"
            f"不符 {info.get('diff_cnt', '—')} 笔"
        )
    return ReconciliationRow(
        id=m.id,
        received_at=m.received_at,
        hospital_code=code,
        hospital_name=name,
        infno=m.infno or "",
        infno_name=transaction_name(m.infno),
        msgid=m.msgid,
        infcode=m.infcode,
        err_msg=m.err_msg,
        setl_optins=_text(_ci(data, "setl_optins")),
        stmt_begndate=_text(_ci(data, "stmt_begndate")),
        stmt_enddate=_text(_ci(data, "stmt_enddate")),
        clr_type=_text(_ci(data, "clr_type")),
        insutype=_text(_ci(data, "insutype")),
        balanced=balanced,
        description=description,
    )


def search_reconciliations(
    session: Session, flt: ReconciliationFilter, page: int, size: int
) -> ReconciliationPage:
    """The 3201 / 3202 messages in scope, newest first, with their result.  The
    result filter reads the stored answer, so it is applied to the page's rows only
    when ``balanced`` is given (then the whole match is read, at most 5,000 rows)."""
    infnos = [flt.infno] if flt.infno in RECONCILIATIONS else list(RECONCILIATIONS)
    conds = _journal_conditions(
        JournalFilter(hospital=flt.hospital, date_from=flt.date_from, date_to=flt.date_to)
    )
    conds.append(ExchangeMessage.infno.in_(infnos))
    joined = (ExchangeMessage.hospital_id == Hospital.id,)
    stmt = (
        select(ExchangeMessage, Hospital.code, Hospital.name)
        .join(Hospital, *joined)
        .where(*conds)
        .order_by(ExchangeMessage.received_at.desc(), ExchangeMessage.id.desc())
        .options(undefer(ExchangeMessage.request))
    )
    if flt.balanced is not None:
        every = [_reconciliation(m, c, n) for m, c, n in session.execute(stmt.limit(5000))]
        chosen = [r for r in every if r.balanced is flt.balanced]
        start = (page - 1) * size
        return ReconciliationPage(
            items=chosen[start : start + size], total=len(chosen), page=page, size=size
        )
    total = session.scalar(
        select(func.count(ExchangeMessage.id)).join(Hospital, *joined).where(*conds)
    )
    rows = session.execute(stmt.limit(size).offset((page - 1) * size)).all()
    return ReconciliationPage(
        items=[_reconciliation(m, c, n) for m, c, n in rows],
        total=int(total or 0),
        page=page,
        size=size,
    )
