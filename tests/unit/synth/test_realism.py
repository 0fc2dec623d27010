"""Generated cases against the plan data: dictionaries, target lists, CC/MCC splits."""

from __future__ import annotations

from typing import Any

import polars as pl

from yibao.engines.synth import CaseBatch, drg_mix
from yibao.engines.synth.plan import load_plan
from yibao.engines.synth.walk import Probe, find_drg

from .conftest import PLAN_DIR, PlanFacts, share


def _required(cond: dict[str, Any], op: str) -> list[str]:
    """Lists named by ``op`` primitives that must hold (reached through ``all`` only)."""
    if cond["op"] == "all":
        return [n for arg in cond["args"] for n in _required(arg, op)]
    return [cond["list"]] if cond["op"] == op else []


def test_codes_come_from_the_plan_dictionaries(sample: CaseBatch, plan: PlanFacts) -> None:
    dx = sample.diagnoses["code"].unique().to_list()
    px = sample.procedures["code"].unique().to_list()
    assert all(c in plan.dx_map and plan.dx_map[c] in plan.dx_dict for c in dx)
    assert all(c in plan.px_map and plan.px_map[c] in plan.px_dict for c in px)
    # identity codes (in the dictionary itself) are used whenever the plan allows
    principal = sample.diagnoses.filter(pl.col("is_principal"))["code"]
    assert share(principal.is_in(list(plan.dx_dict))) > 0.995
    assert share(sample.diagnoses["code"].is_in(list(plan.dx_dict))) > 0.995
    assert share(sample.procedures["code"].is_in(list(plan.px_dict))) > 0.995


def test_principal_codes_are_in_the_target_lists(
    lists_per_case: pl.DataFrame, plan: PlanFacts
) -> None:
    raw = plan.raw
    checked = 0
    for drg, dx, px in lists_per_case.select("target_drg", "dx", "px").rows():
        adrg = raw["drgs"][drg]["adrg"]
        cond = raw["adrgs"][adrg]["condition"]
        entry = raw["mdcs"][raw["adrgs"][adrg]["mdc"]]["entry"]
        for name in _required(cond, "principal_dx_in") + _required(entry, "principal_dx_in"):
            assert dx[0] in plan.lists[name], (drg, dx[0], name)
            checked += 1
        for name in _required(cond, "principal_proc_in"):
            assert px and px[0] in plan.lists[name], (drg, px, name)
        for name in _required(cond, "any_proc_in"):
            assert set(px) & plan.lists[name], (drg, px, name)
    assert checked > lists_per_case.height * 0.9


def test_severity_secondaries_match_the_target_split(
    lists_per_case: pl.DataFrame, plan: PlanFacts
) -> None:
    raw = plan.raw
    counts = {"mcc": 0, "cc": 0, "excluded": 0}
    for drg, dx in lists_per_case.select("target_drg", "dx").rows():
        own = plan.exclusion.get(dx[0])
        levels = [plan.cc.get(c) for c in dx[1:]]
        mcc = any(h is not None and h[0] == "MCC" and h[1] != own for h in levels)
        cc = any(h is not None and h[0] == "CC" and h[1] != own for h in levels)
        counts["mcc"] += mcc
        counts["cc"] += cc
        counts["excluded"] += any(h is not None and h[1] == own for h in levels)
        adrg = raw["drgs"][drg]["adrg"]
        for candidate in raw["adrgs"][adrg]["drgs"]:
            split = raw["drgs"][candidate]["split"]
            if (
                split == "always"
                or (split == "mcc" and mcc)
                or (split == "cc_or_mcc" and (mcc or cc))
            ):
                assert candidate == drg, (drg, dx)
                break
    assert min(counts.values()) > 100


def test_reference_walk_puts_every_case_in_its_target_drg(lists_per_case: pl.DataFrame) -> None:
    plan = load_plan(PLAN_DIR)
    wrong = []
    for drg, sex, age, days, weight, dx, px in lists_per_case.select(
        "target_drg", "sex", "age_years", "age_days", "birth_weight_g", "dx", "px"
    ).rows():
        got = find_drg(plan, Probe(tuple(dx), tuple(px), int(sex), age, days, weight))
        if got != drg:
            wrong.append((drg, got, dx, px))
    assert not wrong, wrong[:5]


def test_mix_covers_many_drgs(lists_per_case: pl.DataFrame) -> None:
    drgs = lists_per_case["target_drg"]
    assert drgs.n_unique() > 500  # of 628, from 12,000 cases
    mix = drg_mix(PLAN_DIR, 42)
    assert mix.height == 628
    assert abs(float(mix["share"].cast(pl.Float64).sum()) - 1.0) < 1e-9
    top = drgs.value_counts(sort=True)["target_drg"].head(20).to_list()
    assert sum(d[1] >= "R" for d in top) >= 12  # common groups are mostly medical
    rare = set(mix.filter(pl.col("drg").str.starts_with("A"))["drg"])
    assert share(drgs.is_in(list(rare))) < 0.01
    rw = mix.select(
        surgical=pl.col("true_rw").filter(pl.col("drg").str.slice(1, 1) <= "J").median(),
        medical=pl.col("true_rw").filter(pl.col("drg").str.slice(1, 1) >= "R").median(),
    )
    assert rw["surgical"][0] > rw["medical"][0]


def test_costs_rise_with_level_and_severity(sample: CaseBatch) -> None:
    c = sample.cases.join(sample.targets, on="setl_id").select(
        pl.col("total_cost").cast(pl.Float64),
        pl.col("hospital_code").str.slice(7, 1).alias("level"),
        pl.col("target_drg").str.slice(3, 1).alias("suffix"),
    )
    by_level = dict(c.group_by("level").agg(pl.col("total_cost").median()).iter_rows())
    assert by_level["1"] < by_level["2"] < by_level["3"]
    by_suffix = dict(c.group_by("suffix").agg(pl.col("total_cost").median()).iter_rows())
    assert by_suffix["5"] < by_suffix["1"]
