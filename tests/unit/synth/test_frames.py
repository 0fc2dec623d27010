"""Columns, types and internal consistency of generated frames."""

from __future__ import annotations

import datetime as dt

import polars as pl

from yibao.engines.caseframe import CASES, DIAGNOSES, FEE_COLUMNS, PROCEDURES
from yibao.engines.synth import CaseBatch, Region, generate_cases

from .conftest import PER_YEAR, PLAN_DIR, YEARS, PlanFacts, share


def _fen(col: str) -> pl.Expr:
    return (pl.col(col) * 100).cast(pl.Int64)


def _schema_equal(
    frame: pl.DataFrame, expected: dict[str, pl.DataType | type[pl.DataType]]
) -> None:
    assert list(frame.schema) == list(expected)
    for name, dtype in expected.items():
        assert frame.schema[name] == dtype, name


def test_schemas_match_caseframe(batches: list[CaseBatch]) -> None:
    for b in batches:
        _schema_equal(b.cases, CASES)
        _schema_equal(b.diagnoses, DIAGNOSES)
        _schema_equal(b.procedures, PROCEDURES)
        assert b.targets.columns == ["setl_id", "target_drg"]
    assert [b.cases.height for b in batches] == [4000, 2000, 4000, 2000]


def test_same_seed_same_frames_other_seed_differs(region: Region) -> None:
    def run(seed: int) -> list[CaseBatch]:
        return list(generate_cases(region, [2024], 1500, seed, PLAN_DIR, chunk_size=1000))

    a, b, c = run(7), run(7), run(8)
    for x, y in zip(a, b, strict=True):
        assert x.cases.equals(y.cases)
        assert x.diagnoses.equals(y.diagnoses)
        assert x.procedures.equals(y.procedures)
        assert x.targets.equals(y.targets)
    assert not a[0].cases.equals(c[0].cases)
    assert not a[0].targets.equals(c[0].targets)


def test_ids(sample: CaseBatch) -> None:
    cases = sample.cases
    assert cases["setl_id"].n_unique() == cases.height == len(YEARS) * PER_YEAR
    assert cases["setl_id"].str.contains(r"^S20\d{2}\d{9}$").all()
    assert cases["mdtrt_id"].n_unique() == cases.height
    assert cases["psn_name"].str.starts_with("测试").all()
    # a returning patient keeps sex, birth date, name and insurance type
    person = cases.group_by("psn_no").agg(
        pl.col("sex", "birth_date", "psn_name", "insured_region_code").n_unique()
    )
    assert (person.drop("psn_no") == 1).to_numpy().all()
    assert set(sample.diagnoses["setl_id"].unique()) == set(cases["setl_id"])
    assert set(sample.procedures["setl_id"].unique()) <= set(cases["setl_id"])


def test_fees_and_payments_add_up(sample: CaseBatch) -> None:
    c = sample.cases.select(
        _fen("total_cost").alias("total"),
        pl.sum_horizontal(_fen(f) for f in FEE_COLUMNS).alias("fees"),
        (_fen("fund_payment") + _fen("account_payment") + _fen("cash_payment")).alias("pays"),
        *(_fen(f).alias(f) for f in (*FEE_COLUMNS, "fund_payment", "account_payment")),
        _fen("cash_payment").alias("cash"),
        (_fen("self_pay_full") + _fen("self_pay_first")).alias("self"),
        pl.col("insutype"),
    )
    assert (c["fees"] == c["total"]).all()
    assert (c["pays"] == c["total"]).all()
    assert (c.drop("insutype") >= 0).to_numpy().all()
    assert (c["self"] <= c["total"] - c["fund_payment"]).all()
    assert (c.filter(pl.col("insutype") == "390")["account_payment"] == 0).all()
    mean = float(c["total"].cast(pl.Float64).sum()) / c.height / 100
    assert 8_000 < mean < 18_000  # regional average ~12,000 yuan (+4 % a year)


def test_surgery_fee_only_with_procedures(sample: CaseBatch) -> None:
    with_px = sample.procedures["setl_id"].unique()
    no_px = sample.cases.filter(~pl.col("setl_id").is_in(with_px.implode()))
    assert no_px.height > 0
    assert (no_px["fee_surgery"] == 0).all()


def test_dates_are_consistent(sample: CaseBatch) -> None:
    c = sample.cases.with_columns(
        adm=pl.col("admission_time").dt.date(),
        dis=pl.col("discharge_time").dt.date(),
    )
    assert (c["dis"] == c["discharge_date"]).all()
    assert (c["admission_time"] < c["discharge_time"]).all()
    gap = (c["dis"] - c["adm"]).dt.total_days()
    assert (c["los_days"] == gap.clip(lower_bound=1)).all()
    bounds = c.select(low=pl.col("los_days").min() == 1, high=pl.col("los_days").max() > 30)
    assert bounds.row(0) == (True, True)
    assert set(c["discharge_date"].dt.year().unique()) == set(YEARS)
    assert c["discharge_date"].dt.month().n_unique() == 12
    px = sample.procedures.join(c.select("setl_id", "adm", "dis"), on="setl_id")
    assert px["procedure_date"].is_between(px["adm"], px["dis"]).all()


def test_ages_birth_dates_and_newborns(sample: CaseBatch) -> None:
    c = sample.cases.with_columns(adm=pl.col("admission_time").dt.date())
    for birth, adm, age in c.select("birth_date", "adm", "age_years").rows():
        years = adm.year - birth.year - ((adm.month, adm.day) < (birth.month, birth.day))
        assert years == age
    infants = c.filter(pl.col("age_years") == 0)
    assert infants.height > 0
    assert ((infants["adm"] - infants["birth_date"]).dt.total_days() == infants["age_days"]).all()
    newborns = c.filter(pl.col("age_days") <= 28)
    assert newborns.height > 0
    weight = newborns["birth_weight_g"]
    assert weight.null_count() == 0 and weight.is_between(500, 5000).all()
    assert (weight % 10 == 0).all()
    older = c.filter(pl.col("age_years") > 0)
    assert older["age_days"].null_count() == older.height
    assert older["birth_weight_g"].null_count() == older.height
    assert (
        c.filter(pl.col("age_days") > 28)["birth_weight_g"].null_count()
        == c.filter(pl.col("age_days") > 28).height
    )


def test_sex_and_age_follow_the_diagnosis(
    lists_per_case: pl.DataFrame, sample: CaseBatch, plan: PlanFacts
) -> None:
    male = plan.lists["MDCM.dx"] - plan.lists["MDCN.dx"] - plan.lists["MDCO.dx"]
    female = (plan.lists["MDCN.dx"] | plan.lists["MDCO.dx"]) - plan.lists["MDCM.dx"]
    seen = {"M": 0, "N": 0, "O": 0, "P": 0}
    for drg, sex, age, age_days, dx in lists_per_case.select(
        "target_drg", "sex", "age_years", "age_days", "dx"
    ).rows():
        principal = dx[0]
        if principal in male or drg[0] == "M":
            assert sex == "1", (drg, principal)
        if principal in female or drg[0] in "NO":
            assert sex == "2", (drg, principal)
        if drg[0] == "O":
            assert 15 <= age <= 49
        if drg[0] == "P":
            assert age == 0 and age_days is not None
        if drg[0] in seen:
            seen[drg[0]] += 1
    assert min(seen.values()) > 0
    depts = sample.cases.join(sample.targets, on="setl_id")
    assert (
        depts.filter(pl.col("target_drg").str.starts_with("O"))["discharge_dept"] == "05.02"
    ).all()


def test_insurance_and_way(sample: CaseBatch, region: Region) -> None:
    c = sample.cases
    assert set(c["insutype"].unique()) == {"310", "390"}
    assert 0.35 < share(c["insutype"] == "310") < 0.55
    assert (c.filter(pl.col("age_years") < 18)["insutype"] == "390").all()
    local = c["insured_region_code"].is_in(list(region.districts))
    assert 0.02 < 1 - share(local) < 0.10
    assert share(c["insured_region_code"] == c["region_code"]) > 0.7
    ways = c["discharge_way"].value_counts(normalize=True)
    way_share = dict(ways.iter_rows())
    assert way_share["1"] > 0.85 and set(way_share) <= {"1", "2", "3", "4", "5", "9"}
    assert isinstance(c["admission_time"][0], dt.datetime)


def test_bad_arguments_are_refused_before_drawing(region: Region) -> None:
    import pytest

    for kwargs in (
        {"cases_per_year": -1},
        {"chunk_size": 0},
        {"seed": -3},
        {"years": [2024, 2024]},
    ):
        args = {"years": [2024], "cases_per_year": 10, "seed": 1, "chunk_size": 5} | kwargs
        with pytest.raises(ValueError):
            generate_cases(region, plan_dir=PLAN_DIR, **args)  # type: ignore[arg-type]
    assert list(generate_cases(region, [], 10, 1, PLAN_DIR)) == []
    assert list(generate_cases(region, [2024], 0, 1, PLAN_DIR)) == []
