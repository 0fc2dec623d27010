"""DRG case pricing — fund formula terms, reason codes and policy matching."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from yibao.engines.settlement import (
    BenefitPolicy,
    PolicySet,
    PricingParams,
    benefit_split,
    demo_policies,
    price_batch,
)

from .conftest import D, case, frame, standards

TABLE = standards(("AA19", "3", "9000", "1.0"))


def _v1() -> BenefitPolicy:
    found = [p for p in demo_policies().usable() if p.key == "990100-310-IP@v1"]
    assert found, "demo policy 990100-310-IP@v1 (三级: 起付线 800, 80 %)"
    return found[0]


def test_per_stay_deductible_is_not_reduced_by_the_year_to_date() -> None:
    """A policy with ``deductible_per="stay"`` (ADR 0017: each inpatient settlement pays
    its own full deductible) must not take the year's deductible already paid off the
    起付线.  Case: standard 9,000, 全自费 500, 先自付 300, 起付线 800 (per stay), 80 %:
    fund = (9,000 − 500 − 300 − 800) × 80 % = 5,920.00, whatever ``deductible_paid``.
    Pricing reads ``deductible_paid`` = 800 and uses 起付线 0: (8,200) × 80 % = 6,560.00.
    The real-time engine (realtime_parts.basic_part) honours ``deductible_per``."""
    stay = BenefitPolicy.model_validate({**_v1().model_dump(), "deductible_per": "stay"})
    policies = PolicySet([stay])
    c = case(deductible_paid=800)
    row = price_batch(frame(c), TABLE, policies, PricingParams()).row(0, named=True)
    assert row["fund_amount"] == D("5920.00")
    assert row["term_deductible"] == D("800.00")
    # benefit split of the total cost: (10,000 − 800 − 800) × 80 % = 6,720.00
    assert benefit_split(c, policies).fund == D("6720.00")


def test_fund_zero_reason_only_when_the_bracket_is_not_positive() -> None:
    """FUND_ZERO means "公式括号内不大于 0". A case whose bracket is 9,000 − 500 − 300 −
    800 = 7,400 > 0 but whose fund is 0 because the person already reached the annual
    cap (400,000 paid this year) is FUND_CAPPED, not FUND_ZERO."""
    c = case(fund_paid_ytd=400000)
    row = price_batch(frame(c), TABLE, demo_policies(), PricingParams()).row(0, named=True)
    assert row["fund_amount"] == D("0.00")
    assert "FUND_CAPPED" in row["reason_codes"]
    assert "FUND_ZERO" not in row["reason_codes"]


def test_one_priced_row_per_case_with_drafts() -> None:
    """``include_drafts`` (simulation): a draft version overlapping the published one of
    the same place and insutype (the normal way a bureau prepares a new version — the
    overlap check skips drafts) must still give one priced row per case.  The
    vectorised policy join matches both versions and returns the case twice (two fund
    amounts, 5,920.00 and 6,750.00), so any total over the frame double-counts it;
    ``benefit_split`` picks one policy."""
    data = _v1().model_dump()
    published = BenefitPolicy.model_validate({**data, "valid_to": None})
    levels = {**data["levels"], "3": {"deductible": "700", "ratio": "0.9"}}
    draft = BenefitPolicy.model_validate(
        {
            **data,
            "version": 9,
            "status": "draft",
            "valid_from": date(2024, 1, 1),
            "valid_to": None,
            "levels": levels,
        }
    )
    policies = PolicySet([published, draft])
    out = price_batch(frame(case()), TABLE, policies, PricingParams(include_drafts=True))
    assert out.height == 1
    one = benefit_split(case(), policies, include_drafts=True)
    assert out["policy_key"][0] == one.policy_key
    assert isinstance(out["fund_amount"][0], Decimal)
