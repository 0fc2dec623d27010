"""The DIP engine against an independent recomputation written here from domain.md
§2.2–2.4 (core threshold, combination keys, 1:2:7 scores, deviation bounds and
formulas, half-up fen per case, point values), plus the defects it found: rounding of
whole-number scores, coefficients at or below zero, and explanations of cases
without a standard cost or a score."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import polars as pl
import pytest

from yibao.engines.dip import (
    CatalogueParams,
    ScoreParams,
    adjust_scores,
    build_catalogue,
    case_combinations,
    case_payments,
    coefficients,
    group_scores,
    procedure_types,
    solve_point_value,
)
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.params import TrimParams

D = Decimal
MONEY = pl.Decimal(18, 2)
OR_CODES = ["47.0900", "47.0100", "45.0000"]
PROCS = pl.DataFrame(
    {"code": [*OR_CODES, "99.1800", "54.2400"], "name": ["甲", "乙", "丙", "电解质注射", "活检"]}
)
TYPES = procedure_types(PROCS, OR_CODES)
WEIGHTS = {2022: 1, 2023: 2, 2024: 7}


def half_up(value: Fraction, places: int) -> Decimal:
    """Fraction → Decimal rounded half up (四舍五入), written independently."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _region(seed: int, n: int) -> pl.DataFrame:
    rnd = random.Random(seed)
    dx = ["K35.801", "K35.802", "k35.800", "K35.100", "K37.x00", "J18.900"]
    cases, dxs, pxs = [], [], []
    for i in range(n):
        sid = f"S{i:05d}"
        cost = D(rnd.randint(50_000, 3_000_000)).scaleb(-2)
        cases.append((sid, rnd.choice(list(WEIGHTS)), cost))
        dxs.append((sid, 0, rnd.choice(dx)))
        pxs += [(sid, p) for p in rnd.sample(sorted(TYPES), rnd.choice([0, 0, 1, 1, 2]))]
        if pxs and rnd.random() < 0.1:
            pxs.append(pxs[-1])  # a procedure written twice counts once
    return case_combinations(
        pl.DataFrame(
            cases,
            schema={"setl_id": pl.String, "year": pl.Int32, "total_cost": MONEY},
            orient="row",
        ),
        pl.DataFrame(dxs, schema=["setl_id", "seq", "code"], orient="row"),
        pl.DataFrame(pxs, schema=["setl_id", "code"], orient="row"),
        TYPES,
    )


def _mean(rows: list[tuple[int, Decimal]]) -> Fraction:
    """Σ w_y · (year's mean cost) ÷ Σ w_y over the years with cases (domain.md §2.3)."""
    by_year: dict[int, list[Fraction]] = defaultdict(list)
    for year, cost in rows:
        by_year[year].append(Fraction(cost))
    num = sum(WEIGHTS[y] * sum(v) / len(v) for y, v in by_year.items())
    return Fraction(num) / sum(WEIGHTS[y] for y in by_year)


def test_catalogue_and_scores_match_a_recomputation() -> None:
    combos = _region(7, 2000)
    catalogue = build_catalogue(combos, TYPES, CatalogueParams(threshold=30))
    # core groups: (category of 4 characters, sorted distinct codes joined by "+") ≥ 30
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for setl_id, dx, procs in combos.select("setl_id", "dx_code", "procedures").iter_rows():
        bare = dx.replace(".", "")[:4]
        key = f"{bare[0].upper()}{bare[1:3]}.{bare[3:]}"
        if procs:  # the key lists each code once, sorted
            assert procs == "+".join(sorted(set(procs.split("+")))), setl_id
        counts[key, procs] += 1
    core = {k: n for k, n in counts.items() if n >= 30}
    built = catalogue.groups.filter(pl.col("kind") == "core")
    assert {(k, p): n for k, p, n in built.select("dx_key", "procedures", "cases").iter_rows()} == (
        core
    )
    assert catalogue.groups.filter(pl.col("kind") == "comprehensive")["cases"].sum() == 2 * sum(
        n for k, n in counts.items() if n < 30
    )  # prefix groups and chapter pools each hold every non-core case once

    members = catalogue.members.join(
        combos.select("setl_id", "year", "total_cost"), on="setl_id", how="inner"
    )
    result = group_scores(members, ScoreParams(trim=TrimParams(method="none")))
    overall = _mean(
        [(y, c) for y, c in members.filter(pl.col("primary")).select("year", "total_cost").rows()]
    )
    assert result.overall_mean == half_up(overall, 2)
    by_code: dict[str, list[tuple[int, Decimal]]] = defaultdict(list)
    for code, year, cost in members.select("code", "year", "total_cost").iter_rows():
        by_code[code].append((year, cost))
    for code, score in result.scores.select("code", "score").iter_rows():
        assert score == half_up(_mean(by_code[code]) / overall * 1000, 2), code


def _frame(rows: list[tuple[str, str, str]], score_type: pl.DataType = MONEY) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "hospital_code": ["H"] * len(rows),
            "dip_code": ["G"] * len(rows),
            "total_cost": [D(c) for c, _, _ in rows],
            "score": [D(s) for _, s, _ in rows],
            "standard_cost": [D(t) for _, _, t in rows],
        },
        schema={
            "hospital_code": pl.String,
            "dip_code": pl.String,
            "total_cost": MONEY,
            "score": score_type,
            "standard_cost": MONEY,
        },
    )


def test_deviation_and_payment_match_a_recomputation_at_the_bounds() -> None:
    rnd = random.Random(11)
    rows = []
    for _ in range(1500):
        standard = D(rnd.randint(100, 2_000_000)).scaleb(-2)
        cost = rnd.choice(
            [
                standard / 2,  # exactly 50 %: normal
                standard / 2 - D("0.01"),  # just below: low
                standard * 2,  # exactly 2×: normal
                standard * 2 + D("0.01"),  # just above: high
                standard * 5 + D("0.01"),  # extreme
                D(rnd.randint(1, 10_000_000)).scaleb(-2),
            ]
        ).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        rows.append((str(cost), str(D(rnd.randint(1, 500_000)).scaleb(-2)), str(standard)))
    coef, point = D("0.9437"), D("12.3457")
    paid = case_payments(_frame(rows), {"H": coef}, point)
    for (cost, score, standard), r in zip(rows, paid.iter_rows(named=True), strict=True):
        ratio = Fraction(D(cost)) / Fraction(D(standard))
        kind, factor = "normal", Fraction(1)
        if ratio < Fraction(1, 2):  # 费用超低: score × ratio
            kind, factor = "low", ratio
        elif ratio > 2:  # 费用超高: score × [(ratio − 2) + 1]
            kind, factor = "high", ratio - 2 + 1
        adjusted = half_up(Fraction(D(score)) * factor, 2)
        payment = half_up(Fraction(adjusted) * Fraction(coef) * Fraction(point), 2)
        got = (r["deviation"], r["adjusted_score"], r["payment"], r["extreme"])
        assert got == (kind, adjusted, payment, ratio > 5), (cost, score, standard)


def test_whole_number_scores_round_half_up_once() -> None:
    """A catalogue scored with ``places=0``: 1000 × 4,005 ÷ 10,000 = 400.5 points → 401
    (half up), not 400 (banker's rounding after a first rounding to hundredths)."""
    rows = [("4005.00", "1000", "10000.00"), ("4004.95", "1000", "10000.00")]
    frame = _frame(rows, pl.Decimal(18, 0))
    adjusted = adjust_scores(frame)
    assert adjusted["adjusted_score"].to_list() == [D(401), D(400)]  # 400.5 → 401; 400.495 → 400
    paid = case_payments(frame, {"H": D(1)}, D(1))
    assert paid["payment"].to_list() == [D("401.00"), D("400.00")]
    assert solve_point_value(paid, D("801")) == D(1)


def test_coefficient_at_or_below_zero_is_refused() -> None:
    hospitals = pl.DataFrame({"code": ["H1", "H3"], "level": ["1", "3"]})
    ok = coefficients(hospitals, add_ons={"H3": D("-0.5")})
    assert ok["H3"] == D("0.43")
    with pytest.raises(MeasureError, match=r"add_ons\.H1.*0\.55.*-0\.6.*须大于 0") as err:
        coefficients(hospitals, add_ons={"H1": D("-0.6")})
    assert err.value.field == "add_ons.H1"
    with pytest.raises(MeasureError, match="须大于 0"):
        coefficients(hospitals, add_ons={"H1": D("-0.55")})  # exactly zero


def test_scheme_with_an_add_on_below_the_base_stores_nothing(db) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from tests.builders import TEST_ACTOR, hospital
    from yibao.db.scoping import SYSTEM_SCOPE, set_scope
    from yibao.dip.models import DipCatalogue, DipScheme
    from yibao.dip.schemes import create_scheme

    set_scope(db, SYSTEM_SCOPE)
    small = hospital(db, level="1")
    big = hospital(db, level="3")
    catalogue = DipCatalogue(
        region_code="990100",
        code="DIP-T",
        version=1,
        name="测试目录",
        plan_id="chs-drg-1.1",
        years=[2024],
        params={},
        status="published",
        created_by="test",
    )
    db.add(catalogue)
    db.flush()

    def create(add_ons: dict[str, str]) -> DipScheme:
        return create_scheme(
            db,
            catalogue,
            name="",
            valid_from=date(2025, 1, 1),
            valid_to=None,
            point_value=D("10"),
            params={"add_ons": add_ons},
            actor=TEST_ACTOR,
        )

    # 一级 0.55 − 0.6 < 0: refused, naming the hospital's add-on, nothing stored
    with pytest.raises(MeasureError, match=rf"add_ons\.{small.code}.*须大于 0"):
        create({small.code: "-0.6", big.code: "-0.6"})
    assert db.scalar(select(func.count()).select_from(DipScheme)) == 0
    # the same add-on for a 三级 hospital (0.93 − 0.6 = 0.33) is fine
    assert create({big.code: "-0.6"}).params["add_ons"] == {big.code: "-0.6"}
    # a coefficient finer than 4 decimals would be paid at one value and cleared at the
    # 4-decimal value the pricing keeps: refused, nothing stored
    with pytest.raises(MeasureError, match=r"最多 4 位小数.*0\.05005"):
        create({big.code: "0.05005"})
    with pytest.raises(MeasureError, match=r"最多 4 位小数.*3=0\.93125"):
        create_scheme(
            db,
            catalogue,
            name="",
            valid_from=date(2026, 1, 1),
            valid_to=None,
            point_value=D("10"),
            params={"coefficients": {"3": "0.93125"}},
            actor=TEST_ACTOR,
        )
    assert db.scalar(select(func.count()).select_from(DipScheme)) == 1
