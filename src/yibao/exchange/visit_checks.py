"""Checks of a visit's messages that read the person or the visit's fee lines: the
certificate is the person's, nothing dated after today, the stay's dates against the
fees already uploaded (ADR 0018 amendments)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select

from yibao.engines.exchange import Refused
from yibao.engines.exchange.visits import DSCG_WAYS, MED_TYPES
from yibao.engines.insured.messages import CERT_TYPES, PersonQuery
from yibao.exchange.models import Fee, Visit
from yibao.exchange.registry import Call
from yibao.kit.timeutil import local


def two_digit_type(call: Call, query: PersonQuery) -> PersonQuery:
    """1101's 就诊凭证类型 sent as one digit (``2``) read as its code (``02``), warned."""
    kind = (query.mdtrt_cert_type or "").strip()
    if len(kind) != 1 or not kind.isdigit():
        return query
    call.warnings.append(
        f"就诊凭证类型（mdtrt_cert_type）：应为两位代码，已将“{kind}”按 0{kind} 读取"
    )
    return query.model_copy(update={"mdtrt_cert_type": f"0{kind}"})


def certificate(
    call: Call, psn_no: str, certno: str, cert_type: str | None, cert_no: str | None
) -> str | None:
    """The message's 就诊凭证类型, checked: one of :data:`CERT_TYPES` (one digit read as
    its two-digit code, with a warning); with 02 居民身份证, a 就诊凭证编号 given must be
    the person's (an electronic credential's or a card's number cannot be compared
    here).  Returns the type as read."""
    if cert_type is None:
        return None
    kind = cert_type.strip()
    if len(kind) == 1 and kind.isdigit():
        call.warnings.append(
            f"就诊凭证类型（mdtrt_cert_type）：应为两位代码，已将“{kind}”按 0{kind} 读取"
        )
        kind = f"0{kind}"
    if kind not in CERT_TYPES:
        names = "、".join(f"{k} {v}" for k, v in CERT_TYPES.items())
        raise Refused(
            "mdtrt_cert_type", f"就诊凭证类型（mdtrt_cert_type）：应为 {names}（收到“{kind[:10]}”）"
        )
    number = (cert_no or "").strip().upper()
    if kind == "02" and number and number != certno.strip().upper():
        raise Refused(
            "mdtrt_cert_no",
            f"就诊凭证编号（mdtrt_cert_no）：不是人员 {psn_no} 的居民身份证号，请核对就诊人",
        )
    return kind


def not_future(call: Call, moment: datetime, field: str, name: str) -> None:
    """A visit's times are read on business days: a day after the message's is refused
    (an admission, discharge or fee that has not happened yet)."""
    today = local(call.received_at).date()
    if local(moment).date() > today:
        raise Refused(
            field, f"{name}（{field}）：{local(moment):%Y-%m-%d %H:%M:%S} 晚于今天（{today}）"
        )


def open_fee_days(call: Call, visit: Visit) -> tuple[Any, Any]:
    """(first, last) business day of the visit's lines not yet settled or cancelled."""
    first, last = call.session.execute(
        select(func.min(Fee.fee_ocur_time), func.max(Fee.fee_ocur_time)).where(
            Fee.visit_id == visit.id, Fee.state == "open"
        )
    ).one()
    return (
        local(first).date() if first is not None else None,
        local(last).date() if last is not None else None,
    )


def ends_after_fees(call: Call, visit: Visit, end: datetime) -> None:
    """2402: the end is not after today nor before the last day of the open fees."""
    not_future(call, end, "endtime", "结束时间")
    _, last = open_fee_days(call, visit)
    if last is not None and last > local(end).date():
        raise Refused(
            "endtime",
            f"结束时间（endtime）：出院日期 {local(end).date()} 早于已上传费用的发生日期 {last}，"
            "请先撤销（2302）或更正这些费用明细",
        )


def begins_before_fees(call: Call, visit: Visit, start: datetime) -> None:
    """2403: a new begin is not after today nor after the first day of the open fees."""
    not_future(call, start, "begntime", "开始时间")
    first, _ = open_fee_days(call, visit)
    if first is not None and first < local(start).date():
        raise Refused(
            "begntime",
            f"开始时间（begntime）：入院日期 {local(start).date()} 晚于已上传费用的发生日期"
            f" {first}，请先撤销（2302）或更正这些费用明细",
        )


def death_in_stay(visit: Visit, die_date: date | None, dscg_way: str, end: datetime) -> None:
    """2402's 死亡日期: only with 离院方式 5 死亡, and a day of the stay (from the
    admission's day to the discharge's)."""
    if die_date is None:
        return
    if dscg_way != "5":
        raise Refused(
            "die_date",
            f"死亡日期（die_date）：离院方式（dscg_way）为 5 死亡时才填写，本次为 {dscg_way}"
            f" {DSCG_WAYS.get(dscg_way, '')}".rstrip(),
        )
    first, last = local(visit.begntime).date(), local(end).date()
    if not first <= die_date <= last:
        raise Refused(
            "die_date",
            f"死亡日期（die_date）：{die_date} 不在住院期间（{first} 至 {last}）内",
        )


def same_med_type(sent: str | None, registered: str) -> None:
    """A (pre-)settlement's 医疗类别, when sent, is the visit's (2401/2403, 2201/2203):
    another one would settle the stay under rules it was not registered for."""
    if sent is not None and sent != registered:
        raise Refused(
            "med_type",
            f"医疗类别（med_type）：{sent} {MED_TYPES.get(sent, '')} 与就诊登记的"
            f" {registered} {MED_TYPES.get(registered, '')} 不符",
        )


def not_in_hospital(call: Call, person_id: int, psn_no: str) -> None:
    """2401: the person is not already in this hospital (a stay not yet discharged)."""
    already = call.session.scalar(
        select(Visit.mdtrt_id).where(
            Visit.person_id == person_id,
            Visit.kind == "ipt",
            Visit.state == "open",
            Visit.hospital_id == call.institution.id,
        )
    )
    if already is not None:
        raise Refused(
            "psn_no", f"人员编号（psn_no）：人员 {psn_no} 已在本院住院（就诊ID {already}）"
        )


def no_overlapping_stay(
    call: Call,
    person_id: int,
    begin: datetime,
    end: datetime | None,
    own_id: int | None = None,
    field: str = "begntime",
) -> None:
    """A person is in one hospital bed at a time: an inpatient stay may not overlap
    another of theirs that is not cancelled — open, discharged or settled, at any
    institution — or both would be paid for the same stay.  With ``end`` (2402, a 2403
    of a discharged stay) two stays overlap when each begins before the other ends; at
    admission (no end yet) when ``begin`` falls within the other stay — a stay
    registered late, after a later one of the person, is taken, and its discharge
    checked (a stay is settled only once discharged).  A transfer (discharged and
    admitted at the same moment) does not overlap."""
    stmt = select(Visit.mdtrt_id, Visit.hospital_id, Visit.begntime, Visit.endtime).where(
        Visit.person_id == person_id,
        Visit.kind == "ipt",
        Visit.state != "cancelled",
        or_(Visit.endtime.is_(None), Visit.endtime > begin),
        Visit.begntime < end if end is not None else Visit.begntime <= begin,
    )
    if own_id is not None:
        stmt = stmt.where(Visit.id != own_id)
    other = call.session.execute(
        stmt.order_by(Visit.begntime).limit(1).execution_options(skip_scope=True)
    ).first()
    if other is None:
        return
    since = f"{local(other.begntime):%Y-%m-%d %H:%M}"
    period = (
        f"{since} 入院，至今在院"
        if other.endtime is None
        else f"{since} 至 {local(other.endtime):%Y-%m-%d %H:%M}"
    )
    where = (
        f"本院（就诊ID {other.mdtrt_id}）"
        if other.hospital_id == call.institution.id
        else "另一定点医疗机构"
    )
    name = "结束时间" if field == "endtime" else "开始时间"
    raise Refused(
        field,
        f"{name}（{field}）：人员在{where}有住院（{period}），与本次住院时间重叠，"
        "同一时间只能有一次住院",
    )
