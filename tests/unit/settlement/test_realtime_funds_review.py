"""Real-time settlement benefit computation: cases found in review
(ADR 0017), each a hand-computed example the engine once got wrong."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from yibao.engines.catalogue.classify import FeeSplit
from yibao.engines.insured.cumulative import Cumulative
from yibao.engines.settlement import BenefitPolicy, SettlementError, demo_policies
from yibao.engines.settlement.realtime import PersonFacts, settle_visit


def D(value: str | int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _employee_policy() -> BenefitPolicy:
    found = demo_policies().find("990102", "310", date(2025, 3, 1))
    assert found is not None
    return found


def test_basic_fund_with_its_own_fund_pay_type_settles() -> None:
    # ADR 0017: "fund_pay_type of the basic fund; default from the insutype … Another
    # insutype must name it".  A policy for insutype 340 naming its basic fund 340100
    # is valid (the validator accepts any 6-digit code).  三级 起付线 700, 82 %:
    # 范围内 10,000 → (10,000 − 700) × 0.82 = 7,626.00 paid by 340100, one
    # setldetail row, fund_pay_sumamt 7,626.00, 个人 2,374.00.
    # Today: check_identities sums only the rows whose code is in FUND_TYPES
    # (Settled.fund_details), misses the 340100 row and refuses every settlement in
    # which the fund pays: "结算恒等式不成立：基金明细之和 ≠ 基金支付合计".
    data = _employee_policy().model_dump(exclude={"large_amount"})
    data.update(code="990100-340-IP", insutype="340", fund_pay_type="340100")
    pol = BenefitPolicy.model_validate(data)
    split = FeeSplit(D(10000), D(0), D(0), D(0), D(10000))
    s = settle_visit(
        split,
        pol,
        hospital_level="3",
        scope="local",
        inpatient=True,
        person=PersonFacts("340", False, (), None),
        ytd=Cumulative(2025),
        acct_used=False,
    )
    assert (s.hifp_pay, s.fund_pay_sumamt, s.psn_part_amt) == (D(7626), D(7626), D(2374))
    assert [(d.fund_pay_type, d.fund_payamt) for d in s.fund_details] == [("340100", D(7626))]
    assert s.delta.values["fund:340100"] == D(7626)


def _settle_aid(identities: tuple[str, ...]) -> Decimal:
    # 特困 (2101) 100 % up to 10,000 a year; 低保 (2102) 70 % up to 50,000 a year
    data = _employee_policy().model_dump(exclude={"large_amount", "civil_servant"})
    data["medical_aid"] = {
        "identities": {
            "2101": {"ratio": "1.00", "annual_cap": "10000"},
            "2102": {"ratio": "0.70", "annual_cap": "50000"},
        }
    }
    pol = BenefitPolicy.model_validate(data)
    split = FeeSplit(D(100000), D(0), D(0), D(0), D(100000))
    s = settle_visit(
        split,
        pol,
        hospital_level="3",
        scope="local",
        inpatient=True,
        person=PersonFacts("310", False, identities, None),
        ytd=Cumulative(2025),
        acct_used=False,
    )
    assert s.hifp_pay == D(81426)  # (100,000 − 700) × 0.82
    return s.maf_pay


def test_medical_aid_uses_the_most_favourable_identity() -> None:
    # ADR 0017 step 5 / MedicalAidLayer.best: "the person's most favourable identity".
    # 范围内 100,000 at 三级 (700, 82 %): 统筹 81,426.00, 救助 base 18,574.00.
    #   特困 alone: min(18,574 × 100 %, cap 10,000) = 10,000.00
    #   低保 alone: min(18,574 × 70 % = 13,001.80, cap 50,000) = 13,001.80
    # A person holding both must get at least 13,001.80.  Today best() ranks by ratio
    # before looking at what the identity can still pay, picks 特困 and pays
    # 10,000.00: holding one more identity costs the person 3,001.80.
    assert _settle_aid(("2101",)) == D(10000)
    assert _settle_aid(("2102",)) == D("13001.80")
    assert _settle_aid(("2101", "2102")) == D("13001.80")


def test_basic_fund_code_of_a_layer_is_refused_or_posted_whole() -> None:
    # BenefitPolicy accepts any 6-digit basic fund_pay_type, also the code of one of
    # its own layers (here 320100, the civil-servant layer's).  Then realtime_parts.post
    # builds funds = {code: pay} and the layer's entry overwrites the basic fund's:
    # 三级 范围内 10,000, 公务员: 统筹 (10,000 − 700) × 0.82 = 7,626.00, 公务员
    # 2,374 × 0.60 = 1,424.40, setlinfo fund_pay_sumamt 9,050.40, but the posted
    # delta says fund_pay_sumamt 1,424.40 (medfee 10,000 ≠ 1,424.40 + cash 949.60).
    # Either the policy is refused or the figures posted must add up.
    data = _employee_policy().model_dump()
    data["fund_pay_type"] = "320100"
    try:
        pol = BenefitPolicy.model_validate(data)
    except (ValueError, SettlementError):
        return  # refused: fine
    split = FeeSplit(D(10000), D(0), D(0), D(0), D(10000))
    try:
        s = settle_visit(
            split,
            pol,
            hospital_level="3",
            scope="local",
            inpatient=True,
            person=PersonFacts("310", True, (), None),
            ytd=Cumulative(2025),
            acct_used=False,
        )
    except SettlementError:
        return  # refused at settlement: fine
    assert s.fund_pay_sumamt == D("9050.40")
    posted = s.delta.values
    assert posted["fund_pay_sumamt"] == s.fund_pay_sumamt
    assert posted["medfee_sumamt"] == posted["fund_pay_sumamt"] + posted["psn_cash_pay"]
