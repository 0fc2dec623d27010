"""``yibao bench <name>``: benchmarks users can run; the last line is ``key=value`` figures."""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

import typer

from yibao.cli.common import console, progress_bar

app = typer.Typer(no_args_is_help=True)


def _figures(**values: object) -> None:
    print(" ".join(f"{k}={v}" for k, v in values.items()), flush=True)


@app.command("generate")
def generate(
    cases: int = typer.Option(1_000_000, min=1, help="病例数 / number of cases"),
    years: int = typer.Option(1, min=1, max=10, help="分布到几个年度 / spread over years"),
    seed: int = typer.Option(1, help="随机种子"),
    out: Path | None = typer.Option(None, help="Parquet 输出目录（默认临时目录）"),
) -> None:
    """合成病例生成速度：生成并写出 Parquet / synthetic case generation speed."""
    from yibao.engines.synth import generate_cases, make_region, write_parquet
    from yibao.plans import plan_dir

    year_list = list(range(2025 - years + 1, 2026))
    per_year = -(-cases // years)
    with tempfile.TemporaryDirectory() as tmp:
        target = out or Path(tmp)
        t0 = time.perf_counter()
        region = make_region(seed)
        with progress_bar("生成 / generating", per_year * years) as bar:

            def batches():  # type: ignore[no-untyped-def]
                for b in generate_cases(region, year_list, per_year, seed, plan_dir()):
                    bar.advance(bar.task_ids[0], b.cases.height)
                    yield b

            counts = write_parquet(batches(), target)
        elapsed = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = counts["cases"]
    console.print(
        f"生成 {n:,} 例（诊断 {counts['diagnoses']:,}，手术 {counts['procedures']:,}）"
        f"用时 {elapsed:.2f} 秒，{n / elapsed:,.0f} 例/秒，峰值内存 {rss_mb:,.0f} MB"
    )
    _figures(generate_cases=n, generate_s=f"{elapsed:.2f}")
