"""The rows a settlement reads and writes, as prebuilt Core statements (ADR 0027).

A real-time settlement (2303 / 2304, 2206 / 2207) is the gateway's busiest work.
Loaded as ORM entities and written through the unit of work, its rows cost most of a
settlement's CPU (building each statement, walking it for the compiled cache's key,
building entities and tracking their changes).  Here each statement is built once,
and the rows come back as small frozen records; the settlement's own checks
(:mod:`yibao.exchange.settle`) are unchanged.

Scope: every statement names the institution's visit by id after
:func:`locked_visit` has checked that it is the institution's (the ORM's scope
criteria do not see Core statements; the check does what they did).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, select, update

from yibao.exchange.models import Fee, Identified, Settlement, Visit
from yibao.insured.models import InsuredPerson


@dataclass(frozen=True, slots=True)
class VisitRow:
    id: int
    mdtrt_id: str
    kind: str
    person_id: int
    hospital_id: int
    region_code: str
    psn_no: str
    insutype: str
    med_type: str
    mdtrt_cert_type: str
    mdtrtarea_admvs: str
    endtime: datetime | None
    state: str


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    psn_no: str
    psn_name: str
    psn_cert_type: str
    certno: str
    gend: str
    naty: str
    brdy: date
    psn_type: str
    cvlserv_flag: str
    insuplc_admdvs: str


@dataclass(frozen=True, slots=True)
class LineRow:
    """An open fee line's id and its four parts (as classified at upload)."""

    id: int
    det_item_fee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_amt: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal


def _columns(table: Any, record: type) -> list[Any]:
    return [table.c[f.name] for f in fields(record)]


_VISITS, _PERSONS = cast(Table, Visit.__table__), cast(Table, InsuredPerson.__table__)
_FEES, _SETTLEMENTS = cast(Table, Fee.__table__), cast(Table, Settlement.__table__)
_IDENTIFIED = cast(Table, Identified.__table__)
_VISIT_COLS, _PERSON_COLS = _columns(_VISITS, VisitRow), _columns(_PERSONS, PersonRow)
_LOCKED = (
    select(*_VISIT_COLS, *_PERSON_COLS, _IDENTIFIED.c.id)
    .join_from(_VISITS, _PERSONS, _PERSONS.c.id == _VISITS.c.person_id)
    .outerjoin(
        _IDENTIFIED,
        (_IDENTIFIED.c.person_id == _VISITS.c.person_id)
        & (_IDENTIFIED.c.hospital_id == bindparam("hospital")),
    )
    .where(_VISITS.c.mdtrt_id == bindparam("mdtrt_id"))
    .with_for_update(of=[_VISITS, _PERSONS])
)
_LINE_COLS = _columns(_FEES, LineRow)
_OPEN = (
    select(*_LINE_COLS)
    .where(_FEES.c.visit_id == bindparam("visit"), _FEES.c.state == "open")
    .order_by(_FEES.c.id)
)
_OPEN_OF_BATCH = (
    select(*_LINE_COLS)
    .where(
        _FEES.c.visit_id == bindparam("visit"),
        _FEES.c.state == "open",
        _FEES.c.chrg_bchno == bindparam("batch"),
    )
    .order_by(_FEES.c.id)
)
_INSERT = insert(_SETTLEMENTS).returning(_SETTLEMENTS.c.id)
_SETTLE_LINES = (
    update(_FEES)
    .where(_FEES.c.id.in_(bindparam("ids", expanding=True)))
    .values(state="settled", settlement_id=bindparam("settlement"))
)
_SETTLE_VISIT = (
    update(_VISITS)
    .where(_VISITS.c.id == bindparam("visit"))
    .values(state="settled", updated_at=bindparam("when"))
)


def locked_visit(
    conn: Connection, mdtrt_id: str, hospital_id: int
) -> tuple[VisitRow, PersonRow, bool] | None:
    """Visit ``mdtrt_id`` and its person, both rows locked (``FOR UPDATE``), and
    whether institution ``hospital_id`` identified the person (1101); None when
    there is no such visit (of any institution: the caller checks whose it is)."""
    found = conn.execute(_LOCKED, {"mdtrt_id": mdtrt_id, "hospital": hospital_id}).first()
    if found is None:
        return None
    n = len(_VISIT_COLS)
    visit = VisitRow(*found[:n])
    person = PersonRow(*found[n : n + len(_PERSON_COLS)])
    return visit, person, found[-1] is not None


def open_lines(conn: Connection, visit_id: int, chrg_bchno: str | None) -> list[LineRow]:
    """The visit's lines still to settle (of one charge batch when given), by id."""
    if chrg_bchno:
        rows = conn.execute(_OPEN_OF_BATCH, {"visit": visit_id, "batch": chrg_bchno})
    else:
        rows = conn.execute(_OPEN, {"visit": visit_id})
    return [LineRow(*r) for r in rows]


def store_settlement(
    conn: Connection, values: dict[str, Any], lines: Sequence[LineRow], when: datetime
) -> int:
    """Insert the settlement row; mark its lines and its visit settled.  Its id."""
    settlement_id: int = conn.execute(_INSERT, values).scalar_one()
    ids = [line.id for line in lines]
    conn.execute(_SETTLE_LINES, {"ids": ids, "settlement": settlement_id})
    conn.execute(_SETTLE_VISIT, {"visit": values["visit_id"], "when": when})
    return settlement_id
