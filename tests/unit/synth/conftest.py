"""Shared fixtures for the synthetic-data tests: one small generation per session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import yibao
from yibao.engines.synth import CaseBatch, Region, generate_cases, make_region

PLAN_DIR = Path(yibao.__file__).parent / "plans" / "chs-drg-1.1"
YEARS = [2023, 2024]
PER_YEAR = 6_000
CHUNK = 4_000  # two chunks per year, the second one short


def share(flags: pl.Series) -> float:
    """Fraction of true values."""
    return float(flags.cast(pl.Float64).sum()) / max(flags.len(), 1)


def read_tsv(name: str) -> pl.DataFrame:
    return pl.read_csv(PLAN_DIR / name, separator="\t", quote_char=None, infer_schema=False)


@dataclass(frozen=True)
class PlanFacts:
    """The plan read directly from its files (independent of the generator's loader)."""

    raw: dict[str, Any]
    lists: dict[str, frozenset[str]]
    dx_dict: frozenset[str]
    px_dict: frozenset[str]
    dx_map: dict[str, str]
    px_map: dict[str, str]
    cc: dict[str, tuple[str, str]]
    exclusion: dict[str, str]


@pytest.fixture(scope="session")
def plan() -> PlanFacts:
    raw = json.loads((PLAN_DIR / "plan.json").read_text(encoding="utf-8"))
    return PlanFacts(
        raw=raw,
        lists={k: frozenset(v) for k, v in raw["code_lists"].items()},
        dx_dict=frozenset(read_tsv("diagnoses.tsv")["code"].to_list()),
        px_dict=frozenset(read_tsv("procedures.tsv")["code"].to_list()),
        dx_map=dict(read_tsv("dx_map.tsv").iter_rows()),
        px_map=dict(read_tsv("proc_map.tsv").iter_rows()),
        cc={c: (lv, t) for c, lv, t in read_tsv("cc_mcc.tsv").iter_rows()},
        exclusion=dict(read_tsv("cc_exclusion.tsv").iter_rows()),
    )


@pytest.fixture(scope="session")
def region() -> Region:
    return make_region(5)


@pytest.fixture(scope="session")
def batches(region: Region) -> list[CaseBatch]:
    return list(
        generate_cases(region, YEARS, PER_YEAR, seed=42, plan_dir=PLAN_DIR, chunk_size=CHUNK)
    )


@pytest.fixture(scope="session")
def sample(batches: list[CaseBatch]) -> CaseBatch:
    """All batches concatenated."""
    return CaseBatch(
        cases=pl.concat([b.cases for b in batches]),
        diagnoses=pl.concat([b.diagnoses for b in batches]),
        procedures=pl.concat([b.procedures for b in batches]),
        targets=pl.concat([b.targets for b in batches]),
    )


@pytest.fixture(scope="session")
def lists_per_case(sample: CaseBatch, plan: PlanFacts) -> pl.DataFrame:
    """One row per case: target DRG, sex, ages and grouper-code lists (mapped)."""
    dx = (
        sample.diagnoses.sort("setl_id", "seq")
        .with_columns(pl.col("code").replace_strict(plan.dx_map, default=None).alias("g"))
        .group_by("setl_id", maintain_order=True)
        .agg(pl.col("g").alias("dx"))
    )
    px = (
        sample.procedures.sort("setl_id", "seq")
        .with_columns(pl.col("code").replace_strict(plan.px_map, default=None).alias("g"))
        .group_by("setl_id", maintain_order=True)
        .agg(pl.col("g").alias("px"))
    )
    out: pl.DataFrame = (
        sample.cases.select("setl_id", "sex", "age_years", "age_days", "birth_weight_g")
        .join(sample.targets, on="setl_id")
        .join(dx, on="setl_id", how="left")
        .join(px, on="setl_id", how="left")
        .with_columns(pl.col("px").fill_null([]))
    )
    return out
