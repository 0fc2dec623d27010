"""``yibao bench dip``: the DIP pipeline on 3 × N synthetic cases (issue 14).

The data are the measurement benchmark's (:func:`yibao.engines.measure.bench.ensure_data`,
generated once and not timed).  Timed stages: read the Parquet files and the plan's
procedure dictionary; the cases' combinations; the catalogue; the scores (trimming,
1:2:7); the level standards of the newest year; grouping the newest year against the
catalogue; its payments (deviation, coefficients, the cost-neutral point value solved,
then paid) and the hospitals' totals."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import polars as pl

from yibao.engines import dip
from yibao.engines.grouper import PACKAGE_PLANS_DIR
from yibao.engines.measure.bench import PLAN_ID, YEARS, ensure_data
from yibao.engines.synth import make_region

STAGES: Final = (
    "read",
    "combinations",
    "catalogue",
    "scores",
    "standards",
    "group",
    "payments",
)
Progress = Callable[[str, int, int], None]


# long: a benchmark's set-up, timed stages and report stay together so what is timed is visible
def run_benchmark(
    cases_per_year: int, data_dir: Path, seed: int = 1, progress: Progress | None = None
) -> dict[str, Any]:
    """Time the DIP stages of :data:`STAGES`; ``dip_cases``, ``dip_total_s``,
    ``dip_peak_rss_mb`` and a few results for the report."""
    report = progress or (lambda _s, _d, _t: None)
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = ensure_data(cases_per_year, data_dir, seed, report)
    seconds: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        report(name, 0, 1)
        start = time.perf_counter()
        yield
        seconds[name] = time.perf_counter() - start
        report(name, 1, 1)

    with stage("read"):
        cases = pl.read_parquet(
            data_dir / "cases.parquet", columns=["setl_id", "discharge_date", "hospital_code"]
        ).with_columns(pl.col("discharge_date").dt.year().cast(pl.Int32).alias("year"))
        costs = pl.read_parquet(data_dir / "cases.parquet", columns=["total_cost"])
        cases = cases.with_columns(costs["total_cost"]).drop("discharge_date")
        dx = pl.read_parquet(data_dir / "diagnoses.parquet", columns=["setl_id", "seq", "code"])
        px = pl.read_parquet(data_dir / "procedures.parquet", columns=["setl_id", "code"])
        plan = PACKAGE_PLANS_DIR / PLAN_ID
        read = {"separator": "\t", "infer_schema": False, "quote_char": None}
        types = dip.procedure_types(
            pl.read_csv(plan / "procedures.tsv", **read),  # type: ignore[arg-type]
            pl.read_csv(plan / "or_procedures.tsv", **read)["code"].to_list(),  # type: ignore[arg-type]
        )
    with stage("combinations"):
        combos = dip.case_combinations(cases, dx, px, types)
    del dx, px
    with stage("catalogue"):
        catalogue = dip.build_catalogue(combos, types)
    with stage("scores"):
        members = catalogue.members.join(
            combos.select("setl_id", "year", "total_cost"), on="setl_id"
        )
        scored = dip.group_scores(members)
    hospitals = make_region(seed).hospitals.select(
        "code", pl.col("level").cast(pl.String).alias("level")
    )
    levels = cases.join(
        hospitals.rename({"code": "hospital_code", "level": "hospital_level"}),
        on="hospital_code",
        how="left",
    ).select("setl_id", "hospital_code", "hospital_level")
    newest = max(YEARS)
    with stage("standards"):
        standards = dip.level_standards(members, levels, newest)
    with stage("group"):
        year = dip.group_cases(catalogue, combos.filter(pl.col("year") == newest))
    with stage("payments"):
        frame = (
            year.join(levels, on="setl_id", how="left")
            .join(
                scored.scores.select(pl.col("code").alias("dip_code"), "score", "mean_cost"),
                on="dip_code",
                how="left",
            )
            .join(
                standards.rename({"code": "dip_code"}),
                on=["dip_code", "hospital_level"],
                how="left",
            )
            .with_columns(pl.coalesce("standard_cost", "mean_cost").alias("standard_cost"))
        )
        coef = dip.coefficients(hospitals)
        trial = dip.case_payments(frame, coef, Decimal(1))
        total = Decimal(frame["total_cost"].sum())
        point = dip.solve_point_value(trial, total)
        paid = dip.case_payments(frame, coef, point)
        by_hospital = dip.hospital_summary(paid)
    total_s = sum(seconds.values())
    return {
        "generated": generated,
        **{f"{s}_s": round(seconds[s], 3) for s in STAGES},
        "core_groups": int((catalogue.groups["kind"] == "core").sum()),
        "comprehensive_groups": int((catalogue.groups["kind"] == "comprehensive").sum()),
        "point_value": str(point),
        "hospitals": by_hospital.height,
        "simulated_cases": paid.height,
        "dip_cases": cases.height,
        "dip_total_s": round(total_s, 3),
        "dip_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
