"""Queries on stored settlement lists as the list pages read them: one page of lists with
hospital and payment, the counts by state, and one list with everything its page shows.
The session's scope (db.scoping) limits every query to the caller's region or hospital."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.grouping.service import stored_groupings
from yibao.kit.paging import Page
from yibao.regions.models import Hospital
from yibao.settlement.models import (
    CasePricing,
    QcFinding,
    SettlementAdjustment,
    SettlementAppeal,
    SettlementConfirmation,
    SettlementList,
    SettlementListVersion,
    SpecialCaseApplication,
)

#: a SELECT of any columns (SQLAlchemy types a statement by its column types)
SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class ListFilter:
    """The list page's filters: state, hospital, held by QC, settlement id contains,
    discharge month (``YYYY-MM``)."""

    state: str | None = None
    hospital: str | None = None
    blocking: bool = False
    q: str | None = None
    month: str | None = None

    def apply(self, stmt: SelectT, *, with_state: bool = True) -> SelectT:
        if self.state and with_state:
            stmt = stmt.where(SettlementList.state == self.state)
        if self.hospital:
            stmt = stmt.where(SettlementList.hospital_code == self.hospital)
        if self.blocking:
            stmt = stmt.where(SettlementList.blocking > 0)
        if self.q:  # % and _ typed in an id are characters, not wildcards
            stmt = stmt.where(SettlementList.setl_id.contains(self.q, autoescape=True))
        if self.month:
            stmt = stmt.where(SettlementList.discharge_month == self.month)
        return stmt


@dataclass(frozen=True)
class ListRow:
    id: int
    setl_id: str
    version: int
    state: str
    blocking: int
    warnings: int
    received_at: datetime


@dataclass(frozen=True)
class Priced:
    """A list's pricing, and what is paid for it now when a decision changed that: the
    confirmed amounts, an effective adjustment's or an approved special case's
    (``basis`` names which; None: the pricing stands)."""

    drg: str
    payment_class: str
    drg_payment: Any
    fund_amount: Any
    paid: Any = None
    paid_fund: Any = None
    basis: str | None = None

    @property
    def shown(self) -> tuple[Any, Any]:
        """(payment, fund) to show: what is paid now."""
        if self.basis is None:
            return self.drg_payment, self.fund_amount
        return self.paid, self.paid_fund


#: what a decided list is paid, by its state (the confirmation's figures come first)
BASIS_LABELS = {"confirmed": "确认结算", "adjusted": "调整后", "special": "特例单议"}


def _latest(column: Any, *where: Any) -> Any:
    """The column of the newest row matching ``where``, as a correlated subquery."""
    table = column.class_
    return select(column).where(*where).order_by(table.id.desc()).limit(1).scalar_subquery()


def _decided_columns() -> list[Any]:
    adj, special, done = SettlementAdjustment, SpecialCaseApplication, SettlementConfirmation
    adjusted = (adj.list_id == SettlementList.id, adj.status == "effective")
    approved = (special.list_id == SettlementList.id, special.status == "approved")
    return [
        _latest(done.amount_paid, done.list_id == SettlementList.id),
        _latest(done.fund_amount, done.list_id == SettlementList.id),
        _latest(adj.adjusted_payment, *adjusted),
        _latest(adj.adjusted_fund, *adjusted),
        _latest(special.new_payment, *approved),
        _latest(special.new_fund, *approved),
    ]


def _priced(state: str, r: Any) -> Priced:
    """``r``: drg, class, payment, fund, then :func:`_decided_columns`."""
    drg, cls, pay, fund, c_pay, c_fund, a_pay, a_fund, s_pay, s_fund = r
    if c_pay is not None:
        return Priced(drg, cls, pay, fund, c_pay, c_fund, "confirmed")
    if state in ("adjusted", "appeal_rejected") and a_pay is not None:
        return Priced(drg, cls, pay, fund, a_pay, a_fund, "adjusted")
    if state == "special_approved" and s_pay is not None:
        return Priced(drg, cls, pay, fund, s_pay, fund if s_fund is None else s_fund, "special")
    return Priced(drg, cls, pay, fund)


def list_rows(
    session: Session, flt: ListFilter, page: int, size: int, total: int
) -> Page[tuple[ListRow, str, Priced | None]]:
    """One page of the ``total`` lists in scope, with hospital name and pricing (outer
    join), newest first; plain columns, no ORM objects (many users read it at once)."""
    stmt = flt.apply(
        select(
            SettlementList.id,
            SettlementList.setl_id,
            SettlementList.version,
            SettlementList.state,
            SettlementList.blocking,
            SettlementList.warnings,
            SettlementList.received_at,
            Hospital.name,
            CasePricing.drg,
            CasePricing.payment_class,
            CasePricing.drg_payment,
            CasePricing.fund_amount,
            *_decided_columns(),
        )
        .join(Hospital, Hospital.id == SettlementList.hospital_id)
        .outerjoin(CasePricing, CasePricing.case_id == SettlementList.case_id)
    )
    stmt = stmt.order_by(SettlementList.received_at.desc(), SettlementList.id.desc())
    rows = session.execute(stmt.offset((page - 1) * size).limit(size)).all()
    items: list[tuple[ListRow, str, Priced | None]] = [
        (ListRow(*r[:7]), r[7], None if r[8] is None else _priced(r[3], r[8:])) for r in rows
    ]
    return Page(items, total, page, size)


def state_counts(session: Session, flt: ListFilter) -> dict[str, int]:
    """Lists by state under every filter but the state, most first."""
    stmt = flt.apply(
        select(SettlementList.state, func.count()).group_by(SettlementList.state),
        with_state=False,
    )
    return dict(sorted(((s, n) for s, n in session.execute(stmt).all()), key=lambda x: -x[1]))


@dataclass(frozen=True)
class ListDetail:
    """One list with what its page shows (the history comes from settlement.history)."""

    row: SettlementList
    hospital: Hospital | None
    findings: list[QcFinding]
    versions: list[SettlementListVersion]  # newest first
    pricing: CasePricing | None
    #: the case's total cost only (the page shows no codes of the case)
    case: dict[str, Decimal] | None
    groupings: list[Any]
    specials: list[SpecialCaseApplication]  # newest first
    appeals: list[SettlementAppeal]  # newest first


def get_list_detail(session: Session, list_id: int) -> ListDetail | None:
    """One list in scope with its findings, versions, payment, grouping results,
    special-case applications and appeals; None for a list out of scope or absent."""
    found = session.execute(
        select(SettlementList, Hospital)
        .outerjoin(Hospital, Hospital.id == SettlementList.hospital_id)
        .where(SettlementList.id == list_id)
    ).first()
    if found is None:
        return None
    row, hospital = found
    findings = list(
        session.scalars(select(QcFinding).where(QcFinding.list_id == row.id).order_by(QcFinding.id))
    )
    versions = list(
        session.scalars(
            select(SettlementListVersion)
            .where(SettlementListVersion.list_id == row.id)
            .order_by(SettlementListVersion.version.desc())
        )
    )
    pricing, case, groupings = None, None, []
    if row.case_id is not None:
        costed = session.execute(
            select(Case.total_cost, CasePricing)
            .outerjoin(CasePricing, CasePricing.case_id == Case.id)
            .where(Case.id == row.case_id)
        ).first()
        if costed is not None:
            total_cost, pricing = costed
            case = None if total_cost is None else {"total_cost": total_cost}
        groupings = stored_groupings(session, row.case_id)
    specials = session.scalars(
        select(SpecialCaseApplication)
        .where(SpecialCaseApplication.list_id == row.id)
        .order_by(SpecialCaseApplication.id.desc())
    )
    appeals = session.scalars(
        select(SettlementAppeal)
        .where(SettlementAppeal.list_id == row.id)
        .order_by(SettlementAppeal.id.desc())
    )
    return ListDetail(
        row, hospital, findings, versions, pricing, case, groupings, list(specials), list(appeals)
    )


def list_page(session: Session, flt: ListFilter, page: int, size: int) -> Page[SettlementList]:
    """One page of the lists in scope under ``flt`` (the API's list), newest id first."""
    stmt = flt.apply(select(SettlementList))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(SettlementList.id.desc()).offset((page - 1) * size).limit(size)
    )
    return Page(list(rows), total, page, size)


def list_with_findings(
    session: Session, list_id: int
) -> tuple[SettlementList, list[QcFinding], CasePricing | None] | None:
    """One list in scope with its QC findings and its pricing (the API's list);
    None for a list out of scope or absent."""
    found = session.execute(
        select(SettlementList, CasePricing)
        .outerjoin(CasePricing, CasePricing.case_id == SettlementList.case_id)
        .where(SettlementList.id == list_id)
    ).first()
    if found is None:
        return None
    row, pricing = found
    findings = session.scalars(
        select(QcFinding).where(QcFinding.list_id == row.id).order_by(QcFinding.id)
    )
    return row, list(findings), pricing
