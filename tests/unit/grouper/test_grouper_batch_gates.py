"""The batch path's folded literals (``batchlits``) agree with the single-case path.

The public cases rarely put a listed code in second place, leave out the procedures
of a surgical diagnosis or carry unknown codes; these cases are the public ones with
their codes shuffled between cases, so that every kind of folded literal (required,
further required, forbidden, secondary-only, principal-only) and the condition
splits evaluated for a few cases meet both outcomes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from yibao.engines.caseframe import GROUPER_INPUT
from yibao.engines.grouper import compile_plan, group_batch, group_one, load_plan, read_cases
from yibao.engines.grouper.batch import batch_env
from yibao.engines.grouper.conditions import iter_prims

REPO = Path(__file__).resolve().parents[3]
PLANS_DIR = REPO / "src" / "yibao" / "plans"
SHARED_DATA = REPO / ".." / "shared" / "data"
RESULT = ["status", "mdc", "adrg", "drg", "drg_name"]


def _shuffled(cases: pl.DataFrame, seed: int) -> pl.DataFrame:
    """``cases`` with codes moved between cases, principal codes swapped, unknown codes."""
    rng = np.random.default_rng(seed)
    dx = cases.get_column("diagnoses").cast(pl.String).fill_null("").to_list()
    px = cases.get_column("procedures").cast(pl.String).fill_null("").to_list()
    all_dx = [code for text in dx for code in text.split("|") if code]
    all_px = [code for text in px for code in text.split("|") if code]
    new_dx, new_px = [], []
    for text_dx, text_px in zip(dx, px, strict=True):
        codes = [c for c in text_dx.split("|") if c] + list(rng.choice(all_dx, rng.integers(0, 4)))
        if len(codes) > 1 and rng.random() < 0.3:
            codes[0], codes[1] = codes[1], codes[0]
        if rng.random() < 0.02:
            codes.append("X99.999x999")
        procs = [c for c in text_px.split("|") if c]
        draw = rng.random()
        if draw < 0.3:
            procs = list(rng.choice(all_px, rng.integers(0, 4)))
        elif draw < 0.5:
            procs += list(rng.choice(all_px, rng.integers(1, 3)))
        elif draw < 0.6:
            procs = []
        new_dx.append("|".join(codes))
        new_px.append("|".join(procs))
    n = cases.height
    return cases.with_columns(
        pl.Series("diagnoses", new_dx),
        pl.Series("procedures", new_px),
        pl.Series("los_days", rng.integers(0, 40, n)),
        pl.Series("icu_hours", rng.integers(0, 200, n)),
    )


@pytest.mark.parametrize(
    "plan_id", ["guangxi-2022", "chs-drg-1.1", "zhejiang-2022", "foshan-2022", "beijing-2022"]
)
def test_batch_agrees_with_single_on_shuffled_cases(plan_id: str) -> None:
    path = SHARED_DATA / plan_id / "cases-public.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found: the public cases live in ../shared, outside the repo")
    plan = compile_plan(load_plan(PLANS_DIR / plan_id))
    cases = _shuffled(read_cases(path).select(list(GROUPER_INPUT)).head(3000), seed=5)
    single = [tuple(group_one(plan, row)[:5]) for row in cases.iter_rows(named=True)]
    batch = group_batch(plan, cases).select(RESULT).rows()
    diff = [(i, s, b) for i, (s, b) in enumerate(zip(single, batch, strict=True)) if s != b]
    assert not diff, f"{len(diff)} rows differ, e.g. {diff[:3]}"
    # one case at a time: the condition splits are evaluated for the whole (tiny) batch
    alone = [group_batch(plan, cases.slice(i, 1)).select(RESULT).row(0) for i in range(60)]
    assert alone == single[:60]


@pytest.mark.parametrize("plan_id", ["foshan-2022", "beijing-2022", "zhejiang-2022"])
def test_primitives_for_a_few_cases_agree_with_the_whole_batch(plan_id: str) -> None:
    """``Env.prim_at`` (the cases of one DRG split only) reads the same as ``Env.prim``."""
    path = SHARED_DATA / plan_id / "cases-public.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found: the public cases live in ../shared, outside the repo")
    plan = compile_plan(load_plan(PLANS_DIR / plan_id))
    cases = _shuffled(read_cases(path).select(list(GROUPER_INPUT)), seed=11)
    prims = {prim for prim, _ in plan.literals}
    for rule in plan.rules:
        for step in rule.splits:
            if step.condition is not None:
                prims.update(prim for _, prim in iter_prims(step.condition))
    few, whole = batch_env(plan, cases)[0], batch_env(plan, cases)[0]
    rows = np.flatnonzero(np.random.default_rng(3).random(cases.height) < 0.1)
    for prim in sorted(prims, key=repr):
        assert np.array_equal(few.prim_at(prim, rows), whole.prim(prim)[rows]), prim
