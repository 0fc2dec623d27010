"""The queries behind a statement: the confirmed cases of some periods (with their
pricing, hospital level and the special-case decision they were paid as), the
intelligent-audit deductions entered in them, and the versions of both that key the
statement cache.

* The priced frame carries each case's *original* fund amount (the pricing), so that
  the service can show a reviewer's adjustment as a deduction (or an addition, 调增)
  in fund terms: original fund − confirmed fund.
* Payment basis: from the pricing terms (``payment_basis``); ``normal`` cases without
  terms count as ``standard``, every other class as ``items``.
* A list paid as an approved special case (特例单议) enters with the decided payment
  and fund, class ``special`` and the engine's special basis: ``items`` (按项目付费)
  or ``special_standard`` (核定金额) — item-paid, not a DRG case with a negative
  deduction.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from yibao.cases.models import Case
from yibao.dip.settle import clearing_points
from yibao.engines.caseframe import MONEY
from yibao.regions.models import Hospital, region_prefix
from yibao.settlement.models import (
    CasePricing,
    SettlementAuditDeduction,
    SettlementConfirmation,
    SpecialCaseApplication,
)

#: Payment basis of a special case by the decision's method (the pricing engine's
#: bases: by items, or a fixed amount).
SPECIAL_BASIS = {"items": "items", "amount": "special_standard"}
CASE_SCHEMA: dict[str, Any] = {
    "period": pl.String,
    "setl_id": pl.String,
    "mdtrt_id": pl.String,  # the hospital's own keys of the stay, to match its records
    "psn_no": pl.String,
    "discharge_date": pl.Date,
    "hospital_code": pl.String,
    "hospital_level": pl.String,
    "drg": pl.String,
    "payment_class": pl.String,
    "payment_basis": pl.String,
    "standard_set_id": pl.Int64,
    "payment_standard": MONEY,
    "drg_payment": MONEY,
    "adjusted": pl.Boolean,
    "amount_paid": MONEY,
    "original_fund": MONEY,
    "fund_amount": MONEY,
    "fund_deduction": MONEY,
    "adjusted_score": pl.Decimal(18, 2),  # DIP: the case's adjusted score (null for DRG)
    "coefficient": pl.Decimal(18, 4),  # DIP: the hospital's coefficient it was priced with
    "cost_ratio": pl.Decimal(18, 4),  # cost ÷ standard when priced
    "case_cost": MONEY,  # the case's total cost (ranks high cases for the cap, ADR 0043)
}


def _basis(terms: Any, payment_class: str) -> str:
    if isinstance(terms, str):
        try:
            terms = json.loads(terms)
        except ValueError:
            terms = None
    basis = terms.get("payment_basis") if isinstance(terms, dict) else None
    if basis:
        return str(basis)
    return "standard" if payment_class == "normal" else "items"


def _term(terms: Any, key: str) -> Decimal | None:
    if isinstance(terms, str):
        try:
            terms = json.loads(terms)
        except ValueError:
            return None
    value = terms.get(key) if isinstance(terms, dict) else None
    try:
        return None if value is None else Decimal(str(value))
    except ArithmeticError:
        return None


# long: one query joining the periods' lists, cases, pricings and confirmations
def confirmed_cases(
    session: Session,
    region_code: str,
    periods: list[str],
    hospital_code: str | None = None,
) -> pl.DataFrame:
    """One row per confirmed list of ``periods`` in the region's subtree (sorted)."""
    special = SpecialCaseApplication
    stmt = (
        select(
            SettlementConfirmation,
            CasePricing.fund_amount,
            CasePricing.terms,
            CasePricing.standard_set_id,
            CasePricing.payment_standard,
            Hospital.level,
            special.method,
            Case.total_cost,
            Case.mdtrt_id,
            Case.psn_no,
            Case.discharge_date,
        )
        .outerjoin(CasePricing, CasePricing.case_id == SettlementConfirmation.case_id)
        .outerjoin(Case, Case.id == SettlementConfirmation.case_id)
        .outerjoin(Hospital, Hospital.code == SettlementConfirmation.hospital_code)
        .outerjoin(
            special,
            and_(  # the decision the confirmation paid (confirm.py: special_approved)
                special.list_id == SettlementConfirmation.list_id,
                special.case_id == SettlementConfirmation.case_id,
                special.status == "approved",
                special.new_payment == SettlementConfirmation.amount_paid,
                SettlementConfirmation.adjusted.is_(False),
            ),
        )
        .where(
            SettlementConfirmation.region_code.startswith(region_prefix(region_code)),
            SettlementConfirmation.period_code.in_(periods),
        )
        .order_by(SettlementConfirmation.period_code, SettlementConfirmation.setl_id)
    )
    if hospital_code is not None:
        stmt = stmt.where(SettlementConfirmation.hospital_code == hospital_code)
    rows, seen = [], set()
    for c, priced_fund, terms, set_id, standard, level, method, cost, *stay in session.execute(
        stmt
    ):
        if c.id in seen:  # at most one row per confirmation
            continue
        seen.add(c.id)
        original = priced_fund if priced_fund is not None else c.fund_amount
        cls, basis, payment = c.payment_class, _basis(terms, c.payment_class), c.drg_payment
        score, coef = clearing_points(terms)
        ratio = _term(terms, "cost_ratio")
        if method is not None:  # paid as the special-case decision, nothing deducted
            cls, basis = "special", SPECIAL_BASIS.get(method, "items")
            payment, original = c.amount_paid, c.fund_amount
        rows.append(
            (
                c.period_code,
                c.setl_id,
                *stay,
                c.hospital_code,
                level,
                c.drg,
                cls,
                basis,
                set_id,
                standard,
                payment,
                c.adjusted,
                c.amount_paid,
                original,
                c.fund_amount,
                original - c.fund_amount,
                score,
                coef,
                ratio,
                cost,
            )
        )
    return pl.DataFrame(rows, schema=CASE_SCHEMA, orient="row")


def confirmation_version(
    session: Session, region_code: str, period: str, hospital_code: str | None
) -> tuple[int, int]:
    """The count and last id of a period's confirmations in scope: confirmations are
    written once and never change, so a new one makes a new version."""
    stmt = select(func.count(SettlementConfirmation.id), func.max(SettlementConfirmation.id)).where(
        SettlementConfirmation.region_code.startswith(region_prefix(region_code)),
        SettlementConfirmation.period_code == period,
    )
    if hospital_code is not None:
        stmt = stmt.where(SettlementConfirmation.hospital_code == hospital_code)
    count, last = session.execute(stmt).one()
    return int(count or 0), int(last or 0)


AUDIT_SCHEMA: dict[str, Any] = {
    "period": pl.String,
    "hospital_code": pl.String,
    "finding_id": pl.Int64,
    "jr_id": pl.String,
    "rule_id": pl.String,
    "amount": MONEY,
    "reason": pl.String,
}


def audit_deductions(
    session: Session,
    region_code: str,
    periods: list[str],
    hospital_code: str | None = None,
) -> pl.DataFrame:
    """The intelligent-audit deductions (智能审核扣款) entered in ``periods``: one row
    per decided finding (ADR 0024), sorted by period, hospital and finding."""
    d = SettlementAuditDeduction
    stmt = (
        select(d.period_code, d.hospital_code, d.finding_id, d.jr_id, d.rule_id, d.amount, d.reason)
        .where(d.region_code.startswith(region_prefix(region_code)), d.period_code.in_(periods))
        .order_by(d.period_code, d.hospital_code, d.finding_id)
    )
    if hospital_code is not None:
        stmt = stmt.where(d.hospital_code == hospital_code)
    return pl.DataFrame(
        [tuple(r) for r in session.execute(stmt)], schema=AUDIT_SCHEMA, orient="row"
    )


def audit_deduction_version(
    session: Session, region_code: str, period: str, hospital_code: str | None
) -> tuple[int, int]:
    """The count and last id of a period's audit deductions in scope (written once,
    never changed): part of the statement cache key."""
    d = SettlementAuditDeduction
    stmt = select(func.count(d.id), func.max(d.id)).where(
        d.region_code.startswith(region_prefix(region_code)), d.period_code == period
    )
    if hospital_code is not None:
        stmt = stmt.where(d.hospital_code == hospital_code)
    count, last = session.execute(stmt).one()
    return int(count or 0), int(last or 0)
