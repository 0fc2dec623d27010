"""Low-risk mortality risk levels at the μ ± σ boundaries (domain.md §1.4,
ADR 0004 item 11): ln m_g < μ − σ is 低风险, [μ − σ, μ) 中低, [μ, μ + σ) 中高,
≥ μ + σ 高.  A DRG lying exactly on μ − σ is 中低, not 低风险, and one exactly on
μ + σ is 高风险 — the float comparison of ``mortality_risk`` misplaces both.

Hand computation: three DRGs, one death each, of 5, 25 and 125 cases:
m = 1/5, 1/25, 1/125, ln m = −L, −2L, −3L with L = ln 5 = 1.6094…
μ = −2L; σ (ddof 1) = √((L² + 0 + L²) ÷ 2) = L.
So μ − σ = −3L = ln(1/125) → level 2 (中低), μ + σ = −L = ln(1/5) → level 4 (高),
G2 = μ → level 3 (中高).  No DRG is below μ − σ: there are no low-risk cases."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from yibao.engines.measure.frames import DEATH
from yibao.engines.measure.indices import hospital_indices, mortality_risk


def _cases() -> pl.DataFrame:
    drg: list[str] = []
    way: list[str] = []
    for g, n in (("G1", 5), ("G2", 25), ("G3", 125)):
        drg += [g] * n
        way += [DEATH] + ["1"] * (n - 1)
    return pl.DataFrame(
        {
            "hospital_code": ["H1"] * len(drg),
            "drg": drg,
            "discharge_way": way,
            "total_cost": [Decimal("1000.00")] * len(drg),
            "los_days": [5] * len(drg),
        }
    )


def test_a_drg_exactly_on_mu_minus_sigma_is_medium_low_not_low() -> None:
    levels = dict(mortality_risk(_cases()).select("drg", "risk_level").iter_rows())
    assert levels == {"G1": 4, "G2": 3, "G3": 2}


def test_no_low_risk_cases_when_no_drg_is_below_mu_minus_sigma() -> None:
    weights = pl.DataFrame({"drg": ["G1", "G2", "G3"], "relative_weight": [Decimal("1")] * 3})
    (row,) = hospital_indices(_cases(), weights).iter_rows(named=True)
    # the 125 cases / 1 death of G3 are counted as low risk (mortality 0.0080)
    assert (row["low_risk_cases"], row["low_risk_deaths"]) == (0, 0)
