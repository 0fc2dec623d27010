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
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Numeric, Row, TextualSelect, bindparam, text
from sqlalchemy.orm import Session

from yibao.db.base import Money, TZDateTime
from yibao.engines.audit.claims import net_refunds
from yibao.engines.audit.realtime import PastFee, PastVisit, Request
from yibao.kit.timeutil import BUSINESS_TZ, local

SKIP = {"skip_scope": True}

#: the visits overlapping [start, end) of persons the asking institutions identified,
#: with their fee lines of those days that are not cancelled (one row a line, one for a
#: visit without any, one without a visit for a person without any; none for a pair
#: whose institution has not identified the person); then, without an asker, one row
#: per insured person of the batch with the registered sex and birth date (any
#: region, identified or not: ADR 0023).  One statement, one round trip for a whole
#: batch of requests (ADR 0026): the pairs are the (institution, psn_no) asked about;
#: each request's own pooling region, window and exclusions are applied to the rows
#: in Python.  Written as text once, so a request pays no statement building.
_HISTORY_SQL = (
    "SELECT i.hospital_id AS asker, p.psn_no AS asked_psn_no,"
    " v.id, v.mdtrt_id, v.kind, v.begntime, v.endtime, v.diag_code, v.diag_name,"
    " v.dept_code, v.insutype, v.mdtrtarea_admvs, h.code AS hospital_code,"
    " h.name AS hospital_name, h.level AS hospital_level, s.medfee_sumamt,"
    " f.feedetl_sn, f.med_list_codg, f.cnt, f.pric, f.det_item_fee_sumamt,"
    " f.fee_ocur_time, f.state AS fee_state, f.med_chrgitm_type, f.prd_days,"
    " f.init_feedetl_sn,"
    " NULL AS gend, NULL AS brdy"
    " FROM exchange_identified i JOIN insured_persons p ON p.id = i.person_id"
    " LEFT JOIN exchange_visits v ON v.person_id = p.id AND v.psn_no = p.psn_no"
    " AND v.state <> 'cancelled' AND v.begntime < :end"
    " AND (v.endtime IS NULL OR v.endtime >= :start)"
    " LEFT JOIN hospitals h ON h.id = v.hospital_id"
    " LEFT JOIN exchange_settlements s ON s.visit_id = v.id AND s.state = 'settled'"
    " LEFT JOIN exchange_fees f ON f.visit_id = v.id AND f.state <> 'cancelled'"
    " AND f.fee_ocur_time >= :start AND f.fee_ocur_time < :end"
    " WHERE i.hospital_id {hospitals} AND p.psn_no {asked}"
    " UNION ALL SELECT NULL, r.psn_no, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, r.gend, r.brdy FROM insured_persons r WHERE r.psn_no {persons}"
)
_HISTORY_COLUMNS = {
    "begntime": TZDateTime(),
    "endtime": TZDateTime(),
    "medfee_sumamt": Money(),
    "cnt": Numeric(18, 4, asdecimal=True),
    "pric": Numeric(18, 6, asdecimal=True),
    "det_item_fee_sumamt": Money(),
    "fee_ocur_time": TZDateTime(),
    "prd_days": Numeric(6, 2, asdecimal=True),
    "brdy": Date(),
}


def _history(expanding: bool) -> TextualSelect:
    test = "IN :{}" if expanding else "= ANY(:{})"
    names = ("hospitals", "asked", "persons")
    return (
        text(_HISTORY_SQL.format(**{n: test.format(n) for n in names}))
        .bindparams(
            bindparam("start", type_=TZDateTime()),
            bindparam("end", type_=TZDateTime()),
            *(bindparam(n, expanding=expanding) for n in names),
        )
        .columns(**_HISTORY_COLUMNS)
    )


#: the statement as SQLite runs it (IN lists, one text per list length) …
HISTORY = _history(expanding=True)
#: … and on PostgreSQL: arrays, one text whatever the batch, so psycopg prepares it
#: once and the server plans it once (an IN list of n values is a new statement for
#: every n: parsed and planned afresh for most batches of a group commit)
HISTORY_ARRAYS = _history(expanding=False)


@dataclass(frozen=True)
class Past:
    visits: list[PastVisit]
    fees: list[PastFee]
    identified: bool


@dataclass(frozen=True)
class Ask:
    """One request's question: the person's visits in ``region_code``'s pooling region
    overlapping ``since`` … ``until`` (not those in ``exclude``), asked by institution
    ``hospital_id``."""

    hospital_id: int
    psn_no: str
    region_code: str
    since: date
    until: date
    exclude: Collection[str] = ()


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
    ask = Ask(hospital_id, psn_no, region_code, since, until, exclude)
    return pasts_of(session, [ask])[0]


_ANY_DAY = date(2000, 1, 1)


def pasts_of(session: Session, asks: list[Ask]) -> list[Past]:
    """:func:`past_of` for several requests with one statement."""
    return look_up(session, asks, ())[0]


def look_up(
    session: Session, asks: list[Ask], psn_nos: Collection[str]
) -> tuple[list[Past], dict[str, tuple[str, date]]]:
    """:func:`past_of` for several requests, and the registered sex and birth date of
    the insured persons ``psn_nos`` (:func:`registered_people`), with one statement
    (:data:`HISTORY` over the widest window, then each request's own window, region
    and exclusions)."""
    if not asks and not psn_nos:
        return [], {}
    # no request reads the history: the visits' part matches nothing (no pair asked)
    start = _start(min((a.since for a in asks), default=_ANY_DAY))
    end = _start(max((a.until for a in asks), default=_ANY_DAY) + timedelta(days=1))
    arrays = session.connection().dialect.name == "postgresql"
    rows = session.execute(
        HISTORY_ARRAYS if arrays else HISTORY,
        {
            "hospitals": sorted({a.hospital_id for a in asks}),
            "asked": sorted({a.psn_no for a in asks}),
            "persons": sorted(set(psn_nos)),
            "start": start,
            "end": end,
        },
        execution_options=SKIP,
    ).all()
    by_pair: dict[tuple[int, str], list[Row[Any]]] = {}
    people: dict[str, tuple[str, date]] = {}
    for r in rows:
        if r.asker is None:
            people[r.asked_psn_no] = (r.gend, r.brdy)
        else:
            by_pair.setdefault((r.asker, r.asked_psn_no), []).append(r)
    return [_past(a, by_pair.get((a.hospital_id, a.psn_no))) for a in asks], people


def _past(ask: Ask, rows: list[Row[Any]] | None) -> Past:
    if rows is None:
        return Past([], [], False)
    start, end = _start(ask.since), _start(ask.until + timedelta(days=1))
    pool = ask.region_code[:4]
    visits: dict[int, PastVisit] = {}
    fees: list[PastFee] = []
    for r in rows:
        if r.id is None or r.mdtrt_id in ask.exclude or r.mdtrtarea_admvs[:4] != pool:
            continue
        if r.begntime >= end or (r.endtime is not None and r.endtime < start):
            continue
        if r.id not in visits:
            visits[r.id] = _visit(r)
        if r.feedetl_sn is not None and start <= r.fee_ocur_time < end:
            fees.append(_fee(r))
    return Past(list(visits.values()), _netted(fees), True)


def _netted(fees: list[PastFee]) -> list[PastFee]:
    """The lines with each refund taken into the charge it names (ADR 0045): a
    refunded charge counts only what was kept, toward the rules' windows and the
    reminder's days of supply alike."""
    if not any(f.init_feedetl_sn for f in fees):
        return fees
    keys = [(f.visit_id, f.feedetl_sn, f.init_feedetl_sn, f.quantity, f.amount) for f in fees]
    out = []
    for f, kept in zip(fees, net_refunds(keys), strict=True):
        if kept is not None:
            out.append(
                f
                if kept == (f.quantity, f.amount)
                else replace(f, quantity=kept[0], amount=kept[1])
            )
    return out


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
        init_feedetl_sn=r.init_feedetl_sn,
    )


# ------------------------------------------------------------ the person as registered


def registered_people(session: Session, psn_nos: Collection[str]) -> dict[str, tuple[str, date]]:
    """Sex and birth date of the insured persons ``psn_nos`` as registered (any
    region: a person insured elsewhere is audited as registered there)."""
    return look_up(session, [], psn_nos)[1]


def as_registered(req: Request, found: tuple[str, date] | None, warnings: list[str]) -> Request:
    """``req`` audited with the registered sex and birth date of an insured person
    (a message's own would let a HIS step round the sex and age rules), each
    difference said in ``warnings`` — without the registered value, which the
    institution may not have asked for (1101)."""
    patient = req.claim.patient
    if found is None or found == (patient.sex, patient.birth_date):
        return req
    gend, brdy = found
    if patient.sex != gend:
        warnings.append("性别（gend）：与参保登记不符，已按参保登记审核")
    if patient.birth_date != brdy:
        warnings.append("出生日期（brdy）：与参保登记不符，已按参保登记审核")
    person = replace(patient, sex=gend, birth_date=brdy)
    return replace(
        req,
        claim=replace(req.claim, patient=person),
        sent_history=tuple(replace(c, patient=person) for c in req.sent_history),
    )
