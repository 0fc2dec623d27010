"""Hospital indices (CMI, consumption indices, low-risk mortality) and parameter errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from yibao.engines.measure import (
    Adjustments,
    ExclusionRules,
    MeasureError,
    RateParams,
    SimulationParams,
    TrimParams,
    WeightParams,
    hospital_indices,
    mortality_risk,
    parse_params,
)

from .conftest import make_cases, make_weights, repeat


def test_cmi_and_consumption_indices() -> None:
    # H1: AA19 cost 100 / 300 (mean 200), LOS 4 / 6 (mean 5); BB19 cost 1,000, LOS 10
    # H2: AA19 cost 300 / 500 (mean 400), LOS 8 / 8
    # region: AA19 mean cost 1,200/4 = 300, mean LOS 26/4 = 6.5; BB19 1,000 and 10
    cases = make_cases(
        {"hospital_code": "H1", "total_cost": 100, "los_days": 4},
        {"hospital_code": "H1", "total_cost": 300, "los_days": 6},
        {"hospital_code": "H1", "total_cost": 1000, "los_days": 10, "drg": "BB19"},
        {"hospital_code": "H2", "total_cost": 300, "los_days": 8},
        {"hospital_code": "H2", "total_cost": 500, "los_days": 8},
        {"hospital_code": "H2", "total_cost": 900, "drg": "ZZ19"},  # no weight: not counted
    )
    weights = make_weights(("MDCA", "AA1", "AA19", "1", 0), ("MDCB", "BB1", "BB19", "2", 0))
    out = hospital_indices(cases, weights)
    h1, h2 = out.rows(named=True)
    # CMI H1 = (2·1 + 1·2) / 3 = 1.3333; H2 = 1.0000
    assert (h1["cases"], h1["total_weight"], h1["cmi"]) == (3, Decimal("4.0000"), Decimal("1.3333"))
    assert (h2["cases"], h2["cmi"]) == (2, Decimal("1.0000"))
    # cost index H1 = (2·200/300 + 1·1000/1000) / 3 = 0.7778; H2 = 400/300 = 1.3333
    assert (h1["cost_index"], h2["cost_index"]) == (0.7778, 1.3333)
    # time index H1 = (2·5/6.5 + 1·10/10) / 3 = 0.8462; H2 = 8/6.5 = 1.2308
    assert (h1["time_index"], h2["time_index"]) == (0.8462, 1.2308)


def _mortality_cases() -> list[dict[str, object]]:
    # D1 1/1000, D2 1/100, D3 1/10, D4 1/2 deaths; D5 none of 50
    # ln m = −6.9078, −4.6052, −2.3026, −0.6931: μ = −3.6272, σ (ddof 1) = 2.7131
    # μ − σ = −6.3403, μ + σ = −0.9141 → levels 1, 2, 3, 4; D5 level 0
    rows: list[dict[str, object]] = []
    rows += repeat(1, drg="D1", discharge_way="5", hospital_code="H1")
    rows += repeat(599, drg="D1", hospital_code="H1")
    rows += repeat(400, drg="D1", hospital_code="H2")
    rows += repeat(1, drg="D2", discharge_way="5") + repeat(99, drg="D2")
    rows += repeat(1, drg="D3", discharge_way="5") + repeat(9, drg="D3")
    rows += repeat(1, drg="D4", discharge_way="5") + repeat(1, drg="D4")
    rows += repeat(50, drg="D5", hospital_code="H1")
    return rows


def test_mortality_risk_levels() -> None:
    risk = mortality_risk(make_cases(*_mortality_cases()))
    assert risk["drg"].to_list() == ["D1", "D2", "D3", "D4", "D5"]
    assert risk["risk_level"].to_list() == [1, 2, 3, 4, 0]
    assert risk["risk_name"][0] == "低风险"
    assert risk["deaths"].to_list() == [1, 1, 1, 1, 0]


def test_low_risk_mortality_per_hospital() -> None:
    cases = make_cases(*_mortality_cases())
    weights = make_weights(*[("MDCA", "AA1", f"D{i}", "1", 0) for i in range(1, 6)])
    out = hospital_indices(cases, weights)
    h1 = out.filter(hospital_code="H1").row(0, named=True)
    h2 = out.filter(hospital_code="H2").row(0, named=True)
    # H1: 1 death in 600 low-risk (D1) cases = 0.0017; H2: 0 / 400
    assert (h1["low_risk_cases"], h1["low_risk_deaths"], h1["low_risk_mortality"]) == (
        600,
        1,
        0.0017,
    )
    assert (h2["low_risk_cases"], h2["low_risk_mortality"]) == (400, 0.0)
    # counting zero-death DRGs as low risk too: H1 1 / (600 + 50) = 0.0015
    wide = hospital_indices(cases, weights, low_risk_levels=(0, 1)).filter(hospital_code="H1")
    assert wide["low_risk_mortality"].item() == 0.0015


def test_department_indices() -> None:
    cases = make_cases(
        {"discharge_dept": "03", "total_cost": 100},
        {"discharge_dept": "04", "total_cost": 300},
    )
    weights = make_weights(("MDCA", "AA1", "AA19", "1", 0))
    out = hospital_indices(cases, weights, by=("hospital_code", "discharge_dept"))
    # region AA19 mean 200: dept 03 → 0.5, dept 04 → 1.5
    assert out.select("discharge_dept", "cost_index").rows() == [("03", 0.5), ("04", 1.5)]


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: TrimParams(method="median"), "method"),
        (lambda: TrimParams(iqr_lower_k=-1), "IQR 倍数必须大于或等于 0"),
        (lambda: TrimParams(lower_percentile=90, upper_percentile=10), "下百分位 90 < 上百分位 10"),
        (
            lambda: WeightParams(year_weights=(1, 0, 7)),
            "year_weights：年度权重至少一个，且必须全部大于 0",
        ),
        (lambda: WeightParams(years=(2023, 2024)), "年度 2 个，年度权重 3 个"),
        (lambda: ExclusionRules(los_min_days=10, los_max_days=5), "住院天数下限 10 大于上限 5"),
        (lambda: ExclusionRules(required=("bogus",)), "required：不能检查的字段 bogus"),
        (lambda: SimulationParams(high_multipliers={"3": 3}), "缺少 1、2 级医院的高倍率阈值"),
        (lambda: SimulationParams(low_multiplier=Decimal("0.33333")), "最多 4 位小数"),
        (
            lambda: SimulationParams(high_multipliers={"3": 3, "2": 2, "1": 2, "4": 2}),
            "医院等级须为 1、2、3",
        ),
        (lambda: RateParams(level_budgets={"3": 1}), "只有 mode=per_level 时才能分级设定预算"),
        (lambda: RateParams(growth=-1), "growth：增长率必须大于 -1"),
        # amounts of yuan: to the fen and within bounds (1e30 failed the job, not the
        # request; 100.123 was kept in the params and used as 100.12)
        (lambda: RateParams(budget=Decimal("100.123")), r"budget：预算最多 2 位小数"),
        (lambda: RateParams(last_total=Decimal("1e30")), r"last_total：上年总额过大"),
        (lambda: ExclusionRules(cost_floor=Decimal("5.001")), "cost_floor：费用下限最多 2 位小数"),
        (
            lambda: RateParams(mode="per_level", level_budgets={"3": Decimal("1.001")}),
            "level_budgets.3：3 级预算最多 2 位小数",
        ),
    ],
)
def test_validation_errors_name_field_and_rule(factory: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        factory()  # type: ignore[operator]


def test_parse_params_translates_every_problem() -> None:
    with pytest.raises(MeasureError) as caught:
        parse_params(TrimParams, {"iqr_lower_k": "abc", "bogus": 1, "method": "x"})
    problems = caught.value.problems
    assert "TrimParams.iqr_lower_k：必须是数字（收到 'abc'）" in problems
    assert "TrimParams.bogus：不是可识别的参数（收到 1）" in problems
    assert any(p.startswith("TrimParams.method：取值必须是") for p in problems)
    assert caught.value.code == "measure_invalid" and caught.value.http_status == 422
    with pytest.raises(MeasureError) as caught:  # the choices in Chinese, no English "or"
        parse_params(SimulationParams, {"high_payment": "x"})
    assert caught.value.problems == (
        "SimulationParams.high_payment：取值必须是 'items'、'excess' 之一（收到 'x'）",
    )
    with pytest.raises(MeasureError) as caught:
        parse_params(WeightParams, {"year_weights": [1, 0, 7], "years": [2024]})
    assert caught.value.problems == (
        "WeightParams.year_weights：年度权重至少一个，且必须全部大于 0",
    )
    with pytest.raises(MeasureError) as caught:
        parse_params(Adjustments, {"tilts": [{"factor": 0, "mdcs": ["P"]}]})
    assert caught.value.problems == ("Adjustments.tilts.0.factor：倾斜系数必须大于 0（收到 0）",)
    with pytest.raises(
        MeasureError, match=r"TrimParams\.lower_percentile / upper_percentile：须满足"
    ):
        parse_params(TrimParams, {"lower_percentile": 50, "upper_percentile": 40})
    params = parse_params(SimulationParams, '{"low_multiplier": "0.4"}')
    assert params.low_multiplier == Decimal("0.4")
    assert parse_params(SimulationParams, params.model_dump_json()) == params


def test_defaults() -> None:
    assert WeightParams().year_weights == (1, 2, 7)
    assert (TrimParams().iqr_lower_k, TrimParams().iqr_upper_k) == (Decimal("0.5"), Decimal("1.5"))
    assert SimulationParams().high_multipliers == {"3": 3, "2": 2, "1": 2}
    assert SimulationParams().low_multiplier == Decimal("0.3")
    assert (ExclusionRules().los_min_days, ExclusionRules().los_max_days) == (1, 60)


def test_parse_params_says_every_pydantic_rule_in_chinese() -> None:
    """NaN, infinity and numeric limits: Chinese, no English pydantic text."""
    from yibao.engines import dip

    cases = [
        ({"point_value": "NaN"}, "point_value：必须是有限的数字（不能是 NaN 或无穷大）"),
        ({"add_ons": {"H1": "inf"}}, "add_ons.H1：必须是有限的数字"),
        ({"coefficients": {"1": "NaN"}}, "coefficients.1：必须是有限的数字"),
    ]
    for data, message in cases:
        with pytest.raises(MeasureError) as caught:
            parse_params(dip.PaymentParams, data)
        text = str(caught.value)
        assert message in text and "Input should" not in text, text
    # a limit from the error's context, and an unknown error type falls back to Chinese
    from pydantic import BaseModel, Field

    class Limits(BaseModel):
        share: float = Field(ge=0, le=1)
        code: str = Field(max_length=3)

    with pytest.raises(MeasureError) as caught:
        parse_params(Limits, {"share": 2, "code": "ABCD"})
    assert caught.value.problems == (
        "Limits.share：不能大于 1.0（收到 2）",
        "Limits.code：最多 3 个字符（收到 'ABCD'）",
    )


def test_consumption_indices_leave_out_groups_without_a_regional_mean() -> None:
    # AA19: every case costs 0 and stays 0 days anywhere in the region, so k = 0 ÷ 0 is
    # undefined there; BB19 region mean cost 200, LOS 10.
    cases = make_cases(
        {"hospital_code": "H1", "total_cost": 0, "los_days": 0},
        {"hospital_code": "H1", "total_cost": 100, "los_days": 5, "drg": "BB19"},
        {"hospital_code": "H2", "total_cost": 0, "los_days": 0},
        {"hospital_code": "H2", "total_cost": 300, "los_days": 15, "drg": "BB19"},
        {"hospital_code": "H3", "total_cost": 0, "los_days": 0},
    )
    weights = make_weights(("MDCA", "AA1", "AA19", "1", 0), ("MDCB", "BB1", "BB19", "2", 0))
    out = {r["hospital_code"]: r for r in hospital_indices(cases, weights).rows(named=True)}
    # over the groups with a regional mean: H1 100/200 = 0.5, LOS 5/10; H2 1.5, 1.5
    assert (out["H1"]["cost_index"], out["H1"]["time_index"]) == (0.5, 0.5)
    assert (out["H2"]["cost_index"], out["H2"]["time_index"]) == (1.5, 1.5)
    # H3 has no case in such a group: its indices are unknown, not 0 (cheapest possible)
    assert (out["H3"]["cost_index"], out["H3"]["time_index"]) == (None, None)
    # CMI still counts every weighted case
    assert (out["H1"]["cmi"], out["H3"]["cmi"]) == (Decimal("1.5000"), Decimal("1.0000"))


def test_index_rates_round_half_up() -> None:
    # 1 death in 32 low-risk cases = 0.03125 → 0.0313 (四舍五入, not half to even)
    rows = repeat(1, drg="D1", discharge_way="5") + repeat(31, drg="D1")
    rows += repeat(1, drg="D2", discharge_way="5") + repeat(1, drg="D2")
    rows += repeat(1, drg="D3", discharge_way="5") + repeat(3, drg="D3")
    weights = make_weights(*[("MDCA", "AA1", f"D{i}", "1", 0) for i in range(1, 4)])
    out = hospital_indices(make_cases(*rows), weights).row(0, named=True)
    assert (out["low_risk_cases"], out["low_risk_deaths"]) == (32, 1)
    assert out["low_risk_mortality"] == 0.0313
    # region AA19 mean (31 + 33) ÷ 2 = 32: H1 31/32 = 0.96875, H2 33/32 = 1.03125 → half up
    costs = make_cases(
        {"hospital_code": "H1", "total_cost": 31}, {"hospital_code": "H2", "total_cost": 33}
    )
    got = hospital_indices(costs, make_weights(("MDCA", "AA1", "AA19", "1", 0)))
    assert got["cost_index"].to_list() == [0.9688, 1.0313]
