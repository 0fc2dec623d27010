"""Real-time settlement of one visit (ADR 0017): hand-computed examples, then
properties over random fees, persons and figures of the year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.engines.catalogue.classify import FeeSplit
from yibao.engines.insured.cumulative import Cumulative
from yibao.engines.insured.messages import IDENTITIES
from yibao.engines.settlement import BenefitPolicy, SettlementError, demo_policies, load_policies
from yibao.engines.settlement.realtime import (
    MONEY_FIELDS,
    PersonFacts,
    Settled,
    settle_visit,
)

DEMO_980100 = Path(__file__).resolve().parents[2] / "src/yibao/demo/policies/980100.json"
ALL = (*demo_policies().policies, *load_policies(DEMO_980100).policies)


def D(value: str | int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def fees(full: str = "0", over: str = "0", pre: str = "0", inscp: str = "0") -> FeeSplit:
    parts = [D(full), D(over), D(pre), D(inscp)]
    return FeeSplit(sum(parts, D(0)), *parts)


def person(
    insutype: str = "310",
    *,
    civil: bool = False,
    ids: tuple[str, ...] = (),
    balance: str | None = None,
) -> PersonFacts:
    return PersonFacts(insutype, civil, ids, None if balance is None else D(balance))


def ytd(**values: str) -> Cumulative:
    return Cumulative(2025, {k.replace("__", ":"): Decimal(v) for k, v in values.items()})


def policy(insutype: str = "310", region: str = "990102") -> BenefitPolicy:
    found = demo_policies().find(region, insutype, date(2025, 3, 1))
    assert found is not None
    return found


def settle(
    split: FeeSplit,
    pol: BenefitPolicy | None = None,
    *,
    level: str = "3",
    scope: str = "local",
    inpatient: bool = True,
    who: PersonFacts | None = None,
    figures: Cumulative | None = None,
    acct_used: bool = True,
) -> Settled:
    pol = pol or policy()
    return settle_visit(
        split,
        pol,
        hospital_level=level,
        scope=scope,
        inpatient=inpatient,
        person=who or person(pol.insutype),
        ytd=figures or Cumulative(2025),
        acct_used=acct_used,
    )


# ------------------------------------------------------------------ hand-computed


def test_local_employee_tertiary_inpatient() -> None:
    # 990100 职工 v2 三级: 起付线 700, 82 %.  全自费 1,000 + 超限价 200 + 先自付 300 +
    # 范围内 8,500 = 10,000.  统筹 (8,500 − 700) × 0.82 = 6,396.00;
    # 大额 base 8,500 − 6,396 = 2,104 (cumulative < 20,000 threshold → 0);
    # 个人负担 10,000 − 6,396 = 3,604.00, no account → all cash.
    s = settle(fees("1000", "200", "300", "8500"))
    assert (s.hifp_pay, s.act_pay_dedc, s.pool_prop_selfpay) == (D(6396), D(700), Decimal("0.8200"))
    assert (s.fund_pay_sumamt, s.psn_part_amt, s.psn_cash_pay) == (D(6396), D(3604), D(3604))
    assert (s.acct_pay, s.balc, s.setlinfo()["balc"]) == (D(0), None, D(0))
    assert s.hifob_pay == s.cvlserv_pay == s.maf_pay == D(0)
    assert [d.fund_pay_type for d in s.details] == ["310100"]
    assert s.details[0].crt_payb_lmt_amt == D(450000)
    assert s.delta.values == {
        "medfee_sumamt": D(10000),
        "inscp_scp_amt": D(8500),
        "act_pay_dedc": D(700),
        "fund:310100": D(6396),
        "fund_pay_sumamt": D(6396),
        "psn_cash_pay": D(3604),
        "ipt_cnt": Decimal(1),
        "ipt_hifp": D(6396),
        "large_base": D(2104),
    }
    assert "(政策范围内 8500.00 − 700.00) × 82% = 6396.00" in s.details[0].setl_proc_info
    assert any("起付线 700.00" in line for line in s.explanation)


def test_resident_with_cost_bands_and_critical_illness() -> None:
    # 990200 居民 三级: 起付线 1,200; 0–10,000 55 %, 10,000–50,000 60 %, above 65 %.
    # 全自费 2,000 + 范围内 30,000.  统筹 (10,000 − 1,200) × 0.55 + (30,000 − 10,000)
    # × 0.60 = 4,840 + 12,000 = 16,840.00; effective ratio 16,840 / 28,800 = 0.5847.
    # 大病 390200: base 30,000 − 16,840 = 13,160; cumulative 10,000 → 23,160, above the
    # 15,000 threshold 0 → 8,160, × 60 % = 4,896.00.  个人 32,000 − 21,736 = 10,264.
    pol = policy("390", "990202")
    s = settle(fees(full="2000", inscp="30000"), pol, figures=ytd(large_base="10000"))
    assert (s.hifp_pay, s.pool_prop_selfpay) == (D(16840), Decimal("0.5847"))
    assert (s.hifmi_pay, s.hifob_pay) == (D(4896), D(0))
    assert (s.fund_pay_sumamt, s.psn_part_amt) == (D(21736), D(10264))
    assert [d.fund_pay_type for d in s.details] == ["390100", "390200"]
    assert s.details[1].inscp_scp_amt == D(13160)
    assert s.delta.values["large_base"] == D(13160)
    assert s.delta.values["fund:390200"] == D(4896)


def test_second_stay_carries_the_deductible_and_figures() -> None:
    # 1st stay 二级 (起付线 400, 86 %): 范围内 2,000 → (2,000 − 400) × 0.86 = 1,376.00.
    # 2nd stay 三级 (起付线 700): 400 already paid → 300 left; 范围内 5,000 →
    # (5,000 − 300) × 0.82 = 3,854.00, act_pay_dedc 300.
    first = settle(fees(inscp="2000"), level="2")
    assert (first.hifp_pay, first.act_pay_dedc) == (D(1376), D(400))
    figures = Cumulative(2025).plus(first.delta)
    second = settle(fees(inscp="5000"), figures=figures)
    assert (second.hifp_pay, second.act_pay_dedc) == (D(3854), D(300))
    after = figures.plus(second.delta)
    assert after.get("act_pay_dedc") == D(700) and after.get("ipt_cnt") == 2
    assert after.get("ipt_hifp") == after.fund_paid("310100") == D(5230)
    assert after.get("large_base") == D(624 + 1146)  # (2,000 − 1,376) + (5,000 − 3,854)
    # a third stay: the deductible is used up
    third = settle(fees(inscp="1000"), figures=after)
    assert (third.hifp_pay, third.act_pay_dedc) == (D(820), D(0))


def test_cap_reached_mid_settlement_then_the_large_layer_pays() -> None:
    # cap 450,000, 445,000 paid → room 5,000; raw 20,000 × 0.82 = 16,400 → 5,000.
    # 大额: base 20,000 − 5,000 = 15,000; cumulative 30,000 → 45,000, i.e. 10,000 →
    # 25,000 above the 20,000 threshold, all in the first band: 15,000 × 0.80 = 12,000.
    figures = ytd(act_pay_dedc="700", ipt_hifp="445000", large_base="30000", fund__330100="8000")
    s = settle(fees(inscp="20000"), figures=figures)
    assert (s.hifp_pay, s.hifob_pay, s.psn_part_amt) == (D(5000), D(12000), D(3000))
    basic, large = s.details
    assert (basic.crt_payb_lmt_amt, basic.fund_payamt) == (D(5000), D(5000))
    assert (large.fund_pay_type, large.crt_payb_lmt_amt) == ("330100", D(292000))
    assert "已达封顶线" in basic.setl_proc_info
    # the large layer's own cap: 295,000 of 300,000 paid → pays 5,000
    figures = ytd(act_pay_dedc="700", ipt_hifp="450000", large_base="30000", fund__330100="295000")
    s = settle(fees(inscp="20000"), figures=figures)
    assert (s.hifp_pay, s.hifob_pay, s.psn_part_amt) == (D(0), D(5000), D(15000))


def test_medical_aid_for_a_dibao_person() -> None:
    # 990100 居民 三级: 起付线 1,000, 60 %.  全自费 500 + 范围内 6,000.  统筹
    # (6,000 − 1,000) × 0.6 = 3,000; 大病 base 3,000 < 15,000 → 0; 低保 (70 %) beats
    # 脱贫 (60 %): 救助 3,000 × 0.70 = 2,100.00; 个人 6,500 − 5,100 = 1,400.
    pol = policy("390")
    who = person("390", ids=("2104", "2102"))
    s = settle(fees(full="500", inscp="6000"), pol, who=who)
    assert (s.hifp_pay, s.hifmi_pay, s.maf_pay, s.psn_part_amt) == (D(3000), D(0), D(2100), D(1400))
    assert s.details[-1].fund_pay_type == "610100"
    assert "最低生活保障对象" in s.details[-1].setl_proc_info
    # 49,000 of the 50,000 aid cap used → 1,000
    s = settle(fees(full="500", inscp="6000"), pol, who=who, figures=ytd(fund__610100="49000"))
    assert (s.maf_pay, s.details[-1].crt_payb_lmt_amt) == (D(1000), D(1000))
    # an identity the policy does not list (or the register's unknown code) gets no aid
    s = settle(fees(full="500", inscp="6000"), pol, who=person("390", ids=("9999",)))
    assert s.maf_pay == D(0) and "无符合条件的救助对象身份" in s.explanation[-3]


def test_civil_servant_after_basic_and_large() -> None:
    # 职工 三级, 范围内 10,000: 统筹 (10,000 − 700) × 0.82 = 7,626; base 2,374 (大额 0);
    # 公务员 2,374 × 0.60 = 1,424.40; 个人 10,000 − 9,050.40 = 949.60.
    s = settle(fees(inscp="10000"), who=person(civil=True))
    assert (s.hifp_pay, s.cvlserv_pay, s.psn_part_amt) == (D(7626), D("1424.40"), D("949.60"))
    assert s.details[1].inscp_scp_amt == D(2374)
    # a 居民 policy has no civil-servant layer: the flag changes nothing
    s = settle(fees(inscp="10000"), policy("390"), who=person("390", civil=True))
    assert s.cvlserv_pay == D(0)


def test_account_with_insufficient_balance() -> None:
    # 全自费 300 + 范围内 2,000: 统筹 (2,000 − 700) × 0.82 = 1,066; 个人 1,234;
    # 账户 min(500, 1,234) = 500, 现金 734, 余额 0.
    s = settle(fees(full="300", inscp="2000"), who=person(balance="500"))
    assert (s.psn_part_amt, s.acct_pay, s.psn_cash_pay, s.balc) == (D(1234), D(500), D(734), D(0))
    assert s.details[-1].fund_pay_type == "310200"
    assert s.details[-1].fund_payamt == D(500)
    assert sum(d.fund_payamt for d in s.fund_details) == s.fund_pay_sumamt
    assert s.delta.acct_pay == D(500)
    unused = settle(fees(full="300", inscp="2000"), who=person(balance="500"), acct_used=False)
    assert (unused.acct_pay, unused.psn_cash_pay, unused.balc) == (D(0), D(1234), D(500))
    rich = settle(fees(full="300", inscp="2000"), who=person(balance="5000"))
    assert (rich.acct_pay, rich.psn_cash_pay, rich.balc) == (D(1234), D(0), D(3766))


@pytest.mark.parametrize(
    ("scope", "hifp", "ratio"),
    [
        ("local", "7626.00", "0.8200"),  # (10,000 − 700) × 82 %
        ("in_province", "6120.00", "0.7200"),  # (10,000 − 1,500) × (82 − 10) %
        ("out_of_province", "5025.00", "0.6700"),  # (10,000 − 2,500) × (82 − 15) %
    ],
)
def test_cross_region_uses_the_insured_place_rules(scope: str, hifp: str, ratio: str) -> None:
    s = settle(fees(inscp="10000"), scope=scope)
    assert (s.scope, s.hifp_pay, s.pool_prop_selfpay) == (scope, D(hifp), Decimal(ratio))


def test_outpatient_has_its_own_deductible_and_cap() -> None:
    # 门诊统筹 三级: 起付线 800, 50 %, cap 5,000.  全自费 200 + 范围内 1,000:
    # (1,000 − 800) × 0.5 = 100.00; the deductible goes to otp_dedc, not act_pay_dedc.
    who = person(civil=True, ids=("2102",))
    s = settle(fees(full="200", inscp="1000"), inpatient=False, who=who)
    assert (s.hifp_pay, s.act_pay_dedc, s.pool_prop_selfpay) == (D(100), D(800), Decimal("0.5"))
    assert s.cvlserv_pay == s.maf_pay == s.hifob_pay == D(0)  # no layers for outpatient
    assert s.delta.values["otp_dedc"] == D(800) and "act_pay_dedc" not in s.delta.values
    assert s.delta.values["otp_hifp"] == s.delta.values["fund:310100"] == D(100)
    assert s.delta.values["otp_cnt"] == 1 and "large_base" not in s.delta.values
    # the inpatient deductible paid does not count for outpatient, the outpatient cap does
    figures = ytd(act_pay_dedc="700", otp_dedc="800", otp_hifp="4950")
    s = settle(fees(inscp="1000"), inpatient=False, figures=figures)
    assert (s.hifp_pay, s.act_pay_dedc, s.details[0].crt_payb_lmt_amt) == (D(50), D(0), D(50))
    # outpatient does not use the inpatient figures: an inpatient stay after it
    s = settle(fees(inscp="1000"), figures=figures)
    assert (s.hifp_pay, s.act_pay_dedc) == (D(820), D(0))
    # out of province: the outpatient section's own rule (ratio − 15 points, same deductible)
    s = settle(fees(inscp="1000"), inpatient=False, scope="out_of_province")
    assert (s.hifp_pay, s.pool_prop_selfpay) == (D(70), Decimal("0.35"))


def test_deductible_per_stay() -> None:
    # each stay pays its own 700: (5,000 − 700) × 0.82 = 3,526.00 although 700 was paid
    pol = policy().model_copy(update={"deductible_per": "stay"})
    s = settle(fees(inscp="5000"), pol, figures=ytd(act_pay_dedc="700"))
    assert (s.hifp_pay, s.act_pay_dedc) == (D(3526), D(700))
    assert "按次计算" in s.details[0].setl_proc_info
    yearly = settle(fees(inscp="5000"), figures=ytd(act_pay_dedc="700"))
    assert yearly.hifp_pay == D(4100)


def test_reversal_negates_and_restores() -> None:
    who = person(civil=True, ids=("2101",), balance="800")
    s = settle(fees("100", "50", "25", "5000"), who=who)
    r = s.reversed()
    for name in MONEY_FIELDS:
        assert getattr(s, name) + getattr(r, name) == 0, name
    assert r.pool_prop_selfpay == s.pool_prop_selfpay
    assert r.balc == D(800) and s.reversed(balance=D("123.45")).balc == D("123.45")
    assert r.explanation[0].startswith("撤销结算")
    figures = ytd(act_pay_dedc="100")
    assert figures.plus(s.delta).plus(r.delta) == figures


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"who": person("390")}, "insutype", "参保人险种 390 与待遇政策"),
        ({"level": "4"}, "hospital_level", "医院等级须为 1、2、3"),
        ({"scope": "abroad"}, "hospital_level", "就医范围须为"),
        ({"who": person(balance="-1")}, "balc", "个人账户余额不能为负数"),
    ],
)
def test_refusals_are_chinese_and_name_the_field(
    kwargs: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(SettlementError) as err:
        settle(fees(inscp="1000"), **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field and words in err.value.message


def test_outpatient_needs_an_outpatient_section_and_fees_must_add_up() -> None:
    pol = policy().model_copy(update={"outpatient": None})
    with pytest.raises(SettlementError) as err:
        settle(fees(inscp="1000"), pol, inpatient=False)
    assert err.value.field == "outpatient" and "没有门诊统筹待遇（outpatient）" in err.value.message
    bad = FeeSplit(D(100), D(0), D(0), D(0), D(99))
    with pytest.raises(SettlementError, match="medfee_sumamt：医疗费总额须等于"):
        settle(bad)
    with pytest.raises(SettlementError, match="费用不能为负数"):
        settle(FeeSplit(D(0), D(-5), D(0), D(0), D(5)))


def test_old_policies_settle_as_before() -> None:
    # a policy without any of the new fields: basic fund from the insutype, no layers
    data = policy().model_dump(
        exclude={"large_amount", "civil_servant", "medical_aid", "outpatient", "fund_pay_type"}
    )
    plain = BenefitPolicy.model_validate(data)
    s = settle(fees(inscp="10000"), plain, who=person(civil=True, ids=("2101",)))
    assert (s.hifp_pay, s.fund_pay_sumamt) == (D(7626), D(7626))
    assert [d.fund_pay_type for d in s.details] == ["310100"]
    assert any("本政策未设" in line for line in s.explanation)


# ------------------------------------------------------------------ properties


def _yuan(top_fen: int) -> st.SearchStrategy[Decimal]:
    return st.integers(0, top_fen).map(lambda f: Decimal(f) / 100)


_money = _yuan(30_000_000)
_fees = st.tuples(_money, _money, _money, _yuan(60_000_000))
_person_parts = st.tuples(
    st.booleans(),
    st.lists(st.sampled_from(sorted(IDENTITIES)), max_size=3, unique=True),
    st.one_of(st.none(), _yuan(2_000_000)),
)
_figure = _yuan(50_000_000)
_ytd = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        (
            "act_pay_dedc",
            "ipt_hifp",
            "otp_dedc",
            "otp_hifp",
            "large_base",
            "fund:330100",
            "fund:390200",
            "fund:320100",
            "fund:610100",
        ),
        _figure,
    ),
)
_visit = st.tuples(
    st.sampled_from(ALL),
    st.sampled_from(("1", "2", "3")),
    st.sampled_from(("local", "in_province", "out_of_province")),
    st.booleans(),
    st.booleans(),
)


def _split(parts: tuple[Decimal, Decimal, Decimal, Decimal]) -> FeeSplit:
    return FeeSplit(sum(parts, Decimal("0.00")), *parts)


@settings(max_examples=300, deadline=None)
@given(_fees, _person_parts, _ytd, _visit)
def test_identities_and_reversal_hold(
    parts: tuple[Decimal, Decimal, Decimal, Decimal],
    who: tuple[bool, list[str], Decimal | None],
    figures: dict[str, Decimal],
    visit: tuple[BenefitPolicy, str, str, bool, bool],
) -> None:
    pol, level, scope, inpatient, acct_used = visit
    facts = PersonFacts(pol.insutype, who[0], tuple(who[1]), who[2])
    before = Cumulative(2025, {k: v for k, v in figures.items() if v})
    s = settle(
        _split(parts),
        pol,
        level=level,
        scope=scope,
        inpatient=inpatient,
        who=facts,
        figures=before,
        acct_used=acct_used,
    )
    parts_sum = s.fulamt_ownpay_amt + s.overlmt_selfpay + s.preselfpay_amt + s.inscp_scp_amt
    assert s.medfee_sumamt == parts_sum == s.fund_pay_sumamt + s.psn_part_amt + s.hosp_part_amt
    assert s.psn_part_amt == s.acct_pay + s.psn_cash_pay
    assert sum(d.fund_payamt for d in s.fund_details) == s.fund_pay_sumamt
    assert all(d.fund_payamt > 0 and d.fund_payamt <= d.inscp_scp_amt for d in s.details)
    assert all(d.fund_payamt <= d.crt_payb_lmt_amt for d in s.details)
    assert min(s.hifp_pay, s.hifmi_pay, s.hifob_pay, s.cvlserv_pay, s.maf_pay, s.psn_cash_pay) >= 0
    assert s.fund_pay_sumamt <= s.inscp_scp_amt
    if facts.balance is not None:
        assert s.balc == facts.balance - s.acct_pay >= 0
    r = s.reversed()
    assert all(getattr(s, n) + getattr(r, n) == 0 for n in MONEY_FIELDS)
    assert sum(d.fund_payamt for d in s.details + r.details) == 0
    assert before.plus(s.delta).plus(r.delta) == before
    assert r.balc == facts.balance


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([p for p in ALL if p.large_amount is not None]),
    _person_parts,
    st.lists(st.tuples(_fees, st.sampled_from("123"), st.booleans()), min_size=1, max_size=12),
)
def test_a_year_of_settlements_never_exceeds_a_cap(
    pol: BenefitPolicy,
    who: tuple[bool, list[str], Decimal | None],
    visits: list[tuple[tuple[Decimal, Decimal, Decimal, Decimal], str, bool]],
) -> None:
    facts = PersonFacts(pol.insutype, who[0], tuple(who[1]), None)
    figures = Cumulative(2025)
    for parts, level, inpatient in visits:
        s = settle(_split(parts), pol, level=level, inpatient=inpatient, who=facts, figures=figures)
        figures = figures.plus(s.delta)
    assert pol.outpatient is not None and pol.large_amount is not None
    assert figures.get("ipt_hifp") <= pol.annual_cap
    assert figures.get("otp_hifp") <= pol.outpatient.annual_cap
    assert figures.get("ipt_hifp") + figures.get("otp_hifp") == figures.fund_paid(
        pol.basic_fund_type or ""
    )
    assert figures.fund_paid(pol.large_amount.fund_pay_type) <= pol.large_amount.annual_cap
    if pol.civil_servant is not None:
        assert figures.fund_paid("320100") <= pol.civil_servant.annual_cap
    if pol.medical_aid is not None:
        caps = [t.annual_cap for k, t in pol.medical_aid.identities.items() if k in who[1]]
        assert figures.fund_paid("610100") <= max(caps, default=Decimal(0))
