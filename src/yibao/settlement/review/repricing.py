"""The fund part of a case paid a decided amount (special case, adjustment).

A special case (特例单议) approved "按核定金额" and an adjustment (调整扣减 / 调增) of a
case priced on a standard-like basis (the DRG standard, the high-case excess, a DIP
score) change the payment A; the fund part then follows the case's **own fund
formula** at the new A — the national formula max(0, (A − 全自费 − 先自付 − 起付线) ×
ratio) with the insured place's deductible and ratio (or bands) and the annual cap,
or the local one A − patient payment − other funds — exactly as the pricing engine
prices an approved special case with that amount (ADR 0006 §3).  A special case paid
by items gets the case's actual pooled fund; an adjustment of an item-paid case
scales its fund like its payment (the engine's rule for a hospital paid less than
the item fees).

Before (ADR 0008, 0010) every decided amount scaled the fund (× new ÷ original):
with a deductible or a ratio below 1 that is not the formula's fund at the new
amount (a standard of 10,000 with 1,800 borne by the patient and 90 % gives 7,380;
paid 30,000 by decision the formula gives 25,380, the scaling 22,140).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from yibao.benefits.service import policy_set
from yibao.cases.models import Case
from yibao.engines.settlement import PricingParams
from yibao.engines.settlement.frames import SettlementCase
from yibao.engines.settlement.pricing import STANDARD_BASES
from yibao.engines.settlement.single import PricedCase, price_case
from yibao.settlement.models import CasePricing

CENT = Decimal("0.01")


def _formula(pricing: CasePricing) -> Any:
    terms = pricing.terms if isinstance(pricing.terms, dict) else {}
    formula = terms.get("fund_formula")
    return formula if formula in ("national", "local") else "national"


def _settlement_case(case: Case, pricing: CasePricing, payment: Decimal | None) -> SettlementCase:
    return SettlementCase(
        setl_id=case.setl_id,
        hospital_code=case.hospital_code,
        hospital_level=case.hospital.level,  # type: ignore[arg-type]
        region_code=case.region_code,
        insured_region_code=case.insured_region_code,
        insutype=case.insutype,
        discharge_date=case.discharge_date,
        los_days=case.los_days,
        drg=pricing.drg[:400] or None,
        total_cost=case.total_cost,
        self_pay_full=case.self_pay_full,
        self_pay_first=case.self_pay_first,
        fund_payment=case.fund_payment,
        account_payment=case.account_payment,
        cash_payment=case.cash_payment,
        special_case="approved",
        special_payment=payment,
    )


def priced_special(
    session: Session, case: Case, pricing: CasePricing, payment: Decimal | None
) -> PricedCase:
    """``case`` priced as an approved special case paid ``payment`` (``None``: by
    items), with the policies and fund formula it was priced under."""
    params = PricingParams(missing_policy="actual", fund_formula=_formula(pricing))
    return price_case(_settlement_case(case, pricing, payment), None, policy_set(session), params)


def standard_based(pricing: CasePricing) -> bool:
    """Whether the case was paid on a standard-like basis (its fund by the formula)."""
    terms = pricing.terms if isinstance(pricing.terms, dict) else {}
    return terms.get("payment_basis") in STANDARD_BASES


def scaled_fund(fund: Decimal, original: Decimal, adjusted: Decimal) -> Decimal:
    """The fund part scaled like the payment, half up to the fen (the engine's rule for
    an item-paid case paid less than its basis: × payment ÷ basis, ADR 0006)."""
    if original == 0:
        return fund
    return (fund * adjusted / original).quantize(CENT, rounding=ROUND_HALF_UP)


def adjusted_fund(
    session: Session, case: Case | None, pricing: CasePricing, payment: Decimal
) -> Decimal:
    """The fund part of ``case`` (priced ``pricing``) paid ``payment`` after an
    adjustment: the case's fund formula at ``payment`` for a standard-like basis,
    else scaled like the payment (module docstring)."""
    if case is None or not standard_based(pricing):
        return scaled_fund(pricing.fund_amount, pricing.drg_payment, payment)
    return priced_special(session, case, pricing, payment).fund_amount
