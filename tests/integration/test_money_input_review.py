"""Money amounts typed by people must be refused cleanly when out of bounds.

* a finding's 初审 amount of ``1E+30`` (30 characters allowed by the API schema)
  escapes the bound check as a raw ``decimal.InvalidOperation`` (a 500), not a 422;
* a statement's advances (已预付金额) take negative amounts and fractions of a fen,
  so the net payable can be raised at will or shown with sub-fen precision."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from tests import builders as b
from yibao.audit.service import Actor
from yibao.db.scoping import SYSTEM_SCOPE, set_scope
from yibao.kit.errors import ValidationFailed
from yibao.settlement.statements.service import _advances
from yibao.supervision.findings.models import Finding
from yibao.supervision.findings.service import do_first_decision


def test_first_decision_huge_amount_is_a_clean_422(db: Session) -> None:
    set_scope(db, SYSTEM_SCOPE)
    b.region(db)
    h = b.hospital(db)
    reviewer = b.user(db, "bureau_reviewer", username="rev_j1")
    finding = Finding(
        jr_id="JRJ0001",
        source="rule",
        rule_id="R001",
        rule_version=1,
        rule_name="重复收费",
        family="duplicate",
        result_type="violation",
        sev_deg=2,
        hospital_code=h.code,
        hospital_id=h.id,
        region_code=h.region_code,
        period="2024-03",
        vola_cont="重复收费",
        vola_evid="明细",
        vola_amt=Decimal("100.00"),
        lines=[],
        state="answered",
    )
    db.add(finding)
    db.commit()
    with pytest.raises(ValidationFailed):
        do_first_decision(
            db,
            finding.id,
            uphold=True,
            amount="1E+30",
            reason="初审维持",
            user=reviewer,
            actor=Actor(reviewer.id, "审核员"),
        )


@pytest.mark.parametrize("amount", ["-500000", "0.001"])
def test_statement_advances_are_bounded(amount: str) -> None:
    """An advance already paid is ≥ 0 and in whole fen."""
    with pytest.raises(ValidationFailed):
        _advances(json.dumps({"H1": amount}))
