"""Monthly statements and year-end clearing, every figure computed by hand."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import polars as pl
import pytest

from yibao.engines.caseframe import MONEY
from yibao.engines.settlement import (
    ClearingParams,
    ClearingResult,
    ReleaseBand,
    SettlementError,
    StatementParams,
    monthly_statement,
    parse_settlement_params,
    year_end_clearing,
)

from .conftest import D

#: (setl_id, hospital, level, class, basis, RW, total cost, DRG payment, items part,
#:  fund amount, patient + other funds)
ROWS = [
    ("c1", "H1", "3", "normal", "standard", "1.0", "9000", "10000", "0", "7000", "3000"),
    ("c2", "H1", "3", "normal", "standard", "2.0", "25000", "20000", "0", "15000", "6000"),
    ("c3", "H1", "3", "high", "items", "1.0", "40000", "40000", "40000", "30000", "10000"),
    ("c4", "H2", "2", "normal", "standard", "0.5", "4200", "4000", "0", "3000", "1200"),
    ("c5", "H2", "2", "low", "items", None, "1000", "1000", "1000", "600", "400"),
]


def priced(rows: Sequence[Sequence[str | None]] = ROWS) -> pl.DataFrame:
    names = [
        "setl_id",
        "hospital_code",
        "hospital_level",
        "payment_class",
        "payment_basis",
        "relative_weight",
        "total_cost",
        "drg_payment",
        "items_part",
        "fund_amount",
        "patient_other",
    ]
    data = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    money = names[6:]
    frame = pl.DataFrame(data).with_columns(
        pl.col("relative_weight").cast(pl.Decimal(18, 4)),
        *(pl.col(c).cast(MONEY) for c in money),
    )
    return frame


def month(params: StatementParams | None = None) -> pl.DataFrame:
    return monthly_statement(
        priced(),
        params,
        period="2024-01",
        adjustments={"H1": D("500"), "H2": D("0.05")},
        advances=pl.DataFrame({"hospital_code": ["H1"], "amount": [D("20000")]}),
    )


def test_monthly_statement_by_hand() -> None:
    out = month()
    h1, h2 = out.rows(named=True)
    assert (h1["period"], h1["hospital_code"], h1["cases"]) == ("2024-01", "H1", 3)
    assert (h1["drg_cases"], h1["item_cases"]) == (2, 1)
    assert (h1["drg_payment"], h1["item_payment"]) == (D("30000.00"), D("40000.00"))
    assert (h1["fund_drg"], h1["fund_items"], h1["fund_total"]) == (
        D("22000.00"),
        D("30000.00"),
        D("52000.00"),
    )
    # settlement 52,000 − 500; deposit 10 %; net 51,500 − 5,150 − advanced 20,000
    assert (h1["settlement_amount"], h1["deposit_withheld"]) == (D("51500.00"), D("5150.00"))
    assert h1["net_payable"] == D("26350.00")
    # H2: 3,600 − 0.05 = 3,599.95; deposit 359.995 → 360.00 (half up); net 3,239.95
    assert (h2["settlement_amount"], h2["deposit_withheld"]) == (D("3599.95"), D("360.00"))
    assert (h2["advances"], h2["net_payable"]) == (D("0.00"), D("3239.95"))


def test_monthly_prepay_share_and_clawback() -> None:
    h1 = month(StatementParams(prepay_share=Decimal("0.95"))).row(0, named=True)
    # 51,500 × 95 % = 48,925 paid now, 2,575 held back; deposit 4,892.50
    assert (h1["prepaid"], h1["held_back"]) == (D("48925.00"), D("2575.00"))
    assert (h1["deposit_withheld"], h1["net_payable"]) == (D("4892.50"), D("24032.50"))
    beijing = priced(
        [
            (
                "b",
                "H9",
                "3",
                "normal",
                "standard",
                "1",
                "59444.09",
                "24227.05",
                "0",
                "-14531.23",
                "38758.28",
            )
        ]
    )
    row = monthly_statement(beijing).row(0, named=True)
    assert (row["deposit_withheld"], row["net_payable"]) == (D("0.00"), D("-14531.23"))
    assert row["period"] is None


def clear(
    params: ClearingParams | None = None, budget: str = "100000", **scores: int
) -> ClearingResult:
    return year_end_clearing(priced(), D(budget), [month()], scores or {"H1": 85, "H2": 95}, params)


def test_year_end_rate_method_by_hand() -> None:
    r = clear(ClearingParams(release="bands"))
    # fixed (item-paid) 40,000 + 1,000; distributable 59,000; Σ RW 3.5;
    # rate 16,857.142857… → 16,857.1429
    assert (r.fixed_total, r.total_points) == (D("41000.00"), Decimal("3.5"))
    assert r.final_value == Decimal("16857.1429")
    final = dict(zip(r.cases["setl_id"], r.cases["final_payment"], strict=True))
    assert final == {
        "c1": D("16857.14"),
        "c2": D("33714.29"),  # 33,714.2858
        "c3": D("40000.00"),
        "c4": D("8428.57"),  # 8,428.57145
        "c5": D("1000.00"),
    }
    assert r.residual == D("0.00")
    h1, h2 = r.hospitals.rows(named=True)
    # H1: final 90,571.43 − patient/other 19,000 − deductions 500 = 71,071.43;
    # deposit 7,107.14; score 85 → band 80 → 80 % released = 5,685.71; forfeited 1,421.43;
    # paid during the year 20,000 + 26,350; clearing 71,071.43 − 1,421.43 − 46,350
    assert (h1["final_payment"], h1["final_fund"]) == (D("90571.43"), D("71071.43"))
    assert (h1["deposit"], h1["release_share"]) == (D("7107.14"), Decimal("0.8"))
    assert (h1["deposit_released"], h1["deposit_forfeited"]) == (D("5685.71"), D("1421.43"))
    assert (h1["paid_during_year"], h1["clearing_amount"]) == (D("46350.00"), D("23300.00"))
    assert h1["deposit_withheld_monthly"] == D("5150.00")
    # H2: 9,428.57 − 1,600 − 0.05 = 7,828.52; deposit 782.85 all released (score 95);
    # paid 3,239.95 → clearing 4,588.57
    assert (h2["final_fund"], h2["deposit"], h2["deposit_forfeited"]) == (
        D("7828.52"),
        D("782.85"),
        D("0.00"),
    )
    assert h2["clearing_amount"] == D("4588.57")


def test_linear_release_and_fund_basis_priced() -> None:
    h1 = clear().hospitals.row(0, named=True)
    # linear: 85 / 100 → 85 % of 7,107.14 = 6,041.069 → 6,041.07; forfeited 1,066.07
    assert (h1["release_share"], h1["deposit_released"]) == (Decimal("0.85"), D("6041.07"))
    assert h1["clearing_amount"] == D("23655.36")  # 71,071.43 − 1,066.07 − 46,350
    priced_basis = clear(ClearingParams(fund_basis="priced")).hospitals.row(0, named=True)
    # priced fund 52,000 + (90,571.43 − 70,000) = 72,571.43 due
    assert priced_basis["fund_due"] == D("72571.43")


def test_point_method_coefficients_and_budget_variants() -> None:
    r = clear(ClearingParams(method="point"))
    # 350 points; 59,000 ÷ 350 = 168.571428… → 168.5714; c2: 200 × 168.5714 = 33,714.28
    assert (r.total_points, r.final_value) == (Decimal(350), Decimal("168.5714"))
    assert r.cases["final_payment"].to_list()[1] == D("33714.28")
    assert r.residual == D("0.01")
    coef = clear(ClearingParams(level_coefficients={"3": Decimal("1.2")}))
    # weights 1.2 + 2.4 + 0.5 = 4.1; 59,000 ÷ 4.1 = 14,390.2439; 三级 × 1.2
    assert coef.final_value == Decimal("14390.2439")
    assert coef.level_values["3"] == Decimal("17268.29268")
    assert coef.cases["final_payment"].to_list()[:2] == [D("17268.29"), D("34536.59")]
    drg_only = clear(ClearingParams(budget_covers="drg"))
    assert drg_only.final_value == Decimal("28571.4286")
    fund_terms = clear(ClearingParams(fund_ratio=Decimal("0.8")), budget="80000")
    assert fund_terms.payment_budget == D("100000.00")
    assert fund_terms.final_value == Decimal("16857.1429")
    exact = clear(ClearingParams(value_places=None))
    assert exact.cases["final_payment"].to_list()[1] == D("33714.29")


def test_release_bands_and_scores() -> None:
    params = ClearingParams(
        release="bands",
        release_bands=(
            ReleaseBand(min_score=Decimal(90), share=Decimal(1)),
            ReleaseBand(min_score=Decimal(60), share=Decimal("0.5")),
        ),
    )
    r = clear(params, H1=59, H2=60)
    shares = r.hospitals["release_share"].to_list()
    assert shares == [Decimal(0), Decimal("0.5")]
    with pytest.raises(SettlementError, match="缺少 1 家医院的年度考核得分：H2"):
        clear(H1=90)
    filled = clear(ClearingParams(missing_score=Decimal(100)), H1=90)
    assert filled.hospitals["release_share"].to_list()[1] == Decimal(1)


def test_clearing_errors() -> None:
    with pytest.raises(
        SettlementError, match=r"预算 30000\.00 元不足以支付按项目病例 41000\.00 元"
    ):
        clear(budget="30000")
    rows = list(ROWS)
    rows[0] = (*ROWS[0][:5], None, *ROWS[0][6:])
    with pytest.raises(SettlementError, match="1 条按病组支付的病例缺少相对权重"):
        year_end_clearing(priced(rows), D("100000"), [], {"H1": 90, "H2": 90})
    bands = [{"min_score": 60, "share": 1}, {"min_score": 90, "share": 1}]
    with pytest.raises(SettlementError, match="release_bands：各档最低分须从高到低严格递减"):
        parse_settlement_params(ClearingParams, {"release_bands": bands})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"method": "point", "point_scale": "1e999999999"}, "point_scale：点数倍数须为不超过"),
        ({"level_coefficients": {"3": "1e999999999"}}, r"level_coefficients\.3：等级系数"),
        ({"missing_score": "1e999999999"}, "missing_score"),
        ({"release_bands": [{"min_score": "-1e999999999", "share": 1}]}, "min_score"),
        ({"deposit_rate": "1e999999999"}, "deposit_rate"),
    ],
)
def test_clearing_params_refuse_numbers_no_computation_survives(
    params: dict[str, object], message: str
) -> None:
    """A positive integer of a billion digits is still a positive integer: every
    parameter is bounded, and checked without arithmetic that would overflow."""
    with pytest.raises(SettlementError, match=message):
        parse_settlement_params(ClearingParams, params)


def test_audit_deductions_apart_by_hand() -> None:
    """Intelligent-audit deductions (ADR 0024): a figure apart, taken off the settlement
    like the review deductions; a hospital with only an audit deduction gets a row; the
    year-end clearing counts them with the deductions of the year."""
    out = monthly_statement(
        priced(),
        period="2024-01",
        adjustments={"H1": D("500")},
        audit_deductions=pl.DataFrame(
            {"hospital_code": ["H1", "H1", "H3"], "amount": [D("1000.50"), D("99.50"), D("10")]}
        ),
    )
    h1, h2, h3 = out.rows(named=True)
    # H1: 52,000 − 500 − 1,100 = 50,400; deposit 5,040; net 45,360
    assert (h1["deductions"], h1["audit_deductions"]) == (D("500.00"), D("1100.00"))
    assert h1["settlement_amount"] == D("50400.00") and h1["net_payable"] == D("45360.00")
    assert h2["audit_deductions"] == D("0.00") and h2["settlement_amount"] == D("3600.00")
    # H3: no case, 10 deducted: recovered in full (no deposit on a negative amount)
    assert (h3["cases"], h3["settlement_amount"], h3["net_payable"]) == (
        0,
        D("-10.00"),
        D("-10.00"),
    )
    plain = monthly_statement(priced(), period="2024-01", adjustments={"H1": D("500")})
    with_audit = clear_with([out])
    without = clear_with([plain])
    # final fund falls by the audit deductions of the year (H1: 1,100)
    assert with_audit["H1"] == without["H1"] - D("1100.00")


def clear_with(months: list[pl.DataFrame]) -> dict[str, Decimal]:
    r = year_end_clearing(priced(), D("100000"), months, {"H1": 85, "H2": 95, "H3": 90})
    return dict(zip(r.hospitals["hospital_code"], r.hospitals["final_fund"], strict=True))


@pytest.mark.parametrize("given", ["adjustments", "advances", "additions", "audit_deductions"])
@pytest.mark.parametrize("amount", ["100.005", "0.001", "NaN", "1e30"])
def test_amounts_below_the_fen_are_refused_not_cut(given: str, amount: str) -> None:
    # an advance of 100.005 was shown as 100.00 and netted as 100.005 (net payable
    # 46699.995 stored as 46700.00): a money figure holds whole fen
    with pytest.raises(SettlementError) as err:
        monthly_statement(priced(), **{given: {"H1": D(amount)}})  # type: ignore[arg-type]
    assert err.value.field == given
    assert "最多 2 位小数" in str(err.value) and "H1" in str(err.value)
    # whole fen, however written, is fine
    row = monthly_statement(priced(), **{given: {"H1": D("100.000")}}).row(0, named=True)  # type: ignore[arg-type]
    assert row[given if given != "adjustments" else "deductions"] == D("100.00")
