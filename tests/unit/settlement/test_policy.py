"""Benefit policy: loading, validation (Chinese errors), lookup and the benefit split."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from yibao.engines.settlement import (
    PolicySet,
    SettlementError,
    benefit_split,
    fund_terms,
    load_policies,
    parse_policy,
    pooling_region,
    scope_of,
)

from .conftest import D, case, flat_policy


def test_pooling_and_scope() -> None:
    assert pooling_region("990102") == "990100"
    assert scope_of("990102", "990105") == "local"
    assert scope_of("990102", "990302") == "in_province"
    assert scope_of("990102", "980102") == "out_of_province"
    assert scope_of("990102", None) == "local"


@pytest.mark.parametrize(
    ("level", "fund"),
    [("1", "8100.00"), ("2", "7395.00"), ("3", "6720.00")],
)
def test_deductible_and_ratio_by_level(level: str, fund: str) -> None:
    # in scope 10,000 − 500 − 300 = 9,200; 一级 (9,200 − 200) × 90 %, 二级 (− 500) × 85 %,
    # 三级 (− 800) × 80 %
    split = benefit_split(case(hospital_level=level), flat_policy())
    assert split.fund == D(fund)
    assert split.in_scope == D("9200.00")
    assert split.personal == D("10000.00") - D(fund)


@pytest.mark.parametrize(
    ("treated_in", "scope", "fund"),
    [
        ("990105", "local", "6720.00"),  # (9,200 − 800) × 80 %
        ("990302", "in_province", "5390.00"),  # (9,200 − 1,500) × 70 %
        ("980102", "out_of_province", "4355.00"),  # (9,200 − 2,500) × 65 %
    ],
)
def test_cross_region_uses_insured_place_rules(treated_in: str, scope: str, fund: str) -> None:
    split = benefit_split(case(region_code=treated_in), flat_policy())
    assert (split.scope, split.fund) == (scope, D(fund))


def test_cross_region_case_is_settled_with_the_insured_place_policy(demo: PolicySet) -> None:
    # insured in 990200 (职工, 三级 起付线 1,000, 78 %), treated in 演示市 990100: in province,
    # 990200's own cross-region rule (起付线 2,000, ratio − 10 points) applies
    split = benefit_split(case(insured_region_code="990202", region_code="990102"), demo)
    assert split.policy_key == "990200-310-IP@v1"
    assert split.scope == "in_province"
    assert split.deductible == D("2000.00")
    assert split.ratio == Decimal("0.68")
    assert split.fund == D("4896.00")  # (9,200 − 2,000) × 68 %
    assert "演示二市" in split.explanation and "省内异地就医" in split.explanation


def test_cost_bands(demo: PolicySet) -> None:
    # 990200 居民 三级: 起付线 1,200; ≤ 1万 55 %, 1–5万 60 %, > 5万 65 %.
    # in scope 80,000 − 2,000 − 3,000 = 75,000:
    # 8,800 × 55 % + 40,000 × 60 % + 25,000 × 65 % = 4,840 + 24,000 + 16,250 = 45,090
    c = case(
        insured_region_code="990202",
        region_code="990203",
        insutype="390",
        total_cost="80000",
        self_pay_full="2000",
        self_pay_first="3000",
    )
    split = benefit_split(c, demo)
    assert split.fund == D("45090.00")
    assert split.ratio == Decimal("0.611")  # 45,090 ÷ 73,800, 4 decimals
    assert "分段" in split.explanation


def test_remaining_deductible_cap_and_zero() -> None:
    policy = flat_policy()
    # 起付线 800 of which 500 already paid this year: (9,200 − 300) × 80 %
    assert benefit_split(case(deductible_paid="500"), policy).fund == D("7120.00")
    capped = benefit_split(case(fund_paid_ytd="395000"), policy)
    assert (capped.fund, capped.capped) == (D("5000.00"), True)
    assert "封顶线" in capped.explanation
    assert benefit_split(case(total_cost="1500"), policy).fund == D("0.00")  # 700 − 800 < 0


def test_half_up_to_the_fen() -> None:
    # (10,000.01 − 800 − 500) × 85 % = 8,700.01 × 0.85 = 7,395.0085 → 7,395.01
    split = benefit_split(case(hospital_level="2", total_cost="10000.01"), flat_policy())
    assert split.fund == D("7395.01")
    b = flat_policy().benefit("2")
    t = fund_terms(1_000_003, 50_000, 30_000, b)  # 8,700.03 × 0.85 = 7,395.0255
    assert t.fund_fen == 739_503


def test_versions_by_date_and_drafts(demo: PolicySet) -> None:
    days = (date(2024, 12, 31), date(2025, 1, 1))
    found = [demo.find("990101", "310", day) for day in days]
    assert [p.key if p else None for p in found] == ["990100-310-IP@v1", "990100-310-IP@v2"]
    assert demo.find("990101", "310", date(2019, 12, 31)) is None
    assert demo.find("980101", "310", date(2024, 1, 1)) is None
    draft = flat_policy(code="D", status="draft", region_code="970100")
    policies = PolicySet([draft])
    assert policies.find("970101", "310", date(2024, 6, 1)) is None
    assert policies.find("970101", "310", date(2024, 6, 1), include_drafts=True) == draft


def test_missing_policy_for_a_case(demo: PolicySet) -> None:
    with pytest.raises(SettlementError, match="没有参保地 980100 险种 310"):
        benefit_split(case(insured_region_code="980102"), demo)


def test_demo_files_are_clearly_synthetic() -> None:
    from yibao.engines.settlement import DEMO_POLICY_DIR

    files = sorted(p.name for p in DEMO_POLICY_DIR.glob("*.json"))
    assert files == ["990100.json", "990200.json"]
    for path in DEMO_POLICY_DIR.glob("*.json"):
        assert "合成演示数据" in json.loads(path.read_text(encoding="utf-8"))["note"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"levels": {"1": {"deductible": "200", "ratio": "1.2"}}}, "基金支付比例须在 0 到 1 之间"),
        (
            {"levels": {"3": {"deductible": "800", "ratio": "0.8"}}},
            "levels：缺少 一级、二级 医院的起付线和支付比例",
        ),
        (
            {
                "levels": {
                    lv: {"deductible": "1", "ratio": "0.5", "bands": [{"ratio": "0.5"}]}
                    for lv in "123"
                }
            },
            "只能一个",
        ),
        (
            {
                "levels": {
                    lv: {"deductible": "1", "bands": [{"upper": "100", "ratio": "0.5"}]}
                    for lv in "123"
                }
            },
            "最后一段不能设上限",
        ),
        ({"valid_to": "2023-01-01"}, "失效日期 2023-01-01 早于生效日期 2024-01-01"),
        ({"region_code": "990102"}, "以 00 结尾的 6 位区划代码"),
        ({"annual_cap": "0"}, "封顶线须大于 0"),
        ({"cross_region": {"abroad": {"deductible": "1"}}}, "异地范围须为"),
        ({"levels": {lv: {"deductible": "-1", "ratio": "0.5"} for lv in "123"}}, "金额不能为负数"),
        ({"version": "x"}, "BenefitPolicy.version：必须是整数"),
    ],
)
def test_validation_errors_are_chinese(change: dict[str, object], message: str) -> None:
    data = json.loads(flat_policy().model_dump_json())
    data.update(change)
    with pytest.raises(SettlementError) as err:
        parse_policy(data)
    assert message in err.value.message


def test_loader_collects_every_problem_and_names_the_policy(tmp_path: Path) -> None:
    good = json.loads(flat_policy().model_dump_json())
    bad1 = {**good, "code": "BAD1", "annual_cap": "-5"}
    bad2 = {**good, "code": "BAD2", "insutype": "31"}
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"policies": [good, bad1, bad2]}), encoding="utf-8")
    with pytest.raises(SettlementError) as err:
        load_policies(path)
    assert len(err.value.problems) == 2
    assert "p.json 策略[1]（BAD1）.annual_cap" in err.value.problems[0]
    assert "险种类型须为 3 位数字" in err.value.problems[1]


def test_loader_text_json_and_overlaps() -> None:
    one = json.loads(flat_policy().model_dump_json())
    two = {**one, "version": 2, "valid_from": "2024-06-01"}
    with pytest.raises(SettlementError, match="有效期重叠"):
        load_policies(json.dumps([one, two]))
    with pytest.raises(SettlementError, match="重复出现"):
        load_policies(json.dumps([one, {**one, "status": "draft"}]))
    ok = load_policies(json.dumps([{**one, "valid_to": "2024-05-31"}, two]))
    assert len(ok) == 2
    with pytest.raises(SettlementError, match="不是有效的 JSON（第 1 行"):
        load_policies("[{")
    with pytest.raises(SettlementError, match="找不到待遇政策文件"):
        load_policies(Path("/nonexistent/policies.json"))
