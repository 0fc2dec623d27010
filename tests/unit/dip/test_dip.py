"""DIP engine against hand-computed examples (issue 14, acceptance: catalogue
thresholds, scores with year weights, point values, deviation formulas)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from pydantic import ValidationError

from yibao.engines.dip import (
    CatalogueParams,
    DeviationParams,
    ScoreParams,
    adjust_scores,
    budget_point_value,
    build_catalogue,
    case_combinations,
    group_cases,
    group_one,
    group_scores,
    procedure_types,
    settlement_point_value,
)
from yibao.engines.dip.catalogue import category
from yibao.engines.measure.errors import MeasureError
from yibao.engines.measure.params import TrimParams

D = Decimal
APPENDIX = "47.0900"  # 阑尾切除术 (operating room)
LAPARO = "47.0100"  # 腹腔镜阑尾切除术 (operating room)
COLON = "45.0000"  # 肠切开术 (operating room)
DRIP = "99.1800"  # 电解质注射 (therapeutic)
BIOPSY = "54.2400"  # 腹腔穿刺活检 (diagnostic)
PROCS = pl.DataFrame(
    {
        "code": [APPENDIX, LAPARO, COLON, DRIP, BIOPSY],
        "name": ["阑尾切除术", "腹腔镜阑尾切除术", "肠切开术", "电解质注射", "腹腔穿刺活检"],
    }
)
TYPES = procedure_types(PROCS, [APPENDIX, LAPARO, COLON])


def _history(rows: list[tuple[str, list[str], int, float]]) -> pl.DataFrame:
    """(principal diagnosis, procedures, cases, cost) → the combination frame."""
    cases, dx, px = [], [], []
    for code, procs, n, cost in rows:
        for _ in range(n):
            sid = f"S{len(cases):05d}"
            cases.append({"setl_id": sid, "total_cost": D(str(cost)), "year": 2024})
            dx.append({"setl_id": sid, "seq": 0, "code": code})
            dx.append({"setl_id": sid, "seq": 1, "code": "E11.900"})
            px += [{"setl_id": sid, "code": p} for p in procs]
    px_frame = pl.DataFrame(px, schema={"setl_id": pl.String, "code": pl.String})
    return case_combinations(
        pl.DataFrame(cases, schema_overrides={"total_cost": pl.Decimal(18, 2)}),
        pl.DataFrame(dx),
        px_frame,
        TYPES,
    )


HISTORY = [
    ("K35.801", [APPENDIX], 15, 8000),  # core at 15
    ("K35.802", [LAPARO], 16, 12000),  # core
    ("K35.800", [], 14, 3000),  # conservative, one short of core
    ("K35.100", [DRIP], 3, 2500),  # therapeutic, comprehensive
    ("K37.x00", [COLON], 2, 20000),  # surgical, comprehensive (chapter K pool too)
]


def test_category_and_procedure_types() -> None:
    assert category("K35.801", 4) == "K35.8"
    assert category(" k35.8 01", 4) == "K35.8"
    assert category("K35.801", 3) == "K35"
    assert category("A01", 4) == "A01"
    assert category("n19.x02", 4) == "N19.x"  # the placeholder x stays as written
    assert TYPES == {
        APPENDIX: "surgery",
        LAPARO: "surgery",
        COLON: "surgery",
        DRIP: "therapeutic",
        BIOPSY: "diagnostic",
    }


def test_combination_of_a_case() -> None:
    frame = _history([("K35.801", [DRIP, APPENDIX, DRIP], 1, 100), ("n19.x02", [], 1, 100)])
    assert frame["dx_cat"][1] == "N19.x"  # the frame's category is the single one's
    row = frame.row(0, named=True)
    assert (row["dx_code"], row["dx_cat"]) == ("K35.801", "K35.8")
    assert row["procedures"] == f"{APPENDIX}+{DRIP}"  # sorted, once each
    assert row["proc_type"] == "surgery"  # the highest of its procedures


def test_threshold_makes_core_groups_the_rest_comprehensive() -> None:
    catalogue = build_catalogue(_history(HISTORY), TYPES)
    groups = {r["code"]: r for r in catalogue.groups.iter_rows(named=True)}
    core = sorted(c for c, r in groups.items() if r["kind"] == "core")
    assert core == [f"K35.8:{LAPARO}", f"K35.8:{APPENDIX}"]
    assert groups[f"K35.8:{APPENDIX}"]["cases"] == 15
    assert groups[f"K35.8:{APPENDIX}"]["proc_type"] == "surgery"
    comp = {c: r["cases"] for c, r in groups.items() if r["kind"] == "comprehensive"}
    # prefix K35 / K37 by type (Z1 surgery, Z2 therapeutic, Z4 conservative), chapter pools
    assert comp == {"K35:Z4": 14, "K35:Z2": 3, "K37:Z1": 2, "K*:Z4": 14, "K*:Z2": 3, "K*:Z1": 2}
    assert groups["K35:Z4"]["name"] == "K35 综合病种（保守治疗）"
    # 14 cases become core when the threshold is 14
    lower = build_catalogue(_history(HISTORY), TYPES, CatalogueParams(threshold=14))
    assert "K35.8" in set(lower.groups["code"])
    members = catalogue.members
    assert members.filter(pl.col("primary")).height == sum(n for _, _, n, _ in HISTORY)


@pytest.mark.parametrize(
    ("dx", "procs", "cost", "code", "kind"),
    [
        ("K35.803", [APPENDIX, DRIP], 9000, f"K35.8:{APPENDIX}", "core"),  # subset match
        ("K35.8", [], 3000, "K35:Z4", "comprehensive"),  # conservative core missing
        ("K35.8", [BIOPSY], 3000, "K35:Z3", None),  # diagnostic: no K35:Z3, no K*:Z3
        ("K35.8", [COLON], 30000, "K*:Z1", "comprehensive"),  # K35:Z1 missing → chapter
        ("J18.900", [], 5000, None, "blank"),  # nothing for chapter J
        ("", [APPENDIX], 5000, None, "blank"),  # no principal diagnosis
        # both appendix operations: equal type and matches, the cost decides
        ("K35.8", [APPENDIX, LAPARO], 11000, f"K35.8:{LAPARO}", "core"),
        ("K35.8", [APPENDIX, LAPARO], 7000, f"K35.8:{APPENDIX}", "core"),
    ],
)
def test_group_order_and_ties(dx, procs, cost, code, kind) -> None:  # type: ignore[no-untyped-def]
    catalogue = build_catalogue(_history(HISTORY), TYPES)
    choice = group_one(catalogue, dx, procs, D(cost))
    if kind is None:  # diagnostic case: no diagnostic group anywhere → blank
        assert choice.code is None and choice.kind == "blank"
        assert any("K35:Z3" in line for line in choice.trace)
        return
    assert (choice.code, choice.kind) == (code, kind)
    assert choice.trace and all(isinstance(line, str) for line in choice.trace)


def test_surgical_case_never_lands_in_a_conservative_core_group() -> None:
    catalogue = build_catalogue(_history(HISTORY), TYPES, CatalogueParams(threshold=14))
    assert group_one(catalogue, "K35.8", [], 3000).code == "K35.8"
    choice = group_one(catalogue, "K35.8", [COLON], 30000)
    assert choice.code == "K*:Z1" and "没有与本例手术操作相符的核心病种" in choice.trace[1]


def test_batch_gives_the_single_answer() -> None:
    catalogue = build_catalogue(_history(HISTORY), TYPES)
    cases = [
        ("K35.803", [APPENDIX, DRIP], 9000),
        ("K35.8", [APPENDIX, LAPARO], 11000),
        ("K35.8", [APPENDIX, LAPARO], 7000),
        ("K35.8", [COLON], 30000),
        ("K35.8", [], 3000),
        ("J18.900", [], 5000),
        ("K37.x01", [COLON, DRIP], 18000),
    ]
    frame = _history([(dx, procs, 1, cost) for dx, procs, cost in cases])
    batch = group_cases(catalogue, frame)
    for (dx, procs, cost), row in zip(cases, batch.iter_rows(named=True), strict=True):
        single = group_one(catalogue, dx, procs, D(cost))
        assert (row["dip_code"], row["dip_kind"], row["matched"]) == (
            single.code,
            single.kind,
            single.matched,
        )


def _members(rows: list[tuple[str, int, int, bool]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"setl_id": f"S{i}", "code": c, "year": y, "total_cost": D(v), "primary": p}
            for i, (c, y, v, p) in enumerate(rows)
        ],
        schema_overrides={"total_cost": pl.Decimal(18, 2)},
    )


def test_scores_weight_the_years_one_two_seven() -> None:
    members = _members(
        [
            ("A", 2022, 100, True),
            ("A", 2022, 300, True),
            ("A", 2023, 300, True),
            ("A", 2024, 400, True),
            ("B", 2024, 200, True),
            ("B", 2024, 200, True),
            ("K*:Z4", 2024, 1000, False),  # a chapter pool: scored, not in M
        ]
    )
    result = group_scores(members, ScoreParams(trim=TrimParams(method="none")))
    # M_A = (1·200 + 2·300 + 7·400) / 10 = 360; M_B = 200 (only 2024 has cases)
    # M = (1·200 + 2·300 + 7·(800/3)) / 10 = 800/3 = 266.67
    assert result.overall_mean == D("266.67")
    got = {r["code"]: (r["mean_cost"], r["score"], r["cases"]) for r in result.scores.to_dicts()}
    assert got["A"] == (D("360.00"), D("1350.00"), 4)  # 360 ÷ 800/3 × 1000
    assert got["B"] == (D("200.00"), D("750.00"), 2)
    assert got["K*:Z4"][1] == D("3750.00")
    scaled = group_scores(members, ScoreParams(scale=D(100), trim=TrimParams(method="none")))
    assert scaled.scores.filter(pl.col("code") == "A")["score"][0] == D("135.00")


def test_scores_need_as_many_years_as_weights() -> None:
    members = _members([("A", 2024, 100, True)])
    with pytest.raises(MeasureError, match="年度权重有 3 个"):
        group_scores(members)
    one = group_scores(members, ScoreParams(year_weights=(D(1),)))
    assert one.scores["score"][0] == D("1000.00")


def test_deviation_cases() -> None:
    costs = ["4000", "5000", "10000", "20000", "25000", "60000"]
    frame = pl.DataFrame(
        {
            "total_cost": [D(c) for c in costs] + [D("1000")],
            "score": [D("1000.00")] * len(costs) + [D("1234.57")],
            "standard_cost": [D("10000")] * len(costs) + [D("3000")],
        },
        schema={
            "total_cost": pl.Decimal(18, 2),
            "score": pl.Decimal(18, 2),
            "standard_cost": pl.Decimal(18, 2),
        },
    )
    out = adjust_scores(frame).to_dicts()
    assert [r["deviation"] for r in out] == [
        "low",  # 0.4 < 0.5: pro rata
        "normal",  # exactly 0.5
        "normal",
        "normal",  # exactly 2: not above
        "high",  # 2.5: score × 1.5
        "high",
        "low",  # 1/3
    ]
    assert [r["adjusted_score"] for r in out] == [
        D("400.00"),
        D("1000.00"),
        D("1000.00"),
        D("1000.00"),
        D("1500.00"),
        D("5000.00"),  # ratio 6: score × 5, and flagged
        D("411.52"),  # 1234.57 ÷ 3, exactly, then rounded
    ]
    assert [r["extreme"] for r in out] == [False] * 5 + [True, False]
    wider = adjust_scores(frame, DeviationParams(low=D("0.3"), high=D(3), extreme=D(8)))
    assert wider["deviation"].to_list()[0] == "normal" and not wider["extreme"].any()


def test_point_values() -> None:
    costs = {2022: D(1_000_000), 2023: D(1_200_000), 2024: D(1_500_000)}
    scores = {2022: D(100_000), 2023: D(110_000), 2024: D(120_000)}
    weights = {2022: D(1), 2023: D(2), 2024: D(7)}
    # (1.0 + 2.4 + 10.5) M ÷ (0.10 + 0.22 + 0.84) M = 13.9 ÷ 1.16
    assert budget_point_value(costs, scores, weights) == D("11.9828")
    assert settlement_point_value(D(9_000_000), D("0.75"), D(1_000_000)) == D("12.0000")
    with pytest.raises(MeasureError, match="医保报销比例"):
        settlement_point_value(D(1), D(0), D(1))
    with pytest.raises(MeasureError, match="2025"):
        budget_point_value(costs, scores, {**weights, 2025: D(1)})


def test_parameters_are_refused_in_chinese() -> None:
    with pytest.raises(ValidationError, match="核心病种的病例数阈值"):
        CatalogueParams(threshold=0)
    with pytest.raises(ValidationError, match="综合病种取码位数"):
        CatalogueParams(dx_chars=3, comprehensive_chars=4)
    with pytest.raises(ValidationError, match="费用超低"):
        DeviationParams(low=D("1.2"))


def test_synthetic_region_batch_and_single_agree() -> None:
    """Generated cases of the national plan's diagnoses and procedures: the catalogue
    covers every history case, and the batch answers as the single path case by case."""
    from yibao.engines.grouper import PACKAGE_PLANS_DIR
    from yibao.engines.synth import generate_cases, make_region

    plan = PACKAGE_PLANS_DIR / "chs-drg-1.1"
    batch = next(iter(generate_cases(make_region(3), [2024], 3000, 3, plan)))
    read = {"separator": "\t", "infer_schema": False, "quote_char": None}
    types = procedure_types(
        pl.read_csv(plan / "procedures.tsv", **read),  # type: ignore[arg-type]
        pl.read_csv(plan / "or_procedures.tsv", **read)["code"],  # type: ignore[arg-type]
    )
    combos = case_combinations(
        batch.cases.select("setl_id", "total_cost"), batch.diagnoses, batch.procedures, types
    )
    catalogue = build_catalogue(combos, types, CatalogueParams(threshold=5))
    grouped = group_cases(catalogue, combos)
    assert grouped["dip_kind"].is_in(["core", "comprehensive"]).all()
    assert set(grouped["dip_kind"]) == {"core", "comprehensive"}
    px = batch.procedures.group_by("setl_id").agg(pl.col("code"))
    dx = batch.diagnoses.filter(pl.col("seq") == 0).select("setl_id", "code")
    rows = grouped.join(dx, on="setl_id").join(px, on="setl_id", how="left", suffix="_px")
    for row in rows.head(600).iter_rows(named=True):
        single = group_one(catalogue, row["code"], row["code_px"] or [], row["total_cost"])
        assert (single.code, single.matched) == (row["dip_code"], row["matched"]), row
