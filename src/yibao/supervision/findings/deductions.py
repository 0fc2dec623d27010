"""The deduction row of a final upheld finding (ADR 0024, 0041): the month whose
statement takes it and what it takes, per fee line (:mod:`.feelines`)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.audit.service import Actor
from yibao.regions.models import region_prefix
from yibao.settlement.models import SettlementAuditDeduction, SettlementPeriod
from yibao.supervision.findings.feelines import Take
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.rules import now


def deduction_period(session: Session, finding: Finding, on: date) -> str:
    """The month whose statement takes the deduction: the month of the decision, or the
    first later month whose settlement period is not closed (ADR 0024)."""
    month = date(on.year, on.month, 1)
    closed = {
        (p.region_code, p.code)
        for p in session.scalars(
            select(SettlementPeriod).where(
                SettlementPeriod.status == "closed", SettlementPeriod.code >= f"{month:%Y-%m}"
            )
        )
    }

    def is_closed(code: str) -> bool:
        return any(
            c == code and finding.region_code.startswith(region_prefix(r)) for r, c in closed
        )

    while is_closed(f"{month:%Y-%m}"):
        month = (month + timedelta(days=32)).replace(day=1)
    return f"{month:%Y-%m}"


def deduction_row(
    finding: Finding, period: str, took: Take, reason: str, actor: Actor
) -> SettlementAuditDeduction:
    """The row entered in ``period``'s statement: what ``took`` takes, line by line."""
    return SettlementAuditDeduction(
        finding_id=finding.id,
        hospital_id=finding.hospital_id,
        region_code=finding.region_code,
        jr_id=finding.jr_id,
        rule_id=finding.rule_id,
        hospital_code=finding.hospital_code,
        period_code=period,
        amount=took.amount,
        reason=reason[:500],
        lines=took.lines,
        created_by=actor.name,
        created_at=now(),
    )
