"""Grouper benchmark (``yibao bench group``): plan load, batch throughput, single latency."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.engines.grouper.batch import group_batch
from yibao.engines.grouper.cases_io import read_cases
from yibao.engines.grouper.compiler import CompiledPlan, compile_plan
from yibao.engines.grouper.errors import CaseFileError
from yibao.engines.grouper.plan import load_plan
from yibao.engines.grouper.single import group_one

__all__ = ["read_cases", "run_benchmark"]

#: progress(stage, done, total); stages: "load", "read", "batch", "single".
Progress = Callable[[str, int, int], None]
Ints = npt.NDArray[np.int64]


def run_benchmark(
    plan_dir: Path,
    cases_path: Path,
    repeat: int | None = None,
    min_batch_cases: int = 200_000,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure the grouper on a case file.

    * ``load_s``: :func:`load_plan` + :func:`compile_plan` (checksums included);
    * batch: the file's rows repeated ``repeat`` times (default: enough for
      ``min_batch_cases``) in one frame, grouped once by :func:`group_batch` after a
      warm-up on the file itself → ``batch_cases_per_s``;
    * single: every row of the file through :func:`group_one`, each call timed
      with ``time.perf_counter_ns`` → ``single_median_us``, ``single_p99_us``.

    Returns a plain dict (JSON-serialisable) with those figures and the counts.
    """

    report: Progress = progress or (lambda _stage, _done, _total: None)
    report("load", 0, 1)
    start = time.perf_counter()
    compiled = compile_plan(load_plan(plan_dir))
    load_s = time.perf_counter() - start
    report("load", 1, 1)

    report("read", 0, 1)
    start = time.perf_counter()
    cases = read_cases(cases_path)
    read_s = time.perf_counter() - start
    report("read", 1, 1)
    if cases.height == 0:
        raise CaseFileError(f"病例文件 {cases_path} 没有数据行 (case file has no rows)")

    times = repeat if repeat is not None else max(1, math.ceil(min_batch_cases / cases.height))
    big = pl.concat([cases] * times, rechunk=True)
    batch_s, statuses = _time_batch(compiled, cases, big, report)
    durations = _time_single(compiled, cases, report)
    return {
        "plan_id": compiled.id,
        "cases_file": str(cases_path),
        "file_cases": cases.height,
        "load_s": round(load_s, 4),
        "read_s": round(read_s, 4),
        "group_cases": big.height,
        "batch_s": round(batch_s, 4),
        "batch_cases_per_s": round(big.height / batch_s) if batch_s > 0 else None,
        "single_cases": cases.height,
        "single_median_us": round(float(np.median(durations)) / 1000, 2),
        "single_p99_us": round(float(np.percentile(durations, 99)) / 1000, 2),
        "single_mean_us": round(float(durations.mean()) / 1000, 2),
        "statuses": statuses,
    }


def _time_batch(
    compiled: CompiledPlan, cases: pl.DataFrame, big: pl.DataFrame, report: Progress
) -> tuple[float, dict[str, int]]:
    """Seconds for one :func:`group_batch` of ``big`` (after a warm-up), and its statuses."""
    report("batch", 0, big.height)
    group_batch(compiled, cases)  # warm-up: builds the batch tables of the plan
    start = time.perf_counter()
    result = group_batch(compiled, big)
    seconds = time.perf_counter() - start
    report("batch", big.height, big.height)
    counts = result.get_column("status").value_counts().rows()
    return seconds, {str(k): int(v) for k, v in sorted(counts)}


def _time_single(compiled: CompiledPlan, cases: pl.DataFrame, report: Progress) -> Ints:
    """Nanoseconds of :func:`group_one` per row (garbage collection stays on)."""
    records = cases.to_dicts()
    durations = np.empty(len(records), dtype=np.int64)
    clock = time.perf_counter_ns
    for i, case in enumerate(records):
        t0 = clock()
        group_one(compiled, case)
        durations[i] = clock() - t0
        if (i + 1) % 1000 == 0:
            report("single", i + 1, len(records))
    report("single", len(records), len(records))
    return durations
