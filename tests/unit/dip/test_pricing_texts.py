"""DIP settlement pricing of the cases a catalogue leaves incomplete: a group with a
score but no standard cost at the case's level (an imported catalogue without
standards or mean cost), and a group without a score.  Each is paid as the rules say
and gets an explanation that states the real reason (the pricing row's explanation
is NOT NULL in the database)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from yibao.engines.caseframe import MONEY
from yibao.engines.settlement import PricingParams, price_dip_batch

D = Decimal
#: setl_id, cost, DIP group, score, standard cost
ROWS = [
    ("s", "7777.77", "J18.9", "333.33", None),  # score, no standard: the score, no deviation
    ("t", "30000.00", "J18.9", "333.33", None),  # far above any bound: still the score
    ("u", "800.00", "K35:Z4", None, "1000.00"),  # group without a score: by items
]


def _priced() -> dict[str, dict[str, object]]:
    n = len(ROWS)
    cases = pl.DataFrame(
        {
            "setl_id": [r[0] for r in ROWS],
            "hospital_code": ["H2"] * n,
            "hospital_level": ["2"] * n,
            "status": ["ok"] * n,
            "drg": ["XX11"] * n,
            "total_cost": [r[1] for r in ROWS],
            "account_payment": ["0"] * n,
            "cash_payment": [str(D(r[1]) * D("0.3")) for r in ROWS],
            "fund_payment": [str(D(r[1]) * D("0.7")) for r in ROWS],
        }
    ).with_columns(pl.col("^(.*_payment|total_cost)$").cast(MONEY))
    scored = pl.DataFrame(
        {
            "setl_id": [r[0] for r in ROWS],
            "dip_code": [r[2] for r in ROWS],
            "score": [r[3] for r in ROWS],
            "standard_cost": [r[4] for r in ROWS],
        },
        schema=dict.fromkeys(("setl_id", "dip_code", "score", "standard_cost"), pl.String),
    ).with_columns(pl.col("score").cast(pl.Decimal(18, 2)), pl.col("standard_cost").cast(MONEY))
    out = price_dip_batch(
        cases, scored, {"H2": D("0.72")}, D("12.5"), None, PricingParams(fund_formula="local")
    )
    return {r["setl_id"]: r for r in out.iter_rows(named=True)}


def test_score_without_standard_is_paid_the_score_and_explained() -> None:
    p = _priced()
    for sid in ("s", "t"):
        row = p[sid]
        # 333.33 × 0.72 × 12.5 = 2,999.97, no deviation rule without a standard
        assert (row["payment_class"], row["drg_payment"]) == ("dip_normal", D("2999.97"))
        assert row["adjusted_score"] == D("333.33") and row["cost_ratio"] is None
        text = row["explanation"]
        assert isinstance(text, str) and text, sid
        assert "没有病种标准费用" in text and "不作偏差判断" in text
        assert "支付 = 分值 333.33 × 医疗机构系数 0.7200 × 点值 12.5 = 2999.97 元" in text


def test_group_without_score_names_the_missing_score() -> None:
    row = _priced()["u"]
    assert (row["payment_class"], row["drg_payment"]) == ("dip_items", D("800.00"))
    text = str(row["explanation"])
    assert "病种 K35:Z4 没有分值" in text and "按项目支付 800.00 元" in text
    assert "没有标准费用" not in text  # it has one; the score is what is missing
