"""``yibao bench dip`` end to end on a small region: every stage runs and is timed, the
figures line is printed, and the simulated year pays what it costs (cost-neutral)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from yibao.cli.main import app
from yibao.engines.dip.bench import STAGES, run_benchmark


def test_benchmark_runs_every_stage(tmp_path: Path) -> None:
    r = run_benchmark(1_000, tmp_path)
    assert r["generated"] is True and r["dip_cases"] == 3_000
    assert all(r[f"{s}_s"] >= 0 for s in STAGES) and r["dip_total_s"] > 0
    assert r["core_groups"] + r["comprehensive_groups"] > 0 and r["simulated_cases"] == 1_000
    assert r["dip_peak_rss_mb"] > 0 and float(r["point_value"]) > 0


def test_cli_prints_the_figures_line(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        app, ["bench", "dip", "--cases-per-year", "1000", "--data-dir", str(tmp_path)]
    )
    assert done.exit_code == 0, done.output
    last = done.output.strip().splitlines()[-1]
    assert re.fullmatch(r"dip_cases=3000 dip_total_s=[\d.]+ dip_peak_rss_mb=\d+", last), last
