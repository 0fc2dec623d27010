"""A simulation's fund estimate by benefit policy (issue 10.3): the national formula on
the simulated payment with the insured place's policy valid on the discharge date,
limited by the annual cap; a case without a policy keeps its actual fund ratio."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.caseframe import MONEY
from yibao.engines.measure import SimulationParams
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.simulate import classify_cases
from yibao.engines.settlement import PolicySet, policy_fund_fen

D = Decimal


def classified(rows: list[dict[str, object]]) -> pl.DataFrame:
    base = {
        "hospital_level": "3",
        "insutype": "310",
        "region_code": "990102",
        "self_pay_full": D("300"),
        "self_pay_first": D("200"),
    }
    frame = pl.DataFrame(
        [{**base, **r} for r in rows],
        schema={
            "pay_fen": pl.Int64,
            "cost_fen": pl.Int64,
            "fund_fen": pl.Int64,
            "discharge_date": pl.Date,
            "insured_region_code": pl.String,
            "hospital_level": pl.String,
            "insutype": pl.String,
            "region_code": pl.String,
            "self_pay_full": MONEY,
            "self_pay_first": MONEY,
        },
        orient="row",
    )
    return frame


def test_policy_fund_by_discharge_date_cap_and_fallback(demo: PolicySet) -> None:
    # demo 990100 职工: 三级 800 / 80 % until 2024-12-31, 700 / 82 % from 2025 (cap 450,000)
    frame = classified(
        [
            {"pay_fen": 1_000_000, "cost_fen": 900_000, "fund_fen": 600_000,
             "discharge_date": date(2024, 12, 31), "insured_region_code": "990102"},
            {"pay_fen": 1_000_000, "cost_fen": 900_000, "fund_fen": 600_000,
             "discharge_date": date(2025, 1, 1), "insured_region_code": "990102"},
            {"pay_fen": 70_000_000, "cost_fen": 60_000_000, "fund_fen": 0,
             "discharge_date": date(2025, 6, 1), "insured_region_code": "990102"},
            # insured where no demo policy exists: payment × actual ratio (6,000 / 9,000)
            {"pay_fen": 1_000_000, "cost_fen": 900_000, "fund_fen": 600_000,
             "discharge_date": date(2025, 6, 1), "insured_region_code": "980102"},
        ]
    )  # fmt: skip
    fund = policy_fund_fen(frame, demo).to_list()
    assert fund[0] == (1_000_000 - 30_000 - 20_000 - 80_000) * 80 // 100  # 696,000 fen
    assert fund[1] == (1_000_000 - 30_000 - 20_000 - 70_000) * 82 // 100  # 721,600 fen
    assert fund[2] == 45_000_000  # (700,000 − 500 − 700) × 82 % > the 450,000 cap
    assert fund[3] == 666_667  # 10,000 × 6,000 ÷ 9,000, half up


def test_simulation_by_policy_needs_the_policies() -> None:
    cases = pl.DataFrame(
        {
            "setl_id": ["S1"],
            "hospital_code": ["H1"],
            "hospital_level": ["3"],
            "status": ["ok"],
            "drg": ["AA19"],
            "total_cost": [D("9000.00")],
        },
        schema_overrides={"total_cost": MONEY},
    )
    standards = pl.DataFrame(
        {"drg": ["AA19"], "hospital_level": ["3"], "payment_standard": [D("10000.00")]},
        schema_overrides={"payment_standard": MONEY},
    )
    params = SimulationParams(fund_share="policy")
    with pytest.raises(MeasureError, match="待遇政策"):
        classify_cases(cases, standards, params)
    out = classify_cases(cases, standards, params, lambda f: pl.Series([123]))
    assert out["est_fen"].to_list() == [123] and out["pay_fen"].to_list() == [1_000_000]
