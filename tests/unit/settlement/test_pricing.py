"""Case pricing: every class, both fund formulas, policies, explanations, determinism."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl
import pytest

from yibao.engines.measure import SimulationParams
from yibao.engines.settlement import (
    PRICED,
    REASONS,
    PolicySet,
    PricingParams,
    SettlementError,
    demo_policies,
    price_batch,
    price_case,
)

from .conftest import D, case, frame, standards

NATIONAL = PricingParams()
LOCAL = PricingParams(fund_formula="local")


POLICIES = demo_policies()


def price(std: str | None, params: PricingParams = NATIONAL, **overrides: Any) -> dict[str, Any]:
    standard = None if std is None else Decimal(std)
    row: dict[str, Any] = price_case(case(**overrides), standard, POLICIES, params).row
    return row


def test_normal_case_national_formula() -> None:
    row = price("9000")
    assert row["payment_class"] == "normal"
    assert row["drg_payment"] == D("9000.00")
    assert row["cost_ratio"] == Decimal("1.1111")
    assert (row["high_threshold"], row["low_threshold"]) == (D("27000.00"), D("2700.00"))
    # (9,000 − 全自费 500 − 先自付 300 − 起付线 800) × 80 % (演示市 职工 三级)
    assert row["fund_amount"] == D("5920.00")
    assert (row["term_standard"], row["term_deductible"]) == (D("9000.00"), D("800.00"))
    assert (row["term_self_pay_full"], row["term_self_pay_first"]) == (D("500.00"), D("300.00"))
    assert row["term_ratio"] == Decimal("0.8")
    assert row["policy_key"] == "990100-310-IP@v1"
    assert row["reason_codes"] == ["PAY_STANDARD", "FUND_NATIONAL"]
    assert row["balance"] == D("-1000.00")
    assert row["standard_part"] == D("9000.00") and row["items_part"] == D("0.00")
    text = row["explanation"]
    assert text.startswith("正常病例：费用 10000.00 元为支付标准 9000.00 元的 1.1111 倍")
    assert "(9000.00 − 全自费 500.00 − 先自付 300.00 − 起付线 800.00) × 80%) = 5920.00 元" in text


def test_national_formula_is_zero_when_the_bracket_is_not_positive() -> None:
    # 1,500 − 500 − 300 − 800 = −100 → 0
    row = price("1500", total_cost="1500", fund_payment="200")
    assert (row["payment_class"], row["fund_amount"]) == ("normal", D("0.00"))
    assert "FUND_ZERO" in row["reason_codes"]


def test_normal_case_local_formula() -> None:
    # patient = account + cash = 1,000 + 2,500; other funds 500: 9,000 − 3,500 − 500
    row = price(
        "9000",
        LOCAL,
        account_payment="1000",
        cash_payment="2500",
        fund_payment="6500",
        other_fund_payment="500",
    )
    assert row["fund_formula"] == "local"
    assert row["fund_amount"] == D("5000.00")
    assert (row["term_patient_payment"], row["term_other_funds"]) == (D("3500.00"), D("500.00"))
    assert row["fund_actual"] == D("6000.00")  # pooled fund under item billing
    assert row["term_deductible"] is None and row["policy_key"] is None


def test_beijing_example_from_domain_doc() -> None:
    # domain.md §1.7 / S4: cost 59,444.09, SB11 standard 24,227.05, patient 26,006.32,
    # other funds 12,751.96 → pooled fund 24,227.05 − 26,006.32 − 12,751.96 = −14,531.23;
    # under items the pooled fund would have paid 20,685.81
    c = case(
        drg="SB11",
        total_cost=D("59444.09"),
        fund_payment=D("33437.77"),
        other_fund_payment=D("12751.96"),
    )
    priced = price_case(c, D("24227.05"), None, LOCAL)
    assert priced.fund_amount == D("-14531.23")
    assert priced.row["fund_actual"] == D("20685.81")
    assert priced.row["term_patient_payment"] == D("26006.32")
    assert priced.reason_codes == ("PAY_STANDARD", "FUND_LOCAL", "FUND_CLAWBACK")
    assert "24227.05 − 个人支付 26006.32 − 其他基金 12751.96 = -14531.23 元" in priced.explanation


def test_high_multiplier_by_items_and_by_level() -> None:
    row = price("3000")  # 10,000 > 3 × 3,000 (三级)
    assert row["payment_class"] == "high"
    assert (row["drg_payment"], row["fund_amount"]) == (D("10000.00"), D("6000.00"))
    assert row["reason_codes"] == ["HIGH_MULTIPLIER", "PAY_ITEMS", "FUND_ACTUAL"]
    assert (
        "超过支付标准 3000.00 元的 3 倍（9000.00 元），按项目支付 10000.00 元" in row["explanation"]
    )
    assert price("4000", hospital_level="2")["payment_class"] == "high"  # 10,000 > 2 × 4,000
    assert price("4000")["payment_class"] == "normal"  # 10,000 < 3 × 4,000
    assert price("3000", total_cost="9000")["payment_class"] == "normal"  # exactly 3×: not high


def test_high_multiplier_excess_variant() -> None:
    params = PricingParams(classification=SimulationParams(high_payment="excess"))
    row = price("3000", params)
    # 3,000 + (10,000 − 3 × 3,000) = 4,000; fund (4,000 − 500 − 300 − 800) × 80 %
    assert (row["payment_basis"], row["drg_payment"]) == ("excess", D("4000.00"))
    assert (row["standard_part"], row["items_part"]) == (D("3000.00"), D("1000.00"))
    assert row["fund_amount"] == D("1920.00")


def test_low_multiplier() -> None:
    row = price("40000")  # 10,000 < 0.3 × 40,000 = 12,000
    assert row["payment_class"] == "low"
    assert (row["drg_payment"], row["fund_amount"]) == (D("10000.00"), D("6000.00"))
    assert row["low_threshold"] == D("12000.00")
    assert price("40000", total_cost="12000")["payment_class"] == "normal"  # exactly 0.3×


def test_qy_full_and_fraction() -> None:
    full = price("9000", status="ambiguous_qy")
    assert (full["payment_class"], full["drg_payment"], full["fund_amount"]) == (
        "qy",
        D("10000.00"),
        D("6000.00"),
    )
    part = price("9000", PricingParams(qy_fraction=Decimal("0.8")), status="ambiguous_qy")
    # 80 % of the items; the fund part scales with payment ÷ cost: 6,000 × 0.8
    assert (part["drg_payment"], part["fund_amount"]) == (D("8000.00"), D("4800.00"))
    assert part["reason_codes"] == ["QY_GROUP", "PAY_ITEMS_FRACTION", "FUND_ACTUAL", "FUND_SCALED"]


def test_ungroupable_and_no_standard() -> None:
    row = price("9000", status="ungroupable")
    assert (row["payment_class"], row["drg_payment"]) == ("ungroupable", D("10000.00"))
    assert "分组状态 ungroupable" in row["explanation"]
    row = price(None)
    assert (row["payment_class"], row["payment_standard"]) == ("no_standard", None)
    assert row["fund_amount"] == D("6000.00")
    assert "病组 AA19 在三级医院无支付标准" in row["explanation"]


def test_special_cases() -> None:
    items = price("9000", special_case="approved")
    assert (items["payment_class"], items["payment_basis"]) == ("special", "items")
    assert (items["drg_payment"], items["fund_amount"]) == (D("10000.00"), D("6000.00"))
    adjusted = price("9000", special_case="approved", special_payment="12000")
    # adjusted standard 12,000: (12,000 − 500 − 300 − 800) × 80 %
    assert (adjusted["payment_basis"], adjusted["drg_payment"]) == (
        "special_standard",
        D("12000.00"),
    )
    assert adjusted["fund_amount"] == D("8320.00")
    assert adjusted["items_part"] == D("12000.00")  # fixed amount, not rate-dependent
    pending = price("9000", special_case="applied", special_payment="12000")
    assert (pending["payment_class"], pending["drg_payment"]) == ("normal", D("9000.00"))
    assert pending["reason_codes"][0] == "SPECIAL_PENDING"
    assert pending["explanation"].startswith("（特例单议申请中）")
    assert price("9000", special_case="rejected")["reason_codes"][0] == "SPECIAL_REJECTED"


def test_boolean_special_flag_column(demo: PolicySet) -> None:
    cases = frame(case()).with_columns(pl.lit(True).alias("special_case"))
    out = price_batch(cases, standards(("AA19", "3", "9000")), demo)
    assert out["payment_class"].to_list() == ["special"]


def test_cross_region_national_formula_uses_the_insured_place() -> None:
    # insured 990202 (职工 三级: 起付线 1,000, 78 %), treated in 990102: in province →
    # 起付线 2,000, 68 %: (9,000 − 800 − 2,000) × 68 %
    row = price("9000", insured_region_code="990202")
    assert (row["policy_key"], row["scope"]) == ("990200-310-IP@v1", "in_province")
    assert row["fund_amount"] == D("4216.00")
    assert "CROSS_REGION_IN_PROVINCE" in row["reason_codes"]


def test_missing_policy_modes() -> None:
    with pytest.raises(SettlementError, match=r"S0001（参保地 980102，险种 310，出院 2024-05-01）"):
        price("9000", insured_region_code="980102")
    fallback = price(
        "9000", PricingParams(missing_policy="treating_place"), insured_region_code="980102"
    )
    # the treating place's policy, with its out-of-province rule: (9,000 − 800 − 2,500) × 65 %
    assert fallback["fund_amount"] == D("3705.00")
    assert "POLICY_FALLBACK" in fallback["reason_codes"]
    actual = price("9000", PricingParams(missing_policy="actual"), insured_region_code="980102")
    assert actual["fund_amount"] == D("5400.00")  # 6,000 × 9,000 ÷ 10,000
    assert "NO_POLICY_ACTUAL" in actual["reason_codes"]
    with pytest.raises(SettlementError, match="需要待遇政策"):
        price_case(case(), D("9000"), None, NATIONAL)


def test_item_fund_from_policy_and_other_funds() -> None:
    row = price("40000", PricingParams(items_fund="policy"))
    # benefit split of the total cost: (10,000 − 500 − 300 − 800) × 80 %
    assert (row["fund_formula"], row["fund_amount"]) == ("policy", D("6720.00"))
    row = price("40000", other_fund_payment="1000")
    assert (row["fund_actual"], row["fund_amount"]) == (D("5000.00"), D("5000.00"))
    assert row["patient_other"] == D("5000.00")


def test_annual_cap_limits_the_drg_fund_by_default() -> None:
    """ADR 0013: the pooled fund never pays a person more than its annual cap, so the
    DRG fund amount is capped too (400,000 cap, 399,000 already paid this year)."""
    capped = price("9000", fund_paid_ytd="399000")
    assert capped["fund_amount"] == D("1000.00")
    assert "受年度封顶线限制为 1000.00 元" in capped["explanation"]
    assert "FUND_CAPPED" in capped["reason_codes"]
    assert price("9000", fund_paid_ytd="0")["fund_amount"] == D("5920.00")
    # the bare national formula of §1.7, for a bureau that settles the cap elsewhere
    bare = price("9000", PricingParams(cap_drg_fund=False), fund_paid_ytd="399000")
    assert bare["fund_amount"] == D("5920.00")


def test_output_schema_and_reason_codes_are_known(demo: PolicySet) -> None:
    out = price_batch(frame(case()), standards(("AA19", "3", "9000", "1.2")), demo)
    assert dict(out.schema) == PRICED
    assert out["relative_weight"].to_list() == [Decimal("1.2000")]
    assert set(out["reason_codes"].explode().to_list()) <= set(REASONS)


def _random_cases(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    statuses = np.array(["ok"] * 8 + ["ambiguous_qy", "ungroupable"])
    regions = np.array(["990102", "990103", "990202", "990302", "980102"])
    rows = []
    for i in range(n):
        cost = int(rng.integers(50_000, 6_000_000))
        rows.append(
            case(
                setl_id=f"R{i:05d}",
                hospital_code=f"H{int(rng.integers(1, 6))}",
                hospital_level=str(int(rng.integers(1, 4))),
                insured_region_code=str(rng.choice(regions)),
                insutype=str(rng.choice(["310", "390"])),
                status=str(rng.choice(statuses)),
                drg=str(rng.choice(["AA19", "BB11", "CC13", "ZZ99"])),
                total_cost=Decimal(cost) / 100,
                self_pay_full=Decimal(cost // 20) / 100,
                self_pay_first=Decimal(cost // 30) / 100,
                fund_payment=Decimal(cost * 6 // 10) / 100,
                special_case=str(rng.choice(["approved", "applied"])) if i % 17 == 0 else None,
            )
        )
    return frame(*rows)


def _table() -> pl.DataFrame:
    rows = [
        (d, lv, s)
        for d, s in (("AA19", "9000"), ("BB11", "20000"), ("CC13", "3500.5"))
        for lv in "123"
    ]
    return standards(*rows)


def test_shuffled_input_gives_identical_output(demo: PolicySet) -> None:
    cases = _random_cases(300, seed=3)
    params = PricingParams(missing_policy="treating_place", qy_fraction=Decimal("0.85"))
    first = price_batch(cases, _table(), demo, params)
    again = price_batch(
        cases.sample(fraction=1.0, shuffle=True, seed=9), _table().reverse(), demo, params
    )
    assert first.equals(again)
    assert first["setl_id"].is_sorted()
    assert set(first["payment_class"]) >= {"normal", "high", "low", "qy", "ungroupable", "special"}


def test_single_and_batch_paths_agree(demo: PolicySet) -> None:
    cases = _random_cases(40, seed=4)
    params = PricingParams(missing_policy="treating_place")
    batch = price_batch(cases, _table(), demo, params)
    from yibao.engines.settlement import SettlementCase

    for row in cases.iter_rows(named=True):
        single = price_case(SettlementCase(**row), _table(), demo, params)
        assert single.row == batch.filter(pl.col("setl_id") == row["setl_id"]).row(0, named=True)


def test_bad_input_is_reported_in_chinese(demo: PolicySet) -> None:
    twice = frame(case(), case())
    with pytest.raises(SettlementError, match="结算ID 重复：S0001"):
        price_batch(twice, _table(), demo)
    with pytest.raises(SettlementError, match="输入缺少列 drg"):
        price_batch(frame(case()).drop("drg"), _table(), demo)
    with pytest.raises(SettlementError, match=r"重复：AA19/1级、AA19/2级、AA19/3级"):
        price_batch(frame(case()), pl.concat([_table(), _table().head(3)]), demo)
    with pytest.raises(SettlementError, match="特例单议状态须为"):
        price_batch(
            frame(case()).with_columns(pl.lit("maybe").alias("special_case")), _table(), demo
        )
    with pytest.raises(SettlementError, match="qy_fraction"):
        from yibao.engines.settlement import parse_settlement_params

        parse_settlement_params(PricingParams, {"qy_fraction": "0"})


def test_fund_inputs_that_cannot_be_computed(demo: PolicySet) -> None:
    no_fund = case(fund_payment=None)
    with pytest.raises(SettlementError, match="1 条按项目支付的病例缺少实际统筹基金"):
        price_case(no_fund, D("40000"), None, LOCAL)
    # with a policy the benefit split stands in for the missing actual fund
    row = price_case(no_fund, D("40000"), demo, NATIONAL).row
    assert (row["fund_formula"], row["fund_amount"]) == ("policy", D("6720.00"))
    with pytest.raises(SettlementError, match="按总额定额公式计算需要个人支付金额"):
        price_case(no_fund, D("9000"), None, LOCAL)


@pytest.mark.parametrize(
    ("column", "label"),
    [("self_pay_full", "全自费"), ("self_pay_first", "先行自付"), ("fund_payment", "基金支付")],
)
def test_batch_refuses_negative_amounts_like_one_case(column: str, label: str) -> None:
    # a negative 全自费 of −1,000 raised the national fund amount of a 9,000 standard
    # from 5,920.00 to 6,720.00 in the batch path; SettlementCase refuses it
    cases = frame(case()).with_columns(pl.lit(D("-1000")).cast(pl.Decimal(18, 2)).alias(column))
    with pytest.raises(SettlementError) as err:
        price_batch(cases, standards(("AA19", "3", "9000")), POLICIES, NATIONAL)
    assert f"{column}：{label}不能为负数（1 条病例）" in str(err.value)
    with pytest.raises(ValueError, match="金额不能为负数"):
        case(**{column: "-1000"})
