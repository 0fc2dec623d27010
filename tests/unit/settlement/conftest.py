"""Builders for hand-made settlement cases, standards and policies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from yibao.engines.caseframe import MONEY
from yibao.engines.settlement import (
    SETTLEMENT_CASES,
    BenefitPolicy,
    PolicySet,
    SettlementCase,
    demo_policies,
)

CASE_DEFAULTS: dict[str, Any] = {
    "setl_id": "S0001",
    "hospital_code": "H1",
    "hospital_level": "3",
    "region_code": "990102",
    "insured_region_code": "990102",
    "insutype": "310",
    "discharge_date": date(2024, 5, 1),
    "los_days": 8,
    "status": "ok",
    "drg": "AA19",
    "total_cost": Decimal("10000.00"),
    "self_pay_full": Decimal("500.00"),
    "self_pay_first": Decimal("300.00"),
    "fund_payment": Decimal("6000.00"),
}


def D(value: str | int) -> Decimal:
    return Decimal(str(value))


def case(**overrides: Any) -> SettlementCase:
    """A 三级, 职工, local case of 10,000 yuan (全自费 500, 先自付 300), overridable."""
    data = {**CASE_DEFAULTS, **overrides}
    for key, value in list(data.items()):
        if isinstance(value, int | str) and key in MONEY_FIELDS:
            data[key] = Decimal(str(value))
    return SettlementCase(**data)


MONEY_FIELDS = {
    "total_cost",
    "self_pay_full",
    "self_pay_first",
    "fund_payment",
    "other_fund_payment",
    "account_payment",
    "cash_payment",
    "special_payment",
    "deductible_paid",
    "fund_paid_ytd",
}


def frame(*cases: SettlementCase) -> pl.DataFrame:
    """Cases as one settlement frame."""
    return pl.concat([c.frame() for c in cases]) if cases else pl.DataFrame(schema=SETTLEMENT_CASES)


def standards(*rows: tuple[str, str, str] | tuple[str, str, str, str]) -> pl.DataFrame:
    """Standards from (drg, level, payment_standard[, relative_weight]) tuples."""
    return pl.DataFrame(
        {
            "drg": [r[0] for r in rows],
            "hospital_level": [r[1] for r in rows],
            "payment_standard": [Decimal(r[2]) for r in rows],
            "relative_weight": [Decimal(r[3]) if len(r) > 3 else None for r in rows],
        },
        schema={
            "drg": pl.String,
            "hospital_level": pl.String,
            "payment_standard": MONEY,
            "relative_weight": pl.Decimal(18, 4),
        },
    )


@pytest.fixture(scope="session")
def demo() -> PolicySet:
    return demo_policies()


def flat_policy(**overrides: Any) -> BenefitPolicy:
    """A simple policy for region 990100, 职工: 起付线 200/500/800, 90/85/80 %."""
    data: dict[str, Any] = {
        "code": "T-310",
        "version": 1,
        "name": "测试政策",
        "region_code": "990100",
        "insutype": "310",
        "valid_from": "2024-01-01",
        "levels": {
            "1": {"deductible": "200", "ratio": "0.90"},
            "2": {"deductible": "500", "ratio": "0.85"},
            "3": {"deductible": "800", "ratio": "0.80"},
        },
        "annual_cap": "400000",
        "cross_region": {
            "in_province": {"deductible": "1500", "ratio_cut": "0.10"},
            "out_of_province": {"deductible": "2500", "ratio_cut": "0.15"},
        },
    }
    data.update(overrides)
    return BenefitPolicy.model_validate(data)
