"""Persons and visits through the gateway: 1101 人员信息获取, 5206 人员累计信息,
2401–2405 入院 / 出院 / 变更 / 撤销, 2201–2203 门诊挂号 / 撤销 / 就诊信息.

An institution acts only on persons it has identified (1101) and only on its own
visits; a message whose input names a person must carry the person's insured place
(``insuplc_admdvs``, from 1101) in its envelope (issue 12 item 8, ADR 0018).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.audit.service import record
from yibao.engines.exchange import Refused, label
from yibao.engines.exchange.settling import (
    CumInfo,
    CumulativeIn,
    CumulativeOut,
)
from yibao.engines.exchange.visits import (
    IPT_MED_TYPES,
    MED_TYPES,
    OTP_MED_TYPES,
    AdmissionChangeIn,
    AdmissionIn,
    DischargeIn,
    DiseNode,
    Done,
    OutpatientVisitIn,
    PersonIn,
    PersonOut,
    RegistrationIn,
    VisitOut,
    VisitRefIn,
    VisitResult,
)
from yibao.engines.settlement.policy import pooling_region
from yibao.exchange.models import Fee, Identified, Settlement, Visit
from yibao.exchange.registry import Call
from yibao.exchange.settle_rows import PersonRow, VisitRow, locked_visit
from yibao.exchange.visit_checks import (
    begins_before_fees,
    certificate,
    death_in_stay,
    ends_after_fees,
    no_overlapping_stay,
    not_future,
    not_in_hospital,
    two_digit_type,
)
from yibao.insured.models import InsuredPerson
from yibao.insured.repository import cumulative, person_by_psn_no, person_info
from yibao.kit.errors import NotFound
from yibao.kit.timeutil import BUSINESS_TZ, local

KINDS = {"ipt": "住院", "otp": "门诊"}
#: a visit as loaded (an entity) or as read for a settlement (a record)
V = TypeVar("V", Visit, VisitRow)
STATES = {
    "open": "在院 / 已挂号",
    "discharged": "已出院",
    "settled": "已结算",
    "cancelled": "已撤销",
}


def business_time(value: datetime) -> datetime:
    """A HIS time as stored (aware, in business time): a naive time is business local
    time; one sent with an offset is converted (its date is the business day)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=BUSINESS_TZ)
    return value.astimezone(BUSINESS_TZ)


def new_id(call: Call, tag: str) -> str:
    """A platform id: treating pool (6) + tag (1) + yyyyMMddHHmmss (14) + 8 random
    digits = 29 characters (unique by construction, enforced by the table)."""
    stamp = f"{local(call.received_at):%Y%m%d%H%M%S}"
    return f"{call.institution.admvs}{tag}{stamp}{secrets.randbelow(10**8):08d}"


# ------------------------------------------------------------------ persons


def person_for(call: Call, psn_no: str) -> InsuredPerson:
    """The person ``psn_no`` names, checked against the envelope's insured place
    and identified by this institution before (1101)."""
    try:
        person = person_by_psn_no(call.session, psn_no)
    except NotFound:
        raise Refused("psn_no", f"人员编号（psn_no）：未找到参保人员 {psn_no}") from None
    known = call.session.scalar(
        select(Identified.id).where(
            Identified.hospital_id == call.institution.id, Identified.person_id == person.id
        )
    )
    _check_person(call, person, known is not None)
    return person


def _check_person(call: Call, person: InsuredPerson | PersonRow, identified: bool) -> None:
    """The envelope's insured place must be the person's; the institution must have
    identified the person (1101) before."""
    given = call.envelope.insuplc_admdvs
    if not given:
        raise Refused(
            "insuplc_admdvs",
            f"{label('insuplc_admdvs')}：输入含人员编号时必填，"
            "取 1101 人员信息获取应答中 insuinfo 的 insuplc_admdvs",
        )
    if pooling_region(given) != pooling_region(person.insuplc_admdvs):
        raise Refused(
            "insuplc_admdvs",
            f"{label('insuplc_admdvs')}：{given} 与人员 {person.psn_no} 的参保地"
            f" {person.insuplc_admdvs} 不符",
        )
    if not identified:
        raise Refused(
            "psn_no",
            f"人员编号（psn_no）：本机构尚未通过 1101 人员信息获取识别人员 {person.psn_no}，"
            "请先读卡或读取电子凭证",
        )


def identify(call: Call, data: PersonIn) -> PersonOut:
    """1101: the person of a certificate, remembered as identified by the
    institution."""
    query = two_digit_type(call, data.data)
    try:
        info = person_info(
            call.session,
            query,
            insuplc_admdvs=call.envelope.insuplc_admdvs,
            on=query.begntime or local(call.received_at).date(),
        )
    except NotFound as exc:
        raise Refused(exc.field or "mdtrt_cert_no", exc.message) from None
    person = person_by_psn_no(call.session, info.baseinfo.psn_no)
    row = call.session.scalar(
        select(Identified).where(
            Identified.hospital_id == call.institution.id, Identified.person_id == person.id
        )
    )
    if row is None:
        call.session.add(
            Identified(
                hospital_id=call.institution.id,
                region_code=call.institution.region_code,
                person_id=person.id,
                first_at=call.received_at,
                last_at=call.received_at,
            )
        )
    else:
        row.last_at = call.received_at
    call.session.flush()
    return info


def person_cumulative(call: Call, data: CumulativeIn) -> CumulativeOut:
    """5206: the person's annual figures (the year of ``cum_ym``, else this year)."""
    person = person_for(call, data.data.psn_no)
    ym = data.data.cum_ym
    if ym is not None and not (len(ym) == 6 and ym.isdigit() and 1 <= int(ym[4:]) <= 12):
        raise Refused("cum_ym", f"累计年月（cum_ym）：应为 yyyyMM（收到“{ym}”）")
    year = int(ym[:4]) if ym else local(call.received_at).year
    figures = cumulative(call.session, person.id, year)
    return CumulativeOut(
        cuminfo=[
            CumInfo(
                insuplc_admdvs=person.insuplc_admdvs,
                cum_type_code=str(r["cum_type_code"]),
                cum_type_name=str(r["cum_type_name"]),
                cum_year=year,
                cum=r["cum"],  # type: ignore[arg-type]
            )
            for r in figures.rows()
        ]
    )


# ------------------------------------------------------------------ visits


def own_visit(call: Call, mdtrt_id: str, psn_no: str, kind: str | None = None) -> Visit:
    """The institution's visit ``mdtrt_id`` of person ``psn_no``, locked for the
    rest of the transaction (another institution's visit is not found)."""
    stmt = select(Visit).where(Visit.mdtrt_id == mdtrt_id).with_for_update()
    visit = _check_visit(call, call.session.scalar(stmt), mdtrt_id, psn_no, kind)
    person_for(call, psn_no)
    return visit


def own_visit_and_person(
    call: Call, mdtrt_id: str, psn_no: str, kind: str
) -> tuple[VisitRow, PersonRow]:
    """:func:`own_visit` and its person, both rows locked, in one statement (a
    settlement's: parallel settlements of one person see each other's deductible and
    cap), read as records (:mod:`yibao.exchange.settle_rows`)."""
    found = locked_visit(call.session.connection(), mdtrt_id, call.institution.id)
    visit = _check_visit(call, found[0] if found else None, mdtrt_id, psn_no, kind)
    assert found is not None
    _check_person(call, found[1], found[2])
    return visit, found[1]


def _check_visit(call: Call, visit: V | None, mdtrt_id: str, psn_no: str, kind: str | None) -> V:
    if visit is None or visit.hospital_id != call.institution.id:
        raise Refused("mdtrt_id", f"就诊ID（mdtrt_id）：本机构没有就诊 {mdtrt_id}")
    if visit.psn_no != psn_no:
        raise Refused("psn_no", f"人员编号（psn_no）：{psn_no} 不是就诊 {mdtrt_id} 的参保人")
    if kind is not None and visit.kind != kind:
        raise Refused(
            "mdtrt_id",
            f"就诊ID（mdtrt_id）：{mdtrt_id} 是{KINDS[visit.kind]}就诊，不能办理{KINDS[kind]}交易",
        )
    return visit


def _check_insutype(person: InsuredPerson, insutype: str) -> None:
    if insutype != person.insutype:
        raise Refused(
            "insutype",
            f"险种类型（insutype）：人员 {person.psn_no} 参加的是 {person.insutype}，"
            f"不是 {insutype}",
        )
    if person.psn_insu_stas != "1":
        raise Refused("psn_no", f"人员编号（psn_no）：人员 {person.psn_no} 当前不是正常参保状态")


def _kind_med_type(med_type: str, kind: str) -> None:
    allowed = IPT_MED_TYPES if kind == "ipt" else OTP_MED_TYPES
    if med_type not in allowed:
        names = "、".join(f"{k} {MED_TYPES[k]}" for k in sorted(allowed))
        raise Refused("med_type", f"医疗类别（med_type）：{KINDS[kind]}就诊应为 {names} 之一")


def _diseases(diseinfo: list[DiseNode]) -> list[dict[str, Any]]:
    return [d.model_dump(mode="json", exclude_none=True) for d in diseinfo]


def _open_visit(
    call: Call,
    person: InsuredPerson,
    *,
    kind: str,
    insutype: str,
    med_type: str,
    ipt_otp_no: str,
    cert: tuple[str, str | None],
    begntime: datetime,
    dept: tuple[str, str],
    diag: tuple[str, str],
    details: dict[str, Any],
) -> Visit:
    _check_insutype(person, insutype)
    _kind_med_type(med_type, kind)
    cert_type = certificate(call, person.psn_no, person.certno, *cert) or cert[0]
    not_future(call, business_time(begntime), "begntime", "开始时间")
    if kind == "ipt":
        not_in_hospital(call, person.id, person.psn_no)
        no_overlapping_stay(call, person.id, business_time(begntime), None)
    visit = Visit(
        hospital_id=call.institution.id,
        region_code=call.institution.region_code,
        mdtrt_id=new_id(call, "1" if kind == "ipt" else "2"),
        kind=kind,
        person_id=person.id,
        psn_no=person.psn_no,
        insutype=insutype,
        med_type=med_type,
        ipt_otp_no=ipt_otp_no,
        mdtrt_cert_type=cert_type,
        insuplc_admdvs=person.insuplc_admdvs,
        mdtrtarea_admvs=call.institution.admvs,
        begntime=business_time(begntime),
        dept_code=dept[0],
        dept_name=dept[1],
        diag_code=diag[0],
        diag_name=diag[1],
        state="open",
        details=details,
        message_id=call.message_id,
        updated_at=call.received_at,
    )
    call.session.add(visit)
    call.session.flush()
    _audit(call, f"exchange.{kind}.open", visit)
    return visit


def _audit(call: Call, action: str, visit: Visit, **extra: Any) -> None:
    record(
        call.session,
        call.actor,
        action,
        "exchange_visit",
        visit.mdtrt_id,
        after={"state": visit.state, "psn_no": visit.psn_no, **extra},
        hospital_id=visit.hospital_id,
        region_code=visit.region_code,
    )


def admit(call: Call, data: AdmissionIn) -> VisitOut:
    """2401 入院办理."""
    node = data.mdtrtinfo
    person = person_for(call, node.psn_no)
    visit = _open_visit(
        call,
        person,
        kind="ipt",
        insutype=node.insutype,
        med_type=node.med_type,
        ipt_otp_no=node.ipt_no,
        cert=(node.mdtrt_cert_type, node.mdtrt_cert_no),
        begntime=node.begntime,
        dept=(node.adm_dept_codg, node.adm_dept_name),
        diag=(node.dscg_maindiag_code, node.dscg_maindiag_name),
        details={
            "mdtrtinfo": node.model_dump(mode="json", exclude_none=True),
            "diseinfo": _diseases(data.diseinfo),
        },
    )
    return VisitOut(
        result=VisitResult(
            mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no, ipt_otp_no=visit.ipt_otp_no
        )
    )


def discharge(call: Call, data: DischargeIn) -> Done:
    """2402 出院办理: the stay ends; it can then be settled (2304)."""
    node = data.dscginfo
    visit = own_visit(call, node.mdtrt_id, node.psn_no, "ipt")
    if visit.state != "open":
        raise Refused("mdtrt_id", f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，不能办理出院")
    end = business_time(node.endtime)
    if end < visit.begntime:
        raise Refused("endtime", "结束时间（endtime）：出院时间早于入院时间")
    ends_after_fees(call, visit, end)
    death_in_stay(visit, node.die_date, node.dscg_way, end)
    no_overlapping_stay(call, visit.person_id, visit.begntime, end, visit.id, "endtime")
    visit.endtime = end
    visit.dscg_way = node.dscg_way
    if node.dscg_dept_codg:
        visit.dept_code, visit.dept_name = node.dscg_dept_codg, node.dscg_dept_name or ""
    visit.state = "discharged"
    visit.details = {
        **visit.details,
        "dscginfo": node.model_dump(mode="json", exclude_none=True),
        "dscg_diseinfo": _diseases(data.diseinfo),
        # which message discharged the stay: a 2601 undoes only that one (reversal)
        "dscg_message_id": call.message_id,
    }
    visit.updated_at = call.received_at
    _audit(call, "exchange.ipt.discharge", visit)
    return Done(result={"mdtrt_id": visit.mdtrt_id, "state": visit.state})


def change_admission(call: Call, data: AdmissionChangeIn) -> Done:
    """2403 入院信息变更 (before the stay is settled)."""
    node = data.adminfo
    visit = own_visit(call, node.mdtrt_id, node.psn_no, "ipt")
    if visit.state not in ("open", "discharged"):
        raise Refused("mdtrt_id", f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，不能变更")
    changed = node.model_dump(mode="json", exclude_none=True, exclude={"mdtrt_id", "psn_no"})
    if node.med_type is not None:
        _kind_med_type(node.med_type, "ipt")
        visit.med_type = node.med_type
    if node.begntime is not None:
        start = business_time(node.begntime)
        if visit.endtime is not None and visit.endtime < start:
            raise Refused("begntime", "开始时间（begntime）：入院时间晚于出院时间")
        begins_before_fees(call, visit, start)
        no_overlapping_stay(call, visit.person_id, start, visit.endtime, visit.id)
        visit.begntime = start
    if node.ipt_no:
        visit.ipt_otp_no = node.ipt_no
    if node.adm_dept_codg:
        visit.dept_code, visit.dept_name = node.adm_dept_codg, node.adm_dept_name or ""
    if node.dscg_maindiag_code:
        visit.diag_code, visit.diag_name = node.dscg_maindiag_code, node.dscg_maindiag_name or ""
    info = dict(visit.details.get("mdtrtinfo", {}))
    info.update(changed)
    visit.details = {**visit.details, "mdtrtinfo": info}
    if data.diseinfo:
        visit.details = {**visit.details, "diseinfo": _diseases(data.diseinfo)}
    visit.updated_at = call.received_at
    _audit(call, "exchange.ipt.change", visit, changed=sorted(changed))
    return Done(result={"mdtrt_id": visit.mdtrt_id, "state": visit.state})


def _open_fees(session: Session, visit: Visit) -> int:
    return int(
        session.scalar(select(func.count()).where(Fee.visit_id == visit.id, Fee.state == "open"))
        or 0
    )


def cancel_visit(call: Call, data: VisitRefIn, kind: str) -> Done:
    """2404 入院办理撤销 / 2202 门诊挂号撤销: only a visit with no fee details left
    (cancel them first: 2302 / 2205) and never settled."""
    node = data.data
    visit = own_visit(call, node.mdtrt_id, node.psn_no, kind)
    if visit.state != "open" or (kind == "ipt" and visit.endtime is not None):
        raise Refused("mdtrt_id", f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，不能撤销")
    cancel_opened(call, visit)
    return Done(result={"mdtrt_id": visit.mdtrt_id, "state": visit.state})


def cancel_opened(call: Call, visit: Visit) -> None:
    """Cancel an open visit that has no fees to settle (also for 2601)."""
    if _open_fees(call.session, visit):
        raise Refused(
            "mdtrt_id",
            f"就诊ID（mdtrt_id）：就诊 {visit.mdtrt_id} 还有未撤销的费用明细，请先撤销费用明细",
        )
    settled = call.session.scalar(select(Settlement.id).where(Settlement.visit_id == visit.id))
    if settled is not None:
        raise Refused(
            "mdtrt_id", f"就诊ID（mdtrt_id）：就诊 {visit.mdtrt_id} 已有结算记录，不能撤销"
        )
    visit.state = "cancelled"
    visit.updated_at = call.received_at
    _audit(call, f"exchange.{visit.kind}.cancel", visit)


def cancel_discharge(call: Call, data: VisitRefIn) -> Done:
    """2405 出院办理撤销: back in hospital (not once settled: reverse the
    settlement first, 2305)."""
    node = data.data
    visit = own_visit(call, node.mdtrt_id, node.psn_no, "ipt")
    if visit.state != "discharged":
        raise Refused("mdtrt_id", f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，不能撤销出院")
    visit.state = "open"
    visit.endtime = None
    visit.dscg_way = None
    visit.updated_at = call.received_at
    _audit(call, "exchange.ipt.discharge_cancel", visit)
    return Done(result={"mdtrt_id": visit.mdtrt_id, "state": visit.state})


def register(call: Call, data: RegistrationIn) -> VisitOut:
    """2201 门诊挂号."""
    node = data.data
    person = person_for(call, node.psn_no)
    visit = _open_visit(
        call,
        person,
        kind="otp",
        insutype=node.insutype,
        med_type="11",
        ipt_otp_no=node.ipt_otp_no,
        cert=(node.mdtrt_cert_type, node.mdtrt_cert_no),
        begntime=node.begntime,
        dept=(node.dept_code, node.dept_name),
        diag=("", ""),
        details={"registration": node.model_dump(mode="json", exclude_none=True)},
    )
    return VisitOut(
        result=VisitResult(
            mdtrt_id=visit.mdtrt_id, psn_no=visit.psn_no, ipt_otp_no=visit.ipt_otp_no
        )
    )


def outpatient_visit(call: Call, data: OutpatientVisitIn) -> Done:
    """2203 门诊就诊信息上传: medical type, diagnoses (before settlement)."""
    node = data.mdtrtinfo
    visit = own_visit(call, node.mdtrt_id, node.psn_no, "otp")
    if visit.state != "open":
        raise Refused(
            "mdtrt_id", f"就诊ID（mdtrt_id）：就诊{STATES[visit.state]}，不能上传就诊信息"
        )
    _kind_med_type(node.med_type, "otp")
    visit.med_type = node.med_type
    main = next((d for d in data.diseinfo if d.maindiag_flag == "1"), None) or (
        data.diseinfo[0] if data.diseinfo else None
    )
    if main is not None:
        visit.diag_code, visit.diag_name = main.diag_code, main.diag_name
    visit.details = {
        **visit.details,
        "mdtrtinfo": node.model_dump(mode="json", exclude_none=True),
        "diseinfo": _diseases(data.diseinfo),
    }
    visit.updated_at = call.received_at
    _audit(call, "exchange.otp.visit", visit)
    return Done(result={"mdtrt_id": visit.mdtrt_id, "state": visit.state})
