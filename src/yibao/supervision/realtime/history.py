"""A person's earlier visits and fee lines in a region, for the rules' day and month
windows and the 事前 reminder (ADR 0023): one query, across the region's
institutions (hence ``skip_scope``), only for a person the asking institution has
identified (1101).

What leaves this module is what the reminder shows (date, institution, kind, main
diagnosis, amount, settled; drugs and their days) and the lines the rules count —
never another institution's rows as such.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Numeric, Row, bindparam, text
from sqlalchemy.orm import Session

from yibao.db.base import Money, TZDateTime
from yibao.engines.audit.realtime import PastFee, PastVisit
from yibao.kit.timeutil import BUSINESS_TZ, local

SKIP = {"skip_scope": True}

#: the person's visits in a pooling region overlapping [start, end) with their fee
#: lines of those days that are not cancelled (one row a line, or one for a visit
#: without any), only when the asking institution has identified the person: no row
#: at all when it has not, one row without a visit when there is none.  One
#: statement, one round trip, whatever the case; written as text once, so a request
#: pays no statement building or cache-key walk (the busiest read of the audit)
HISTORY = (
    text(
        "WITH idf AS (SELECT p.id AS person_id FROM exchange_identified i"
        " JOIN insured_persons p ON p.id = i.person_id"
        " WHERE i.hospital_id = :hospital_id AND p.psn_no = :psn_no)"
        " SELECT idf.person_id AS identified,"
        " v.id, v.mdtrt_id, v.kind, v.begntime, v.endtime, v.diag_code, v.diag_name,"
        " v.dept_code, v.insutype, h.code AS hospital_code, h.name AS hospital_name,"
        " h.level AS hospital_level, s.medfee_sumamt,"
        " f.feedetl_sn, f.med_list_codg, f.cnt, f.pric, f.det_item_fee_sumamt,"
        " f.fee_ocur_time, f.state AS fee_state, f.med_chrgitm_type, f.prd_days"
        " FROM idf LEFT JOIN exchange_visits v ON v.person_id = idf.person_id"
        " AND v.psn_no = :psn_no AND v.mdtrtarea_admvs LIKE :pool"
        " AND v.state <> 'cancelled' AND v.begntime < :end"
        " AND (v.endtime IS NULL OR v.endtime >= :start)"
        " LEFT JOIN hospitals h ON h.id = v.hospital_id"
        " LEFT JOIN exchange_settlements s ON s.visit_id = v.id AND s.state = 'settled'"
        " LEFT JOIN exchange_fees f ON f.visit_id = v.id AND f.state <> 'cancelled'"
        " AND f.fee_ocur_time >= :start AND f.fee_ocur_time < :end"
    )
    .bindparams(bindparam("start", type_=TZDateTime()), bindparam("end", type_=TZDateTime()))
    .columns(
        begntime=TZDateTime(),
        endtime=TZDateTime(),
        medfee_sumamt=Money(),
        cnt=Numeric(18, 4, asdecimal=True),
        pric=Numeric(18, 6, asdecimal=True),
        det_item_fee_sumamt=Money(),
        fee_ocur_time=TZDateTime(),
        prd_days=Numeric(6, 2, asdecimal=True),
    )
)


@dataclass(frozen=True)
class Past:
    visits: list[PastVisit]
    fees: list[PastFee]
    identified: bool


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, BUSINESS_TZ)


def past_of(
    session: Session,
    *,
    hospital_id: int,
    psn_no: str,
    region_code: str,
    since: date,
    until: date,
    exclude: Collection[str],
) -> Past:
    """Visits of ``psn_no`` treated in ``region_code``'s pooling region that overlap
    ``since`` … ``until`` (not cancelled; not those in ``exclude``, the encounters the
    message itself carries), and their lines of those days (not cancelled).  Empty
    unless institution ``hospital_id`` has identified the person."""
    start, end = _start(since), _start(until + timedelta(days=1))
    rows = session.execute(
        HISTORY,
        {
            "psn_no": psn_no,
            "pool": region_code[:4] + "%",
            "hospital_id": hospital_id,
            "start": start,
            "end": end,
        },
        execution_options=SKIP,
    )
    visits: dict[int, PastVisit] = {}
    fees: list[PastFee] = []
    identified = False
    for r in rows:
        identified = True  # a row at all: the person is identified (idf)
        if r.id is None or r.mdtrt_id in exclude:
            continue
        if r.id not in visits:
            visits[r.id] = _visit(r)
        if r.feedetl_sn is not None:
            fees.append(_fee(r))
    return Past(list(visits.values()), fees, identified)


def _visit(r: Row[Any]) -> PastVisit:
    return PastVisit(
        visit_id=r.id,
        mdtrt_id=r.mdtrt_id,
        kind=r.kind,
        hospital_code=r.hospital_code,
        hospital_name=r.hospital_name,
        hospital_level=r.hospital_level,
        begin=local(r.begntime).date(),
        end=local(r.endtime).date() if r.endtime is not None else None,
        diag_code=r.diag_code or "",
        diag_name=r.diag_name or "",
        dept_code=r.dept_code or "",
        insutype=r.insutype or "",
        settled_amount=r.medfee_sumamt,
    )


def _fee(r: Row[Any]) -> PastFee:
    return PastFee(
        visit_id=r.id,
        feedetl_sn=r.feedetl_sn,
        item_code=r.med_list_codg,
        quantity=r.cnt,
        price=r.pric,
        amount=r.det_item_fee_sumamt,
        day=local(r.fee_ocur_time).date(),
        settled=r.fee_state == "settled",
        fee_type=r.med_chrgitm_type or "",
        prd_days=r.prd_days,
    )
